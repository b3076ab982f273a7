/**
 * The FX mirror's decisions (src/relayer/fx/mirror.ts mirrorStep) over stored legs: what a pair
 * needs next in every state the two legs can be in, and nothing where nothing is owed.
 */
import { expect } from "chai";
import { REFUND_REASONS } from "../../../src/protocol";
import { PaymentState, type OrderTimer, type PaymentRecord } from "../../../src/relayer/domain";
import { mirrorStep, type FxLegs } from "../../../src/relayer/fx/mirror";
import { makePayment } from "../store/helpers";

const GRACE = 60_000;
const ACCEPTED_AT = 1_700_000_000_000;
const PAY = 10_870_000n;
const SETTLE = 10_000_000n;

function timer(overrides: Partial<OrderTimer> = {}): OrderTimer {
  return {
    extensions: 0,
    refundRequests: 0,
    holdLeft: null,
    request: null,
    escalateBy: null,
    dueAt: null,
    block: 1n,
    logIndex: 0,
    ...overrides,
  };
}

/** A pair of escrowed legs (USD pay leg to the desk, EUR settle leg to merchant 2), with overrides. */
function legs(pay: Partial<PaymentRecord> = {}, settle: Partial<PaymentRecord> | null = {}): FxLegs {
  return {
    pay: makePayment(1, {
      currency: "USD",
      amount: PAY,
      state: PaymentState.Escrowed,
      releaseAt: 1_000n,
      createdAt: ACCEPTED_AT,
      ...pay,
    }),
    settle:
      settle === null
        ? null
        : makePayment(2, {
            currency: "EUR",
            merchantId: 2n,
            amount: SETTLE,
            state: PaymentState.Escrowed,
            releaseAt: 1_010n,
            createdAt: ACCEPTED_AT,
            ...settle,
          }),
  };
}

const at = (afterMs: number) => ACCEPTED_AT + afterMs;

