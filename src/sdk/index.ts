/**
 * StablePay SDK: sign payments and everything else the escrow accepts by signature, with any ethers
 * v6 signer or viem account; talk to the relayer's HTTP API; verify merchant webhooks.
 */
export {
  ESCROW_DOMAIN_NAME,
  ESCROW_DOMAIN_VERSION,
  confirmationTypes,
  disputeTypes,
  escalationTypes,
  holdExtensionTypes,
  refundRejectionTypes,
  refundRequestTypes,
  REFUND_REASONS,
  escrowDomain,
  ethersTypes,
  paymentFields,
  paymentMessage,
  paymentTypes,
  refundTypes,
  withdrawalMessage,
  withdrawalTypes,
  paymentId,
  BatchTree,
  ONE_OFF_NONCE,
  isOneOff,
  oneOffAuthorization,
  type AuthorizationMessage,
  hashPair,
  processProof,
  type Address,
  type Confirmation,
  type Dispute,
  type Escalation,
  type EscrowDomain,
  type HoldExtension,
  type RefundReason,
  type RefundRejection,
  type RefundRequest,
  type Hex,
  type Payment,
  type Refund,
  type Withdrawal,
} from "../protocol";
export * from "./errors";
export * from "./signers";
export * from "./eip3009";
export * from "./sign";
export * from "./payments";
export * from "./wire";
export {
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  MAX_RETRY_AFTER_MS,
  RETRYABLE_STATUSES,
  RETRY_BASE_DELAY_MS,
  RETRY_MAX_DELAY_MS,
  backoffMs,
  retryAfterMs,
  type RetryOptions,
} from "./http";
export * from "./client";
export * from "./webhooks";
