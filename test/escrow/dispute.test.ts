import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  deployEscrowFixture,
  expectInvariant,
  feeOf,
  signConfirmation,
  signDispute,
  usd,
  ARBITER_ROLE,
  CUSTOMER_DEPOSIT,
  DISPUTE_TIMEOUT,
  FEE_BPS,
  HOLD_PERIOD,
  MAX_HOLD,
  MIN_HOLD,
  ONE_DAY,
  PaymentStatus,
} from "./fixtures";
import {
  aliceAndBobBatch,
  atNextBlock,
  buckets,
  deadlineIn,
  escrowBatch,
  moved,
  recordOf,
  releasedOf,
  trancheOf,
} from "./lifecycle.helpers";

/** 10.000001: fees on it (or on parts of it) differ between ceil and floor. */
const AMOUNT = usd("10.000001");
const OTHER = usd(4);
const ONE_WEEK = 7n * ONE_DAY;

/** Alice pays AMOUNT and Bob pays OTHER to merchant 1 in one batch. */
async function disputableFixture() {
  const held = await aliceAndBobBatch(await deployEscrowFixture(), AMOUNT, OTHER);
  const { releaseAt } = await trancheOf(held.f, held.batch.batchId, held.m.id);
  return { ...held, releaseAt };
}

/** As above, with Alice's payment under dispute. */
async function disputedFixture() {
  const base = await disputableFixture();
  const { f, a, alice } = base;
  await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
  const { disputedAt } = await recordOf(f, a.id);
  return { ...base, disputedAt };
}