describe("relayer FX mirror: mirrorStep", () => {
  it("refunds the pay leg in full once its settle leg is missing past the grace, not before", () => {
    expect(mirrorStep(legs({}, null), at(GRACE - 1), GRACE)).to.equal(null);
    expect(mirrorStep(legs({}, null), at(GRACE), GRACE)).to.deep.include({
      kind: "refund_pay_leg",
      totalRefund: PAY,
      because: "settle_leg_missing",
    });
    // Already refunded in full (or not escrowed yet): nothing to send.
    expect(mirrorStep(legs({ refunded: PAY }, null), at(GRACE), GRACE)).to.equal(null);
    expect(mirrorStep(legs({ state: PaymentState.Submitted }, null), at(GRACE), GRACE)).to.equal(null);
  });

  it("refunds the pay leg in full when the settle leg was rejected or expired", () => {
    for (const state of [PaymentState.Rejected, PaymentState.Expired]) {
      expect(mirrorStep(legs({}, { state }), at(0), GRACE), state).to.deep.include({
        kind: "refund_pay_leg",
        totalRefund: PAY,
        because: "settle_leg_failed",
      });
    }
  });

  it("mirrors the merchant's refunds of the settle leg at the quote's rate, rounded up, cumulatively", () => {
    // 3.333333 EUR of 10 EUR back: 3.623332971 USD of 10.87 USD, rounded up to the unit.
    const r = 3_333_333n;
    const owed = (r * PAY + SETTLE - 1n) / SETTLE;
    expect(owed).to.equal(3_623_333n);
    const step = mirrorStep(legs({}, { refunded: r }), at(0), GRACE);
    expect(step).to.deep.include({ kind: "refund_pay_leg", totalRefund: owed, because: "settle_leg_refunded" });
    expect(step!.leg.id).to.equal(legs().pay.id);
    // Refunded that much already: nothing; a further refund asks for the new cumulative total.
    expect(mirrorStep(legs({ refunded: owed }, { refunded: r }), at(0), GRACE)).to.equal(null);
    expect(mirrorStep(legs({ refunded: owed }, { refunded: 2n * r }), at(0), GRACE)).to.deep.include({
      totalRefund: (2n * r * PAY + SETTLE - 1n) / SETTLE,
    });
    // A full refund of the settle leg returns the pay leg exactly, also from a request or a rejection.
    for (const state of [PaymentState.Refunded]) {
      expect(
        mirrorStep(legs({ state: PaymentState.RefundRequested }, { state, refunded: SETTLE }), at(0), GRACE),
      ).to.deep.include({ kind: "refund_pay_leg", totalRefund: PAY });
    }
  });

  it("carries the traveller's refund request to the settle leg, proportionally and with its reason", () => {
    const request = { amount: PAY / 2n, reason: REFUND_REASONS.damaged, respondBy: 5_000n };
    const pay = { state: PaymentState.RefundRequested, releaseAt: null, timer: timer({ refundRequests: 1, request }) };
    expect(mirrorStep(legs(pay), at(0), GRACE)).to.deep.include({
      kind: "request_settle_refund",
      amount: SETTLE / 2n,
      reason: BigInt(REFUND_REASONS.damaged),
      ordinal: 1n,
    });
    // The settle leg's request is open (or was answered already): nothing more.
    expect(
      mirrorStep(
        legs(pay, { state: PaymentState.RefundRequested, timer: timer({ refundRequests: 1, request }) }),
        at(0),
        GRACE,
      ),
    ).to.equal(null);
    expect(
      mirrorStep(legs(pay, { state: PaymentState.Held, timer: timer({ refundRequests: 1 }) }), at(0), GRACE),
    ).to.equal(null);
    // Asking for all of the pay leg asks for all that is still held of the settle leg.
    const all = { ...pay, timer: timer({ refundRequests: 1, request: { ...request, amount: PAY } }) };
    expect(mirrorStep(legs(all, { refunded: 1_000n }), at(0), GRACE)).to.deep.include({
      kind: "refund_pay_leg",
    });
    expect(mirrorStep(legs({ ...all, refunded: 1_088n }, { refunded: 1_000n }), at(0), GRACE)).to.deep.include({
      kind: "request_settle_refund",
      amount: SETTLE - 1_000n,
    });
  });

  it("rejects the traveller's request once the merchant rejected the settle leg's, and escalates after the traveller", () => {
    const request = { amount: PAY, reason: REFUND_REASONS.not_received, respondBy: 5_000n };
    const rejected = { state: PaymentState.RefundRejected, timer: timer({ refundRequests: 1, request }) };
    const open = { state: PaymentState.RefundRequested, timer: timer({ refundRequests: 2, request }) };
    expect(mirrorStep(legs(open, rejected), at(0), GRACE)).to.deep.include({ kind: "reject_pay_request", ordinal: 2n });
    expect(mirrorStep(legs({ state: PaymentState.Disputed }, rejected), at(0), GRACE)).to.deep.include({
      kind: "escalate_settle_request",
      ordinal: 1n,
    });
    // A disputed pay leg with a settle leg on its clock: the arbiter rules both, nothing to mirror.
    expect(mirrorStep(legs({ state: PaymentState.Disputed }), at(0), GRACE)).to.equal(null);
  });

  it("extends the settle leg to the pay leg's release time, once per extension", () => {
    const extended = { state: PaymentState.Held, releaseAt: 90_000n, timer: timer({ extensions: 1 }) };
    expect(mirrorStep(legs(extended), at(0), GRACE)).to.deep.include({
      kind: "extend_settle_leg",
      extension: 90_000n - 1_010n,
      ordinal: 1n,
    });
    // Extended already (or releasing later anyway): nothing.
    const done = { state: PaymentState.Held, releaseAt: 90_000n, timer: timer({ extensions: 1 }) };
    expect(mirrorStep(legs(extended, done), at(0), GRACE)).to.equal(null);
    expect(mirrorStep(legs(extended, { releaseAt: 95_000n }), at(0), GRACE)).to.equal(null);
  });

  it("asks for the whole settle leg back when the traveller's leg failed on chain", () => {
    for (const state of [PaymentState.Rejected, PaymentState.Expired]) {
      expect(mirrorStep(legs({ state }), at(0), GRACE), state).to.deep.include({
        kind: "request_settle_refund",
        amount: SETTLE,
        reason: BigInt(REFUND_REASONS.cancelled_order),
        ordinal: 1n,
      });
      // Asked once: the merchant's answer (refund, rejection, dispute) takes it from there.
      expect(
        mirrorStep(legs({ state }, { state: PaymentState.Held, timer: timer({ refundRequests: 1 }) }), at(0), GRACE),
      ).to.equal(null);
    }
  });

  it("confirms the merchant's leg once the traveller's was released, whatever the merchant's leg's step", () => {
    for (const state of [PaymentState.Released, PaymentState.Settled]) {
      for (const settleState of [PaymentState.Escrowed, PaymentState.Held, PaymentState.RefundRequested]) {
        const step = mirrorStep(legs({ state }, { state: settleState }), at(0), GRACE);
        expect(step, `${state}/${settleState}`).to.deep.include({ kind: "confirm_settle_leg" });
        expect(step!.leg.id).to.equal(legs().settle!.id);
      }
      expect(mirrorStep(legs({ state }, { state: PaymentState.Disputed }), at(0), GRACE)).to.equal(null);
    }
  });

  it("does nothing for a settled pair", () => {
    expect(mirrorStep(legs({ state: PaymentState.Released }, { state: PaymentState.Released }), at(0), GRACE)).to.equal(
      null,
    );
    expect(mirrorStep(legs({}, {}), at(GRACE * 10), GRACE)).to.equal(null);
  });
});
