/**
 * One merchant's money, replayed from its escrow events in chain order: each event's effect
 * (amount, fee, refund, net to the merchant) and the balance the escrow holds for the merchant
 * after it, and each payout with the payments it paid. Pure: the same events give the same result.
 *
 * Balance held = held (in tranches or on the payments' own timers) + disputed + released awaiting
 * payout + claimable (payouts that could not be delivered). Escrowed adds; refunds, fees and payouts
 * (paid, claimed) take away; a deferred payout moves released to claimable; a release moves a
 * payment on its own timer to released. Extensions, refund requests, rejections and resumed clocks
 * move no money.
 */
import type { Hex } from "../types";
import { byChainOrder, type ReportEvent } from "./events";

/** One event's effect on the merchant (the transaction file's row). */
export interface LedgerLine {
  event: ReportEvent;
  /** The event's gross amount (see docs/REPORTS.md per event). */
  amount: bigint;
  fee: bigint;
  /** Returned to the payer. */
  refund: bigint;
  /** Credited to the merchant net of fees (confirmed, ruled, settled). */
  net: bigint;
  balanceHeld: bigint;
}

/**
 * A payment's part in a payout: paid with its tranche, or released by a confirmation, a ruling or
 * the end of its own timer (order timers).
 */
export interface PayoutPayment {
  paymentId: Hex;
  batchId: bigint;
  source: "tranche" | "confirmed" | "ruled" | "released";
  /** Escrowed amount. */
  gross: bigint;
  /** Refunded before the payout, plus a ruling's share to the payer. */
  refunds: bigint;
  /** Fee of a confirmation, ruling or release; null for tranche payments (their tranche carries the fee). */
  fee: bigint | null;
  /** Net to the merchant; null for tranche payments (see the tranche). */
  net: bigint | null;
}

export interface PayoutTranche {
  batchId: bigint;
  amount: bigint;
  fee: bigint;
  payments: PayoutPayment[];
}

export interface Payout {
  event: Extract<ReportEvent, { kind: "paid" | "deferred" }>;
  tranches: PayoutTranche[];
  released: PayoutPayment[];
  gross: bigint;
  refunds: bigint;
  fees: bigint;
  net: bigint;
}

interface PaymentState {
  id: Hex;
  batchId: bigint;
  amount: bigint;
  refunded: bigint;
  /** "own-timer": held outside its tranche (extended or refund requested), so it does not settle with it. */
  status: "held" | "own-timer" | "confirmed" | "disputed" | "ruled" | "refunded" | "settled" | "released";
  escrowedAt: number;
  /** Time of the payout that paid it (or its share). */
  paidAt: number | null;
}

export interface MerchantLedger {
  lines: LedgerLine[];
  payouts: Payout[];
  payments: Map<Hex, PaymentState>;
}

