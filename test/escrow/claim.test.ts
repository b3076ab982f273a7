import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { HOLD_PERIOD, feeOf, usd, type EscrowFixture } from "./fixtures";
import { expectInvariant, liabilitiesOf, merchantBalancesOf, payBatchOf, settleFixture } from "./settle.helpers";

/**
 * Escrows `amount` from the first customer to merchant 2, blocklists its payout address and
 * settles: the payout is deferred to claimable. Returns the deferred amount.
 */
async function deferPayout(f: EscrowFixture, amount: bigint = usd(20)): Promise<bigint> {
  const m2 = f.merchants[1];
  const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m2.id, amount }]);
  await time.increase(HOLD_PERIOD);
  if (!(await f.token.isBlocklisted(m2.payout.address))) await f.token.connect(f.admin).blocklist(m2.payout.address);
  const deferred = amount - feeOf(amount);
  await expect(f.escrow.settle([{ merchantId: m2.id, batchIds: [batch.batchId] }]))
    .to.emit(f.escrow, "PayoutDeferred")
    .withArgs(m2.id, m2.payout.address, deferred);
  return deferred;
}

async function freshAccount(): Promise<HardhatEthersSigner> {
  const signers = await ethers.getSigners();
  return signers[16];
}

describe("PaymentEscrow claim", function () {
  it("a merchant whose payout is blocklisted cannot rotate it and claim elsewhere: PayoutRotatedSinceDeferral", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const deferred = await deferPayout(f);
    const newPayout = await freshAccount();
    await f.registry.connect(m2.owner).rotatePayout(m2.id, newPayout.address);
    for (const caller of [m2.owner, newPayout, f.stranger, f.admin]) {
      await expect(f.escrow.connect(caller).claim(m2.id))
        .to.be.revertedWithCustomError(f.escrow, "PayoutRotatedSinceDeferral")
        .withArgs(m2.id, m2.payout.address, newPayout.address);
    }
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: deferred });
    // Rotating back to the refused address lets anyone claim again (the token still decides).
    await f.registry.connect(m2.owner).rotatePayout(m2.id, m2.payout.address);
    await expect(f.escrow.connect(f.stranger).claim(m2.id))
      .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
      .withArgs(m2.payout.address);
    await expectInvariant(f);
  });

  it("pays a deferred payout to the rotated payout address when a registrar claims, and zeroes claimable", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const deferred = await deferPayout(f);
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: deferred });
    expect((await liabilitiesOf(f.escrow)).claimable).to.equal(deferred);
    await expectInvariant(f);

    const newPayout = await freshAccount();
    await f.registry.connect(m2.owner).rotatePayout(m2.id, newPayout.address);
    const tx = f.escrow.connect(f.registrar).claim(m2.id);
    await expect(tx).to.emit(f.escrow, "Claimed").withArgs(m2.id, newPayout.address, deferred);
    await expect(tx).to.changeTokenBalances(
      f.token,
      [f.escrow, newPayout, m2.payout, f.registrar],
      [-deferred, deferred, 0n, 0n],
    );
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: 0n });
    expect((await liabilitiesOf(f.escrow)).claimable).to.equal(0n);
    await expectInvariant(f);
  });

  it("reverts NothingToClaim(merchantId) with nothing claimable: never deferred, unknown id, already claimed", async function () {
    const f = await loadFixture(settleFixture);
    const [m1, m2] = f.merchants;
    await expect(f.escrow.claim(m1.id)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(m1.id);
    await expect(f.escrow.claim(99n)).to.be.revertedWithCustomError(f.escrow, "NothingToClaim").withArgs(99n);

    await deferPayout(f);
    await f.token.connect(f.admin).unBlocklist(m2.payout.address);
    await f.escrow.claim(m2.id);
    await expect(f.escrow.connect(f.stranger).claim(m2.id))
      .to.be.revertedWithCustomError(f.escrow, "NothingToClaim")
      .withArgs(m2.id);
    await expectInvariant(f);
  });

  it("reverts with the token's AccountBlocklisted(payout) while the payout is still blocklisted, keeping the balance", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const deferred = await deferPayout(f);
    const before = await liabilitiesOf(f.escrow);
    const escrowBalance = await f.token.balanceOf(await f.escrow.getAddress());

    await expect(f.escrow.connect(f.stranger).claim(m2.id))
      .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
      .withArgs(m2.payout.address);
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: deferred });
    expect(await liabilitiesOf(f.escrow)).to.deep.equal(before);
    expect(await f.token.balanceOf(await f.escrow.getAddress())).to.equal(escrowBalance);
    await expectInvariant(f);

    // Once the same address is cleared, the claim goes through to it.
    await f.token.connect(f.admin).unBlocklist(m2.payout.address);
    await expect(f.escrow.claim(m2.id)).to.changeTokenBalances(f.token, [f.escrow, m2.payout], [-deferred, deferred]);
    await expectInvariant(f);
  });

  it("reverts with the token's EnforcedPause() while the token is paused, keeping the balance", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const deferred = await deferPayout(f);
    await f.registry.connect(m2.owner).rotatePayout(m2.id, (await freshAccount()).address);
    await f.token.connect(f.admin).pause();
    await expect(f.escrow.connect(f.registrar).claim(m2.id))
      .to.be.revertedWithCustomError(f.token, "EnforcedPause")
      .withArgs();
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: deferred });
    await expectInvariant(f);
  });

  it("accumulates deferred payouts across settlements and pays them in one claim", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const first = await deferPayout(f, usd(20));
    const second = await deferPayout(f, 3_333_333n);
    expect(second).to.equal(3_333_333n - 83_334n);
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: first + second });
    expect((await liabilitiesOf(f.escrow)).claimable).to.equal(first + second);

    const newPayout = await freshAccount();
    await f.registry.connect(m2.owner).rotatePayout(m2.id, newPayout.address);
    const tx = f.escrow.connect(f.registrar).claim(m2.id);
    await expect(tx)
      .to.emit(f.escrow, "Claimed")
      .withArgs(m2.id, newPayout.address, first + second);
    await expect(tx).to.changeTokenBalances(f.token, [f.escrow, newPayout], [-(first + second), first + second]);
    await expectInvariant(f);
  });

  it("lets a closed merchant rotate its payout and collect what it is still owed through a registrar's claim", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const deferred = await deferPayout(f);
    await f.registry.connect(f.registrar).close(m2.id);
    const newPayout = await freshAccount();
    await f.registry.connect(m2.owner).rotatePayout(m2.id, newPayout.address);
    await expect(f.escrow.connect(f.registrar).claim(m2.id))
      .to.emit(f.escrow, "Claimed")
      .withArgs(m2.id, newPayout.address, deferred);
    expect((await liabilitiesOf(f.escrow)).claimable).to.equal(0n);
    await expectInvariant(f);
  });

  it("a suspended merchant cannot claim: MerchantSuspended(merchantId), for anyone, registrar included", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const deferred = await deferPayout(f);
    await f.token.connect(f.admin).unBlocklist(m2.payout.address);
    await f.registry.connect(f.registrar).suspend(m2.id);
    for (const caller of [f.stranger, m2.owner, f.registrar]) {
      await expect(f.escrow.connect(caller).claim(m2.id))
        .to.be.revertedWithCustomError(f.escrow, "MerchantSuspended")
        .withArgs(m2.id);
    }
    expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: deferred });
    await f.registry.connect(f.registrar).reactivate(m2.id);
    await expect(f.escrow.connect(f.stranger).claim(m2.id))
      .to.emit(f.escrow, "Claimed")
      .withArgs(m2.id, m2.payout.address, deferred);
    await expectInvariant(f);
  });

  it("keeps the first refused address across further deferrals to a rotated payout", async function () {
    const f = await loadFixture(settleFixture);
    const m2 = f.merchants[1];
    const first = await deferPayout(f);
    const newPayout = await freshAccount();
    await f.registry.connect(m2.owner).rotatePayout(m2.id, newPayout.address);
    await f.token.connect(f.admin).blocklist(newPayout.address);
    const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m2.id, amount: usd(10) }]);
    await time.increase(HOLD_PERIOD);
    await f.escrow.settle([{ merchantId: m2.id, batchIds: [batch.batchId] }]);
    await f.token.connect(f.admin).unBlocklist(newPayout.address);
    await expect(f.escrow.connect(m2.owner).claim(m2.id))
      .to.be.revertedWithCustomError(f.escrow, "PayoutRotatedSinceDeferral")
      .withArgs(m2.id, m2.payout.address, newPayout.address);
    await expect(f.escrow.connect(f.registrar).claim(m2.id))
      .to.emit(f.escrow, "Claimed")
      .withArgs(m2.id, newPayout.address, first + usd(10) - feeOf(usd(10)));
    await expectInvariant(f);
  });
});
