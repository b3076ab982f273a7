/**
 * Order timers: a buyer's extension or refund request moves a payment out of its (batch, merchant)
 * tranche onto its own timer (HoldExtended / RefundRequested: the tranche gives up the payment's
 * held amount, which stays in the held bucket); a refund request pauses the clock until the merchant
 * rejects it (RefundRequestRejected) or refunds part of it (HoldResumed, then PaymentRefunded);
 * PaymentReleased pays a payment on its own timer to the merchant's released balance, net of the fee
 * rate frozen when it left its tranche. Escalations are DisputeOpened on a payment whose request is
 * open or rejected (./lifecycle).
 *
 * Each step is applied as the chain reported it; what the rules expected (release times, windows,
 * counts, amounts) is recorded beside it in the payment's timer for the reconciler (reconcile/timers).
 */
import { refundReasonName } from "../../protocol";
import type { EventOf, EventRef } from "../types";
import type { Replay } from "./context";
import type { PaymentState, PaymentTimer, TrancheState } from "./ledger";
import { loadHeld, merchantLine } from "./lifecycle";
import { fmt } from "../util";

type TimerEvent = EventOf<
  "escrow",
  "HoldExtended" | "RefundRequested" | "RefundRequestRejected" | "HoldResumed" | "PaymentReleased"
>;

