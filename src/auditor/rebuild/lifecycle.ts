/**
 * One payment after its batch: confirmation (held → released, fee to the protocol), refunds (held →
 * the payer's balance), disputes (held → disputed → split between payer and merchant). Each event's
 * amounts are applied as the chain reported them; what the rebuild expected instead is recorded
 * beside them for the reconciler.
 */
import type { EventOf, EventRef, Hex } from "../types";
import type { Replay } from "./context";
import type { MerchantState, PaymentState, StatementLine, TrancheState } from "./ledger";

type LifecycleEvent = EventOf<"escrow", "PaymentConfirmed" | "PaymentRefunded" | "DisputeOpened" | "DisputeResolved">;

export function applyLifecycleEvent(r: Replay, e: LifecycleEvent): void {
  switch (e.eventName) {
    case "PaymentConfirmed": {
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref);
      if (!held) return;
      const { p, t } = held;
      const { released, fee } = e.args;
      const heldBefore = p.amount - p.refunded;
      p.confirmed = { released, fee, heldBefore, feeBps: t.feeBps, ref: e.ref };
      p.status = "confirmed";
      p.recordStatus = 1;
      p.touched = true;
      p.history.push({ kind: "confirmed", ref: e.ref, amount: released, fee });
      deduct(r, t, "confirmed", p.id, released + fee, e.ref);
      r.bucket("released", released, e.ref);
      r.bucket("fees", fee, e.ref);
      r.ledger.feesAccrued += fee;
      merchantLine(r, p, e.ref, "confirmed", released + fee, fee, (m) => {
        m.held -= released + fee;
        m.released += released;
        m.feesCharged += fee;
      });
      r.snapshot(e.ref);
      return;
    }
    case "PaymentRefunded": {
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref);
      if (!held) return;
      const { p, t } = held;
      const { amount, totalRefunded, payer } = e.args;
      const heldBefore = p.amount - p.refunded;
      p.refunded += amount;
      p.refunds.push({ amount, totalRefunded, expectedTotal: p.refunded, heldBefore, ref: e.ref });
      p.touched = true;
      if (p.refunded >= p.amount) {
        p.status = "refunded";
        p.recordStatus = 2;
      }
      p.history.push({ kind: "refunded", ref: e.ref, amount, detail: `total refunded ${totalRefunded}` });
      deduct(r, t, "refunded", p.id, amount, e.ref);
      if (payer !== p.payer) {
        r.anomaly(
          "payment.payer",
          `payment ${p.id}`,
          `refund credited ${payer}, but the payment's payer is ${p.payer}`,
          [p.escrowed, e.ref],
        );
      }
      r.moveCustomer(payer, amount, e.ref).returned += amount;
      merchantLine(r, p, e.ref, "refunded", -amount, 0n, (m) => {
        m.held -= amount;
        m.refunded += amount;
      });
      r.snapshot(e.ref);
      return;
    }
    case "DisputeOpened": {
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref);
      if (!held) return;
      const { p, t } = held;
      const { amount, expiresAt } = e.args;
      p.dispute = { amount, expectedAmount: p.amount - p.refunded, feeBps: t.feeBps, expiresAt, opened: e.ref };
      p.status = "disputed";
      p.recordStatus = 3;
      p.touched = true;
      p.history.push({ kind: "dispute-opened", ref: e.ref, amount, detail: `expires at ${expiresAt}` });
      deduct(r, t, "disputed", p.id, amount, e.ref);
      r.bucket("disputed", amount, e.ref);
      merchantLine(r, p, e.ref, "dispute-opened", -amount, 0n, (m) => {
        m.held -= amount;
      });
      r.snapshot(e.ref);
      return;
    }
    case "DisputeResolved": {
      const p = r.ledger.payments.get(e.args.paymentId);
      if (!p) {
        r.anomaly(
          "payment.unknown",
          `payment ${e.args.paymentId}`,
          `dispute resolved for a payment that was never escrowed`,
          [e.ref],
        );
        return;
      }
      if (p.status !== "disputed" || !p.dispute) {
        r.anomaly(
          "payment.transition",
          `payment ${p.id}`,
          `dispute resolved, but the payment is ${p.status}, not disputed`,
          [...p.history.map((h) => h.ref), e.ref],
        );
        return;
      }
      const { toPayer, toMerchant, fee, byTimeout, payer } = e.args;
      p.dispute.resolved = { toPayer, toMerchant, fee, byTimeout, ref: e.ref };
      p.status = "resolved";
      p.recordStatus = 4;
      p.refunded += toPayer;
      p.history.push({
        kind: "dispute-resolved",
        ref: e.ref,
        amount: toPayer,
        fee,
        detail: `${byTimeout ? "expired: " : ""}to payer ${toPayer}, to merchant ${toMerchant} net`,
      });
      r.bucket("disputed", -(toPayer + toMerchant + fee), e.ref);
      r.bucket("released", toMerchant, e.ref);
      r.bucket("fees", fee, e.ref);
      r.ledger.feesAccrued += fee;
      if (payer !== p.payer) {
        r.anomaly(
          "payment.payer",
          `payment ${p.id}`,
          `ruling credited ${payer}, but the payment's payer is ${p.payer}`,
          [p.escrowed, e.ref],
        );
      }
      r.moveCustomer(payer, toPayer, e.ref).returned += toPayer;
      merchantLine(r, p, e.ref, "dispute-resolved", toMerchant + fee, fee, (m) => {
        m.released += toMerchant;
        m.feesCharged += fee;
      });
      r.snapshot(e.ref);
      return;
    }
  }
}

/** The payment's merchant, if known: `change` applies to its balances, then the payment's statement line. */
function merchantLine(
  r: Replay,
  p: PaymentState,
  ref: EventRef,
  kind: StatementLine["kind"],
  gross: bigint,
  fee: bigint,
  change: (m: MerchantState) => void,
): void {
  const m = r.merchant(p.merchantId, ref);
  if (!m) return;
  change(m);
  r.statement(m, { ref, kind, batchId: p.batchId, paymentId: p.id, gross, fee, payout: 0n });
}

/** The payment and its tranche, if the payment may still be acted on (held, tranche not settled). */
function loadHeld(
  r: Replay,
  id: Hex,
  batchId: bigint,
  ref: EventRef,
): { p: PaymentState; t: TrancheState } | undefined {
  const p = r.ledger.payments.get(id);
  if (!p) {
    r.anomaly("payment.unknown", `payment ${id}`, `${ref.event} for a payment that was never escrowed`, [ref]);
    return undefined;
  }
  if (p.batchId !== batchId) {
    r.anomaly(
      "payment.batch",
      `payment ${id}`,
      `${ref.event} names batch ${batchId}, but the payment was escrowed in batch ${p.batchId}`,
      [p.escrowed, ref],
    );
  }
  const t = r.tranche(p.batchId, p.merchantId);
  if (p.status !== "held" || t.settled) {
    r.anomaly(
      "payment.transition",
      `payment ${id}`,
      `${ref.event} on a payment that is ${t.settled ? "settled" : p.status}, no longer held`,
      [...p.history.map((h) => h.ref), ref],
    );
  }
  return { p, t };
}

function deduct(
  r: Replay,
  t: TrancheState,
  kind: "confirmed" | "refunded" | "disputed",
  paymentId: Hex,
  amount: bigint,
  ref: EventRef,
): void {
  t.amount -= amount;
  t.deductions.push({ kind, paymentId, amount, ref });
  r.bucket("held", -amount, ref);
}
