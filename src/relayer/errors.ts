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
  payer_blocklisted: 403,
  idempotency_key_reused: 422,
  idempotent_replay_secret_withheld: 409,
  payload_too_large: 413,
  rate_limited: 429,
  too_many_auth_failures: 429,
  api_key_rate_limited: 429,
  api_key_limit_reached: 409,
  node_call_budget_exceeded: 429,
  amount_below_minimum: 400,
  relay_quota_exceeded: 429,
  not_ready: 503,
  chain_unavailable: 503,
  storage_unavailable: 503,
  conflict: 409,
  webhook_limit_reached: 409,
  webhook_url_not_allowed: 422,
  request_already_paid: 409,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

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

  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;
