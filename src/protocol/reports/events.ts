/**
 * The merchant reports' input: the escrow's events about one merchant, normalised so that the
 * relayer (its own log decoder) and the auditor (viem's) hand the report builders the same list.
 * Amounts and ids are bigint, addresses and hashes lowercase hex; each event keeps its place on
 * chain (block, log index, transaction) and its block's time.
 */
import type { Hex } from "../types";

/** Where an event sits on chain and when its block was made (unix seconds). */
export interface EventPosition {
  blockNumber: bigint;
  logIndex: number;
  txHash: Hex;
  timestamp: number;
}

type Base<K extends string> = EventPosition & { kind: K; merchantId: bigint };

/** One escrow event about a merchant, by kind (the transaction file's `event` column). */
export type ReportEvent =
  | (Base<"escrowed"> & { paymentId: Hex; payer: Hex; batchId: bigint; amount: bigint })
  | (Base<"confirmed"> & { paymentId: Hex; batchId: bigint; released: bigint; fee: bigint })
  | (Base<"refunded"> & { paymentId: Hex; payer: Hex; batchId: bigint; amount: bigint; totalRefunded: bigint })
  | (Base<"disputed"> & { paymentId: Hex; payer: Hex; batchId: bigint; amount: bigint; expiresAt: bigint })
  | (Base<"ruled"> & {
      paymentId: Hex;
      payer: Hex;
      toPayer: bigint;
      toMerchant: bigint;
      fee: bigint;
      byTimeout: boolean;
    })
  | (Base<"settled"> & { batchId: bigint; amount: bigint; fee: bigint })
  // Order timers: the buyer extended the hold, or asked for a refund (the clock pauses), the merchant
  // rejected the request, a partial refund resumed the clock, a payment on its own timer was released.
  | (Base<"extended"> & { paymentId: Hex; payer: Hex; batchId: bigint; releaseAt: bigint; extensions: bigint })
  | (Base<"requested"> & {
      paymentId: Hex;
      payer: Hex;
      batchId: bigint;
      amount: bigint;
      reason: bigint;
      holdLeft: bigint;
      respondBy: bigint;
    })
  | (Base<"rejected"> & { paymentId: Hex; payer: Hex; escalateBy: bigint; releaseAt: bigint })
  | (Base<"resumed"> & { paymentId: Hex; releaseAt: bigint })
  | (Base<"released"> & { paymentId: Hex; released: bigint; fee: bigint })
  | (Base<"paid"> & { payout: Hex; amount: bigint })
  | (Base<"deferred"> & { payout: Hex; amount: bigint })
  | (Base<"claimed"> & { payout: Hex; amount: bigint });

export type ReportEventKind = ReportEvent["kind"];

/** Escrow event name → report kind: the escrow events a merchant's reports are built from. */
export const REPORT_EVENT_KINDS = {
  PaymentEscrowed: "escrowed",
  PaymentConfirmed: "confirmed",
  PaymentRefunded: "refunded",
  DisputeOpened: "disputed",
  DisputeResolved: "ruled",
  TrancheSettled: "settled",
  MerchantPaid: "paid",
  PayoutDeferred: "deferred",
  Claimed: "claimed",
  HoldExtended: "extended",
  RefundRequested: "requested",
  RefundRequestRejected: "rejected",
  HoldResumed: "resumed",
  PaymentReleased: "released",
} as const satisfies Record<string, ReportEventKind>;

export type ReportEscrowEventName = keyof typeof REPORT_EVENT_KINDS;
export const REPORT_ESCROW_EVENTS = Object.keys(REPORT_EVENT_KINDS) as ReportEscrowEventName[];

const big = (v: unknown): bigint => {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  throw new TypeError(`expected an integer, got ${typeof v}`);
};
const hex = (v: unknown): Hex => {
  if (typeof v !== "string" || !v.startsWith("0x")) throw new TypeError(`expected hex, got ${String(v)}`);
  return v.toLowerCase() as Hex;
};

/**
 * A decoded escrow event (its ABI name and arguments, however the decoder typed them: uint48 as
 * number or bigint, addresses checksummed or not) as a ReportEvent; null for other events.
 */
export function reportEventOf(name: string, args: Record<string, unknown>, at: EventPosition): ReportEvent | null {
  if (!(name in REPORT_EVENT_KINDS)) return null;
  const kind = REPORT_EVENT_KINDS[name as ReportEscrowEventName];
  const base = {
    blockNumber: at.blockNumber,
    logIndex: at.logIndex,
    txHash: hex(at.txHash),
    timestamp: at.timestamp,
    merchantId: big(args.merchantId),
  };
  switch (kind) {
    case "escrowed":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        batchId: big(args.batchId),
        amount: big(args.amount),
      };
    case "confirmed":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        batchId: big(args.batchId),
        released: big(args.released),
        fee: big(args.fee),
      };
    case "refunded":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        batchId: big(args.batchId),
        amount: big(args.amount),
        totalRefunded: big(args.totalRefunded),
      };
    case "disputed":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        batchId: big(args.batchId),
        amount: big(args.amount),
        expiresAt: big(args.expiresAt),
      };
    case "ruled":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        toPayer: big(args.toPayer),
        toMerchant: big(args.toMerchant),
        fee: big(args.fee),
        byTimeout: args.byTimeout === true,
      };
    case "settled":
      return { ...base, kind, batchId: big(args.batchId), amount: big(args.amount), fee: big(args.fee) };
    case "paid":
    case "deferred":
    case "claimed":
      return { ...base, kind, payout: hex(args.payout), amount: big(args.amount) };
    case "extended":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        batchId: big(args.batchId),
        releaseAt: big(args.releaseAt),
        extensions: big(args.extensions),
      };
    case "requested":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        batchId: big(args.batchId),
        amount: big(args.amount),
        reason: big(args.reason),
        holdLeft: big(args.holdLeft),
        respondBy: big(args.respondBy),
      };
    case "rejected":
      return {
        ...base,
        kind,
        paymentId: hex(args.paymentId),
        payer: hex(args.payer),
        escalateBy: big(args.escalateBy),
        releaseAt: big(args.releaseAt),
      };
    case "resumed":
      return { ...base, kind, paymentId: hex(args.paymentId), releaseAt: big(args.releaseAt) };
    case "released":
      return { ...base, kind, paymentId: hex(args.paymentId), released: big(args.released), fee: big(args.fee) };
  }
}

/** Chain order: block, then log index. */
export const byChainOrder = (a: EventPosition, b: EventPosition): number =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;
