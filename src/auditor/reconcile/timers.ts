/**
 * The order timers' rules, checked from the events alone (each payment's timer steps, ./rebuild/timers):
 * an extension only before the hold ends, by at most MAX_HOLD_EXTENSION and at most
 * MAX_HOLD_EXTENSIONS times, with its running count; a refund request only before the hold ends, for
 * at most what is held, at most MAX_REFUND_REQUESTS times, pausing the clock with the hold that was
 * left and a response deadline REFUND_RESPONSE_WINDOW later; a rejection only before that deadline,
 * with an escalation window of ESCALATION_WINDOW and a release time no earlier than its end; a
 * resumed clock releasable after the hold that was left; an escalation of an unanswered request only
 * from its deadline, of a rejected one only before its window closes; a release only after the
 * release time, never with a request open nor for a Suspended merchant, paying exactly what was held
 * less ceil(held × feeBps / 10,000) at the fee rate frozen when the payment left its tranche.
 */
import { feeOf } from "../../protocol";
import type { Ledger, PaymentState } from "../rebuild/ledger";
import type { EventRef } from "../types";
import type { MismatchInput } from "./mismatch";

/** PaymentLifecycle's constants (internal to the library, so mirrored here). */
export const TIMER_RULES = {
  MAX_HOLD_EXTENSION: 30 * 86_400,
  MAX_HOLD_EXTENSIONS: 2,
  MAX_REFUND_REQUESTS: 3,
  REFUND_RESPONSE_WINDOW: 3 * 86_400,
  ESCALATION_WINDOW: 7 * 86_400,
} as const;

const SUSPENDED = 2;

export function checkTimers(ledger: Ledger, add: (input: MismatchInput) => void): void {
  for (const p of ledger.payments.values()) {
    if (p.timer) checkPayment(p, add);
  }
}

