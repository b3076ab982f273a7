/**
 * The SDK's reading of a payment's order timer (`timer` of the relayer's payment view): amounts and
 * unix times as bigint, null where the relayer sends null, and a malformed amount refused.
 */
import { expect } from "chai";
import { parsePayment, StablePayError, type PaymentWire } from "../../src/sdk";

/** A relayer payment view, escrowed and untouched by the payer; `overrides` change it. */
function paymentWire(overrides: Partial<PaymentWire> = {}): PaymentWire {
  return {
    id: `0x${"11".repeat(32)}`,
    payer: `0x${"22".repeat(20)}`,
    merchantId: "1",
    currency: "USD",
    amount: "10000000",
    orderRef: `0x${"33".repeat(32)}`,
    nonce: "0",
    validAfter: "0",
    deadline: "1900000000",
    hold: 3600,
    signature: `0x${"44".repeat(65)}`,
    state: "escrowed",
    rejectReason: null,
    batchId: "1",
    leafIndex: 0,
    txHash: `0x${"55".repeat(32)}`,
    refunded: "0",
    releaseAt: "1800003600",
    timer: null,
    requestId: null,
    createdAt: "2026-12-05T08:00:00.000Z",
    updatedAt: "2026-12-05T08:00:00.000Z",
    ...overrides,
  };
}

describe("sdk: a payment's order timer", function () {
  it("is null while the payment is on its tranche's timer", function () {
    expect(parsePayment(paymentWire()).timer).to.equal(null);
  });

  it("reads an open refund request: amounts and times as bigint, the reason's code and name", function () {
    const timer = {
      releaseAt: null,
      extensions: 1,
      refundRequests: 2,
      holdLeft: "7200",
      refundRequest: { amount: "2500000", reason: 3, reasonName: "damaged", respondBy: "1800086400" },
      escalateBy: null,
    };
    const payment = parsePayment(paymentWire({ state: "refund_requested", releaseAt: null, timer }));
    expect(payment.state).to.equal("refund_requested");
    expect(payment.timer).to.deep.equal({
      releaseAt: null,
      extensions: 1,
      refundRequests: 2,
      holdLeft: 7200n,
      refundRequest: { amount: 2_500_000n, reason: 3, reasonName: "damaged", respondBy: 1_800_086_400n },
      escalateBy: null,
    });
  });

  it("reads a rejected request's escalation deadline and release time", function () {
    const timer = {
      releaseAt: "1800010000",
      extensions: 0,
      refundRequests: 1,
      holdLeft: null,
      refundRequest: { amount: "1000000", reason: 255, reasonName: "other", respondBy: "1800086400" },
      escalateBy: "1800200000",
    };
    const payment = parsePayment(paymentWire({ state: "refund_rejected", releaseAt: "1800010000", timer }));
    expect(payment.timer?.releaseAt).to.equal(1_800_010_000n);
    expect(payment.timer?.escalateBy).to.equal(1_800_200_000n);
  });

  it("refuses a malformed request amount (invalid_response)", function () {
    const timer = {
      releaseAt: null,
      extensions: 0,
      refundRequests: 1,
      holdLeft: "60",
      refundRequest: { amount: "2.5", reason: 1, reasonName: "not_received", respondBy: "1800086400" },
      escalateBy: null,
    };
    let caught: unknown;
    try {
      parsePayment(paymentWire({ state: "refund_requested", timer }));
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(StablePayError);
    expect((caught as StablePayError).code).to.equal("invalid_response");
  });

  it("reads a payment's currency and refuses one that is no currency code (invalid_response)", function () {
    expect(parsePayment(paymentWire({ currency: "EUR" })).currency).to.equal("EUR");
    for (const currency of ["usd", "", "U"]) {
      let caught: unknown;
      try {
        parsePayment(paymentWire({ currency }));
      } catch (error) {
        caught = error;
      }
      expect((caught as StablePayError).code, currency).to.equal("invalid_response");
    }
  });
});
