/**
 * The contracts' enums, by value (index = the uint8 the contracts emit), with the names the
 * contracts use and the snake_case codes the API reports. Same order as the Solidity enums in
 * contracts/interfaces; test/protocol checks them against the compiled ABIs.
 */

/** IMerchantRegistry.MerchantStatus. */
export const MerchantStatus = { None: 0, Active: 1, Suspended: 2, Closed: 3 } as const;
export type MerchantStatus = (typeof MerchantStatus)[keyof typeof MerchantStatus];
export const MERCHANT_STATUS_NAMES = ["None", "Active", "Suspended", "Closed"] as const;

/**
 * IPaymentEscrow.PaymentStatus: a payment's record once it leaves the batch path. Held,
 * RefundRequested and RefundRejected are on the payment's own timer (out of its tranche).
 */
export const EscrowPaymentStatus = {
  None: 0,
  Confirmed: 1,
  Refunded: 2,
  Disputed: 3,
  Resolved: 4,
  Held: 5,
  RefundRequested: 6,
  RefundRejected: 7,
  Released: 8,
} as const;
export type EscrowPaymentStatus = (typeof EscrowPaymentStatus)[keyof typeof EscrowPaymentStatus];
export const ESCROW_PAYMENT_STATUS_NAMES = [
  "None",
  "Confirmed",
  "Refunded",
  "Disputed",
  "Resolved",
  "Held",
  "RefundRequested",
  "RefundRejected",
  "Released",
] as const;

/**
 * Why a buyer asks for a refund ({IPaymentEscrow-requestRefund}'s `reason`, a uint8 the escrow logs
 * without judging it): the codes wallets, merchants and the auditor share.
 */
export const REFUND_REASONS = {
  not_received: 1,
  not_as_described: 2,
  damaged: 3,
  cancelled_order: 4,
  duplicate_charge: 5,
  other: 255,
} as const;
export type RefundReason = keyof typeof REFUND_REASONS;

/** The reason's code name, or `code_<n>` for a code outside the list (the escrow accepts any uint8). */
export function refundReasonName(code: number): string {
  const found = Object.entries(REFUND_REASONS).find(([, value]) => value === code);
  return found ? found[0] : `code_${code}`;
}

/** IPaymentEscrow.RejectReason names, by value. */
export const REJECT_REASON_NAMES = [
  "InvalidAmount",
  "NotYetValid",
  "Expired",
  "MerchantNotActive",
  "InvalidSignature",
  "NonceUnavailable",
  "InsufficientBalance",
  "PayerBlocklisted",
  "InsufficientGas",
  "AuthorizationFailed",
  "HoldOutOfRange",
] as const;

/** The same reasons as the API reports them (index = enum value). */
export const ONCHAIN_REJECT_REASONS = [
  "invalid_amount",
  "not_yet_valid",
  "expired",
  "merchant_not_active",
  "invalid_signature",
  "nonce_unavailable",
  "insufficient_balance",
  "payer_blocklisted",
  "insufficient_gas",
  "authorization_failed",
  "hold_out_of_range",
] as const;

/** Why a payment was rejected: an escrow reason, or the relayer's pre-send simulation. */
export type RejectReason = (typeof ONCHAIN_REJECT_REASONS)[number] | "simulation_failed";
export const REJECT_REASONS: readonly RejectReason[] = [...ONCHAIN_REJECT_REASONS, "simulation_failed"];
