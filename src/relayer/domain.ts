/**
 * The relayer's view of a payment's life. The chain is the final word: every state after
 * `Submitted` is set from escrow events (src/relayer/jobs/chainWatcher.ts), never assumed.
 *
 *   accepted ──batch built──▶ batched ──tx sent──▶ submitted ──PaymentEscrowed──▶ escrowed
 *      │                        │                      │                              │
 *      │ deadline passed        │ simulation rejects   │ PaymentRejected              ├─ PaymentConfirmed ─▶ released ─┐
 *      ▼                        ▼                      ▼                              ├─ PaymentRefunded (full) ─▶ refunded
 *   expired                 rejected               rejected                           ├─ DisputeOpened ─▶ disputed ─▶ resolved
 *                                                                                     └─ TrancheSettled ─▶ settled ◀──┘
 */
export enum PaymentState {
  /** Signature and checks passed; durably stored; waiting for a batch. */
  Accepted = "accepted",
  /** Placed in a batch that is built but not yet sent. */
  Batched = "batched",
  /** Its batch transaction was sent; waiting for inclusion and confirmations. */
  Submitted = "submitted",
  /** PaymentEscrowed seen on chain (with the configured confirmations). */
  Escrowed = "escrowed",
  /** The payer confirmed delivery: released to the merchant, waiting for settlement. */
  Released = "released",
  /** Fully refunded to the payer's escrow balance. */
  Refunded = "refunded",
  /** Under dispute. */
  Disputed = "disputed",
  /** Dispute ruled (or timed out). */
  Resolved = "resolved",
  /** Paid out to the merchant by a settlement. */
  Settled = "settled",
  /** The escrow (or the pre-send simulation) rejected it; `rejectReason` says why. */
  Rejected = "rejected",
  /** Its deadline passed before it could be escrowed. */
  Expired = "expired",
}

/** Mirrors IPaymentEscrow.RejectReason (same order), plus relayer-side reasons. */
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
] as const;
export type RejectReason = (typeof ONCHAIN_REJECT_REASONS)[number] | "simulation_failed";

export enum BatchState {
  /** Payments chosen and ordered; calldata fixed. */
  Built = "built",
  /** A transaction carrying it was sent (see submissions). */
  Submitted = "submitted",
  /** Included with enough confirmations; on-chain batch id known. */
  Confirmed = "confirmed",
  /** Every item was rejected on chain or in simulation; nothing escrowed. */
  Empty = "empty",
  /** Dropped by a reorg: its payments return to `accepted`. */
  Reorged = "reorged",
  /**
   * Escrowed by a transaction someone else sent (payBatch is open to anyone): rebuilt from that
   * transaction's logs by the chain watcher, so that its payments have inclusion proofs. Its
   * `paymentIds` are exactly the batch's Merkle leaves in order, payments of others included.
   */
  Adopted = "adopted",
}

export enum SubmissionState {
  Pending = "pending",
  Mined = "mined",
  /** Another transaction with the same nonce was mined instead (e.g. a fee bump). */
  Replaced = "replaced",
  Failed = "failed",
}

export type Hex = `0x${string}`;

/**
 * How intake verified a payment's signature. The escrow also tries ECDSA first, so an ECDSA-signed
 * payment never reaches the ERC-1271 call whose gas the payer's wallet decides: its share of a
 * batch's gas is bounded by the batcher's measured model and needs no eth_estimateGas.
 */
export enum SignatureKind {
  Ecdsa = "ecdsa",
  /** ERC-1271: the payer is a contract that accepted the signature. */
  Contract = "contract",
}

/** A stored payment. Money and ids are bigint in code and decimal strings in storage and JSON. */
export interface PaymentRecord {
  id: Hex;
  payer: Hex;
  merchantId: bigint;
  amount: bigint;
  orderRef: Hex;
  nonce: bigint;
  validAfter: bigint;
  deadline: bigint;
  signature: Hex;
  state: PaymentState;
  rejectReason: RejectReason | null;
  /** Local batch it was placed in. */
  batchKey: number | null;
  /** On-chain batch id once escrowed. */
  batchId: bigint | null;
  /** Position in the on-chain batch (for the inclusion proof). */
  leafIndex: number | null;
  txHash: Hex | null;
  refunded: bigint;
  releaseAt: bigint | null;
  /** Payment request it pays, if any. */
  requestId: string | null;
  /** How intake verified the signature; null for payments stored before this was recorded. */
  signatureKind: SignatureKind | null;
  createdAt: number;
  updatedAt: number;
}

export interface BatchRecord {
  key: number;
  state: BatchState;
  paymentIds: Hex[];
  /** On-chain id (escrow batchCount) once confirmed. */
  batchId: bigint | null;
  root: Hex | null;
  txHash: Hex | null;
  blockNumber: bigint | null;
  blockHash: Hex | null;
  gasUsed: bigint | null;
  /** The node's eth_estimateGas for the batch when it was built (the send reuses a fresh one). */
  gasEstimate: bigint | null;
  createdAt: number;
  updatedAt: number;
}

/** One signed transaction the submitter sent. Several may share a nonce (fee bumps). */
export interface SubmissionRecord {
  id: number;
  /** What it carries: "batch:<key>" or "settle:<key>". */
  purpose: string;
  nonce: number;
  txHash: Hex;
  rawTx: Hex;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  state: SubmissionState;
  sentAt: number;
  updatedAt: number;
}

export interface PaymentRequestRecord {
  id: string;
  merchantId: bigint;
  amount: bigint;
  orderRef: Hex;
  expiresAt: number;
  paymentId: Hex | null;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  merchantId: bigint;
  /** SHA-256 of the secret; the secret itself is shown once at creation and never stored. */
  secretHash: Hex;
  createdAt: number;
  revokedAt: number | null;
}

export interface WebhookEndpointRecord {
  id: string;
  merchantId: bigint;
  url: string;
  /** HMAC key for signing deliveries (needed in clear to sign). */
  secret: string;
  createdAt: number;
  disabledAt: number | null;
}

/** Durable outbox row: one delivery of one event to one endpoint. */
export interface OutboxRecord {
  id: number;
  eventId: string;
  endpointId: string;
  merchantId: bigint;
  eventType: string;
  payload: string;
  attempts: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  lastError: string | null;
  createdAt: number;
  /** When it was dead-lettered after exhausting its attempts (set by the SQLite store). */
  deadAt?: number | null;
}

export interface SettlementRecord {
  key: number;
  merchantId: bigint;
  batchIds: bigint[];
  txHash: Hex | null;
  amount: bigint | null;
  fee: bigint | null;
  state: "built" | "submitted" | "confirmed" | "deferred" | "failed";
  createdAt: number;
  updatedAt: number;
}
