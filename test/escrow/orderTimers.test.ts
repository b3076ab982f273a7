/**
 * The order timer: the buyer extends a payment's hold, asks for refunds that pause its clock; the
 * merchant refunds or rejects; a rejected request escalates to a dispute within a window, an
 * unanswered one by itself; a payment on its own timer is released by anyone when the timer ends.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { REFUND_REASONS } from "../../src/protocol";
import {
  DISPUTE_TIMEOUT,
  FEE_BPS,
  HOLD_PERIOD,
  ONE_DAY,
  PaymentStatus,
  deployEscrowFixture,
  feeOf,
  usd,
} from "./fixtures";
import type { EscrowFixture, EscrowedPayment } from "./fixtures";
import {
  aliceAndBobBatch,
  atNextBlock,
  buckets,
  expectInvariant,
  moved,
  releasedOf,
  trancheOf,
} from "./lifecycle.helpers";

const AMOUNT = usd(10);
const OTHER = usd(5);
const MAX_EXTENSION = 30n * ONE_DAY;
const RESPONSE_WINDOW = 3n * ONE_DAY;
const ESCALATION_WINDOW = 7n * ONE_DAY;
const REASON = REFUND_REASONS.not_received;

/** Alice pays AMOUNT and Bob OTHER to merchant 1 in one batch, held HOLD_PERIOD from `escrowedAt`. */
async function heldFixture() {
  const ctx = await aliceAndBobBatch(await deployEscrowFixture(), AMOUNT, OTHER);
  const escrowedAt = BigInt((await ctx.batch.tx.getBlock())!.timestamp);
  return { ...ctx, escrowedAt, releaseAt: escrowedAt + HOLD_PERIOD };
}

/** The whole payment record, as a plain object. */
async function timerOf(f: Pick<EscrowFixture, "escrow">, id: string) {
  const r = await f.escrow.paymentRecord(id);
  return {
    status: Number(r.status),
    feeBps: r.feeBps,
    refunded: r.refunded,
    releaseAt: r.releaseAt,
    holdLeft: r.holdLeft,
    deadline: r.deadline,
    extensions: Number(r.extensions),
    refundRequests: Number(r.refundRequests),
    batchId: r.batchId,
  };
}

/** Next block at `ts`; returns it. */
async function at(ts: bigint): Promise<bigint> {
  await atNextBlock(ts);
  return ts;
}

/** Alice's payment with a refund request open (for `amount`, opened one day into the hold). */
async function requestedFixture() {
  const ctx = await heldFixture();
  const requestedAt = await at(ctx.escrowedAt + ONE_DAY);
  await ctx.f.escrow.connect(ctx.alice).requestRefund(ctx.a.payment, ctx.a.inclusion, usd(4), REASON);
  return { ...ctx, requestedAt, holdLeft: ctx.releaseAt - requestedAt, respondBy: requestedAt + RESPONSE_WINDOW };
}

/** Alice's request rejected by the merchant one day after it opened. */
async function rejectedFixture() {
  const ctx = await requestedFixture();
  const rejectedAt = await at(ctx.requestedAt + ONE_DAY);
  await ctx.f.escrow.connect(ctx.m.owner).rejectRefundRequest(ctx.a.payment);
  const escalateBy = rejectedAt + ESCALATION_WINDOW;
  const resumed = rejectedAt + ctx.holdLeft;
  return { ...ctx, rejectedAt, escalateBy, releaseAt: resumed > escalateBy ? resumed : escalateBy };
}

