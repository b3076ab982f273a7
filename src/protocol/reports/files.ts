/**
 * The merchant's reconciliation files for one day, as CSV text: transactions, settlements and the
 * summary. Built from a normalised event list only (./events), so the relayer and the auditor,
 * feeding the same events, write the same bytes. Columns are documented in docs/REPORTS.md and
 * only ever added at the end.
 */
import { refundReasonName } from "../enums";
import type { Hex } from "../types";
import { toCsv, type CsvCell } from "./csv";
import { isoTime, localDate, type ReportDay } from "./day";
import type { ReportEvent } from "./events";
import { replayMerchant, type PayoutPayment } from "./ledger";

/** What every report of one merchant is built from. */
export interface ReportInput {
  merchantId: bigint;
  /** The settlement token's address (the currency column). */
  token: Hex;
  /** The merchant's escrow events (others are ignored), any order. */
  events: readonly ReportEvent[];
  /** payment id → orderRef, as read from the escrowing calldata (./orderRefs). */
  orderRefs: ReadonlyMap<Hex, Hex>;
}

export const REPORT_KINDS = ["transactions", "settlements", "summary"] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export const TRANSACTION_COLUMNS = [
  "time_utc",
  "block_number",
  "tx_hash",
  "log_index",
  "merchant_id",
  "token",
  "event",
  "payment_id",
  "order_ref",
  "batch_id",
  "payer",
  "payout_address",
  "amount",
  "fee",
  "refund",
  "net",
  "balance_held_after",
  "detail",
] as const;

export const SETTLEMENT_COLUMNS = [
  "payout_time_utc",
  "payout_block_number",
  "payout_tx_hash",
  "payout_log_index",
  "merchant_id",
  "token",
  "row_type",
  "payout_status",
  "payout_address",
  "batch_id",
  "payment_id",
  "order_ref",
  "source",
  "gross",
  "refunds",
  "fees",
  "net",
] as const;

export const SUMMARY_COLUMNS = [
  "date",
  "time_zone",
  "merchant_id",
  "token",
  "escrowed_count",
  "confirmed_count",
  "refunded_count",
  "disputed_count",
  "ruled_count",
  "settled_count",
  "payout_count",
  "gross",
  "refunds",
  "fees",
  "net",
  "paid_out",
  "opening_balance_held",
  "closing_balance_held",
  "requested_count",
  "released_count",
] as const;

const own = (input: ReportInput) => input.events.filter((e) => e.merchantId === input.merchantId);
const onDay = (day: ReportDay) => (e: { timestamp: number }) => localDate(e.timestamp, day.timeZone) === day.date;

/** Every event of the merchant on `day`, with its effect and the balance held after it. */
export function transactionsCsv(input: ReportInput, day: ReportDay): string {
  const { lines } = replayMerchant(own(input));
  const today = onDay(day);
  const rows = lines
    .filter((l) => today(l.event))
    .map((l): CsvCell[] => {
      const e = l.event;
      const paymentId = "paymentId" in e ? e.paymentId : null;
      return [
        isoTime(e.timestamp),
        e.blockNumber,
        e.txHash,
        e.logIndex,
        e.merchantId,
        input.token,
        e.kind,
        paymentId,
        paymentId ? (input.orderRefs.get(paymentId) ?? null) : null,
        "batchId" in e ? e.batchId : null,
        "payer" in e ? e.payer : null,
        "payout" in e ? e.payout : null,
        l.amount,
        l.fee,
        l.refund,
        l.net,
        l.balanceHeld,
        detailOf(e),
      ];
    });
  return toCsv(TRANSACTION_COLUMNS, rows);
}

