import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, isApiError } from "../errors";
import { StorageUnavailableError } from "../store/sqlite/storageErrors";
import type { App } from "./context";

/**
 * One error shape for every failure: `{ error: { code, message, details? } }` with the code's
 * status. Fastify's own errors (validation, body parsing, body size) are mapped to their codes;
 * anything unexpected is a 500 whose body says nothing about the cause (it is logged instead).
 */
export function toApiError(error: FastifyError | Error): ApiError {
  if (isApiError(error)) return error;
  if (error instanceof StorageUnavailableError)
    return new ApiError("storage_unavailable", "storage is temporarily unavailable; retry later", {
      retryAfterSeconds: error.retryAfterSeconds,
    });
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors = fastifyError.validation.map((v) => ({
      path: `${fastifyError.validationContext ?? "body"}${v.instancePath}`,
      message: v.message ?? "invalid",
    }));
    return new ApiError("validation_failed", `${errors[0].path}: ${errors[0].message}`, { errors });
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("payload_too_large", "request body is too large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError("invalid_json", "the body must be a JSON document sent as application/json");
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 413) return new ApiError("payload_too_large", "request body is too large");
  if (status >= 400 && status < 500) return new ApiError("validation_failed", "bad request");
  return new ApiError("internal", "internal error");
}

const MAX_CAUSE_CHARS = 500;

/** A failure's code and message for the log (ethers errors: the short message, not the request dump). */
export function describeCause(cause: unknown): { code?: string; message: string } {
  if (!(cause instanceof Error)) return { message: String(cause).slice(0, MAX_CAUSE_CHARS) };
  const e = cause as Error & { code?: unknown; shortMessage?: unknown };
  const message = typeof e.shortMessage === "string" ? e.shortMessage : e.message;
  return {
    ...(typeof e.code === "string" ? { code: e.code } : {}),
    message: message.slice(0, MAX_CAUSE_CHARS),
  };
}

export function registerErrorHandling(app: App): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500 && apiError.code === "internal") request.log.error({ err: error }, "request failed");
    else if (apiError.cause !== undefined) {
      // The client got the code and a safe message; the cause goes to the log (redacted on the way out).
      request.log.warn({ code: apiError.code, cause: describeCause(apiError.cause) }, apiError.message);
    } else request.log.info({ code: apiError.code }, apiError.message);
    if (
      (apiError.status === 429 ||
        apiError.code === "storage_unavailable" ||
        apiError.code === "relay_pending" ||
        apiError.code === "reports_not_indexed" ||
        apiError.code === "idempotency_in_progress") &&
      apiError.details?.retryAfterSeconds !== undefined
    ) {
      reply.header("retry-after", String(apiError.details.retryAfterSeconds));
    }
    return reply.status(apiError.status).send(apiError.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError("not_found", `no route ${request.method} ${request.url.split("?")[0]}`);
    return reply.status(error.status).send(error.toJSON());
  });
}

/**
 * The JSON body parser: keeps the raw bytes (the idempotency fingerprint) and maps syntax errors
 * to invalid_json. Size is enforced by fastify before this runs (bodyLimit → 413).
 */
export function registerJsonParser(app: App): void {
  app.decorateRequest("rawBody", null);
  // Only JSON: any other media type (text/plain included) is refused as invalid_json.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    request.rawBody = body;
    if (body.length === 0) return done(new ApiError("invalid_json", "the body is empty"), undefined);
    try {
      done(null, JSON.parse(body.toString("utf8")));
    } catch {
      done(new ApiError("invalid_json", "the body is not valid JSON"), undefined);
    }
  });
}
