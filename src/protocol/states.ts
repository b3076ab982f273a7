/**
 * The states a payment, batch, submission and settlement go through, as the relayer stores them
 * and the API reports them. Each is a const object (so code reads `PaymentState.Escrowed`), a type
 * of its values, and the list of those values (for schemas and parsers).
 *
 *   accepted ──batch built──▶ batched ──tx sent──▶ submitted ──PaymentEscrowed──▶ escrowed
 *      │                        │                      │                              │
 *      │ deadline passed        │ simulation rejects   │ PaymentRejected              ├─ PaymentConfirmed ─▶ released ─┐
 *      ▼                        ▼                      ▼                              ├─ PaymentRefunded (full) ─▶ refunded
 *   expired                 rejected               rejected                           ├─ DisputeOpened ─▶ disputed ─▶ resolved
 *                                                                                     ├─ TrancheSettled ─▶ settled ◀──┤
 *                                                                                     └─ order timer (below)          │
 *
 * The order timer: a buyer's action takes an escrowed payment out of its tranche onto its own timer.
 *
 *   escrowed, held ─HoldExtended─▶ held
 *   escrowed, held ─RefundRequested─▶ refund_requested ─RefundRequestRejected─▶ refund_rejected
 *   refund_requested ─HoldResumed (a partial refund answered it)─▶ held
 *   held, refund_rejected ─PaymentReleased (from releaseAt)─▶ released ─settle pays its balance─▶ settled
 *   refund_requested ─DisputeOpened (unanswered by respondBy)─▶ disputed
 *   refund_rejected ─DisputeOpened (escalated by the payer)─▶ disputed
 *   held, refund_requested, refund_rejected ─PaymentRefunded (full)─▶ refunded; ─PaymentConfirmed─▶ released
 *
 * The chain is the final word: every state after `submitted` is set from escrow events.
 */

type ValueOf<T> = T[keyof T];
const valuesOf = <T extends Record<string, string>>(o: T) => Object.values(o) as [ValueOf<T>, ...ValueOf<T>[]];

export const PaymentState = {
  /** Signature and checks passed; durably stored; waiting for a batch. */
  Accepted: "accepted",
  /** Placed in a batch that is built but not yet sent. */
  Batched: "batched",
  /** Its batch transaction was sent; waiting for inclusion and confirmations. */
  Submitted: "submitted",
  /** PaymentEscrowed seen on chain (with the configured confirmations). */
  Escrowed: "escrowed",
  /**
   * Released to the merchant's released balance, waiting for settlement: the payer confirmed
   * delivery, or the payment's own timer ended (PaymentReleased).
   */
  Released: "released",
  /** Fully refunded to the payer's escrow balance. */
  Refunded: "refunded",
  /** On its own timer (the payer extended the hold, or a partial refund answered a request): releasable from `releaseAt`. */
  Held: "held",
  /** The payer asked for a refund: the clock is paused until the merchant answers or `respondBy` passes. */
  RefundRequested: "refund_requested",
  /** The merchant rejected the request: the payer may escalate it until `escalateBy`; releasable from `releaseAt`. */
  RefundRejected: "refund_rejected",
  /** Under dispute. */
  Disputed: "disputed",
  /** Dispute ruled (or timed out). */
  Resolved: "resolved",
  /** Paid out to the merchant by a settlement. */
  Settled: "settled",
  /** The escrow (or the pre-send simulation) rejected it; `rejectReason` says why. */
  Rejected: "rejected",
  /** Its deadline passed before it could be escrowed. */
  Expired: "expired",
} as const;
export type PaymentState = ValueOf<typeof PaymentState>;
export const PAYMENT_STATES = valuesOf(PaymentState);

export const BatchState = {
  /** Payments chosen and ordered; calldata fixed. */
  Built: "built",
  /** A transaction carrying it was sent (see submissions). */
  Submitted: "submitted",
  /** Included with enough confirmations; on-chain batch id known. */
  Confirmed: "confirmed",
  /** Every item was rejected on chain or in simulation; nothing escrowed. */
  Empty: "empty",
  /** Dropped by a reorg: its payments return to `accepted`. */
  Reorged: "reorged",
  /**
   * Escrowed by a transaction someone else sent (payBatch is open to anyone): rebuilt from that
   * transaction's logs by the chain watcher, so that its payments have inclusion proofs. Its
   * `paymentIds` are exactly the batch's Merkle leaves in order, payments of others included.
   */
  Adopted: "adopted",
} as const;
export type BatchState = ValueOf<typeof BatchState>;
export const BATCH_STATES = valuesOf(BatchState);

export const SubmissionState = {
  Pending: "pending",
  Mined: "mined",
  /** Another transaction with the same nonce was mined instead (e.g. a fee bump). */
  Replaced: "replaced",
  Failed: "failed",
} as const;
export type SubmissionState = ValueOf<typeof SubmissionState>;
export const SUBMISSION_STATES = valuesOf(SubmissionState);

export const SettlementState = {
  Built: "built",
  Submitted: "submitted",
  Confirmed: "confirmed",
  /** Confirmed, but part of the payout was deferred (the payout address refused it): claimable. */
  Deferred: "deferred",
  Failed: "failed",
} as const;
export type SettlementState = ValueOf<typeof SettlementState>;
export const SETTLEMENT_STATES = valuesOf(SettlementState);
