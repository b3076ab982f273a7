/**
 * One payment after its batch: confirmation (held → released, fee to the protocol), refunds (held →
 * the payer's balance), disputes (held → disputed → split between payer and merchant). Each event's
 * amounts are applied as the chain reported them; what the rebuild expected instead is recorded
 * beside them for the reconciler.
 *
 * Order timers (./timers) move a payment out of its tranche onto its own timer; from then on these
 * steps take its money from the held bucket directly instead of from its tranche.
 */
import type { EventOf, EventRef, Hex } from "../types";
import type { Replay } from "./context";
import type { MerchantState, PaymentState, StatementLine, TrancheState } from "./ledger";

type LifecycleEvent = EventOf<"escrow", "PaymentConfirmed" | "PaymentRefunded" | "DisputeOpened" | "DisputeResolved">;

/** Payment states from which the escrow still holds its money (in its tranche or on its own timer). */
const HELD_STATES: readonly PaymentState["status"][] = ["held", "refund-requested", "refund-rejected"];

export function applyLifecycleEvent(r: Replay, e: LifecycleEvent): void {
  switch (e.eventName) {
    case "PaymentConfirmed": {
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref, HELD_STATES);
      if (!held) return;
      const { p, t } = held;
      const { released, fee } = e.args;
      const heldBefore = p.amount - p.refunded;
      p.confirmed = { released, fee, heldBefore, feeBps: p.timer?.feeBps ?? t.feeBps, ref: e.ref };
      p.status = "confirmed";
      p.recordStatus = 1;
      p.touched = true;
      p.history.push({ kind: "confirmed", ref: e.ref, amount: released, fee });
      takeHeld(r, p, t, "confirmed", released + fee, e.ref);
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
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref, HELD_STATES);
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
      } else if (p.status === "refund-requested") {
        // A partial answer to an open request resumes the clock: HoldResumed comes first, same transaction.
        r.anomaly(
          "timer.resume-missing",
          `payment ${p.id}`,
          `a partial refund answered the open refund request, but no HoldResumed resumed the payment's clock`,
          [...p.history.map((h) => h.ref), e.ref],
        );
      }
      if (p.timer?.resumePending) {
        if (p.timer.resumePending.transactionHash === e.ref.transactionHash) delete p.timer.resumePending;
      }
      p.history.push({ kind: "refunded", ref: e.ref, amount, detail: `total refunded ${totalRefunded}` });
      takeHeld(r, p, t, "refunded", amount, e.ref);
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
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref, HELD_STATES);
      if (!held) return;
      const { p, t } = held;
      const { amount, expiresAt } = e.args;
      p.dispute = {
        amount,
        expectedAmount: p.amount - p.refunded,
        feeBps: p.timer?.feeBps ?? t.feeBps,
        expiresAt,
        opened: e.ref,
      };
      // A request open or rejected turns into a dispute only by escalation.
      if (p.timer && p.status === "refund-requested") {
        p.timer.steps.push({ kind: "escalated", ref: e.ref, from: "unanswered", deadline: p.timer.deadline });
      } else if (p.timer && p.status === "refund-rejected") {
        p.timer.steps.push({ kind: "escalated", ref: e.ref, from: "rejected", deadline: p.timer.deadline });
      }
      const escalated = p.status !== "held";
      p.status = "disputed";
      p.recordStatus = 3;
      p.touched = true;
      p.history.push({
        kind: "dispute-opened",
        ref: e.ref,
        amount,
        detail: `${escalated ? "refund request escalated; " : ""}expires at ${expiresAt}`,
      });
      takeHeld(r, p, t, "disputed", amount, e.ref);
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
export function merchantLine(
  r: Replay,
  p: PaymentState,
  ref: EventRef,
  kind: StatementLine["kind"],
  gross: bigint,
  fee: bigint,
  change: (m: MerchantState) => void,
  detail?: string,
): void {
  const m = r.merchant(p.merchantId, ref);
  if (!m) return;
  change(m);
  r.statement(m, {
    ref,
    kind,
    batchId: p.batchId,
    paymentId: p.id,
    gross,
    fee,
    payout: 0n,
    ...(detail !== undefined ? { detail } : {}),
  });
}

/**
 * The payment and its tranche, if the payment may still be acted on: in one of `states`, and (while
 * in its tranche) the tranche not settled. A payment on its own timer no longer depends on its tranche.
 */
export function loadHeld(
  r: Replay,
  id: Hex,
  batchId: bigint | undefined,
  ref: EventRef,
  states: readonly PaymentState["status"][],
): { p: PaymentState; t: TrancheState } | undefined {
  const p = r.ledger.payments.get(id);
  if (!p) {
    r.anomaly("payment.unknown", `payment ${id}`, `${ref.event} for a payment that was never escrowed`, [ref]);
    return undefined;
  }
  if (batchId !== undefined && p.batchId !== batchId) {
    r.anomaly(
      "payment.batch",
      `payment ${id}`,
      `${ref.event} names batch ${batchId}, but the payment was escrowed in batch ${p.batchId}`,
      [p.escrowed, ref],
    );
  }
  const t = r.tranche(p.batchId, p.merchantId);
  const settledWithTranche = !p.timer && t.settled !== undefined;
  if (!states.includes(p.status) || settledWithTranche) {
    r.anomaly(
      "payment.transition",
      `payment ${id}`,
      `${ref.event} on a payment that is ${settledWithTranche ? "settled" : p.status}, not ${states.join(" or ")}`,
      [...p.history.map((h) => h.ref), ref],
    );
  }
  return { p, t };
}

/**
 * Takes `amount` out of the held bucket: from the payment's tranche while it is there, from its own
 * timer's money once it left the tranche.
 */
function takeHeld(
  r: Replay,
  p: PaymentState,
  t: TrancheState,
  kind: "confirmed" | "refunded" | "disputed",
  amount: bigint,
  ref: EventRef,
): void {
  if (!p.timer) {
    t.amount -= amount;
    t.deductions.push({ kind, paymentId: p.id, amount, ref });
  }
  r.bucket("held", -amount, ref);
}
