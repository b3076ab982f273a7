/**
 * The SDK's HTTP transport: fetch with a timeout, the relayer's error body turned into a
 * RelayerApiError, and retries for idempotent requests only.
 *
 * A request is idempotent when repeating it cannot do anything twice: GET and DELETE, and every
 * POST carrying an Idempotency-Key (the relayer answers a repeat with the first response). Those
 * are retried on 429 (rate limited), 503 (not ready, chain unavailable) and network errors, with
 * exponential backoff, waiting at least what a Retry-After header asks. Any other failure is thrown
 * at once: a 4xx will fail the same way again.
 */
import { RelayerApiError } from "./errors";

/** A request that got no answer within this long is abandoned (and counts as a network error). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Retries after the first attempt, for idempotent requests. */
export const DEFAULT_MAX_RETRIES = 3;
/** First backoff delay; doubles with every retry. */
export const RETRY_BASE_DELAY_MS = 250;
/** Backoff never grows past this (a Retry-After may still ask for longer, up to MAX_RETRY_AFTER_MS). */
export const RETRY_MAX_DELAY_MS = 8_000;
/** A Retry-After longer than this is not waited for: the error is thrown with it in `details`. */
export const MAX_RETRY_AFTER_MS = 60_000;
/** Statuses worth retrying: the relayer did nothing and says to come back later. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

export interface RetryOptions {
  /** Retries after the first attempt (default DEFAULT_MAX_RETRIES; 0 disables retrying). */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
}

export interface TransportOptions {
  /** The relayer's origin, e.g. `https://relayer.example.com` (paths start with /v1). */
  baseUrl: string;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Extra headers on every request (e.g. tracing). */
  headers?: Record<string, string>;
}

export interface HttpRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Makes a POST retryable (sent as the Idempotency-Key header). */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** "text": a success's body is returned as text (a CSV report), not parsed as JSON. Default "json". */
  responseType?: "json" | "text";
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  body: T;
  /** Attempts it took (1 when the first one answered). */
  attempts: number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^[0-9]+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with equal jitter: half fixed, half random, so clients that failed together spread out. */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(retry - 1, 30));
  return Math.ceil(exponential / 2 + (random() * exponential) / 2);
}

function errorFromBody(status: number, text: string, request: { method: string; path: string; attempts: number }) {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const error = parsed?.error;
    if (error && typeof error.code === "string") {
      const details =
        error.details && typeof error.details === "object" ? (error.details as Record<string, unknown>) : undefined;
      return new RelayerApiError(status, error.code, String(error.message ?? error.code), details, request);
    }
  } catch {
    // Not JSON: reported below as invalid_response.
  }
  return new RelayerApiError(
    status,
    "invalid_response",
    `HTTP ${status} without a relayer error body`,
    {
      body: text.slice(0, 200),
    },
    request,
  );
}

export class HttpTransport {
  readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly headers: Record<string, string>;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = {
      retries: options.retry?.retries ?? DEFAULT_MAX_RETRIES,
      baseDelayMs: options.retry?.baseDelayMs ?? RETRY_BASE_DELAY_MS,
      maxDelayMs: options.retry?.maxDelayMs ?? RETRY_MAX_DELAY_MS,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS,
    };
    this.headers = { ...options.headers };
  }

  private url(path: string, query?: Record<string, string | undefined>): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, value);
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ""}`;
  }

  async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const idempotent = req.method !== "POST" || req.idempotencyKey !== undefined;
    const maxAttempts = idempotent ? 1 + Math.max(0, this.retry.retries) : 1;
    const accept = req.responseType === "text" ? "text/csv, application/json" : "application/json";
    const headers: Record<string, string> = { accept, ...this.headers, ...req.headers };
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    if (req.idempotencyKey !== undefined) headers["idempotency-key"] = req.idempotencyKey;
    const url = this.url(req.path, req.query);

    for (let attempt = 1; ; attempt++) {
      const where = { method: req.method, path: req.path, attempts: attempt };
      let error: RelayerApiError;
      let waitAtLeastMs = 0;
      try {
        const response = await this.send(url, req.method, headers, body, req.signal);
        const text = await response.text();
        if (response.ok && req.responseType === "text") {
          return { status: response.status, headers: response.headers, body: text as T, attempts: attempt };
        }
        if (response.ok) {
          let parsed: unknown = undefined;
          if (text !== "") {
            try {
              parsed = JSON.parse(text);
            } catch {
              throw new RelayerApiError(
                response.status,
                "invalid_response",
                "the response is not JSON",
                undefined,
                where,
              );
            }
          }
          return { status: response.status, headers: response.headers, body: parsed as T, attempts: attempt };
        }
        error = errorFromBody(response.status, text, where);
        if (!RETRYABLE_STATUSES.has(response.status)) throw error;
        const retryAfter = retryAfterMs(response.headers.get("retry-after"));
        if (retryAfter !== undefined) {
          if (retryAfter > this.retry.maxRetryAfterMs) throw error;
          waitAtLeastMs = retryAfter;
        }
      } catch (thrown) {
        if (thrown instanceof RelayerApiError) throw thrown;
        if (req.signal?.aborted) {
          throw new RelayerApiError(0, "aborted", "the request was aborted", undefined, where, { cause: thrown });
        }
        const timedOut = (thrown as Error)?.name === "TimeoutError";
        error = new RelayerApiError(
          0,
          "network_error",
          timedOut
            ? `no answer from ${this.baseUrl} within ${this.timeoutMs} ms`
            : `cannot reach ${this.baseUrl}: ${causeMessage(thrown)}`,
          timedOut ? { timeoutMs: this.timeoutMs } : undefined,
          where,
          { cause: thrown },
        );
      }
      if (attempt >= maxAttempts) throw error;
      const delay = Math.max(waitAtLeastMs, backoffMs(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs));
      try {
        await sleep(delay, req.signal);
      } catch (reason) {
        throw new RelayerApiError(0, "aborted", "the request was aborted", undefined, where, { cause: reason });
      }
    }
  }

  private send(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return this.fetch(url, { method, headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  }
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, ...) is in its cause. */
function causeMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
