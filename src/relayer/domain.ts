/**
 * The relayer's records. The states they go through and the escrow's reject reasons are the
 * protocol's (src/protocol/states.ts, enums.ts); the chain is the final word on every state after
 * `submitted` (src/relayer/jobs/chainWatcher.ts).
 */
import { PaymentState, paymentFields } from "../protocol";
import type { BatchState, Hex, Payment, RejectReason, SettlementState, SubmissionState } from "../protocol";

export { BatchState, ONCHAIN_REJECT_REASONS, PaymentState, SettlementState, SubmissionState } from "../protocol";
export type { Hex, RejectReason } from "../protocol";

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

/** A stored payment: its signed fields and what the relayer knows of it. Money and ids are bigint in code and decimal strings in storage and JSON. */
export interface PaymentRecord extends Payment {
  id: Hex;
  /**
   * The settlement currency's code ("USD", "EUR", "USDC"; docs/CURRENCIES.md): whose escrow's domain
   * the payment is signed over, so its nonce and its payer's pending sum are that currency's.
   */
  currency: string;
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
  /**
   * When it becomes releasable (unix seconds): its tranche's time while untouched; on its own timer
   * the payment's (extensions included); null while a refund request pauses the clock.
   */
  releaseAt: bigint | null;
  /**
   * Set once a buyer's action took the payment out of its tranche onto its own order timer (the
   * chain watcher writes it from the escrow's events); null or absent for an untouched payment.
   */
  timer?: OrderTimer | null;
  /** Payment request it pays, if any. */
  requestId: string | null;
  /** How intake verified the signature; null for payments stored before this was recorded. */
  signatureKind: SignatureKind | null;
  createdAt: number;
  updatedAt: number;
}

/** A refund request the payer opened: open (refund_requested) or rejected (refund_rejected). */
export interface RefundRequestRecord {
  amount: bigint;
  /** The reason code the payer gave (src/protocol/enums.ts refundReasonName). */
  reason: number;
  /** When the merchant's answer is overdue (unix seconds): from then anyone escalates it. */
  respondBy: bigint;
}

/**
 * A payment's own timer as the escrow's events describe it (IPaymentEscrow.PaymentRecord).
 * `dueAt` and the chain position are the relayer's: when the order-timer keeper acts on it, and
 * which event wrote it last.
 */
export interface OrderTimer {
  /** Hold extensions the payer made so far. */
  extensions: number;
  /** Refund requests the payer opened so far. */
  refundRequests: number;
  /** While a request pauses the clock: the seconds of hold that were left. */
  holdLeft: bigint | null;
  /** The open or rejected request; null once answered by a refund (or never opened). */
  request: RefundRequestRecord | null;
  /** After a rejection: the last moment the payer may escalate it to a dispute. */
  escalateBy: bigint | null;
  /**
   * When the keeper acts (unix seconds, by chain time): `release` at releaseAt (held,
   * refund_rejected), `escalateUnansweredRefundRequest` at respondBy (refund_requested); null once
   * the payment left its timer (released, refunded, disputed).
   */
  dueAt: bigint | null;
  /** Block and position (among the watched logs of that block) of the last event applied. */
  block: bigint;
  logIndex: number;
}

/** A payment as intake stores it on acceptance: not yet batched, escrowed, refunded or released. */
export function acceptedPayment(
  p: Payment & Pick<PaymentRecord, "id" | "currency" | "signature" | "requestId" | "signatureKind" | "createdAt">,
): PaymentRecord {
  return {
    id: p.id,
    currency: p.currency,
    ...paymentFields(p),
    signature: p.signature,
    state: PaymentState.Accepted,
    rejectReason: null,
    batchKey: null,
    batchId: null,
    leafIndex: null,
    txHash: null,
    refunded: 0n,
    releaseAt: null,
    timer: null,
    requestId: p.requestId,
    signatureKind: p.signatureKind,
    createdAt: p.createdAt,
    updatedAt: p.createdAt,
  };
}

