import type { FastifyRequest, FastifyServerOptions } from "fastify";

/** Headers that carry credentials: never logged, whatever the level. */
export const SECRET_HEADERS = ["authorization", "x-admin-token", "cookie", "proxy-authorization"] as const;
export const REDACTED = "[redacted]";

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go (default stdout); tests pass a collecting stream. */
  stream?: { write(line: string): unknown };
}

function headersForLog(headers: FastifyRequest["headers"]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...headers };
  for (const name of SECRET_HEADERS) if (name in copy) copy[name] = REDACTED;
  return copy;
}

/**
 * Fastify's pino, as structured JSON lines. The request serializer logs headers with credentials
 * replaced, and pino's `redact` covers the same paths again in case something logs a raw request.
 */
export function loggerOptions(options: LoggerOptions | false | undefined): FastifyServerOptions["logger"] {
  if (options === false) return false;
  return {
    level: options?.level ?? "info",
    ...(options?.stream ? { stream: options.stream } : {}),
    redact: {
      paths: SECRET_HEADERS.flatMap((name) => [
        `req.headers["${name}"]`,
        `headers["${name}"]`,
        `request.headers["${name}"]`,
      ]),
      censor: REDACTED,
    },
    serializers: {
      req(request: FastifyRequest) {
        return {
          method: request.method,
          url: request.url,
          remoteAddress: request.ip,
          headers: headersForLog(request.headers),
        };
      },
      res(reply: { statusCode: number }) {
        return { statusCode: reply.statusCode };
      },
    },
  };
}
