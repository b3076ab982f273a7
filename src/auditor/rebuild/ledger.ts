/**
 * The rebuilt state: everything the events say, and nothing read from contract storage. Each
 * record keeps the events it came from, so that any mismatch found later can point at them; where
 * an event carries a value the rebuild can also derive (a fee, a refund total, a tranche amount at
 * settlement), both are kept, and the reconciler compares them.
 */
import { emptyBuckets, type Address, type Buckets, type EventRef, type Hex, type Mismatch } from "../types";

/**
 * "held": in its (batch, merchant) tranche, or on its own timer (`timer` set) after an extension or
 * an answered refund request; "refund-requested" / "refund-rejected": on its own timer with a
 * request open / rejected; "released": paid to the merchant's released balance when its timer ended.
 */
export type PaymentStatus =
  | "held"
  | "refund-requested"
  | "refund-rejected"
  | "confirmed"
  | "refunded"
  | "disputed"
  | "resolved"
  | "settled"
  | "released";

export interface PaymentHistoryEntry {
  kind:
    | "escrowed"
    | "confirmed"
    | "refunded"
    | "dispute-opened"
    | "dispute-resolved"
    | "settled"
    | "hold-extended"
    | "refund-requested"
    | "refund-rejected"
    | "hold-resumed"
    | "released";
  ref: EventRef;
  /** Amount the step moved (for a confirmation: released net of fee). */
  amount: bigint;
  fee?: bigint;
  detail?: string;
}

export interface PaymentState {
  id: Hex;
  payer: Address;
  merchantId: bigint;
  batchId: bigint;
  /** Position of the payment's leaf in its batch (PaymentEscrowed order). */
  index: number;
  amount: bigint;
  status: PaymentStatus;
  /** What escrow.paymentRecord(id).status must say (0 None … 8 Released); untouched payments stay 0. */
  recordStatus: number;
  /** True once any per-payment record was written on chain (confirm, refund, dispute, order timer). */
  touched: boolean;
  /** Total returned to the payer (refunds and the payer's share of a ruling). */
  refunded: bigint;
  escrowed: EventRef;
  confirmed?: { released: bigint; fee: bigint; heldBefore: bigint; feeBps: number; ref: EventRef };
  refunds: { amount: bigint; totalRefunded: bigint; expectedTotal: bigint; heldBefore: bigint; ref: EventRef }[];
  dispute?: {
    amount: bigint;
    expectedAmount: bigint;
    feeBps: number;
    expiresAt: number;
    opened: EventRef;
    resolved?: { toPayer: bigint; toMerchant: bigint; fee: bigint; byTimeout: boolean; ref: EventRef };
  };
  /** What left with the tranche's settlement (amount less refunds), if the payment was still held then. */
  settled?: { amount: bigint; ref: EventRef };
  /** Set once the payment left its tranche onto its own timer (first extension or refund request). */
  timer?: PaymentTimer;
  history: PaymentHistoryEntry[];
}

/**
 * A payment on its own timer: the record fields the escrow keeps for it (rebuilt from the events
 * alone) and every timer step with what the rules expected of it, for the reconciler.
 */
export interface PaymentTimer {
  /** The event that moved it out of its tranche. */
  detached: EventRef;
  /** Held amount that left the tranche with it. */
  detachedAmount: bigint;
  /** The tranche's fee rate, frozen when it left. */
  feeBps: number;
  /** As escrow.paymentRecord keeps them: 0 while a request pauses the clock. */
  releaseAt: number;
  holdLeft: number;
  deadline: number;
  extensions: number;
  refundRequests: number;
  steps: TimerStep[];
  /** Set by HoldResumed until the PaymentRefunded of the same transaction that resumed the clock. */
  resumePending?: EventRef;
}

/** One order-timer step, with the values the rules say it must carry. */
export type TimerStep =
  | {
      kind: "extended";
      ref: EventRef;
      /** Release time before the extension (the tranche's for the first one). */
      releaseAtBefore: number;
      releaseAt: number;
      extensions: number;
      expectedExtensions: number;
    }
  | {
      kind: "refund-requested";
      ref: EventRef;
      amount: bigint;
      heldBefore: bigint;
      reason: number;
      releaseAtBefore: number;
      holdLeft: number;
      respondBy: number;
      /** Requests so far, this one included. */
      requests: number;
    }
  | {
      kind: "refund-rejected";
      ref: EventRef;
      respondBy: number;
      holdLeft: number;
      escalateBy: number;
      releaseAt: number;
    }
  | { kind: "hold-resumed"; ref: EventRef; holdLeft: number; releaseAt: number }
  | {
      kind: "escalated";
      ref: EventRef;
      /** "rejected": the buyer escalated a rejection; "unanswered": the merchant's answer was overdue. */
      from: "rejected" | "unanswered";
      /** escalateBy (rejected) or respondBy (unanswered). */
      deadline: number;
    }
  | {
      kind: "released";
      ref: EventRef;
      released: bigint;
      fee: bigint;
      heldBefore: bigint;
      feeBps: number;
      /** The record's release time then (0 while a request was open). */
      releaseAt: number;
      /** The payment's state when it was released. */
      from: PaymentStatus;
      /** The merchant's registry status then (2 = Suspended: release is refused). */
      merchantStatus?: number;
    };