export function applyTimerEvent(r: Replay, e: TimerEvent): void {
  const named = r.ledger.payments.get(e.args.paymentId);
  if (named && named.merchantId !== e.args.merchantId) {
    r.anomaly(
      "payment.merchant",
      `payment ${named.id}`,
      `${e.ref.event} names merchant ${e.args.merchantId}, but the payment was escrowed to merchant ${named.merchantId}`,
      [named.escrowed, e.ref],
    );
  }
  switch (e.eventName) {
    case "HoldExtended": {
      // Only a payment with no request open or rejected can be extended.
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref, ["held"]);
      if (!held) return;
      const { p, t } = held;
      checkPayer(r, p, e.args.payer, e.ref);
      const timer = detach(p, t, e.ref);
      const releaseAtBefore = timer.releaseAt;
      timer.steps.push({
        kind: "extended",
        ref: e.ref,
        releaseAtBefore,
        releaseAt: e.args.releaseAt,
        extensions: e.args.extensions,
        expectedExtensions: timer.extensions + 1,
      });
      timer.extensions = e.args.extensions;
      timer.releaseAt = e.args.releaseAt;
      p.status = "held";
      p.recordStatus = 5;
      const detail = `extension ${e.args.extensions}: releasable from ${iso(e.args.releaseAt)}`;
      p.history.push({ kind: "hold-extended", ref: e.ref, amount: 0n, detail });
      merchantLine(r, p, e.ref, "hold-extended", 0n, 0n, () => {}, detail);
      return;
    }
    case "RefundRequested": {
      const held = loadHeld(r, e.args.paymentId, e.args.batchId, e.ref, ["held"]);
      if (!held) return;
      const { p, t } = held;
      checkPayer(r, p, e.args.payer, e.ref);
      const { amount, reason, holdLeft, respondBy } = e.args;
      const timer = detach(p, t, e.ref);
      timer.steps.push({
        kind: "refund-requested",
        ref: e.ref,
        amount,
        heldBefore: p.amount - p.refunded,
        reason,
        releaseAtBefore: timer.releaseAt,
        holdLeft,
        respondBy,
        requests: timer.refundRequests + 1,
      });
      timer.refundRequests += 1;
      timer.holdLeft = holdLeft;
      timer.releaseAt = 0;
      timer.deadline = respondBy;
      p.status = "refund-requested";
      p.recordStatus = 6;
      const detail = `refund of ${fmt(amount)} requested, reason ${refundReasonName(reason)}; answer by ${iso(respondBy)}`;
      p.history.push({ kind: "refund-requested", ref: e.ref, amount, detail });
      // Asked for, not moved: the amount is in the detail, the held balance is unchanged.
      merchantLine(r, p, e.ref, "refund-requested", 0n, 0n, () => {}, detail);
      return;
    }
    case "RefundRequestRejected": {
      const held = loadHeld(r, e.args.paymentId, undefined, e.ref, ["refund-requested"]);
      if (!held?.p.timer) return;
      const { p } = held;
      const timer = held.p.timer;
      checkPayer(r, p, e.args.payer, e.ref);
      const { escalateBy, releaseAt } = e.args;
      timer.steps.push({
        kind: "refund-rejected",
        ref: e.ref,
        respondBy: timer.deadline,
        holdLeft: timer.holdLeft,
        escalateBy,
        releaseAt,
      });
      timer.releaseAt = releaseAt;
      timer.holdLeft = 0;
      timer.deadline = escalateBy;
      p.status = "refund-rejected";
      p.recordStatus = 7;
      const detail = `refund request rejected: the buyer may escalate until ${iso(escalateBy)}; releasable from ${iso(releaseAt)}`;
      p.history.push({ kind: "refund-rejected", ref: e.ref, amount: 0n, detail });
      merchantLine(r, p, e.ref, "refund-rejected", 0n, 0n, () => {}, detail);
      return;
    }
    case "HoldResumed": {
      const held = loadHeld(r, e.args.paymentId, undefined, e.ref, ["refund-requested"]);
      if (!held?.p.timer) return;
      const { p } = held;
      const timer = held.p.timer;
      timer.steps.push({ kind: "hold-resumed", ref: e.ref, holdLeft: timer.holdLeft, releaseAt: e.args.releaseAt });
      timer.releaseAt = e.args.releaseAt;
      timer.holdLeft = 0;
      timer.deadline = 0;
      // The partial refund that resumed the clock follows in the same transaction.
      timer.resumePending = e.ref;
      r.pendingResumes.push(p.id);
      p.status = "held";
      p.recordStatus = 5;
      const detail = `clock resumed after a partial refund: releasable from ${iso(e.args.releaseAt)}`;
      p.history.push({ kind: "hold-resumed", ref: e.ref, amount: 0n, detail });
      merchantLine(r, p, e.ref, "hold-resumed", 0n, 0n, () => {}, detail);
      return;
    }
    case "PaymentReleased": {
      // The rules on the step (a request open, too early, merchant suspended) are the reconciler's.
      const held = loadHeld(r, e.args.paymentId, undefined, e.ref, ["held", "refund-requested", "refund-rejected"]);
      if (!held) return;
      const { p } = held;
      const { released, fee } = e.args;
      const heldBefore = p.amount - p.refunded;
      if (!p.timer) {
        r.anomaly(
          "payment.transition",
          `payment ${p.id}`,
          `PaymentReleased on a payment that never left its tranche (no extension or refund request put it on its own timer)`,
          [...p.history.map((h) => h.ref), e.ref],
        );
        return;
      }
      const m = r.ledger.merchants.get(p.merchantId);
      p.timer.steps.push({
        kind: "released",
        ref: e.ref,
        released,
        fee,
        heldBefore,
        feeBps: p.timer.feeBps,
        releaseAt: p.timer.releaseAt,
        from: p.status,
        merchantStatus: m?.status,
      });
      p.status = "released";
      p.recordStatus = 8;
      p.history.push({ kind: "released", ref: e.ref, amount: released, fee });
      r.bucket("held", -(released + fee), e.ref);
      r.bucket("released", released, e.ref);
      r.bucket("fees", fee, e.ref);
      r.ledger.feesAccrued += fee;
      merchantLine(r, p, e.ref, "released", released + fee, fee, (merchant) => {
        merchant.held -= released + fee;
        merchant.released += released;
        merchant.feesCharged += fee;
      });
      r.snapshot(e.ref);
      return;
    }
  }
}

/**
 * The payment's own timer; on its first step, takes its held amount out of its tranche (the
 * tranche's release time and fee rate go with it; the held bucket does not change).
 */
function detach(p: PaymentState, t: TrancheState, ref: EventRef): PaymentTimer {
  if (p.timer) return p.timer;
  const amount = p.amount - p.refunded;
  t.amount -= amount;
  t.deductions.push({ kind: "own-timer", paymentId: p.id, amount, ref });
  p.touched = true;
  p.timer = {
    detached: ref,
    detachedAmount: amount,
    feeBps: t.feeBps,
    releaseAt: t.releaseAt,
    holdLeft: 0,
    deadline: 0,
    extensions: 0,
    refundRequests: 0,
    steps: [],
  };
  return p.timer;
}

function checkPayer(r: Replay, p: PaymentState, payer: string, ref: EventRef): void {
  if (payer === p.payer) return;
  r.anomaly(
    "payment.payer",
    `payment ${p.id}`,
    `${ref.event} names payer ${payer}, but the payment's payer is ${p.payer}`,
    [p.escrowed, ref],
  );
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
