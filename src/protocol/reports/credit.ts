/**
 * A merchant's credit record from its escrow events alone (formulas in docs/REPORTS.md, "Credit
 * record"): age, volume and count per 30-day period, refund and dispute rates with the disputes'
 * outcomes, the median time from escrow to payout, and the share of payments buyers confirmed
 * early. Integers only: money as decimal strings, rates in basis points (rounded down), times in
 * whole seconds or days. Pure: the relayer and the auditor give the same events and `asOf` and get
 * the same record.
 */
import type { Hex } from "../types";
import { isoTime } from "./day";
import type { ReportEvent } from "./events";
import { replayMerchant } from "./ledger";

export const CREDIT_PERIOD_SECONDS = 30 * 24 * 3600;
export const CREDIT_PERIODS = 12;
const DAY_SECONDS = 24 * 3600;
const BPS = 10_000n;

/** The block the record is computed at: events after it are left out. */
export interface CreditAsOf {
  blockNumber: bigint;
  timestamp: number;
}

export interface CreditRecord {
  merchantId: string;
  token: Hex;
  asOfBlock: string;
  asOf: string;
  firstEscrowAt: string | null;
  ageDays: number;
  payments: number;
  volume: string;
  periodDays: number;
  /** Newest first: period i covers (asOf − (i+1)·30 days, asOf − i·30 days]. */
  periods: { start: string; end: string; payments: number; volume: string }[];
  refundedPayments: number;
  refundRateBps: number;
  refundedAmount: string;
  disputedPayments: number;
  disputeRateBps: number;
  disputes: { open: number; forMerchant: number; forPayer: number; split: number; expired: number };
  confirmedEarly: number;
  earlyConfirmShareBps: number;
  timeToSettle: { paidPayments: number; medianSeconds: number | null };
}

const bps = (part: number, whole: number): number => (whole === 0 ? 0 : Number((BigInt(part) * BPS) / BigInt(whole)));

export function creditRecord(
  merchantId: bigint,
  token: Hex,
  events: readonly ReportEvent[],
  asOf: CreditAsOf,
): CreditRecord {
  const mine = events.filter((e) => e.merchantId === merchantId && e.blockNumber <= asOf.blockNumber);
  const { payments } = replayMerchant(mine);
  const escrows = mine.filter((e) => e.kind === "escrowed");
  const first = escrows.reduce<number | null>((m, e) => (m === null || e.timestamp < m ? e.timestamp : m), null);

  const periods = Array.from({ length: CREDIT_PERIODS }, (_, i) => {
    const end = asOf.timestamp - i * CREDIT_PERIOD_SECONDS;
    const start = end - CREDIT_PERIOD_SECONDS;
    const inside = escrows.filter((e) => e.timestamp > start && e.timestamp <= end);
    return {
      start: isoTime(start),
      end: isoTime(end),
      payments: inside.length,
      volume: inside.reduce((s, e) => s + e.amount, 0n).toString(),
    };
  });

  const refunded = new Set<Hex>();
  let refundedAmount = 0n;
  const disputed = new Set<Hex>();
  const confirmed = new Set<Hex>();
  const disputes = { open: 0, forMerchant: 0, forPayer: 0, split: 0, expired: 0 };
  for (const e of mine) {
    if (e.kind === "refunded") {
      refunded.add(e.paymentId);
      refundedAmount += e.amount;
    } else if (e.kind === "disputed") disputed.add(e.paymentId);
    else if (e.kind === "confirmed") confirmed.add(e.paymentId);
    else if (e.kind === "ruled") {
      if (e.byTimeout) disputes.expired++;
      else if (e.toPayer === 0n) disputes.forMerchant++;
      else if (e.toMerchant + e.fee === 0n) disputes.forPayer++;
      else disputes.split++;
    }
  }
  disputes.open = disputed.size - (disputes.expired + disputes.forMerchant + disputes.forPayer + disputes.split);

  const waits = [...payments.values()]
    .filter((p) => p.paidAt !== null)
    .map((p) => p.paidAt! - p.escrowedAt)
    .sort((a, b) => a - b);
  const mid = waits.length >> 1;
  const median =
    waits.length === 0 ? null : waits.length % 2 === 1 ? waits[mid] : Math.floor((waits[mid - 1] + waits[mid]) / 2);

  const count = escrows.length;
  return {
    merchantId: merchantId.toString(),
    token,
    asOfBlock: asOf.blockNumber.toString(),
    asOf: isoTime(asOf.timestamp),
    firstEscrowAt: first === null ? null : isoTime(first),
    ageDays: first === null ? 0 : Math.floor((asOf.timestamp - first) / DAY_SECONDS),
    payments: count,
    volume: escrows.reduce((s, e) => s + e.amount, 0n).toString(),
    periodDays: CREDIT_PERIOD_SECONDS / DAY_SECONDS,
    periods,
    refundedPayments: refunded.size,
    refundRateBps: bps(refunded.size, count),
    refundedAmount: refundedAmount.toString(),
    disputedPayments: disputed.size,
    disputeRateBps: bps(disputed.size, count),
    disputes,
    confirmedEarly: confirmed.size,
    earlyConfirmShareBps: bps(confirmed.size, count),
    timeToSettle: { paidPayments: waits.length, medianSeconds: median },
  };
}