export function replayMerchant(events: readonly ReportEvent[]): MerchantLedger {
  const ordered = [...events].sort(byChainOrder);
  const payments = new Map<Hex, PaymentState>();
  const lines: LedgerLine[] = [];
  const payouts: Payout[] = [];
  let held = 0n;
  let disputed = 0n;
  let released = 0n;
  let claimable = 0n;
  /** Confirmations and rulings whose net waits for the next payout. */
  let pendingReleased: PayoutPayment[] = [];
  /** Tranches settled in the transaction being replayed (they come before its payout). */
  let openTx: Hex | null = null;
  let openTranches: PayoutTranche[] = [];

  for (const e of ordered) {
    if (e.txHash !== openTx) {
      openTx = e.txHash;
      openTranches = [];
    }
    let amount = 0n;
    let fee = 0n;
    let refund = 0n;
    let net = 0n;
    const p = "paymentId" in e ? payments.get(e.paymentId) : undefined;
    switch (e.kind) {
      case "escrowed":
        payments.set(e.paymentId, {
          id: e.paymentId,
          batchId: e.batchId,
          amount: e.amount,
          refunded: 0n,
          status: "held",
          escrowedAt: e.timestamp,
          paidAt: null,
        });
        amount = e.amount;
        held += e.amount;
        break;
      case "confirmed":
        amount = e.released + e.fee;
        fee = e.fee;
        net = e.released;
        held -= amount;
        released += e.released;
        if (p) {
          p.status = "confirmed";
          pendingReleased.push({
            paymentId: p.id,
            batchId: p.batchId,
            source: "confirmed",
            gross: p.amount,
            refunds: p.refunded,
            fee: e.fee,
            net: e.released,
          });
        }
        break;
      case "refunded":
        amount = e.amount;
        refund = e.amount;
        held -= e.amount;
        if (p) {
          p.refunded += e.amount;
          if (p.refunded >= p.amount) p.status = "refunded";
        }
        break;
      case "disputed":
        amount = e.amount;
        held -= e.amount;
        disputed += e.amount;
        if (p) p.status = "disputed";
        break;
      case "ruled":
        amount = e.toPayer + e.toMerchant + e.fee;
        fee = e.fee;
        refund = e.toPayer;
        net = e.toMerchant;
        disputed -= amount;
        released += e.toMerchant;
        if (p) {
          p.status = "ruled";
          p.refunded += e.toPayer;
          if (e.toMerchant + e.fee > 0n) {
            pendingReleased.push({
              paymentId: p.id,
              batchId: p.batchId,
              source: "ruled",
              gross: p.amount,
              refunds: p.refunded,
              fee: e.fee,
              net: e.toMerchant,
            });
          }
        }
        break;
      case "settled": {
        amount = e.amount;
        fee = e.fee;
        net = e.amount - e.fee;
        held -= e.amount;
        released += net;
        const inTranche: PayoutPayment[] = [];
        for (const q of payments.values()) {
          if (q.batchId !== e.batchId || q.status !== "held") continue;
          q.status = "settled";
          inTranche.push({
            paymentId: q.id,
            batchId: q.batchId,
            source: "tranche",
            gross: q.amount,
            refunds: q.refunded,
            fee: null,
            net: null,
          });
        }
        openTranches.push({ batchId: e.batchId, amount: e.amount, fee: e.fee, payments: inTranche });
        break;
      }
      case "paid":
      case "deferred": {
        amount = e.amount;
        released -= e.amount;
        if (e.kind === "deferred") claimable += e.amount;
        const tranches = openTranches;
        const fromReleased = pendingReleased;
        openTranches = [];
        pendingReleased = [];
        const all = [...tranches.flatMap((t) => t.payments), ...fromReleased];
        for (const item of all) {
          const q = payments.get(item.paymentId);
          if (q && q.paidAt === null) q.paidAt = e.timestamp;
        }
        const gross = all.reduce((s, x) => s + x.gross, 0n);
        const refunds = all.reduce((s, x) => s + x.refunds, 0n);
        const fees = tranches.reduce((s, t) => s + t.fee, 0n) + fromReleased.reduce((s, x) => s + (x.fee ?? 0n), 0n);
        payouts.push({ event: e, tranches, released: fromReleased, gross, refunds, fees, net: gross - refunds - fees });
        break;
      }
      case "claimed":
        amount = e.amount;
        claimable -= e.amount;
        break;
      case "extended":
        if (p && p.status === "held") p.status = "own-timer";
        break;
      case "requested":
        // Asked for, not moved: the money stays held until the merchant answers.
        amount = e.amount;
        if (p && p.status === "held") p.status = "own-timer";
        break;
      case "rejected":
      case "resumed":
        break;
      case "released":
        amount = e.released + e.fee;
        fee = e.fee;
        net = e.released;
        held -= amount;
        released += e.released;
        if (p) {
          p.status = "released";
          pendingReleased.push({
            paymentId: p.id,
            batchId: p.batchId,
            source: "released",
            gross: p.amount,
            refunds: p.refunded,
            fee: e.fee,
            net: e.released,
          });
        }
        break;
    }
    lines.push({ event: e, amount, fee, refund, net, balanceHeld: held + disputed + released + claimable });
  }
  return { lines, payouts, payments };
}