describe("PaymentEscrow: order timers", function () {
  describe("extendHold", function () {
    it("moves the payment out of its tranche onto its own timer, later by the extension; held stays the same", async function () {
      const { f, batch, a, alice, m, releaseAt } = await loadFixture(heldFixture);
      const before = await buckets(f);
      await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, 5n * ONE_DAY))
        .to.emit(f.escrow, "HoldExtended")
        .withArgs(a.id, m.id, alice.address, batch.batchId, releaseAt + 5n * ONE_DAY, 1);
      expect(await buckets(f)).to.deep.equal(before);
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      expect(await timerOf(f, a.id)).to.deep.include({
        status: PaymentStatus.Held,
        feeBps: FEE_BPS,
        releaseAt: releaseAt + 5n * ONE_DAY,
        extensions: 1,
        batchId: batch.batchId,
      });
      await expectInvariant(f);
    });

    it("the tranche settles without it at the original time; release pays it at the extended time, not before", async function () {
      const { f, batch, a, alice, m, releaseAt } = await loadFixture(heldFixture);
      await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, 5n * ONE_DAY);
      await time.increaseTo(releaseAt);
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]))
        .to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m.id, OTHER, feeOf(OTHER));
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "HoldNotEnded")
        .withArgs(a.id, releaseAt + 5n * ONE_DAY);

      await at(releaseAt + 5n * ONE_DAY);
      const before = await buckets(f);
      const fee = feeOf(AMOUNT);
      await expect(f.escrow.connect(f.stranger).release(a.payment))
        .to.emit(f.escrow, "PaymentReleased")
        .withArgs(a.id, m.id, AMOUNT - fee, fee);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, released: AMOUNT - fee, fees: fee }));
      expect((await timerOf(f, a.id)).status).to.equal(PaymentStatus.Released);
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer")
        .withArgs(a.id, PaymentStatus.Released);
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, AMOUNT - fee);
      await expectInvariant(f);
    });

    it("allows two extensions, each up to 30 days, and refuses a third: ExtensionLimitReached", async function () {
      const { f, a, alice, releaseAt } = await loadFixture(heldFixture);
      await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, MAX_EXTENSION);
      await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, 1n))
        .to.emit(f.escrow, "HoldExtended")
        .withArgs(a.id, a.payment.merchantId, alice.address, a.inclusion.batchId, releaseAt + MAX_EXTENSION + 1n, 2);
      await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, 1n))
        .to.be.revertedWithCustomError(f.escrow, "ExtensionLimitReached")
        .withArgs(a.id, 2);
    });

    for (const extension of [0n, MAX_EXTENSION + 1n]) {
      it(`refuses an extension of ${extension} s: ExtensionOutOfRange`, async function () {
        const { f, a, alice } = await loadFixture(heldFixture);
        await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, extension))
          .to.be.revertedWithCustomError(f.escrow, "ExtensionOutOfRange")
          .withArgs(extension, MAX_EXTENSION);
      });
    }

    it("only the payer may extend: NotPayer", async function () {
      const { f, a, bob, m } = await loadFixture(heldFixture);
      for (const caller of [bob, m.owner, f.stranger]) {
        await expect(f.escrow.connect(caller).extendHold(a.payment, a.inclusion, ONE_DAY))
          .to.be.revertedWithCustomError(f.escrow, "NotPayer")
          .withArgs(a.id, caller.address);
      }
    });

    it("refuses once the hold ended (HoldEnded), on its tranche's time and then on its own", async function () {
      const { f, a, b, alice, bob, releaseAt } = await loadFixture(heldFixture);
      await f.escrow.connect(bob).extendHold(b.payment, b.inclusion, ONE_DAY);
      await at(releaseAt);
      await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY))
        .to.be.revertedWithCustomError(f.escrow, "HoldEnded")
        .withArgs(a.id, releaseAt);
      await at(releaseAt + ONE_DAY);
      await expect(f.escrow.connect(bob).extendHold(b.payment, b.inclusion, ONE_DAY))
        .to.be.revertedWithCustomError(f.escrow, "HoldEnded")
        .withArgs(b.id, releaseAt + ONE_DAY);
    });

    it("refuses after release to the merchant: confirmed (PaymentNotHeld) or settled with its tranche", async function () {
      const { f, batch, a, b, alice, bob, m, releaseAt } = await loadFixture(heldFixture);
      await f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Confirmed);
      await time.increaseTo(releaseAt);
      await f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expect(f.escrow.connect(bob).extendHold(b.payment, b.inclusion, ONE_DAY))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(b.id, PaymentStatus.None);
    });

    it("the buyer may still confirm or dispute on its own timer, and dispute past the tranche's release", async function () {
      const { f, batch, a, b, alice, bob, m, releaseAt } = await loadFixture(heldFixture);
      await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY);
      await f.escrow.connect(bob).extendHold(b.payment, b.inclusion, ONE_DAY);
      const fee = feeOf(AMOUNT);
      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, batch.batchId, AMOUNT - fee, fee);
      const openedAt = await at(releaseAt + 60n);
      await expect(f.escrow.connect(bob).openDispute(b.payment, b.inclusion))
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(b.id, m.id, bob.address, batch.batchId, OTHER, openedAt + DISPUTE_TIMEOUT);
      await at(releaseAt + ONE_DAY);
      await expect(f.escrow.release(b.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer")
        .withArgs(b.id, PaymentStatus.Disputed);
      await expectInvariant(f);
    });

    it("an untouched payment is not on its own timer: release refuses it (NotOnOwnTimer)", async function () {
      const { f, a } = await loadFixture(heldFixture);
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer")
        .withArgs(a.id, PaymentStatus.None);
    });

    it("release waits while the merchant is Suspended (MerchantSuspended), like settlement", async function () {
      const { f, a, alice, m, releaseAt } = await loadFixture(heldFixture);
      await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY);
      await f.registry.connect(f.registrar).suspend(m.id);
      await time.increaseTo(releaseAt + ONE_DAY);
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "MerchantSuspended")
        .withArgs(m.id);
      await f.registry.connect(f.registrar).reactivate(m.id);
      await expect(f.escrow.release(a.payment)).to.emit(f.escrow, "PaymentReleased");
    });
  });

  describe("requestRefund", function () {
    it("pauses the clock: out of the tranche, the hold left kept, the merchant's deadline set", async function () {
      const { f, batch, a, alice, m, escrowedAt, releaseAt } = await loadFixture(heldFixture);
      const before = await buckets(f);
      const requestedAt = await at(escrowedAt + ONE_DAY);
      await expect(f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, usd(4), REASON))
        .to.emit(f.escrow, "RefundRequested")
        .withArgs(
          a.id,
          m.id,
          alice.address,
          batch.batchId,
          usd(4),
          REASON,
          releaseAt - requestedAt,
          requestedAt + RESPONSE_WINDOW,
        );
      expect(await buckets(f)).to.deep.equal(before);
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      expect(await timerOf(f, a.id)).to.deep.include({
        status: PaymentStatus.RefundRequested,
        releaseAt: 0n,
        holdLeft: releaseAt - requestedAt,
        deadline: requestedAt + RESPONSE_WINDOW,
        refundRequests: 1,
      });
      await expectInvariant(f);
    });

    it("while open the payment cannot be released, extended, asked again or disputed directly: RefundRequestPending", async function () {
      const { f, a, alice, releaseAt } = await loadFixture(requestedFixture);
      await time.increaseTo(releaseAt + ONE_DAY);
      const pending = [PaymentStatus.RefundRequested] as const;
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "RefundRequestPending")
        .withArgs(a.id, ...pending);
      await expect(f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY))
        .to.be.revertedWithCustomError(f.escrow, "RefundRequestPending")
        .withArgs(a.id, ...pending);
      await expect(f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, 1n, REASON))
        .to.be.revertedWithCustomError(f.escrow, "RefundRequestPending")
        .withArgs(a.id, ...pending);
      await expect(f.escrow.connect(alice).openDispute(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "RefundRequestPending")
        .withArgs(a.id, ...pending);
    });

    it("refuses a zero amount (InvalidAmount) and more than is held (RefundExceedsHeld)", async function () {
      const { f, a, alice, m } = await loadFixture(heldFixture);
      await expect(f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, 0n, REASON))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(0n);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(1));
      await expect(f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, AMOUNT, REASON))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsHeld")
        .withArgs(a.id, AMOUNT, AMOUNT - usd(1));
    });

    it("only the payer may ask (NotPayer), only before the hold ends (HoldEnded)", async function () {
      const { f, a, alice, bob, m, releaseAt } = await loadFixture(heldFixture);
      for (const caller of [bob, m.owner]) {
        await expect(f.escrow.connect(caller).requestRefund(a.payment, a.inclusion, 1n, REASON))
          .to.be.revertedWithCustomError(f.escrow, "NotPayer")
          .withArgs(a.id, caller.address);
      }
      await at(releaseAt);
      await expect(f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, 1n, REASON))
        .to.be.revertedWithCustomError(f.escrow, "HoldEnded")
        .withArgs(a.id, releaseAt);
    });

    it("a full refund answers it: Refunded, the payer credited", async function () {
      const { f, a, alice, m } = await loadFixture(requestedFixture);
      const before = await buckets(f);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, a.inclusion.batchId, AMOUNT, AMOUNT);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, customerBalances: AMOUNT }));
      expect((await timerOf(f, a.id)).status).to.equal(PaymentStatus.Refunded);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(usd(1_000));
      await expectInvariant(f);
    });

    it("a partial refund answers it and restarts the clock with the hold that was left, however late it comes", async function () {
      const { f, a, m, requestedAt, holdLeft } = await loadFixture(requestedFixture);
      const answeredAt = await at(requestedAt + 2n * ONE_DAY);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(4)))
        .to.emit(f.escrow, "HoldResumed")
        .withArgs(a.id, m.id, answeredAt + holdLeft);
      expect(await timerOf(f, a.id)).to.deep.include({
        status: PaymentStatus.Held,
        refunded: usd(4),
        releaseAt: answeredAt + holdLeft,
        holdLeft: 0n,
        deadline: 0n,
      });
      await at(answeredAt + holdLeft - 1n);
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "HoldNotEnded")
        .withArgs(a.id, answeredAt + holdLeft);
      const rest = AMOUNT - usd(4);
      await expect(f.escrow.release(a.payment))
        .to.emit(f.escrow, "PaymentReleased")
        .withArgs(a.id, m.id, rest - feeOf(rest), feeOf(rest));
      expect(await releasedOf(f, m.id)).to.equal(rest - feeOf(rest));
      await expectInvariant(f);
    });

    it("the buyer may ask three times per payment, then RefundRequestLimitReached", async function () {
      const { f, a, alice, m } = await loadFixture(heldFixture);
      for (let i = 1; i <= 3; i++) {
        await f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, usd(1), REASON);
        await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(1));
        expect((await timerOf(f, a.id)).refundRequests).to.equal(i);
      }
      await expect(f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, usd(1), REASON))
        .to.be.revertedWithCustomError(f.escrow, "RefundRequestLimitReached")
        .withArgs(a.id, 3);
    });
  });

  describe("rejectRefundRequest and escalation", function () {
    it("the merchant rejects: the clock resumes, release waits for the buyer's escalation window", async function () {
      const { f, a, alice, m, requestedAt, holdLeft } = await loadFixture(requestedFixture);
      const rejectedAt = await at(requestedAt + ONE_DAY);
      const escalateBy = rejectedAt + ESCALATION_WINDOW;
      // Six days were left of the hold: the escalation window (seven) ends later, so release waits for it.
      expect(holdLeft).to.equal(6n * ONE_DAY);
      await expect(f.escrow.connect(m.owner).rejectRefundRequest(a.payment))
        .to.emit(f.escrow, "RefundRequestRejected")
        .withArgs(a.id, m.id, alice.address, escalateBy, escalateBy);
      expect(await timerOf(f, a.id)).to.deep.include({
        status: PaymentStatus.RefundRejected,
        releaseAt: escalateBy,
        deadline: escalateBy,
        holdLeft: 0n,
      });
      await at(escalateBy - 1n);
      await expect(f.escrow.release(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "HoldNotEnded")
        .withArgs(a.id, escalateBy);
      await expect(f.escrow.release(a.payment)).to.emit(f.escrow, "PaymentReleased");
      await expectInvariant(f);
    });

    it("release waits for the resumed hold when it is longer than the escalation window", async function () {
      const { f, a, alice, m } = await loadFixture(heldFixture);
      await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, 20n * ONE_DAY);
      const requestedAt = BigInt(await time.latest()) + 1n;
      await f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, usd(1), REASON);
      const { holdLeft } = await timerOf(f, a.id);
      expect(holdLeft > ESCALATION_WINDOW).to.equal(true);
      const rejectedAt = await at(requestedAt + ONE_DAY);
      await expect(f.escrow.connect(m.owner).rejectRefundRequest(a.payment))
        .to.emit(f.escrow, "RefundRequestRejected")
        .withArgs(a.id, m.id, alice.address, rejectedAt + ESCALATION_WINDOW, rejectedAt + holdLeft);
    });

    it("only the merchant's owner key rejects (NotMerchantOwner), only an open request (NoOpenRefundRequest), only until its deadline (RefundResponseOverdue)", async function () {
      const { f, a, b, alice, m, respondBy } = await loadFixture(requestedFixture);
      for (const caller of [alice, m.payout, f.stranger]) {
        await expect(f.escrow.connect(caller).rejectRefundRequest(a.payment))
          .to.be.revertedWithCustomError(f.escrow, "NotMerchantOwner")
          .withArgs(m.id, caller.address);
      }
      await expect(f.escrow.connect(m.owner).rejectRefundRequest(b.payment))
        .to.be.revertedWithCustomError(f.escrow, "NoOpenRefundRequest")
        .withArgs(b.id, PaymentStatus.None);
      await at(respondBy);
      await expect(f.escrow.connect(m.owner).rejectRefundRequest(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "RefundResponseOverdue")
        .withArgs(a.id, respondBy);
    });

    it("the buyer escalates a rejected request to a dispute within the window; the arbiter rules as on any dispute", async function () {
      const { f, a, alice, m, escalateBy } = await loadFixture(rejectedFixture);
      const before = await buckets(f);
      const openedAt = await at(escalateBy - 1n);
      await expect(f.escrow.connect(alice).escalateRefundRequest(a.payment))
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, a.inclusion.batchId, AMOUNT, openedAt + DISPUTE_TIMEOUT);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, disputed: AMOUNT }));
      expect((await timerOf(f, a.id)).status).to.equal(PaymentStatus.Disputed);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, usd(4)))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(
          a.id,
          m.id,
          alice.address,
          usd(4),
          AMOUNT - usd(4) - feeOf(AMOUNT - usd(4)),
          feeOf(AMOUNT - usd(4)),
          false,
        );
      await expectInvariant(f);
    });

    it("escalation: only by the payer (NotPayer), only of a rejected request (RefundRequestNotRejected), only within the window (EscalationWindowClosed)", async function () {
      const { f, a, alice, m, escalateBy } = await loadFixture(rejectedFixture);
      await expect(f.escrow.connect(m.owner).escalateRefundRequest(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotPayer")
        .withArgs(a.id, m.owner.address);
      await at(escalateBy);
      await expect(f.escrow.connect(alice).escalateRefundRequest(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "EscalationWindowClosed")
        .withArgs(a.id, escalateBy);

      const r = await loadFixture(requestedFixture);
      await expect(r.f.escrow.connect(r.alice).escalateRefundRequest(r.a.payment))
        .to.be.revertedWithCustomError(r.f.escrow, "RefundRequestNotRejected")
        .withArgs(r.a.id, PaymentStatus.RefundRequested);
      await expect(r.f.escrow.connect(r.bob).escalateRefundRequest(r.b.payment))
        .to.be.revertedWithCustomError(r.f.escrow, "NotOnOwnTimer")
        .withArgs(r.b.id, PaymentStatus.None);
    });

    it("a request left unanswered past its deadline becomes a dispute by anyone's call, not before (RefundResponseNotDue)", async function () {
      const { f, a, alice, m, respondBy } = await loadFixture(requestedFixture);
      await at(respondBy - 1n);
      await expect(f.escrow.connect(f.stranger).escalateUnansweredRefundRequest(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "RefundResponseNotDue")
        .withArgs(a.id, respondBy);
      await at(respondBy);
      await expect(f.escrow.connect(f.stranger).escalateUnansweredRefundRequest(a.payment))
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, a.inclusion.batchId, AMOUNT, respondBy + DISPUTE_TIMEOUT);
      await expect(f.escrow.connect(f.stranger).escalateUnansweredRefundRequest(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer")
        .withArgs(a.id, PaymentStatus.Disputed);
      await expectInvariant(f);
    });

    it("an answered request cannot be escalated as unanswered (NoOpenRefundRequest)", async function () {
      const { f, a, m, respondBy } = await loadFixture(requestedFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(1));
      await at(respondBy);
      await expect(f.escrow.escalateUnansweredRefundRequest(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NoOpenRefundRequest")
        .withArgs(a.id, PaymentStatus.Held);
    });

    it("the merchant may still refund after rejecting; the payment stays rejected until released", async function () {
      const { f, a, alice, m, releaseAt } = await loadFixture(rejectedFixture);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(2)))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, a.inclusion.batchId, usd(2), usd(2));
      expect((await timerOf(f, a.id)).status).to.equal(PaymentStatus.RefundRejected);
      await time.increaseTo(releaseAt);
      const rest = AMOUNT - usd(2);
      await expect(f.escrow.release(a.payment))
        .to.emit(f.escrow, "PaymentReleased")
        .withArgs(a.id, m.id, rest - feeOf(rest), feeOf(rest));
      await expectInvariant(f);
    });
  });

  it("a payment on its own timer keeps being proven by its record: a wrong inclusion is ignored, the event names its batch", async function () {
    const { f, a, alice, m } = await loadFixture(heldFixture);
    await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY);
    const fee = feeOf(AMOUNT);
    await expect(f.escrow.connect(alice).confirm(a.payment, { batchId: 999n, proof: [] }))
      .to.emit(f.escrow, "PaymentConfirmed")
      .withArgs(a.id, m.id, a.inclusion.batchId, AMOUNT - fee, fee);
  });

  it("a forged payment (other fields, same record id impossible) has no record: NotOnOwnTimer", async function () {
    const { f, a, alice } = await loadFixture(heldFixture);
    await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY);
    const forged: EscrowedPayment["payment"] = { ...a.payment, amount: a.payment.amount * 2n };
    await expect(f.escrow.release(forged)).to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer");
  });
});