/** Each payout made on `day`: its totals, then its tranches with their payments, then released payments. */
export function settlementsCsv(input: ReportInput, day: ReportDay): string {
  const { payouts } = replayMerchant(own(input));
  const today = onDay(day);
  const rows: CsvCell[][] = [];
  for (const p of payouts.filter((x) => today(x.event))) {
    const e = p.event;
    const head = [isoTime(e.timestamp), e.blockNumber, e.txHash, e.logIndex, e.merchantId, input.token];
    const payment = (x: PayoutPayment): CsvCell[] => [
      ...head,
      "payment",
      e.kind,
      e.payout,
      x.batchId,
      x.paymentId,
      input.orderRefs.get(x.paymentId) ?? null,
      x.source,
      x.gross,
      x.refunds,
      x.fee,
      x.net,
    ];
    rows.push([...head, "payout", e.kind, e.payout, null, null, null, null, p.gross, p.refunds, p.fees, p.net]);
    for (const t of p.tranches) {
      const refunds = t.payments.reduce((s, x) => s + x.refunds, 0n);
      rows.push([
        ...head,
        "tranche",
        e.kind,
        e.payout,
        t.batchId,
        null,
        null,
        "tranche",
        t.amount + refunds,
        refunds,
        t.fee,
        t.amount - t.fee,
      ]);
      rows.push(...t.payments.map(payment));
    }
    rows.push(...p.released.map(payment));
  }
  return toCsv(SETTLEMENT_COLUMNS, rows);
}

/** One row: the day's counts and totals, and the balance held before and after it. */
export function summaryCsv(input: ReportInput, day: ReportDay): string {
  const { lines } = replayMerchant(own(input));
  const today = onDay(day);
  const counts = {
    escrowed: 0,
    confirmed: 0,
    refunded: 0,
    disputed: 0,
    ruled: 0,
    settled: 0,
    payout: 0,
    requested: 0,
    released: 0,
  };
  let gross = 0n;
  let refunds = 0n;
  let fees = 0n;
  let paidOut = 0n;
  let opening = 0n;
  let closing: bigint | null = null;
  let seenDay = false;
  for (const l of lines) {
    const e = l.event;
    if (!today(e)) {
      if (!seenDay && localDate(e.timestamp, day.timeZone) < day.date) opening = l.balanceHeld;
      continue;
    }
    seenDay = true;
    closing = l.balanceHeld;
    if (e.kind === "paid" || e.kind === "deferred") counts.payout++;
    else if (e.kind in counts) counts[e.kind as keyof typeof counts]++;
    if (e.kind === "escrowed") gross += l.amount;
    refunds += l.refund;
    fees += l.fee;
    if (e.kind === "paid" || e.kind === "claimed") paidOut += l.amount;
  }
  return toCsv(SUMMARY_COLUMNS, [
    [
      day.date,
      day.timeZone,
      input.merchantId,
      input.token,
      counts.escrowed,
      counts.confirmed,
      counts.refunded,
      counts.disputed,
      counts.ruled,
      counts.settled,
      counts.payout,
      gross,
      refunds,
      fees,
      gross - refunds - fees,
      paidOut,
      opening,
      closing ?? opening,
      counts.requested,
      counts.released,
    ],
  ]);
}

/**
 * What an order-timer row says beyond its amounts: a refund request's reason name (src/protocol
 * refundReasonName) and when its answer is due, when an extended, resumed or rejected payment
 * becomes releasable (and until when a rejection can be escalated). Empty for other events.
 */
function detailOf(e: ReportEvent): string | null {
  const at = (seconds: bigint) => isoTime(Number(seconds));
  switch (e.kind) {
    case "extended":
      return `extension ${e.extensions}; releasable from ${at(e.releaseAt)}`;
    case "requested":
      return `reason ${refundReasonName(Number(e.reason))}; answer due ${at(e.respondBy)}`;
    case "rejected":
      return `escalation until ${at(e.escalateBy)}; releasable from ${at(e.releaseAt)}`;
    case "resumed":
      return `releasable from ${at(e.releaseAt)}`;
    default:
      return null;
  }
}

/** The report `kind` for `day`. */
export function reportCsv(kind: ReportKind, input: ReportInput, day: ReportDay): string {
  switch (kind) {
    case "transactions":
      return transactionsCsv(input, day);
    case "settlements":
      return settlementsCsv(input, day);
    case "summary":
      return summaryCsv(input, day);
  }
}
