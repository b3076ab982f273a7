import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { HOLD_PERIOD, feeOf, usd, type EscrowFixture } from "./fixtures";
import { expectInvariant, liabilitiesOf, payBatchOf, settleFixture } from "./settle.helpers";

/**
 * Accrues fees on all three paths: a settled tranche (10.00 from merchant 1), a confirmed payment
 * (33.333333 to merchant 2) and a dispute ruled 5.00 / 15.00 (merchant 3). Returns the total fee.
 */
async function accrueFees(f: EscrowFixture): Promise<bigint> {
  const [alice, bob, carol] = f.customers;
  const [m1, m2, m3] = f.merchants;
  const batch = await payBatchOf(f, [
    { payer: alice, merchantId: m1.id, amount: usd(10) },
    { payer: bob, merchantId: m2.id, amount: 33_333_333n },
    { payer: carol, merchantId: m3.id, amount: usd(20) },
  ]);
  const [, confirmed, disputed] = batch.payments;
  await f.escrow.connect(bob).confirm(confirmed.payment, confirmed.inclusion);
  await f.escrow.connect(carol).openDispute(disputed.payment, disputed.inclusion);
  await f.escrow.connect(f.arbiter).resolveDispute(disputed.payment, usd(5));
  await time.increase(HOLD_PERIOD);
  await f.escrow.settle([{ merchantId: m1.id, batchIds: [batch.batchId] }]);
  // 250,000 + ceil(833,333.325) = 833,334 + 375,000 on the merchant's 15.00 share.
  const total = feeOf(usd(10)) + feeOf(33_333_333n) + feeOf(usd(15));
  expect(total).to.equal(250_000n + 833_334n + 375_000n);
  return total;
}

describe("PaymentEscrow collectFees", function () {
  it("sends every accrued fee to the fee recipient, by anyone, with FeesCollected(recipient, amount)", async function () {
    const f = await loadFixture(settleFixture);
    const fees = await accrueFees(f);
    expect((await liabilitiesOf(f.escrow)).fees).to.equal(fees);
    const tx = f.escrow.connect(f.stranger).collectFees();
    await expect(tx).to.emit(f.escrow, "FeesCollected").withArgs(f.feeRecipient.address, fees);
    await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.feeRecipient, f.stranger], [-fees, fees, 0n]);
    expect((await liabilitiesOf(f.escrow)).fees).to.equal(0n);
    await expectInvariant(f);
  });

  it("reverts NothingToClaim(0) with no fees accrued, and again right after a collection", async function () {
    const f = await loadFixture(settleFixture);
    await expect(f.escrow.collectFees()).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(0n);
    await accrueFees(f);
    await f.escrow.collectFees();
    await expect(f.escrow.connect(f.stranger).collectFees())
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(0n);
    await expectInvariant(f);
  });

  it("pays the current fee recipient after the admin changes it", async function () {
    const f = await loadFixture(settleFixture);
    const fees = await accrueFees(f);
    const newRecipient = (await ethers.getSigners())[17];
    await f.escrow.connect(f.admin).setFeeRecipient(newRecipient.address);
    const tx = f.escrow.collectFees();
    await expect(tx).to.emit(f.escrow, "FeesCollected").withArgs(newRecipient.address, fees);
    await expect(tx).to.changeTokenBalances(f.token, [newRecipient, f.feeRecipient], [fees, 0n]);
    await expectInvariant(f);
  });

  it("reverts with the token's error when the fee recipient is blocklisted or the token paused, keeping the fees", async function () {
    const f = await loadFixture(settleFixture);
    const fees = await accrueFees(f);
    await f.token.connect(f.admin).blocklist(f.feeRecipient.address);
    await expect(f.escrow.collectFees())
      .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
      .withArgs(f.feeRecipient.address);
    expect((await liabilitiesOf(f.escrow)).fees).to.equal(fees);
    await f.token.connect(f.admin).unBlocklist(f.feeRecipient.address);
    await f.token.connect(f.admin).pause();
    await expect(f.escrow.collectFees()).to.be.revertedWithCustomError(f.token, "EnforcedPause").withArgs();
    expect((await liabilitiesOf(f.escrow)).fees).to.equal(fees);
    await expectInvariant(f);
    await f.token.connect(f.admin).unpause();
    await expect(f.escrow.collectFees()).to.changeTokenBalance(f.token, f.feeRecipient, fees);
    await expectInvariant(f);
  });
});