export interface BatchRecord {
  key: number;
  /** The currency whose escrow the batch is sent to: on-chain batch ids are per currency. */
  currency: string;
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
  /** The signer (lane) that signed it, lowercased: nonces are per signer. */
  signer: Hex;
  /** The lane lease's epoch under which it was recorded (fencing; see LeaseRepository). */
  epoch: number;
  nonce: number;
  txHash: Hex;
  rawTx: Hex;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  state: SubmissionState;
  sentAt: number;
  updatedAt: number;
}

/** The signed single operations the API relays to the escrow (their escrow function's name). */
export type RelayOperation =
  | "confirmWithSignature"
  | "openDisputeWithSignature"
  | "refundWithSignature"
  | "depositWithAuthorization"
  | "withdrawWithSignature"
  | OrderTimerOperation;

/** The signed order-timer actions (hold extension, refund request, its rejection and escalation). */
export type OrderTimerOperation =
  | "extendHoldWithSignature"
  | "requestRefundWithSignature"
  | "rejectRefundRequestWithSignature"
  | "escalateRefundRequestWithSignature";

export const RELAY_OPERATIONS: readonly RelayOperation[] = [
  "confirmWithSignature",
  "openDisputeWithSignature",
  "refundWithSignature",
  "depositWithAuthorization",
  "withdrawWithSignature",
  "extendHoldWithSignature",
  "requestRefundWithSignature",
  "rejectRefundRequestWithSignature",
  "escalateRefundRequestWithSignature",
];

/** Where a queued relay request is: waiting for a signer lane, sent on one, or refused. */
export const RelayState = {
  /** Stored by an api instance; a worker's lane claims and sends it. */
  Queued: "queued",
  /** A lane recorded and broadcast its transaction (`txHash`); the watcher applies its events. */
  Sent: "sent",
  /** Not sent: the escrow would refuse it, or its deadline passed (`errorCode`, `errorMessage`). */
  Failed: "failed",
} as const;
export type RelayState = (typeof RelayState)[keyof typeof RelayState];
export const RELAY_STATES: readonly RelayState[] = Object.values(RelayState);

/**
 * A signed operation an api instance queued for the workers' signer lanes (jobs/relayQueue.ts).
 * Its id is the keccak of its calldata: the same signed operation, sent twice to one instance or
 * to two, is one request. The calldata holds the signed payload only, no secret.
 */
export interface RelayRequestRecord {
  id: Hex;
  /** The currency whose escrow the operation is sent to. */
  currency: string;
  operation: RelayOperation;
  calldata: Hex;
  /** The customer it acts for (payer, depositor); a withdrawal's reservation is applied for it. */
  payer: Hex | null;
  /** The signed deadline (unix seconds) past which it can no longer execute; null: none. */
  deadline: bigint | null;
  state: RelayState;
  /** The lane lease ("lane:<address>") that claimed it last; null while unclaimed. */
  claimedBy: string | null;
  /** Set once sent: the first transaction that carried it (a fee bump may replace it). */
  txHash: Hex | null;
  /** Set once failed: an API error code and a message safe to show the client. */
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PaymentRequestRecord {
  id: string;
  /** The currency the customer pays in (the escrow whose domain the payment is signed over). */
  currency: string;
  merchantId: bigint;
  amount: bigint;
  orderRef: Hex;
  /** The merchant's order reference as typed, when it was text (orderRef is its keccak256); else null. */
  orderRefText: string | null;
  /** Seconds the payment is held once escrowed: part of what the customer signs. */
  hold: bigint;
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
  /** The currency whose escrow settles it: its batch ids are that escrow's. */
  currency: string;
  merchantId: bigint;
  batchIds: bigint[];
  txHash: Hex | null;
  amount: bigint | null;
  fee: bigint | null;
  state: SettlementState;
  createdAt: number;
  updatedAt: number;
}
