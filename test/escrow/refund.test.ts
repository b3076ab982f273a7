import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  deployEscrowFixture,
  expectInvariant,
  feeOf,
  signConfirmation,
  signRefund,
  usd,
  CUSTOMER_DEPOSIT,
  HOLD_PERIOD,
  PaymentStatus,
  type EscrowFixture,
  type EscrowedPayment,
  type MerchantAccount,
} from "./fixtures";
import {
  aliceAndBobBatch,
  atNextBlock,
  buckets,
  deadlineIn,
  moved,
  paymentRecord,
  recordOf,
  trancheOf,
} from "./lifecycle.helpers";

const AMOUNT = usd(10);
const OTHER = usd(4);

/** Alice pays AMOUNT and Bob pays OTHER to merchant 1 in one batch. */
async function refundableFixture() {
  return aliceAndBobBatch(await deployEscrowFixture(), AMOUNT, OTHER);
}

/** A 1-unit refund of `a` by the merchant owner reverts PaymentNotHeld(id, status). */
async function expectRefundNotHeld(
  f: EscrowFixture,
  a: EscrowedPayment,
  m: MerchantAccount,
  status: (typeof PaymentStatus)[keyof typeof PaymentStatus],
) {
  await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, 1n))
    .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
    .withArgs(a.id, status);
}

