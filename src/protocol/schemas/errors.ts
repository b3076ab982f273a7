/**
 * The API's error codes, each with its HTTP status, and the error body. Clients branch on `code`
 * (stable); `message` is for humans and may change. The relayer raises them, the SDK reports them.
 */
import { Type, type Static } from "@sinclair/typebox";

export const ERROR_CODES = {
  invalid_json: 400,
  validation_failed: 400,
  invalid_signature: 400,
  wrong_domain: 400,
  invalid_amount: 400,
  expired: 400,
  not_yet_valid: 400,
  /** The payment's hold (seconds) is outside the merchant's registered bounds (`details.minHold`, `details.maxHold`). */
  hold_out_of_range: 400,
  nonce_unavailable: 409,
  insufficient_balance: 409,
  merchant_not_active: 409,
  unknown_merchant: 404,
  /** Not a currency of the relayer's deployment (`details.currencies`: the codes it has; GET /v1/currencies). */
  unknown_currency: 400,
  /** A currency of the deployment this relayer does not take payments in (`details.served`). */
  currency_not_served: 409,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  payer_blocklisted: 403,
  idempotency_key_reused: 422,
  idempotency_in_progress: 409,
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
  /** The report index has not reached its first safe block yet (a fresh deployment): retry later. */
  reports_not_indexed: 503,
  /** A relayed operation is queued for the workers' signer lanes and not sent yet: retrying it is safe. */
  relay_pending: 503,
  conflict: 409,
  /**
   * A signed order-timer action names another extension or refund request than the payment's
   * (`details.revert` StaleOrdinal): it was used already, or is for another one. Sign it anew.
   */
  stale_ordinal: 409,
  webhook_limit_reached: 409,
  webhook_url_not_allowed: 422,
  request_already_paid: 409,
  /** A one-off payment's authorization differs from the one its payment requires (see `details.field`). */
  authorization_mismatch: 400,
  /** The token already spent or cancelled this authorization (its payment was escrowed elsewhere, or revoked). */
  authorization_used: 409,
  /** A one-off payer's wallet holds less than the payment plus its one-off payments not yet on chain. */
  insufficient_token_balance: 409,
  /** A report's date is not a calendar date YYYY-MM-DD. */
  invalid_date: 400,
  /** A report's tz is not an IANA time zone name. */
  invalid_time_zone: 400,
  /** The relayer runs no FX desk (its FX settings are unset): cross-currency routes are off. */
  fx_unavailable: 503,
  /** The FX quote's `expiresAt` has passed: ask for a new quote. */
  quote_expired: 400,
  /** The FX quote is not signed by a holder of the registry's FX_QUOTER_ROLE, or is malformed. */
  invalid_quote: 400,
  /** The FX quote's rate lies outside the operator's band around its reference rate. */
  quote_out_of_band: 400,
  /** The FX quote was used already (a payment to the desk carries its orderRef). */
  quote_used: 409,
  /** The payer's leg does not match the quote (`details.field`: amount, merchantId, orderRef, escrow). */
  fx_leg_mismatch: 400,
  /** The desk's own leg cannot be paid (`details.reason`: its balance is short, the merchant cannot receive). */
  fx_settle_leg_refused: 409,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The error object; `code` is typed as ErrorCode but documented as a plain string, open to new codes. */
export const ErrorDetail = Type.Object({
  code: Type.Unsafe<ErrorCode>(Type.String({ description: "Stable machine-readable code (src/relayer/errors.ts)" })),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
export type ErrorDetail = Static<typeof ErrorDetail>;

export const ErrorResponse = Type.Object({ error: ErrorDetail }, { description: "Error" });
export type ErrorResponse = Static<typeof ErrorResponse>;

/** Every route documents these next to its success responses. */
export const ERROR_RESPONSES = { "4xx": ErrorResponse, "5xx": ErrorResponse } as const;
