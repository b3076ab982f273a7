/**
 * The order timer's signed (relayed) actions: the payer's hold extension, refund request and
 * escalation, and the merchant owner's rejection. Each binds an ordinal (the extension or request it
 * makes or answers), so a signature acts once and never on a later extension or request; each is
 * refused past its deadline, once revoked (cancelSignedAction) and unless its signer signed it.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import { DISPUTE_TIMEOUT, HOLD_PERIOD, ONE_DAY, PaymentStatus, deployEscrowFixture, usd } from "./fixtures";
import type { EscrowFixture, EscrowedPayment } from "./fixtures";
import { aliceAndBobBatch, atNextBlock, buckets, expectInvariant, recordOf } from "./lifecycle.helpers";
import { REASON, signEscalation, signExtension, signRejection, signRequest } from "./orderTimers.helpers";

const AMOUNT = usd(10);
const OTHER = usd(5);
const REQUESTED = usd(4);
const RESPONSE_WINDOW = 3n * ONE_DAY;
const ESCALATION_WINDOW = 7n * ONE_DAY;
/** Outlasts every time jump below; the expiry tests use their own deadline. */
const FAR = 120n * ONE_DAY;

/** Alice pays AMOUNT and Bob OTHER to merchant 1 in one batch, held HOLD_PERIOD from `escrowedAt`. */
async function heldFixture() {
  const ctx = await aliceAndBobBatch(await deployEscrowFixture(), AMOUNT, OTHER);
  const escrowedAt = BigInt((await ctx.batch.tx.getBlock())!.timestamp);
  return { ...ctx, escrowedAt, releaseAt: escrowedAt + HOLD_PERIOD, deadline: escrowedAt + FAR };
}

/** Alice's signed request for REQUESTED, relayed one day into the hold. */
async function requestedFixture() {
  const ctx = await heldFixture();
  const { f, a, alice, deadline } = ctx;
  const { signature } = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
  const requestedAt = ctx.escrowedAt + ONE_DAY;
  await atNextBlock(requestedAt);
  await f.escrow
    .connect(f.relayer)
    .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 1n, deadline, signature);
  return { ...ctx, requestedAt, holdLeft: ctx.releaseAt - requestedAt };
}

/** Alice's request rejected by the merchant owner's signature one day after it opened. */
async function rejectedFixture() {
  const ctx = await requestedFixture();
  const { f, a, m, deadline } = ctx;
  const { signature } = await signRejection(f, m.owner, a.id, 1n, deadline);
  const rejectedAt = ctx.requestedAt + ONE_DAY;
  await atNextBlock(rejectedAt);
  await f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature);
  const escalateBy = rejectedAt + ESCALATION_WINDOW;
  const resumed = rejectedAt + ctx.holdLeft;
  return { ...ctx, rejectedAt, escalateBy, releaseAt: resumed > escalateBy ? resumed : escalateBy };
}

/** Extends `p` on chain by one day, then releases it to the merchant once its timer ended. */
async function extendAndRelease(f: EscrowFixture, payer: Signer, p: EscrowedPayment, releaseAt: bigint) {
  await f.escrow.connect(payer).extendHold(p.payment, p.inclusion, ONE_DAY);
  await time.increaseTo(releaseAt + ONE_DAY);
  await f.escrow.release(p.payment);
}