describe("PaymentEscrow refund", function () {
  describe("refund (merchant owner)", function () {
    it("refunds partially then fully to the payer's free balance", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      const first = usd(3);
      const before = await buckets(f);

      const tx = f.escrow.connect(m.owner).refund(a.payment, a.inclusion, first);
      await expect(tx)
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, first, first);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, alice, m.owner], [0n, 0n, 0n]);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - AMOUNT + first);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -first, customerBalances: first }));
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(AMOUNT + OTHER - first);
      expect(await recordOf(f, a.id)).to.deep.equal(paymentRecord({ status: PaymentStatus.None, refunded: first }));
      await expectInvariant(f);

      const rest = AMOUNT - first;
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, rest))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, rest, AMOUNT);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, customerBalances: AMOUNT }));
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      expect(await recordOf(f, a.id)).to.deep.equal(
        paymentRecord({ status: PaymentStatus.Refunded, refunded: AMOUNT }),
      );
      await expectInvariant(f);

      // The payer can withdraw the refund.
      await expect(f.escrow.connect(alice).withdraw(CUSTOMER_DEPOSIT, alice.address)).to.changeTokenBalances(
        f.token,
        [f.escrow, alice],
        [-CUSTOMER_DEPOSIT, CUSTOMER_DEPOSIT],
      );
      await expectInvariant(f);
    });

    it("settles the tranche without the refunded amount", async function () {
      const { f, batch, a, m } = await loadFixture(refundableFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT);
      await time.increase(HOLD_PERIOD);
      const tx = f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expect(tx).to.emit(f.escrow, "TrancheSettled").withArgs(batch.batchId, m.id, OTHER, feeOf(OTHER));
      await expect(tx)
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, OTHER - feeOf(OTHER));
      await expectInvariant(f);
    });

    it("reverts NotMerchantOwner for anyone but the merchant's owner key", async function () {
      const { f, a, alice, m } = await loadFixture(refundableFixture);
      const others = [f.merchants[1].owner, f.merchants[2].owner, m.payout, alice, f.stranger, f.relayer, f.admin];
      for (const caller of [...others, f.arbiter, f.registrar]) {
        await expect(f.escrow.connect(caller).refund(a.payment, a.inclusion, 1n))
          .to.be.revertedWithCustomError(f.escrow, "NotMerchantOwner")
          .withArgs(m.id, caller.address);
      }
    });

    it("reverts InvalidAmount(0) for a zero refund", async function () {
      const { f, a, m } = await loadFixture(refundableFixture);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, 0n))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(0n);
    });

    it("reverts RefundExceedsHeld above what is still held", async function () {
      const { f, a, m } = await loadFixture(refundableFixture);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsHeld")
        .withArgs(a.id, AMOUNT + 1n, AMOUNT);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(6));
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(4) + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsHeld")
        .withArgs(a.id, usd(4) + 1n, usd(4));
      // The whole tranche (this payment plus Bob's) is not refundable through one payment.
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(4) + OTHER))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsHeld")
        .withArgs(a.id, usd(4) + OTHER, usd(4));
    });

    it("reverts PaymentNotHeld(Refunded) once fully refunded", async function () {
      const { f, a, m } = await loadFixture(refundableFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT);
      await expectRefundNotHeld(f, a, m, PaymentStatus.Refunded);
    });

    it("reverts PaymentNotHeld(Confirmed) after the payer confirmed", async function () {
      const { f, a, alice, m } = await loadFixture(refundableFixture);
      await f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      await expectRefundNotHeld(f, a, m, PaymentStatus.Confirmed);
    });

    it("reverts PaymentNotHeld(Disputed) while disputed and PaymentNotHeld(Resolved) after the ruling", async function () {
      const { f, a, alice, m } = await loadFixture(refundableFixture);
      await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      await expectRefundNotHeld(f, a, m, PaymentStatus.Disputed);
      await f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n);
      await expectRefundNotHeld(f, a, m, PaymentStatus.Resolved);
    });

    it("reverts PaymentNotHeld(None) after the tranche was settled", async function () {
      const { f, batch, a, m } = await loadFixture(refundableFixture);
      await time.increase(HOLD_PERIOD);
      await f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expectRefundNotHeld(f, a, m, PaymentStatus.None);
    });

    it("works after the hold ended as long as the tranche is not settled", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      await time.increase(HOLD_PERIOD + 1n);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, AMOUNT);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectInvariant(f);
    });

    it("works for a suspended merchant (whose settlement is frozen)", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      await f.registry.connect(f.registrar).suspend(m.id);
      const before = await buckets(f);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, AMOUNT);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, customerBalances: AMOUNT }));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectInvariant(f);
    });

    it("follows an owner key rotation: the new key refunds, the old one cannot", async function () {
      const { f, a, b, m } = await loadFixture(refundableFixture);
      const newOwner = f.customers[3];
      await f.registry.connect(m.owner).rotateOwner(m.id, newOwner.address);
      await f.registry.connect(newOwner).acceptOwner(m.id);
      await expect(f.escrow.connect(m.owner).refund(a.payment, a.inclusion, 1n))
        .to.be.revertedWithCustomError(f.escrow, "NotMerchantOwner")
        .withArgs(m.id, m.owner.address);
      await expect(f.escrow.connect(newOwner).refund(b.payment, b.inclusion, 1n)).to.emit(f.escrow, "PaymentRefunded");
      await expectInvariant(f);
    });
  });

  describe("refundWithSignature (cumulative)", function () {
    it("treats the signed amount as a running total: total 3 then total 5 refunds 2 more", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      const deadline = await deadlineIn();
      const sig3 = await signRefund(f, m.owner, a.id, usd(3), deadline);
      const sig5 = await signRefund(f, m.owner, a.id, usd(5), deadline);
      const before = await buckets(f);

      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(3), deadline, sig3))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, usd(3), usd(3));
      await expect(f.escrow.connect(f.stranger).refundWithSignature(a.payment, a.inclusion, usd(5), deadline, sig5))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, usd(2), usd(5));

      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - AMOUNT + usd(5));
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -usd(5), customerBalances: usd(5) }));
      expect((await recordOf(f, a.id)).refunded).to.equal(usd(5));
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(AMOUNT + OTHER - usd(5));
      await expectInvariant(f);

      // Replays refund nothing more.
      const after = await buckets(f);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(3), deadline, sig3))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(usd(3));
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(5), deadline, sig5))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(usd(5));
      expect(await buckets(f)).to.deep.equal(after);
    });

    it("refunds in full to status Refunded, after which a replay reverts PaymentNotHeld(Refunded)", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      const deadline = await deadlineIn();
      const sig = await signRefund(f, m.owner, a.id, AMOUNT, deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, AMOUNT, deadline, sig))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, AMOUNT);
      expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.Refunded);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, AMOUNT, deadline, sig))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Refunded);
      await expectInvariant(f);
    });

    it("reverts InvalidAmount(0) for a zero total and RefundExceedsHeld above the payment", async function () {
      const { f, a, m } = await loadFixture(refundableFixture);
      const deadline = await deadlineIn();
      const sig0 = await signRefund(f, m.owner, a.id, 0n, deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, 0n, deadline, sig0))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(0n);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(2));
      const tooMuch = AMOUNT + 1n;
      const sig = await signRefund(f, m.owner, a.id, tooMuch, deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, tooMuch, deadline, sig))
        .to.be.revertedWithCustomError(f.escrow, "RefundExceedsHeld")
        .withArgs(a.id, tooMuch - usd(2), AMOUNT - usd(2));
    });

    it("reverts InvalidSigner(owner) for a signature by anyone else or over other fields", async function () {
      const { f, a, b, alice, m } = await loadFixture(refundableFixture);
      const deadline = await deadlineIn();
      const wrong = [
        await signRefund(f, f.merchants[1].owner, a.id, usd(1), deadline),
        await signRefund(f, alice, a.id, usd(1), deadline),
        await signRefund(f, m.payout, a.id, usd(1), deadline),
        await signRefund(f, m.owner, b.id, usd(1), deadline), // another payment
        await signRefund(f, m.owner, a.id, usd(2), deadline), // another total
        await signConfirmation(f, m.owner, a.id, deadline), // another action
      ];
      for (const signature of wrong) {
        await expect(
          f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(1), deadline, signature),
        )
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(m.owner.address);
      }
    });

    it("accepts the signature at its deadline and reverts SignatureExpired after it", async function () {
      const { f, a, b, m } = await loadFixture(refundableFixture);
      const deadline = await deadlineIn(100n);
      const sigA = await signRefund(f, m.owner, a.id, usd(1), deadline);
      const sigB = await signRefund(f, m.owner, b.id, usd(1), deadline);
      await atNextBlock(deadline);
      await expect(
        f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(1), deadline, sigA),
      ).to.emit(f.escrow, "PaymentRefunded");
      await expect(f.escrow.connect(f.relayer).refundWithSignature(b.payment, b.inclusion, usd(1), deadline, sigB))
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
    });

    it("after an owner key rotation only the new key's signature is valid", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      const newOwner = f.customers[3];
      const deadline = await deadlineIn();
      const oldSig = await signRefund(f, m.owner, a.id, usd(1), deadline);
      await f.registry.connect(m.owner).rotateOwner(m.id, newOwner.address);
      await f.registry.connect(newOwner).acceptOwner(m.id);

      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(1), deadline, oldSig))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
        .withArgs(newOwner.address);
      const newSig = await signRefund(f, newOwner, a.id, usd(1), deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(1), deadline, newSig))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, usd(1), usd(1));
      await expectInvariant(f);
    });

    it("reverts NotMerchantOwner(merchantId, 0) for a payment to an unregistered merchant", async function () {
      const { f, a, m } = await loadFixture(refundableFixture);
      const ghost = { ...a.payment, merchantId: 99n };
      const deadline = await deadlineIn();
      const sig = await signRefund(f, m.owner, a.id, usd(1), deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(ghost, a.inclusion, usd(1), deadline, sig))
        .to.be.revertedWithCustomError(f.escrow, "NotMerchantOwner")
        .withArgs(99n, ethers.ZeroAddress);
    });

    it("mixes with direct refunds: the signed total counts what was refunded directly", async function () {
      const { f, batch, a, alice, m } = await loadFixture(refundableFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(4));
      const deadline = await deadlineIn();
      const sig = await signRefund(f, m.owner, a.id, usd(4), deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(4), deadline, sig))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(usd(4));
      const sig7 = await signRefund(f, m.owner, a.id, usd(7), deadline);
      await expect(f.escrow.connect(f.relayer).refundWithSignature(a.payment, a.inclusion, usd(7), deadline, sig7))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, batch.batchId, usd(3), usd(7));
      await expectInvariant(f);
    });
  });
});