describe("PaymentEscrow disputes", function () {
  describe("openDispute", function () {
    it("freezes the payment: held -> disputed, tranche reduced, record written", async function () {
      const { f, batch, a, alice, m } = await loadFixture(disputableFixture);
      const before = await buckets(f);
      const tx = f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, alice], [0n, 0n]);
      const openedAt = BigInt(await time.latest());
      await expect(tx)
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, openedAt + DISPUTE_TIMEOUT);

      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, disputed: AMOUNT }));
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      expect(await recordOf(f, a.id)).to.deep.equal({
        status: PaymentStatus.Disputed,
        disputedAt: openedAt,
        feeBps: FEE_BPS,
        refunded: 0n,
      });
      expect((await f.escrow.paymentRecord(a.id)).disputeExpiresAt).to.equal(openedAt + DISPUTE_TIMEOUT);
      await expectInvariant(f);
    });

    it("lets the tranche settle without the disputed part", async function () {
      const { f, batch, m } = await loadFixture(disputedFixture);
      await time.increase(HOLD_PERIOD);
      const before = await buckets(f);
      const tx = f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expect(tx).to.emit(f.escrow, "TrancheSettled").withArgs(batch.batchId, m.id, OTHER, feeOf(OTHER));
      await expect(tx)
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, OTHER - feeOf(OTHER));
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -OTHER, fees: feeOf(OTHER) }));
      expect((await buckets(f)).disputed).to.equal(AMOUNT);
      await expectInvariant(f);
    });

    it("reverts NotPayer for anyone but the payer", async function () {
      const { f, a, bob, m } = await loadFixture(disputableFixture);
      for (const caller of [f.stranger, f.relayer, f.arbiter, f.admin, m.owner, bob]) {
        await expect(f.escrow.connect(caller).openDispute(a.payment, a.inclusion))
          .to.be.revertedWithCustomError(f.escrow, "NotPayer")
          .withArgs(a.id, caller.address);
      }
    });

    it("is open until one second before releaseAt", async function () {
      const { f, a, alice, releaseAt } = await loadFixture(disputableFixture);
      await atNextBlock(releaseAt - 1n);
      await expect(f.escrow.connect(alice).openDispute(a.payment, a.inclusion)).to.emit(f.escrow, "DisputeOpened");
      expect((await recordOf(f, a.id)).disputedAt).to.equal(releaseAt - 1n);
    });

    it("reverts DisputeWindowClosed at and after releaseAt", async function () {
      const { f, a, alice, releaseAt } = await loadFixture(disputableFixture);
      await atNextBlock(releaseAt);
      await expect(f.escrow.connect(alice).openDispute(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "DisputeWindowClosed")
        .withArgs(a.id, releaseAt);
      await time.increase(ONE_WEEK);
      await expect(f.escrow.connect(alice).openDispute(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "DisputeWindowClosed")
        .withArgs(a.id, releaseAt);
    });

    it("disputes only what is left after a partial refund", async function () {
      const { f, batch, a, alice, m } = await loadFixture(disputableFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(3));
      const before = await buckets(f);
      const tx = await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      const openedAt = BigInt((await tx.getBlock())!.timestamp);
      await expect(tx)
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT - usd(3), openedAt + DISPUTE_TIMEOUT);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -(AMOUNT - usd(3)), disputed: AMOUNT - usd(3) }));
      await expectInvariant(f);
    });

    it("reverts PaymentNotHeld for a disputed, confirmed or settled payment", async function () {
      const { f, batch, a, b, alice, bob, m } = await loadFixture(disputedFixture);
      await expect(f.escrow.connect(alice).openDispute(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Disputed);
      await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Disputed);
      await f.escrow.connect(bob).confirm(b.payment, b.inclusion);
      await expect(f.escrow.connect(bob).openDispute(b.payment, b.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(b.id, PaymentStatus.Confirmed);

      const late = await escrowBatch(f, [{ payer: bob }]);
      const [c] = late.payments;
      await time.increase(HOLD_PERIOD);
      await f.escrow.settle([{ merchantId: m.id, batchIds: [late.batchId, batch.batchId] }]);
      // Settled tranche: the payment is gone (the window check never runs).
      await expect(f.escrow.connect(bob).openDispute(c.payment, c.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(c.id, PaymentStatus.None);
    });

    it("reverts InvalidInclusionProof / UnknownBatch like confirm", async function () {
      const { f, batch, a, b, alice } = await loadFixture(disputableFixture);
      await expect(f.escrow.connect(alice).openDispute(a.payment, { batchId: batch.batchId, proof: b.inclusion.proof }))
        .to.be.revertedWithCustomError(f.escrow, "InvalidInclusionProof")
        .withArgs(a.id, batch.batchId);
      await expect(f.escrow.connect(alice).openDispute(a.payment, { batchId: 77n, proof: a.inclusion.proof }))
        .to.be.revertedWithCustomError(f.escrow, "UnknownBatch")
        .withArgs(77n);
    });
  });

  describe("openDisputeWithSignature", function () {
    it("is relayed by anyone with the payer's signature", async function () {
      const { f, batch, a, alice, m } = await loadFixture(disputableFixture);
      const deadline = await deadlineIn();
      const signature = await signDispute(f, alice, a.id, deadline);
      const before = await buckets(f);
      const tx = await f.escrow
        .connect(f.stranger)
        .openDisputeWithSignature(a.payment, a.inclusion, deadline, signature);
      const openedAt = BigInt((await tx.getBlock())!.timestamp);
      await expect(tx)
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, openedAt + DISPUTE_TIMEOUT);
      expect(await buckets(f)).to.deep.equal(moved(before, { held: -AMOUNT, disputed: AMOUNT }));
      expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.Disputed);
      await expect(f.escrow.connect(f.stranger).openDisputeWithSignature(a.payment, a.inclusion, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(a.id, PaymentStatus.Disputed);
      await expectInvariant(f);
    });

    it("reverts InvalidSigner(payer) for another signer, payment or action", async function () {
      const { f, a, b, alice, bob, m } = await loadFixture(disputableFixture);
      const deadline = await deadlineIn();
      const wrong = [
        await signDispute(f, bob, a.id, deadline),
        await signDispute(f, m.owner, a.id, deadline),
        await signDispute(f, alice, b.id, deadline),
        await signConfirmation(f, alice, a.id, deadline),
      ];
      for (const signature of wrong) {
        await expect(f.escrow.connect(f.relayer).openDisputeWithSignature(a.payment, a.inclusion, deadline, signature))
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
      }
    });

    it("accepts the signature at its deadline and reverts SignatureExpired after it", async function () {
      const { f, a, b, alice, bob } = await loadFixture(disputableFixture);
      const deadline = await deadlineIn(100n);
      const sigA = await signDispute(f, alice, a.id, deadline);
      const sigB = await signDispute(f, bob, b.id, deadline);
      await atNextBlock(deadline);
      await expect(
        f.escrow.connect(f.relayer).openDisputeWithSignature(a.payment, a.inclusion, deadline, sigA),
      ).to.emit(f.escrow, "DisputeOpened");
      await expect(f.escrow.connect(f.relayer).openDisputeWithSignature(b.payment, b.inclusion, deadline, sigB))
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
    });

    it("still enforces the dispute window with a valid signature", async function () {
      const { f, a, alice, releaseAt } = await loadFixture(disputableFixture);
      const deadline = releaseAt + ONE_WEEK;
      const signature = await signDispute(f, alice, a.id, deadline);
      await atNextBlock(releaseAt);
      await expect(f.escrow.connect(f.relayer).openDisputeWithSignature(a.payment, a.inclusion, deadline, signature))
        .to.be.revertedWithCustomError(f.escrow, "DisputeWindowClosed")
        .withArgs(a.id, releaseAt);
    });
  });

  describe("resolveDispute (arbiter)", function () {
    it("splits the disputed amount: payer's part to its balance, merchant's part net of the ceil fee", async function () {
      const { f, a, alice, m } = await loadFixture(disputedFixture);
      const toPayer = usd(3);
      const toMerchant = AMOUNT - toPayer; // 7.000001
      const fee = feeOf(toMerchant);
      expect(fee).to.equal(175_001n); // rounded up
      const before = await buckets(f);

      const tx = f.escrow.connect(f.arbiter).resolveDispute(a.payment, toPayer);
      await expect(tx)
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, toPayer, toMerchant - fee, fee, false);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, alice, m.payout], [0n, 0n, 0n]);

      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - AMOUNT + toPayer);
      expect(await releasedOf(f, m.id)).to.equal(toMerchant - fee);
      expect(await buckets(f)).to.deep.equal(
        moved(before, { disputed: -AMOUNT, customerBalances: toPayer, released: toMerchant - fee, fees: fee }),
      );
      const record = await recordOf(f, a.id);
      expect(record.status).to.equal(PaymentStatus.Resolved);
      expect(record.refunded).to.equal(toPayer);
      await expectInvariant(f);
    });

    it("pays the merchant's share at the next settlement", async function () {
      const { f, batch, a, m } = await loadFixture(disputedFixture);
      const toMerchant = AMOUNT - usd(3);
      const net = toMerchant - feeOf(toMerchant);
      await f.escrow.connect(f.arbiter).resolveDispute(a.payment, usd(3));
      // Before the hold ends, only the ruling's share is payable.
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, net);
      expect(await releasedOf(f, m.id)).to.equal(0n);
      await time.increase(HOLD_PERIOD);
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, OTHER - feeOf(OTHER));
      expect(await f.token.balanceOf(m.payout.address)).to.equal(net + OTHER - feeOf(OTHER));
      await expectInvariant(f);
    });

    it("handles the extremes: everything to the merchant, everything to the payer", async function () {
      const { f, b, bob, alice, a, m } = await loadFixture(disputedFixture);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, 0n, AMOUNT - feeOf(AMOUNT), feeOf(AMOUNT), false);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - AMOUNT);

      await f.escrow.connect(bob).openDispute(b.payment, b.inclusion);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(b.payment, OTHER))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(b.id, m.id, bob.address, OTHER, 0n, 0n, false);
      expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT);
      expect((await buckets(f)).disputed).to.equal(0n);
      await expectInvariant(f);
    });

    it("applies the fee rate frozen when the dispute opened", async function () {
      const { f, a, alice, m } = await loadFixture(disputedFixture);
      await f.registry.connect(f.registrar).setTerms(m.id, 1000, MIN_HOLD, MAX_HOLD);
      const fee = feeOf(AMOUNT, FEE_BPS);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, 0n, AMOUNT - fee, fee, false);
    });

    it("rules on what was left after a partial refund", async function () {
      const { f, a, alice, m } = await loadFixture(disputableFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(4));
      await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      const disputed = AMOUNT - usd(4);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, disputed + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RulingExceedsDisputed")
        .withArgs(a.id, disputed + 1n, disputed);
      const toMerchant = disputed - usd(1);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, usd(1)))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, usd(1), toMerchant - feeOf(toMerchant), feeOf(toMerchant), false);
      expect((await recordOf(f, a.id)).refunded).to.equal(usd(5));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - AMOUNT + usd(5));
      await expectInvariant(f);
    });

    it("reverts AccessControlUnauthorizedAccount(caller, ARBITER_ROLE) for non-arbiters", async function () {
      const { f, a, alice, m } = await loadFixture(disputedFixture);
      for (const caller of [f.admin, f.relayer, f.stranger, m.owner, alice]) {
        await expect(f.escrow.connect(caller).resolveDispute(a.payment, 0n))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ARBITER_ROLE);
      }
    });

    it("reverts RulingExceedsDisputed when the payer would get more than disputed", async function () {
      const { f, a } = await loadFixture(disputedFixture);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, AMOUNT + 1n))
        .to.be.revertedWithCustomError(f.escrow, "RulingExceedsDisputed")
        .withArgs(a.id, AMOUNT + 1n, AMOUNT);
    });

    it("reverts NotDisputed for a payment that is not under dispute", async function () {
      const { f, a, b, bob, m } = await loadFixture(disputableFixture);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(a.id, PaymentStatus.None);
      await f.escrow.connect(bob).confirm(b.payment, b.inclusion);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(b.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(b.id, PaymentStatus.Confirmed);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, AMOUNT);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(a.id, PaymentStatus.Refunded);
    });

    it("reverts NotDisputed(Resolved) on a second resolution", async function () {
      const { f, a } = await loadFixture(disputedFixture);
      await f.escrow.connect(f.arbiter).resolveDispute(a.payment, usd(1));
      const before = await buckets(f);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, usd(1)))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(a.id, PaymentStatus.Resolved);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(a.id, PaymentStatus.Resolved);
      expect(await buckets(f)).to.deep.equal(before);
    });

    it("reverts NotDisputed for an altered payment (another id with no record)", async function () {
      const { f, a } = await loadFixture(disputedFixture);
      const altered = { ...a.payment, amount: a.payment.amount * 2n };
      const alteredId = await f.escrow.paymentId(altered);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(altered, 0n))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(alteredId, PaymentStatus.None);
    });
  });

  describe("expiry race: the arbiter rules only before the dispute expires", function () {
    it("accepts a ruling one second before expiry", async function () {
      const { f, a, alice, m, disputedAt } = await loadFixture(disputedFixture);
      await atNextBlock(disputedAt + DISPUTE_TIMEOUT - 1n);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, 0n, AMOUNT - feeOf(AMOUNT), feeOf(AMOUNT), false);
    });

    it("reverts DisputeExpired(id, expiresAt) at and after expiry; the payer's timeout reclaim then wins", async function () {
      const { f, a, alice, m, disputedAt } = await loadFixture(disputedFixture);
      const expiresAt = disputedAt + DISPUTE_TIMEOUT;
      await atNextBlock(expiresAt);
      // The race: a ruling for the merchant mined at expiry, ahead of the payer's reclaim.
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "DisputeExpired")
        .withArgs(a.id, expiresAt);
      await time.increase(ONE_DAY);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, usd(1)))
        .to.be.revertedWithCustomError(f.escrow, "DisputeExpired")
        .withArgs(a.id, expiresAt);
      expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.Disputed);
      await expect(f.escrow.connect(alice).resolveExpiredDispute(a.payment))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, AMOUNT, 0n, 0n, true);
      expect(await releasedOf(f, m.id)).to.equal(0n);
      await expectInvariant(f);
    });
  });

  describe("suspended merchant: disputes stay open after the hold", function () {
    /** Alice's and Bob's payments are held; merchant 1 is suspended and the hold has passed. */
    async function suspendedAfterHoldFixture() {
      const base = await disputableFixture();
      const { f, m, releaseAt } = base;
      await f.registry.connect(f.registrar).suspend(m.id);
      await atNextBlock(releaseAt + ONE_WEEK);
      await f.escrow.connect(f.stranger).settle([{ merchantId: m.id, batchIds: [base.batch.batchId] }]);
      return base;
    }

    it("settle cannot pay the suspended merchant: the tranche stays held", async function () {
      const { f, batch, m } = await loadFixture(suspendedAfterHoldFixture);
      expect(await trancheOf(f, batch.batchId, m.id)).to.include({ amount: AMOUNT + OTHER });
      expect(await f.token.balanceOf(m.payout.address)).to.equal(0n);
    });

    it("end to end: suspend, hold passes, the payer disputes, the arbiter refunds; settle pays the merchant nothing", async function () {
      const { f, batch, a, alice, m } = await loadFixture(suspendedAfterHoldFixture);
      const tx = await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      const openedAt = BigInt((await tx.getBlock())!.timestamp);
      await expect(tx)
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(a.id, m.id, alice.address, batch.batchId, AMOUNT, openedAt + DISPUTE_TIMEOUT);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, AMOUNT))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, AMOUNT, 0n, 0n, false);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expect(f.escrow.connect(alice).withdraw(CUSTOMER_DEPOSIT, alice.address)).to.changeTokenBalance(
        f.token,
        alice,
        CUSTOMER_DEPOSIT,
      );
      const settle = f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]);
      await expect(settle).not.to.emit(f.escrow, "MerchantPaid");
      await expect(settle).to.changeTokenBalance(f.token, m.payout, 0n);
      expect((await trancheOf(f, batch.batchId, m.id)).amount).to.equal(OTHER);
      await expectInvariant(f);
    });

    it("end to end by timeout: a signed dispute after the hold, no ruling, anyone returns it to the payer", async function () {
      const { f, a, alice, m } = await loadFixture(suspendedAfterHoldFixture);
      const deadline = await deadlineIn();
      const signature = await signDispute(f, alice, a.id, deadline);
      await f.escrow.connect(f.relayer).openDisputeWithSignature(a.payment, a.inclusion, deadline, signature);
      await time.increase(DISPUTE_TIMEOUT);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(a.payment))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, AMOUNT, 0n, 0n, true);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectInvariant(f);
    });

    it("closes again once the merchant is reactivated (or closed): DisputeWindowClosed", async function () {
      const { f, a, b, alice, bob, m, releaseAt } = await loadFixture(suspendedAfterHoldFixture);
      await f.registry.connect(f.registrar).reactivate(m.id);
      await expect(f.escrow.connect(alice).openDispute(a.payment, a.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "DisputeWindowClosed")
        .withArgs(a.id, releaseAt);
      await f.registry.connect(f.registrar).close(m.id);
      await expect(f.escrow.connect(bob).openDispute(b.payment, b.inclusion))
        .to.be.revertedWithCustomError(f.escrow, "DisputeWindowClosed")
        .withArgs(b.id, releaseAt);
    });

    it("a ruling for the merchant while suspended is released but not paid until reactivation", async function () {
      const { f, batch, a, alice, m } = await loadFixture(suspendedAfterHoldFixture);
      await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      await f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n);
      const net = AMOUNT - feeOf(AMOUNT);
      expect(await releasedOf(f, m.id)).to.equal(net);
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [] }])).to.changeTokenBalance(f.token, m.payout, 0n);
      await f.registry.connect(f.registrar).reactivate(m.id);
      await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, net + OTHER - feeOf(OTHER));
      await expectInvariant(f);
    });
  });

  describe("resolveExpiredDispute", function () {
    it("reverts DisputeNotExpired until disputedAt + timeout", async function () {
      const { f, a, disputedAt } = await loadFixture(disputedFixture);
      const expiresAt = disputedAt + DISPUTE_TIMEOUT;
      await atNextBlock(expiresAt - 1n);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "DisputeNotExpired")
        .withArgs(a.id, expiresAt);
    });

    it("lets anyone return everything to the payer from disputedAt + timeout", async function () {
      const { f, a, alice, m, disputedAt } = await loadFixture(disputedFixture);
      const before = await buckets(f);
      await atNextBlock(disputedAt + DISPUTE_TIMEOUT);
      const tx = f.escrow.connect(f.stranger).resolveExpiredDispute(a.payment);
      await expect(tx).to.emit(f.escrow, "DisputeResolved").withArgs(a.id, m.id, alice.address, AMOUNT, 0n, 0n, true);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.stranger], [0n, 0n]);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await releasedOf(f, m.id)).to.equal(0n);
      expect(await buckets(f)).to.deep.equal(moved(before, { disputed: -AMOUNT, customerBalances: AMOUNT }));
      const record = await recordOf(f, a.id);
      expect(record.status).to.equal(PaymentStatus.Resolved);
      expect(record.refunded).to.equal(AMOUNT);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(a.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(a.id, PaymentStatus.Resolved);
      await expectInvariant(f);
    });

    it("returns only what was disputed after a partial refund", async function () {
      const { f, a, alice, m } = await loadFixture(disputableFixture);
      await f.escrow.connect(m.owner).refund(a.payment, a.inclusion, usd(2));
      await f.escrow.connect(alice).openDispute(a.payment, a.inclusion);
      await time.increase(DISPUTE_TIMEOUT);
      await expect(f.escrow.connect(f.relayer).resolveExpiredDispute(a.payment))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(a.id, m.id, alice.address, AMOUNT - usd(2), 0n, 0n, true);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      expect((await recordOf(f, a.id)).refunded).to.equal(AMOUNT);
      await expectInvariant(f);
    });

    it("reverts NotDisputed for a payment that is not under dispute", async function () {
      const { f, a, b, bob } = await loadFixture(disputableFixture);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(a.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(a.id, PaymentStatus.None);
      await f.escrow.connect(bob).confirm(b.payment, b.inclusion);
      await time.increase(DISPUTE_TIMEOUT);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(b.payment))
        .to.be.revertedWithCustomError(f.escrow, "NotDisputed")
        .withArgs(b.id, PaymentStatus.Confirmed);
    });
  });
});
