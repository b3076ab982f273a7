import type { FastifyRequest, FastifyServerOptions } from "fastify";

/**
 * Headers that carry credentials or values a stored response is sealed with: never logged,
 * whatever the level. The Idempotency-Key is one of them: it is a client-chosen secret.
 */
export const SECRET_HEADERS = [
  "authorization",
  "x-admin-token",
  "x-api-key",
  "idempotency-key",
  "cookie",
  "proxy-authorization",
] as const;
export const REDACTED = "[redacted]";

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go (default stdout); tests pass a collecting stream. */
  stream?: { write(line: string): unknown };
  /**
   * Strings censored wherever they appear in a line (the admin token, the RPC URL's credentials,
   * path and query): a node's error may echo them in any field.
   */
  secrets?: readonly string[];
}

function headersForLog(headers: FastifyRequest["headers"]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...headers };
  for (const name of SECRET_HEADERS) if (name in copy) copy[name] = REDACTED;
  return copy;
}

/** Absolute URLs: scheme, optional credentials, host, then path/query/fragment (JSON-escaped text stops at `\`). */
const URL_PATTERN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'\\/?#@]*@)?([^\s"'\\/?#]+)([^\s"'\\]*)/gi;

/**
 * Censors the credential-bearing parts of every absolute URL in `text`: user info and everything
 * after the host (RPC providers put API keys in the path or the query). The host stays, so a log
 * still says which node failed.
 */
export function redactUrls(text: string): string {
  return text.replace(
    URL_PATTERN,
    (_match, scheme: string, userinfo: string | undefined, host: string, rest: string) => {
      const tail = rest === "" || rest === "/" ? rest : `/${REDACTED}`;
      return `${scheme}${userinfo ? `${REDACTED}@` : ""}${host}${tail}`;
    },
  );
}

/** The parts of a URL that may be secret (credentials, path segments, query values), for `secrets`. */
export function urlSecrets(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [];
  }
  const parts = [decodeURIComponent(url.username), decodeURIComponent(url.password)];
  parts.push(...url.pathname.split("/").map((segment) => decodeURIComponent(segment)));
  for (const value of url.searchParams.values()) parts.push(value);
  // Short segments ("v3", "rpc") are not secrets and would censor ordinary words.
  return parts.filter((part) => part.length >= 8);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A log line with every URL's credentials and every listed secret censored. */
export function redactLine(line: string, secrets: RegExp | null): string {
  const withoutUrls = redactUrls(line);
  return secrets ? withoutUrls.replace(secrets, REDACTED) : withoutUrls;
}

/** Wraps `stream` so that every line written through it is redacted first. */
export function redactingStream(
  stream: { write(line: string): unknown },
  secrets: readonly string[] = [],
): { write(line: string): unknown } {
  const pattern = secrets.length > 0 ? new RegExp(secrets.map(escapeRegExp).join("|"), "g") : null;
  return { write: (line: string) => stream.write(redactLine(line, pattern)) };
}

/**
 * Fastify's pino, as structured JSON lines. The request serializer logs headers with credentials
 * replaced, pino's `redact` covers the same paths again in case something logs a raw request, and
 * every line passes through {@link redactingStream} on its way out (node errors carry URLs).
 */
export function loggerOptions(options: LoggerOptions | false | undefined): FastifyServerOptions["logger"] {
  if (options === false) return false;
  return {
    level: options?.level ?? "info",
    stream: redactingStream(options?.stream ?? process.stdout, options?.secrets),
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