export interface BatchState {
  id: bigint;
  /** As BatchEscrowed says. */
  root: Hex;
  paymentCount: bigint;
  total: bigint;
  submitter: Address;
  ref: EventRef;
  /** Accepted payment ids, in PaymentEscrowed order: the leaves of the commitment. */
  paymentIds: Hex[];
  escrowedTotal: bigint;
  /** Root rebuilt from `paymentIds` with BatchTree (undefined for a batch without PaymentEscrowed). */
  rebuiltRoot?: Hex;
  trancheFunded: bigint;
  merchantIds: bigint[];
}

export interface TrancheFunding {
  amount: bigint;
  releaseAt: number;
  feeBps: number;
  /** The registry's terms for the merchant when the tranche was funded (from registry events). */
  expectedFeeBps?: number;
  /**
   * The merchant's hold bounds then: the tranche's hold (releaseAt − the block's time, its run's
   * signed hold) must lie within them.
   */
  expectedHold?: { minHold: number; maxHold: number };
  ref: EventRef;
}

export interface TrancheState {
  batchId: bigint;
  merchantId: bigint;
  /** Total funded (TrancheFunded). */
  funded: bigint;
  /** Sum of the PaymentEscrowed amounts of this (batch, merchant). */
  escrowedSum: bigint;
  /** Still held now, by the events. */
  amount: bigint;
  releaseAt: number;
  feeBps: number;
  fundings: TrancheFunding[];
  paymentIds: Hex[];
  /** Confirmations, refunds and disputes that took amounts out of the tranche before settlement. */
  deductions: {
    /** "own-timer": the payment's held amount left with it onto its own timer (extension or refund request). */
    kind: "confirmed" | "refunded" | "disputed" | "own-timer";
    paymentId: Hex;
    amount: bigint;
    ref: EventRef;
  }[];
  settled?: { amount: bigint; fee: bigint; expectedAmount: bigint; ref: EventRef };
}

export interface StatementLine {
  ref: EventRef;
  kind:
    | "escrowed"
    | "refunded"
    | "confirmed"
    | "dispute-opened"
    | "dispute-resolved"
    | "hold-extended"
    | "refund-requested"
    | "refund-rejected"
    | "hold-resumed"
    | "released"
    | "tranche-settled"
    | "paid"
    | "deferred"
    | "claimed";
  batchId?: bigint;
  paymentId?: Hex;
  /** Gross amount of the line (what moved out of or into the merchant's held funds). */
  gross: bigint;
  fee: bigint;
  /** Tokens that left the escrow for the merchant on this line. */
  payout: bigint;
  counterparty?: Address;
  /** Order-timer lines: what the step says (e.g. the refund request's amount and reason name). */
  detail?: string;
  /** The merchant's held, released and claimable balances after the line. */
  held: bigint;
  released: bigint;
  claimable: bigint;
}

export interface MerchantState {
  id: bigint;
  owner: Address;
  /** Every owner key it has had, in order (the FX pairing knows the desk's legs by their payer). */
  owners: Address[];
  payout: Address;
  feeBps: number;
  /** Hold bounds: each payment names its own hold (seconds), within [minHold, maxHold] when escrowed. */
  minHold: number;
  maxHold: number;
  status: number;
  metadata: Hex;
  registered: EventRef;
  /** Fee and hold bounds over time, starting with registration. */
  terms: { feeBps: number; minHold: number; maxHold: number; ref: EventRef }[];
  held: bigint;
  released: bigint;
  claimable: bigint;
  escrowed: bigint;
  refunded: bigint;
  feesCharged: bigint;
  settledGross: bigint;
  paid: bigint;
  deferred: bigint;
  claimed: bigint;
  lastRef: EventRef;
  statement: StatementLine[];
}

