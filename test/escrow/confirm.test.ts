import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  deployEscrowFixture,
  escrowOne,
  expectInvariant,
  feeOf,
  idOf,
  signConfirmation,
  signDispute,
  usd,
  FEE_BPS,
  HOLD_PERIOD,
  MAX_HOLD,
  MIN_HOLD,
  PaymentStatus,
} from "./fixtures";
import {
  aliceAndBobBatch,
  atNextBlock,
  buckets,
  deadlineIn,
  escrowBatch,
  moved,
  paymentRecord,
  recordOf,
  releasedOf,
  trancheOf,
} from "./lifecycle.helpers";

/** 10.000001: its 2.5% fee is 250,000.025 units, so ceil (250,001) and floor (250,000) differ. */
const ODD = usd("10.000001");
const OTHER = usd(5);

/** Alice pays ODD and Bob pays OTHER to merchant 1 in one batch (one tranche of ODD + OTHER). */
async function heldBatchFixture() {
  return aliceAndBobBatch(await deployEscrowFixture(), ODD, OTHER);
}

describe("PaymentEscrow confirm", function () {
  describe("confirm (payer)", function () {
    it("releases the held amount net of the ceil-rounded fee without moving tokens", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      const fee = feeOf(ODD);
      expect(fee).to.equal(250_001n); // rounded up, not down
      const before = await buckets(f);

      const tx = f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      await expect(tx)
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, batch.batchId, ODD - fee, fee);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, alice, m.payout], [0n, 0n, 0n]);

      expect(await releasedOf(f, m.id)).to.equal(ODD - fee);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -ODD, released: ODD - fee, fees: fee }));
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      expect(await recordOf(f, a.id)).to.deep.equal(paymentRecord({ status: PaymentStatus.Confirmed }));
      await expectInvariant(f);
    });

    it("pays the released amount with the rest of the tranche at the next settlement", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      await f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      await time.increase(HOLD_PERIOD);

      const net = ODD - feeOf(ODD) + OTHER - feeOf(OTHER);
      const tx = f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expect(tx).to.emit(f.escrow, "TrancheSettled").withArgs(batch.batchId, m.id, OTHER, feeOf(OTHER));
      await expect(tx).to.emit(f.escrow, "MerchantPaid").withArgs(m.id, m.payout.address, net);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m.payout], [-net, net]);
      expect(await releasedOf(f, m.id)).to.equal(0n);
      expect((await buckets(f)).fees).to.equal(feeOf(ODD) + feeOf(OTHER));
      await expectInvariant(f);
    });

    it("makes the confirmed amount payable before the hold ends", async function () {
      const { f, a, alice, m } = await loadFixture(heldBatchFixture);
      await f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      const net = ODD - feeOf(ODD);
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, net);
      expect(await f.token.balanceOf(m.payout.address)).to.equal(net);
      await expectInvariant(f);
    });

    it("still works after the hold ended, as long as the tranche is not settled", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      await time.increase(HOLD_PERIOD + 1n);
      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, batch.batchId, ODD - feeOf(ODD), feeOf(ODD));
      await expectInvariant(f);
    });

    it("reverts NotPayer for anyone but the payer", async function () {
      const { f, a, bob, m } = await loadFixture(heldBatchFixture);
      for (const caller of [f.stranger, f.relayer, m.owner, m.payout, f.arbiter, f.admin, bob]) {
        await expect(f.escrow.connect(caller).confirm(a.payment, a.inclusion))
          .to.be.revertedWithCustomError(f.escrow, "NotPayer")
          .withArgs(a.id, caller.address);
      }
    });

    it("reverts InvalidInclusionProof for another payment's proof or an empty proof", async function () {
      const { f, batch, a, b, alice } = await loadFixture(heldBatchFixture);
      for (const proof of [b.inclusion.proof, []]) {
        await expect(f.escrow.connect(alice).confirm(a.payment, { batchId: batch.batchId, proof }))
          .to.be.revertedWithCustomError(f.escrow, "InvalidInclusionProof")
          .withArgs(a.id, batch.batchId);
      }
    });

    it("reverts InvalidInclusionProof when the payment is placed in another existing batch", async function () {
      const { f, a, alice } = await loadFixture(heldBatchFixture);
      const other = await escrowOne(f, f.customers[2]);
      await expect(
        f.escrow.connect(alice).confirm(a.payment, { batchId: other.inclusion.batchId, proof: a.inclusion.proof }),
      )
        .to.be.revertedWithCustomError(f.escrow, "InvalidInclusionProof")
        .withArgs(a.id, other.inclusion.batchId);
    });

    it("reverts InvalidInclusionProof for a payment whose fields were altered (its id changes)", async function () {
      const { f, batch, a, alice } = await loadFixture(heldBatchFixture);
      const inflated = { ...a.payment, amount: a.payment.amount + 1n };
      const inflatedId = await idOf(f, inflated);
      await expect(f.escrow.connect(alice).confirm(inflated, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "InvalidInclusionProof")
        .withArgs(inflatedId, batch.batchId);
    });

    it("reverts UnknownBatch for a batch without a root", async function () {
      const { f, a, alice } = await loadFixture(heldBatchFixture);
      const next = (await f.escrow.batchCount()) + 1n;
      for (const batchId of [next, 0n]) {
        await expect(f.escrow.connect(alice).confirm(a.payment, { batchId, proof: a.inclusion.proof }))
          .to.be.revertedWithCustomError(f.escrow, "UnknownBatch")
          .withArgs(batchId);
      }
    });

    it("reverts PaymentNotHeld(Confirmed) on a second confirmation", async function () {
      const { f, a, alice } = await loadFixture(heldBatchFixture);
      await f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      const before = await buckets(f);
      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Confirmed);
      expect(await buckets(f)).to.deep.equal(before);
    });

    it("reverts PaymentNotHeld(None) once the tranche was settled", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      await time.increase(HOLD_PERIOD);
      await f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.None);
      await expectInvariant(f);
    });

    it("releases only what is left after a partial refund", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      const refunded = usd(1);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, refunded);
      const remaining = ODD - refunded; // 9.000001
      const fee = feeOf(remaining);
      expect(fee).to.equal(225_001n);
      const before = await buckets(f);

      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, batch.batchId, remaining - fee, fee);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -remaining, released: remaining - fee, fees: fee }));
      expect(await releasedOf(f, m.id)).to.equal(remaining - fee);
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      expect(await recordOf(f, a.id)).to.deep.equal(paymentRecord({ status: PaymentStatus.Confirmed, refunded }));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(usd(1_000) - ODD + refunded);
      await expectInvariant(f);
    });
  });

  describe("confirmWithSignature", function () {
    it("is relayed by a stranger with the payer's signature", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      const deadline = await deadlineIn();
      const signature = await signConfirmation(f, alice, a.id, deadline);
      const before = await buckets(f);
      const fee = feeOf(ODD);

      await expect(f.escrow.connect(f.stranger).confirmWithSignature(a.payment, a.inclusion, deadline, signature))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, batch.batchId, ODD - fee, fee);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -ODD, released: ODD - fee, fees: fee }));
      expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.Confirmed);
      await expectInvariant(f);
    });

    it("reverts InvalidSigner(payer) for a signature by someone else", async function () {
      const { f, a, alice, bob, m } = await loadFixture(heldBatchFixture);
      const deadline = await deadlineIn();
      for (const signer of [bob, m.owner, f.relayer]) {
        const signature = await signConfirmation(f, signer, a.id, deadline);
        await expect(f.escrow.connect(f.relayer).confirmWithSignature(a.payment, a.inclusion, deadline, signature))
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
      }
    });

    it("reverts InvalidSigner for the payer's signature over another payment or another action", async function () {
      const { f, a, b, alice } = await loadFixture(heldBatchFixture);
      const deadline = await deadlineIn();
      const otherPayment = await signConfirmation(f, alice, b.id, deadline);
      const disputeTyped = await signDispute(f, alice, a.id, deadline);
      const otherDeadline = await signConfirmation(f, alice, a.id, deadline + 1n);
      for (const signature of [otherPayment, disputeTyped, otherDeadline]) {
        await expect(f.escrow.connect(f.relayer).confirmWithSignature(a.payment, a.inclusion, deadline, signature))
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
      }
    });

    it("accepts the signature at its deadline and reverts SignatureExpired after it", async function () {
      const { f, a, b, alice, bob } = await loadFixture(heldBatchFixture);
      const deadline = await deadlineIn(100n);
      const sigA = await signConfirmation(f, alice, a.id, deadline);
      const sigB = await signConfirmation(f, bob, b.id, deadline);

      await atNextBlock(deadline);
      await expect(f.escrow.connect(f.relayer).confirmWithSignature(a.payment, a.inclusion, deadline, sigA)).to.emit(
        f.escrow,
        "PaymentConfirmed",
      );
      // The next block is past the deadline.
      await expect(f.escrow.connect(f.relayer).confirmWithSignature(b.payment, b.inclusion, deadline, sigB))
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
    });

    it("makes a replay harmless: PaymentNotHeld(Confirmed), nothing moves", async function () {
      const { f, a, alice } = await loadFixture(heldBatchFixture);
      const deadline = await deadlineIn();
      const signature = await signConfirmation(f, alice, a.id, deadline);
      await f.escrow.connect(f.relayer).confirmWithSignature(a.payment, a.inclusion, deadline, signature);
      const before = await buckets(f);
      await expect(f.escrow.connect(f.stranger).confirmWithSignature(a.payment, a.inclusion, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Confirmed);
      expect(await buckets(f)).to.deep.equal(before);
      await expectInvariant(f);
    });

    it("checks inclusion like confirm: a wrong proof reverts InvalidInclusionProof", async function () {
      const { f, batch, a, b, alice } = await loadFixture(heldBatchFixture);
      const deadline = await deadlineIn();
      const signature = await signConfirmation(f, alice, a.id, deadline);
      await expect(
        f.escrow
          .connect(f.relayer)
          .confirmWithSignature(a.payment, { batchId: batch.batchId, proof: b.inclusion.proof }, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "InvalidInclusionProof")
        .withArgs(a.id, batch.batchId);
    });
  });

  describe("fee rounding", function () {
    it("charges each tiny confirmation its own rounded-up fee: 3 x 1 unit pay 3, one 3-unit payment pays 1", async function () {
      const f = await loadFixture(deployEscrowFixture);
      const [alice, bob] = f.customers;
      const m = f.merchants[0];
      const tiny = await escrowBatch(f, [
        { payer: alice, overrides: { amount: 1n } },
        { payer: alice, overrides: { amount: 1n } },
        { payer: alice, overrides: { amount: 1n } },
      ]);
      const before = await buckets(f);
      for (const p of tiny.payments) {
        await expect(f.escrow.connect(alice).confirm(p.payment, p.inclusion))
          .to.emit(f.escrow, "PaymentConfirmed")
          .withArgs(p.id, m.id, tiny.batchId, 0n, 1n);
      }
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -3n, fees: 3n }));
      expect(await releasedOf(f, m.id)).to.equal(0n);

      const combined = await escrowOne(f, bob, { amount: 3n });
      await expect(f.escrow.connect(bob).confirm(combined.payment, combined.inclusion))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(combined.id, m.id, combined.inclusion.batchId, 2n, 1n);
      await expectInvariant(f);
    });

    it("never charges split confirmations less fee in total than the combined tranche (property)", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.bigInt({ min: 1n, max: 20_000_000n }), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 0, max: 1000 }),
          async (amounts, bps) => {
            const f = await loadFixture(deployEscrowFixture);
            const [alice, bob] = f.customers;
            const [m1, m2] = f.merchants;
            for (const m of [m1, m2]) await f.registry.connect(f.registrar).setTerms(m.id, bps, MIN_HOLD, MAX_HOLD);

            // The same amounts: confirmed one by one for merchant 1, settled as one tranche for merchant 2.
            const split = await escrowBatch(
              f,
              amounts.map((amount) => ({ payer: alice, overrides: { amount, merchantId: m1.id } })),
            );
            const whole = await escrowBatch(
              f,
              amounts.map((amount) => ({ payer: bob, overrides: { amount, merchantId: m2.id } })),
            );
            const before = await buckets(f);
            for (const p of split.payments) await f.escrow.connect(alice).confirm(p.payment, p.inclusion);
            const splitFees = (await buckets(f)).fees - before.fees;
            const expected = amounts.reduce((sum, amount) => sum + feeOf(amount, BigInt(bps)), 0n);
            expect(splitFees).to.equal(expected);

            await time.increase(HOLD_PERIOD);
            const total = amounts.reduce((sum, amount) => sum + amount, 0n);
            const wholeFee = feeOf(total, BigInt(bps));
            await expect(f.escrow.settle([{ merchantId: m2.id, batchIds: [whole.batchId] }]))
              .to.emit(f.escrow, "TrancheSettled")
              .withArgs(whole.batchId, m2.id, total, wholeFee);
            expect(splitFees >= wholeFee, `split ${splitFees} < combined ${wholeFee}`).to.equal(true);
            await expectInvariant(f);
          },
        ),
        { numRuns: 8 },
      );
    });

    it("uses the merchant's fee rate frozen in the tranche, not the current one", async function () {
      const { f, batch, a, alice, m } = await loadFixture(heldBatchFixture);
      await f.registry.connect(f.registrar).setTerms(m.id, 1000, MIN_HOLD, MAX_HOLD);
      const fee = feeOf(ODD, FEE_BPS);
      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, batch.batchId, ODD - fee, fee);
    });
  });
});
