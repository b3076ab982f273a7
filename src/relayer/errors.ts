/**
 * The relayer's typed error: one of the API's stable codes (src/protocol/schemas/errors.ts) with
 * its HTTP status. Clients branch on `code`; `message` is for humans and may change.
 */
import { ERROR_CODES, type ErrorCode, type ErrorResponse } from "../protocol/schemas/errors";

export { ERROR_CODES, type ErrorCode };

export class ApiError extends Error {
  readonly status: number;

  /**
   * `details` are sent to the client: only safe, useful values. `options.cause` (the underlying
   * failure, e.g. a node's error naming the RPC URL) is never sent; the error handler logs it with
   * secrets redacted.
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ApiError";
    this.status = ERROR_CODES[code];
  }

  toJSON(): ErrorResponse & { error: { code: ErrorCode; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;