export interface CustomerState {
  address: Address;
  balance: bigint;
  deposited: bigint;
  withdrawn: bigint;
  escrowed: bigint;
  /** Refunds and dispute returns credited back. */
  returned: bigint;
  /** The latest events that moved this balance (bounded), for mismatch reports. */
  recent: EventRef[];
}

/** One merchant's payout in one settle transaction: tranches net of fees plus its released balance. */
export interface SettlementRecord {
  transactionHash: Hex;
  merchantId: bigint;
  tranches: { batchId: bigint; amount: bigint; fee: bigint; ref: EventRef }[];
  /** Sum over tranches of amount - fee. */
  net: bigint;
  /** The merchant's released balance before this settlement (rebuilt), all of which the settlement pays. */
  releasedBefore: bigint;
  /** Released funds the payouts actually included (payouts - net). */
  releasedUsed: bigint;
  payouts: { kind: "paid" | "deferred"; address: Address; expectedAddress: Address; amount: bigint; ref: EventRef }[];
  ref: EventRef;
}

export interface ClaimRecord {
  merchantId: bigint;
  address: Address;
  expectedAddress: Address;
  amount: bigint;
  claimableBefore: bigint;
  ref: EventRef;
}

export interface FeeCollection {
  recipient: Address;
  expectedRecipient: Address;
  amount: bigint;
  accruedBefore: bigint;
  ref: EventRef;
}

/** A token movement into or out of the escrow, or one the escrow's events announce. */
export interface EscrowFlow {
  direction: "in" | "out";
  counterparty: Address;
  amount: bigint;
  ref: EventRef;
  /** The event on the other side (the Transfer for an announcement, the announcement for a Transfer). */
  matchedBy?: EventRef;
}

export interface TokenState {
  balances: Map<Address, bigint>;
  /** Last Transfer touching each holder, for mismatch reports. */
  lastRef: Map<Address, EventRef>;
  minted: bigint;
  burned: bigint;
  mintedByTransfer: bigint;
  burnedByTransfer: bigint;
  mints: { minter: Address; to: Address; amount: bigint; ref: EventRef }[];
  burns: { burner: Address; amount: bigint; ref: EventRef }[];
  transfers: number;
}

/** Bucket totals after an event, for the "held vs released over time" chart. */
export interface TimelinePoint extends Buckets {
  timestamp: number;
  blockNumber: bigint;
}

/** The admin's sweep of tokens the escrow held beyond its liabilities. */
export interface SurplusSweep {
  to: Address;
  amount: bigint;
  ref: EventRef;
}

export interface Ledger {
  customers: Map<Address, CustomerState>;
  payments: Map<Hex, PaymentState>;
  rejections: { paymentId: Hex; payer: Address; reason: number; ref: EventRef }[];
  batches: Map<bigint, BatchState>;
  tranches: Map<string, TrancheState>;
  merchants: Map<bigint, MerchantState>;
  settlements: SettlementRecord[];
  claims: ClaimRecord[];
  feeCollections: FeeCollection[];
  surplusSweeps: SurplusSweep[];
  /** Rebuilt totals of the escrow's six buckets. */
  totals: Buckets;
  /** Last event that changed each bucket. */
  bucketRefs: Partial<Record<keyof Buckets, EventRef>>;
  feesAccrued: bigint;
  feeRecipient?: Address;
  disputeTimeout?: number;
  token: TokenState;
  /** Escrow token transfers (from Transfer events) and the protocol events that announce them. */
  escrowTransfers: EscrowFlow[];
  escrowAnnouncements: EscrowFlow[];
  timeline: TimelinePoint[];
  /** Events that cannot be applied to the rebuilt state (unknown payment, invalid transition, ...). */
  anomalies: Mismatch[];
  eventCounts: Record<string, number>;
  firstRef?: EventRef;
  lastRef?: EventRef;
}

export function emptyLedger(): Ledger {
  return {
    customers: new Map(),
    payments: new Map(),
    rejections: [],
    batches: new Map(),
    tranches: new Map(),
    merchants: new Map(),
    settlements: [],
    claims: [],
    feeCollections: [],
    surplusSweeps: [],
    totals: emptyBuckets(),
    bucketRefs: {},
    feesAccrued: 0n,
    token: {
      balances: new Map(),
      lastRef: new Map(),
      minted: 0n,
      burned: 0n,
      mintedByTransfer: 0n,
      burnedByTransfer: 0n,
      mints: [],
      burns: [],
      transfers: 0,
    },
    escrowTransfers: [],
    escrowAnnouncements: [],
    timeline: [],
    anomalies: [],
    eventCounts: {},
  };
}