function checkPayment(p: PaymentState, add: (input: MismatchInput) => void): void {
  const subject = `payment ${p.id}`;
  const history = p.history.map((h) => h.ref);
  const flag = (check: string, message: string, expected: unknown, actual: unknown, ref: EventRef) =>
    add({
      check,
      subject,
      message,
      expected: String(expected),
      actual: String(actual),
      // The step itself last, so it survives the cap on listed events.
      events: [...history.filter((h) => h !== ref), ref],
    });
  for (const s of p.timer!.steps) {
    const now = s.ref.timestamp;
    switch (s.kind) {
      case "extended": {
        if (now >= s.releaseAtBefore) {
          flag(
            "timer.extension-after-release",
            `hold extended at ${now}, but the payment was releasable from ${s.releaseAtBefore}`,
            `< ${s.releaseAtBefore}`,
            now,
            s.ref,
          );
        }
        const extension = s.releaseAt - s.releaseAtBefore;
        if (extension <= 0 || extension > TIMER_RULES.MAX_HOLD_EXTENSION) {
          flag(
            "timer.extension-bounds",
            `hold extended by ${extension} s (release time ${s.releaseAtBefore} → ${s.releaseAt}), outside (0, ${TIMER_RULES.MAX_HOLD_EXTENSION}] s`,
            `${s.releaseAtBefore + 1}..${s.releaseAtBefore + TIMER_RULES.MAX_HOLD_EXTENSION}`,
            s.releaseAt,
            s.ref,
          );
        }
        if (s.expectedExtensions > TIMER_RULES.MAX_HOLD_EXTENSIONS) {
          flag(
            "timer.extension-limit",
            `extension ${s.expectedExtensions} of a payment allowed ${TIMER_RULES.MAX_HOLD_EXTENSIONS}`,
            `<= ${TIMER_RULES.MAX_HOLD_EXTENSIONS}`,
            s.expectedExtensions,
            s.ref,
          );
        }
        if (s.extensions !== s.expectedExtensions) {
          flag(
            "timer.extension-count",
            `HoldExtended counts ${s.extensions} extensions, the events show ${s.expectedExtensions}`,
            s.expectedExtensions,
            s.extensions,
            s.ref,
          );
        }
        break;
      }
      case "refund-requested": {
        if (now >= s.releaseAtBefore) {
          flag(
            "timer.request-after-release",
            `refund requested at ${now}, but the payment was releasable from ${s.releaseAtBefore}`,
            `< ${s.releaseAtBefore}`,
            now,
            s.ref,
          );
        } else if (s.holdLeft !== s.releaseAtBefore - now) {
          flag(
            "timer.request-hold-left",
            `the request paused the clock with ${s.holdLeft} s left, but ${s.releaseAtBefore - now} s of hold were left`,
            s.releaseAtBefore - now,
            s.holdLeft,
            s.ref,
          );
        }
        if (s.amount === 0n || s.amount > s.heldBefore) {
          flag(
            "timer.request-amount",
            `refund of ${s.amount} requested while ${s.heldBefore} was held`,
            `1..${s.heldBefore}`,
            s.amount,
            s.ref,
          );
        }
        if (s.respondBy !== now + TIMER_RULES.REFUND_RESPONSE_WINDOW) {
          flag(
            "timer.request-respond-by",
            `the merchant must answer by ${s.respondBy}, not the request's time + ${TIMER_RULES.REFUND_RESPONSE_WINDOW} s`,
            now + TIMER_RULES.REFUND_RESPONSE_WINDOW,
            s.respondBy,
            s.ref,
          );
        }
        if (s.requests > TIMER_RULES.MAX_REFUND_REQUESTS) {
          flag(
            "timer.request-limit",
            `refund request ${s.requests} of a payment allowed ${TIMER_RULES.MAX_REFUND_REQUESTS}`,
            `<= ${TIMER_RULES.MAX_REFUND_REQUESTS}`,
            s.requests,
            s.ref,
          );
        }
        break;
      }
      case "refund-rejected": {
        if (now >= s.respondBy) {
          flag(
            "timer.reject-overdue",
            `the merchant rejected the request at ${now}, after its answer was due (${s.respondBy}): it was a dispute in waiting`,
            `< ${s.respondBy}`,
            now,
            s.ref,
          );
        }
        const escalateBy = now + TIMER_RULES.ESCALATION_WINDOW;
        const releaseAt = Math.max(now + s.holdLeft, escalateBy);
        if (s.escalateBy !== escalateBy || s.releaseAt !== releaseAt) {
          flag(
            "timer.reject-times",
            `rejection sets escalateBy ${s.escalateBy} and releaseAt ${s.releaseAt}; the rules give ${escalateBy} and ${releaseAt} (${s.holdLeft} s of hold left)`,
            `${escalateBy}/${releaseAt}`,
            `${s.escalateBy}/${s.releaseAt}`,
            s.ref,
          );
        }
        break;
      }
      case "hold-resumed":
        if (s.releaseAt !== now + s.holdLeft) {
          flag(
            "timer.resume-time",
            `the clock resumed with release time ${s.releaseAt}, but ${s.holdLeft} s of hold were left`,
            now + s.holdLeft,
            s.releaseAt,
            s.ref,
          );
        }
        break;
      case "escalated":
        if (s.from === "unanswered" && now < s.deadline) {
          flag(
            "timer.escalation-early",
            `an open refund request became a dispute at ${now}, before the merchant's answer was due (${s.deadline})`,
            `>= ${s.deadline}`,
            now,
            s.ref,
          );
        } else if (s.from === "rejected" && now >= s.deadline) {
          flag(
            "timer.escalation-late",
            `a rejected refund request was escalated at ${now}, after its window closed (${s.deadline})`,
            `< ${s.deadline}`,
            now,
            s.ref,
          );
        }
        break;
      case "released": {
        if (s.from === "refund-requested") {
          flag(
            "timer.release-while-requested",
            `released to the merchant while the buyer's refund request was open`,
            "refund request answered",
            "refund request open",
            s.ref,
          );
        } else if (now < s.releaseAt) {
          flag(
            "timer.release-early",
            `released at ${now}, before the payment's release time ${s.releaseAt}`,
            `>= ${s.releaseAt}`,
            now,
            s.ref,
          );
        }
        if (s.merchantStatus === SUSPENDED) {
          flag("timer.release-suspended", `released while the merchant was Suspended`, "Active", "Suspended", s.ref);
        }
        if (s.released + s.fee !== s.heldBefore) {
          flag(
            "timer.release-amount",
            `release paid ${s.released} + fee ${s.fee}, but ${s.heldBefore} was held`,
            s.heldBefore,
            s.released + s.fee,
            s.ref,
          );
        } else if (s.fee !== feeOf(s.heldBefore, s.feeBps)) {
          const fee = feeOf(s.heldBefore, s.feeBps);
          flag(
            "timer.release-fee",
            `release fee ${s.fee} is not ceil(${s.heldBefore} × ${s.feeBps} / 10000) = ${fee}`,
            fee,
            s.fee,
            s.ref,
          );
        }
        break;
      }
    }
  }
}
