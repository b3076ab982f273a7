/**
 * Errors the API returns, each with a stable machine-readable code and an HTTP status.
 * Clients branch on `code`; `message` is for humans and may change.
 */
export const ERROR_CODES = {
  invalid_json: 400,
  validation_failed: 400,
  invalid_signature: 400,
  wrong_domain: 400,
  invalid_amount: 400,
  expired: 400,
  not_yet_valid: 400,
  nonce_unavailable: 409,
  insufficient_balance: 409,
  merchant_not_active: 409,
  unknown_merchant: 404,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  idempotency_key_reused: 422,
  payload_too_large: 413,
  rate_limited: 429,
  not_ready: 503,
  chain_unavailable: 503,
  storage_unavailable: 503,
  conflict: 409,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_CODES[code];
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;
