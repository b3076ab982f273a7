/**
 * CSV exports for accountants: payments.csv, settlements.csv and one statement per merchant.
 * Amounts are exact decimal strings in token units (formatUnits), never floats; every row carries
 * the block, transaction and log index of the event it comes from.
 */
import type { Ledger, PaymentState } from "../rebuild/ledger";
import type { EventRef } from "../types";
import { fmt } from "../util";

export function csvField(value: unknown): string {
  const text = value === undefined || value === null ? "" : String(value);
  // Quote when needed; a leading = + - @ is also neutralised so spreadsheets never run it as a formula.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csv(header: readonly string[], rows: readonly unknown[][]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}

const compareRefs = (a: EventRef, b: EventRef): number =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;
const iso = (ref: EventRef): string => new Date(ref.timestamp * 1000).toISOString();
const at = (ref: EventRef): unknown[] => [ref.blockNumber, ref.transactionHash, ref.logIndex, iso(ref)];

export function paymentsCsv(ledger: Ledger): string {
  const header = [
    "payment_id",
    "batch_id",
    "leaf_index",
    "payer",
    "merchant_id",
    "amount",
    "status",
    "refunded_to_payer",
    "released_to_merchant",
    "fee",
    "settled_with_tranche",
    "escrow_block",
    "escrow_tx",
    "escrow_log_index",
    "escrowed_at",
    "last_event",
    "last_block",
  ];
  const rows = [...ledger.payments.values()].map((p) => {
    const last = p.history[p.history.length - 1].ref;
    return [
      p.id,
      p.batchId,
      p.index,
      p.payer,
      p.merchantId,
      fmt(p.amount),
      p.status,
      fmt(p.refunded),
      fmt(releasedOf(p)),
      fmt(feeOfPayment(p)),
      p.settled ? fmt(p.settled.amount) : "",
      ...at(p.escrowed),
      last.event,
      last.blockNumber,
    ];
  });
  return csv(header, rows);
}

/**
 * Net amount released to the merchant by a confirmation, a ruling or the release of a payment on its
 * own timer (settled payments: see their tranche).
 */
function releasedOf(p: PaymentState): bigint {
  return (p.confirmed?.released ?? 0n) + (p.dispute?.resolved?.toMerchant ?? 0n) + (timerRelease(p)?.released ?? 0n);
}

function feeOfPayment(p: PaymentState): bigint {
  return (p.confirmed?.fee ?? 0n) + (p.dispute?.resolved?.fee ?? 0n) + (timerRelease(p)?.fee ?? 0n);
}

const timerRelease = (p: PaymentState) => p.timer?.steps.find((s) => s.kind === "released");

export function settlementsCsv(ledger: Ledger): string {
  const header = [
    "kind",
    "merchant_id",
    "batch_id",
    "amount",
    "fee",
    "net",
    "address",
    "block",
    "tx",
    "log_index",
    "time",
  ];
  const entries: { ref: EventRef; row: unknown[] }[] = [];
  const push = (ref: EventRef, row: unknown[]): void => void entries.push({ ref, row: [...row, ...at(ref)] });
  for (const s of ledger.settlements) {
    for (const t of s.tranches)
      push(t.ref, ["tranche", s.merchantId, t.batchId, fmt(t.amount), fmt(t.fee), fmt(t.amount - t.fee), ""]);
    for (const p of s.payouts) push(p.ref, [p.kind, s.merchantId, "", fmt(p.amount), "0", fmt(p.amount), p.address]);
  }
  for (const c of ledger.claims)
    push(c.ref, ["claimed", c.merchantId, "", fmt(c.amount), "0", fmt(c.amount), c.address]);
  for (const f of ledger.feeCollections) push(f.ref, ["fees-collected", "", "", fmt(f.amount), "", "", f.recipient]);
  entries.sort((a, b) => compareRefs(a.ref, b.ref));
  const rows = entries.map((e) => e.row);
  return csv(header, rows);
}

/**
 * statements/merchant-<id>.csv: every line that moved the merchant's funds, with running balances,
 * and the order-timer steps of its payments (extensions, refund requests with their amount and
 * reason name, rejections, resumed clocks, releases) with what each says in `detail`.
 */
export function merchantStatementsCsv(ledger: Ledger): Map<bigint, string> {
  const header = [
    "time",
    "block",
    "tx",
    "log_index",
    "event",
    "batch_id",
    "payment_id",
    "gross",
    "fee",
    "paid_out",
    "counterparty",
    "held_after",
    "released_after",
    "claimable_after",
    "detail",
  ];
  const out = new Map<bigint, string>();
  for (const m of ledger.merchants.values()) {
    const rows = m.statement.map((l) => [
      iso(l.ref),
      l.ref.blockNumber,
      l.ref.transactionHash,
      l.ref.logIndex,
      l.kind,
      l.batchId ?? "",
      l.paymentId ?? "",
      fmt(l.gross),
      fmt(l.fee),
      fmt(l.payout),
      l.counterparty ?? "",
      fmt(l.held),
      fmt(l.released),
      fmt(l.claimable),
      l.detail ?? "",
    ]);
    out.set(m.id, csv(header, rows));
  }
  return out;
}