describe("PaymentEscrow: signed order-timer actions", function () {
  describe("extendHoldWithSignature", function () {
    it("is relayed by anyone with the payer's signature; the second extension signs ordinal 2", async function () {
      const { f, batch, a, alice, m, releaseAt, deadline } = await loadFixture(heldFixture);
      const before = await buckets(f);
      const first = await signExtension(f, alice, a.id, 5n * ONE_DAY, 1n, deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .extendHoldWithSignature(a.payment, a.inclusion, 5n * ONE_DAY, 1n, deadline, first.signature),
      )
        .to.emit(f.escrow, "HoldExtended")
        .withArgs(a.id, m.id, alice.address, batch.batchId, releaseAt + 5n * ONE_DAY, 1);
      const second = await signExtension(f, alice, a.id, ONE_DAY, 2n, deadline);
      await expect(
        f.escrow
          .connect(f.stranger)
          .extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 2n, deadline, second.signature),
      )
        .to.emit(f.escrow, "HoldExtended")
        .withArgs(a.id, m.id, alice.address, batch.batchId, releaseAt + 6n * ONE_DAY, 2);
      const record = await f.escrow.paymentRecord(a.id);
      expect([Number(record.status), Number(record.extensions)]).to.deep.equal([PaymentStatus.Held, 2]);
      expect(await buckets(f)).to.deep.equal(before);
      await expectInvariant(f);
    });

    it("a replay of a used signature extends nothing more: StaleOrdinal(id, 2, 1)", async function () {
      const { f, a, alice, deadline } = await loadFixture(heldFixture);
      const { signature } = await signExtension(f, alice, a.id, ONE_DAY, 1n, deadline);
      const relay = () =>
        f.escrow.connect(f.relayer).extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 1n, deadline, signature);
      await relay();
      await expect(relay()).to.be.revertedWithCustomError(f.escrow, "StaleOrdinal").withArgs(a.id, 2, 1);
    });

    it("a signature for another extension is refused (StaleOrdinal), also once the payer extended on chain", async function () {
      const { f, a, alice, deadline } = await loadFixture(heldFixture);
      const second = await signExtension(f, alice, a.id, ONE_DAY, 2n, deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 2n, deadline, second.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StaleOrdinal")
        .withArgs(a.id, 1, 2);
      const first = await signExtension(f, alice, a.id, ONE_DAY, 1n, deadline);
      await f.escrow.connect(alice).extendHold(a.payment, a.inclusion, ONE_DAY);
      await expect(
        f.escrow
          .connect(f.relayer)
          .extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 1n, deadline, first.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StaleOrdinal")
        .withArgs(a.id, 2, 1);
    });

    it("accepts the signature at its deadline and reverts SignatureExpired after it", async function () {
      const { f, a, alice, escrowedAt } = await loadFixture(heldFixture);
      const deadline = escrowedAt + ONE_DAY;
      const { signature } = await signExtension(f, alice, a.id, ONE_DAY, 1n, deadline);
      await atNextBlock(deadline + 1n);
      await expect(
        f.escrow.connect(f.relayer).extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 1n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
      const { b, bob } = await loadFixture(heldFixture);
      const atDeadline = await signExtension(f, bob, b.id, ONE_DAY, 1n, deadline);
      await atNextBlock(deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .extendHoldWithSignature(b.payment, b.inclusion, ONE_DAY, 1n, deadline, atDeadline.signature),
      ).to.emit(f.escrow, "HoldExtended");
    });

    it("reverts SignatureCancelled(payer, digest) once the payer revoked it", async function () {
      const { f, a, alice, deadline } = await loadFixture(heldFixture);
      const { signature, digest } = await signExtension(f, alice, a.id, ONE_DAY, 1n, deadline);
      await f.escrow.connect(alice).cancelSignedAction(digest);
      await expect(
        f.escrow.connect(f.relayer).extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 1n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
        .withArgs(alice.address, digest);
    });

    it("reverts InvalidSigner(payer) for another signer or another extension than signed", async function () {
      const { f, a, bob, alice, m, deadline } = await loadFixture(heldFixture);
      for (const signer of [bob, m.owner]) {
        const { signature } = await signExtension(f, signer, a.id, ONE_DAY, 1n, deadline);
        await expect(
          f.escrow.connect(f.relayer).extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 1n, deadline, signature),
        )
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
      }
      const { signature } = await signExtension(f, alice, a.id, ONE_DAY, 1n, deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .extendHoldWithSignature(a.payment, a.inclusion, 2n * ONE_DAY, 1n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
        .withArgs(alice.address);
    });

    it("refuses a payment released to the merchant: PaymentNotHeld(id, Released)", async function () {
      const { f, a, alice, releaseAt, deadline } = await loadFixture(heldFixture);
      await extendAndRelease(f, alice, a, releaseAt);
      const { signature } = await signExtension(f, alice, a.id, ONE_DAY, 2n, deadline);
      await expect(
        f.escrow.connect(f.relayer).extendHoldWithSignature(a.payment, a.inclusion, ONE_DAY, 2n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Released);
    });
  });

  describe("requestRefundWithSignature", function () {
    it("is relayed by anyone: the clock pauses as for requestRefund", async function () {
      const { f, batch, a, alice, m, escrowedAt, releaseAt, deadline } = await loadFixture(heldFixture);
      const { signature } = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
      const requestedAt = escrowedAt + ONE_DAY;
      await atNextBlock(requestedAt);
      await expect(
        f.escrow
          .connect(f.relayer)
          .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 1n, deadline, signature),
      )
        .to.emit(f.escrow, "RefundRequested")
        .withArgs(
          a.id,
          m.id,
          alice.address,
          batch.batchId,
          REQUESTED,
          REASON,
          releaseAt - requestedAt,
          requestedAt + RESPONSE_WINDOW,
        );
      const record = await f.escrow.paymentRecord(a.id);
      expect([Number(record.status), Number(record.refundRequests)]).to.deep.equal([PaymentStatus.RefundRequested, 1]);
      await expectInvariant(f);
    });

    it("a replay of a used signature opens no second request: StaleOrdinal(id, 2, 1)", async function () {
      const { f, a, alice, m, deadline } = await loadFixture(heldFixture);
      const { signature } = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
      const relay = () =>
        f.escrow
          .connect(f.relayer)
          .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 1n, deadline, signature);
      await relay();
      // The merchant answers with a partial refund: the clock resumes and a new request could open.
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(1));
      await expect(relay()).to.be.revertedWithCustomError(f.escrow, "StaleOrdinal").withArgs(a.id, 2, 1);
    });

    it("a signature for another request is refused: StaleOrdinal(id, 1, 2)", async function () {
      const { f, a, alice, deadline } = await loadFixture(heldFixture);
      const { signature } = await signRequest(f, alice, a.id, REQUESTED, 2n, deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 2n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StaleOrdinal")
        .withArgs(a.id, 1, 2);
    });

    it("reverts SignatureExpired after its deadline", async function () {
      const { f, a, alice, escrowedAt } = await loadFixture(heldFixture);
      const deadline = escrowedAt + ONE_DAY;
      const { signature } = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
      await atNextBlock(deadline + 1n);
      await expect(
        f.escrow
          .connect(f.relayer)
          .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 1n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
    });

    it("reverts SignatureCancelled(payer, digest) once the payer revoked it", async function () {
      const { f, a, alice, deadline } = await loadFixture(heldFixture);
      const { signature, digest } = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
      await f.escrow.connect(alice).cancelSignedAction(digest);
      await expect(
        f.escrow
          .connect(f.relayer)
          .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 1n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
        .withArgs(alice.address, digest);
    });

    it("reverts InvalidSigner(payer) for another signer, amount or reason than signed", async function () {
      const { f, a, alice, m, deadline } = await loadFixture(heldFixture);
      const byOwner = await signRequest(f, m.owner, a.id, REQUESTED, 1n, deadline);
      const byAlice = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
      for (const [amount, reason, signature] of [
        [REQUESTED, REASON, byOwner.signature],
        [AMOUNT, REASON, byAlice.signature],
        [REQUESTED, REASON + 1n, byAlice.signature],
      ] as const) {
        await expect(
          f.escrow
            .connect(f.relayer)
            .requestRefundWithSignature(a.payment, a.inclusion, amount, reason, 1n, deadline, signature),
        )
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
      }
    });

    it("refuses a payment released to the merchant: PaymentNotHeld(id, Released)", async function () {
      const { f, a, alice, releaseAt, deadline } = await loadFixture(heldFixture);
      await extendAndRelease(f, alice, a, releaseAt);
      const { signature } = await signRequest(f, alice, a.id, REQUESTED, 1n, deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .requestRefundWithSignature(a.payment, a.inclusion, REQUESTED, REASON, 1n, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Released);
    });
  });

  describe("rejectRefundRequestWithSignature", function () {
    it("is relayed by anyone with the merchant owner's signature: the request is rejected", async function () {
      const { f, a, alice, m, requestedAt, holdLeft, deadline } = await loadFixture(requestedFixture);
      const { signature } = await signRejection(f, m.owner, a.id, 1n, deadline);
      const rejectedAt = requestedAt + ONE_DAY;
      await atNextBlock(rejectedAt);
      const escalateBy = rejectedAt + ESCALATION_WINDOW;
      const resumed = rejectedAt + holdLeft;
      await expect(f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.emit(f.escrow, "RefundRequestRejected")
        .withArgs(a.id, m.id, alice.address, escalateBy, resumed > escalateBy ? resumed : escalateBy);
      expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.RefundRejected);
    });

    it("a replay rejects nothing more: NoOpenRefundRequest(id, RefundRejected)", async function () {
      const { f, a, m, deadline } = await loadFixture(requestedFixture);
      const { signature } = await signRejection(f, m.owner, a.id, 1n, deadline);
      const relay = () =>
        f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature);
      await relay();
      await expect(relay())
        .to.be.revertedWithCustomError(f.escrow, "NoOpenRefundRequest")
        .withArgs(a.id, PaymentStatus.RefundRejected);
    });

    it("a rejection signed for an earlier request cannot reject a later one: StaleOrdinal(id, 2, 1)", async function () {
      const { f, a, alice, m, deadline } = await loadFixture(requestedFixture);
      const first = await signRejection(f, m.owner, a.id, 1n, deadline);
      // The merchant answers request 1 with a partial refund instead; the buyer asks again.
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(1));
      await f.escrow.connect(alice).requestRefund(a.payment, a.inclusion, usd(2), REASON);
      await expect(
        f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, first.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StaleOrdinal")
        .withArgs(a.id, 2, 1);
      const second = await signRejection(f, m.owner, a.id, 2n, deadline);
      await expect(
        f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 2n, deadline, second.signature),
      ).to.emit(f.escrow, "RefundRequestRejected");
    });

    it("reverts SignatureExpired after its deadline", async function () {
      const { f, a, m, requestedAt } = await loadFixture(requestedFixture);
      const deadline = requestedAt + ONE_DAY;
      const { signature } = await signRejection(f, m.owner, a.id, 1n, deadline);
      await atNextBlock(deadline + 1n);
      await expect(f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
    });

    it("reverts SignatureCancelled(owner, digest) once the owner key revoked it", async function () {
      const { f, a, m, deadline } = await loadFixture(requestedFixture);
      const { signature, digest } = await signRejection(f, m.owner, a.id, 1n, deadline);
      await f.escrow.connect(m.owner).cancelSignedAction(digest);
      await expect(f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
        .withArgs(m.owner.address, digest);
    });

    it("reverts InvalidSigner(owner) when the payer, another merchant's owner or a stranger signed", async function () {
      const { f, a, alice, m, deadline } = await loadFixture(requestedFixture);
      for (const signer of [alice, f.merchants[1].owner, f.stranger]) {
        const { signature } = await signRejection(f, signer, a.id, 1n, deadline);
        await expect(f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature))
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(m.owner.address);
      }
    });

    it("refuses once the answer is overdue (RefundResponseOverdue) and after release (NoOpenRefundRequest)", async function () {
      const { f, a, m, requestedAt, deadline } = await loadFixture(requestedFixture);
      const { signature } = await signRejection(f, m.owner, a.id, 1n, deadline);
      await atNextBlock(requestedAt + RESPONSE_WINDOW);
      await expect(f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "RefundResponseOverdue")
        .withArgs(a.id, requestedAt + RESPONSE_WINDOW);

      const { b, bob, releaseAt } = await loadFixture(requestedFixture);
      await extendAndRelease(f, bob, b, releaseAt);
      const onReleased = await signRejection(f, m.owner, b.id, 0n, deadline);
      await expect(
        f.escrow.connect(f.relayer).rejectRefundRequestWithSignature(b.payment, 0n, deadline, onReleased.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "NoOpenRefundRequest")
        .withArgs(b.id, PaymentStatus.Released);
    });
  });

  describe("escalateRefundRequestWithSignature", function () {
    it("is relayed by anyone with the payer's signature: the rejected request becomes a dispute", async function () {
      const { f, batch, a, alice, m, rejectedAt, deadline } = await loadFixture(rejectedFixture);
      const before = await buckets(f);
      const { signature } = await signEscalation(f, alice, a.id, 1n, deadline);
      const escalatedAt = rejectedAt + ONE_DAY;
      await atNextBlock(escalatedAt);
      await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, escalatedAt + DISPUTE_TIMEOUT);
      expect(await buckets(f)).to.deep.equal({
        ...before,
        held: before.held - AMOUNT,
        disputed: before.disputed + AMOUNT,
      });
      await expectInvariant(f);
    });

    it("a replay escalates nothing more: NotOnOwnTimer(id, Disputed)", async function () {
      const { f, a, alice, deadline } = await loadFixture(rejectedFixture);
      const { signature } = await signEscalation(f, alice, a.id, 1n, deadline);
      const relay = () =>
        f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature);
      await relay();
      await expect(relay())
        .to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer")
        .withArgs(a.id, PaymentStatus.Disputed);
    });

    it("a signature for another request is refused: StaleOrdinal(id, 1, 2)", async function () {
      const { f, a, alice, deadline } = await loadFixture(rejectedFixture);
      const { signature } = await signEscalation(f, alice, a.id, 2n, deadline);
      await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 2n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "StaleOrdinal")
        .withArgs(a.id, 1, 2);
    });

    it("reverts EscalationWindowClosed(id, escalateBy) after the window, even with a valid signature", async function () {
      const { f, a, alice, escalateBy, deadline } = await loadFixture(rejectedFixture);
      const { signature } = await signEscalation(f, alice, a.id, 1n, deadline);
      await atNextBlock(escalateBy);
      await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "EscalationWindowClosed")
        .withArgs(a.id, escalateBy);
    });

    it("reverts SignatureExpired after its deadline", async function () {
      const { f, a, alice, rejectedAt } = await loadFixture(rejectedFixture);
      const deadline = rejectedAt + ONE_DAY;
      const { signature } = await signEscalation(f, alice, a.id, 1n, deadline);
      await atNextBlock(deadline + 1n);
      await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
    });

    it("reverts SignatureCancelled(payer, digest) once the payer revoked it", async function () {
      const { f, a, alice, deadline } = await loadFixture(rejectedFixture);
      const { signature, digest } = await signEscalation(f, alice, a.id, 1n, deadline);
      await f.escrow.connect(alice).cancelSignedAction(digest);
      await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
        .withArgs(alice.address, digest);
    });

    it("reverts InvalidSigner(payer) when the merchant owner or another customer signed", async function () {
      const { f, a, alice, bob, m, deadline } = await loadFixture(rejectedFixture);
      for (const signer of [m.owner, bob]) {
        const { signature } = await signEscalation(f, signer, a.id, 1n, deadline);
        await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature))
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
      }
    });

    it("refuses a payment released to the merchant: NotOnOwnTimer(id, Released)", async function () {
      const { f, a, alice, releaseAt, deadline } = await loadFixture(rejectedFixture);
      await time.increaseTo(releaseAt);
      await f.escrow.release(a.payment);
      const { signature } = await signEscalation(f, alice, a.id, 1n, deadline);
      await expect(f.escrow.connect(f.relayer).escalateRefundRequestWithSignature(a.payment, 1n, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "NotOnOwnTimer")
        .withArgs(a.id, PaymentStatus.Released);
    });
  });
});
