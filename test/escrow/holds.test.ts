/**
 * A hold per payment: each signed payment names its own hold within its merchant's registered
 * bounds; a batch funds one tranche per merchant, so a merchant's runs in one batch share a hold.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { BATCH_HEADER_BYTES, encodeBatch } from "../../src/protocol";
import { MAX_HOLD, MIN_HOLD, ONE_DAY, RejectReason, idOf, nextNonce, usd } from "./fixtures";
import { deployPayBatchFixture, expectInvariant, nextTimestamp, signed } from "./batch.helpers";

describe("PaymentEscrow: a hold per payment", function () {
  it("escrows one merchant's payments with different holds in separate batches, each tranche released at its own time", async function () {
    const f = await loadFixture(deployPayBatchFixture);
    const [alice, bob] = f.customers;
    const m = f.merchants[0];

    const t1 = await nextTimestamp();
    await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([await signed(f, alice, { hold: 3n * ONE_DAY })])))
      .to.emit(f.escrow, "TrancheFunded")
      .withArgs(1n, m.id, usd(10), t1 + 3n * ONE_DAY, 250n);
    const t2 = await nextTimestamp();
    await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([await signed(f, bob, { hold: 10n * ONE_DAY })])))
      .to.emit(f.escrow, "TrancheFunded")
      .withArgs(2n, m.id, usd(10), t2 + 10n * ONE_DAY, 250n);
    expect((await f.escrow.tranche(1n, m.id)).releaseAt).to.equal(t1 + 3n * ONE_DAY);
    expect((await f.escrow.tranche(2n, m.id)).releaseAt).to.equal(t2 + 10n * ONE_DAY);
    await expectInvariant(f);
  });

  it("accepts a hold at either bound and rejects one a second outside, HoldOutOfRange, changing nothing", async function () {
    const f = await loadFixture(deployPayBatchFixture);
    const [alice, bob, carol, dave] = f.customers;
    const m = f.merchants[0];
    const items = [
      await signed(f, alice, { hold: MIN_HOLD }),
      await signed(f, bob, { hold: MIN_HOLD - 1n, merchantId: f.merchants[1].id }),
      await signed(f, carol, { hold: MAX_HOLD + 1n, merchantId: f.merchants[2].id }),
    ];
    const tx = f.escrow.connect(f.relayer).payBatch(encodeBatch(items));
    await expect(tx)
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(await idOf(f, items[1].payment), bob.address, RejectReason.HoldOutOfRange);
    await expect(tx)
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(await idOf(f, items[2].payment), carol.address, RejectReason.HoldOutOfRange);
    await expect(tx)
      .to.emit(f.escrow, "PaymentEscrowed")
      .withArgs(await idOf(f, items[0].payment), alice.address, m.id, 1n, usd(10));
    expect(await f.escrow.balanceOf(bob.address)).to.equal(usd(1_000));
    expect(await f.escrow.balanceOf(carol.address)).to.equal(usd(1_000));
    expect(await f.escrow.isNonceAvailable(bob.address, 0n)).to.equal(true);

    const top = await signed(f, dave, { hold: MAX_HOLD });
    const t = await nextTimestamp();
    await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([top])))
      .to.emit(f.escrow, "TrancheFunded")
      .withArgs(2n, m.id, usd(10), t + MAX_HOLD, 250n);
    await expectInvariant(f);
  });

  it("judges the hold against the bounds in force when the batch is escrowed", async function () {
    const f = await loadFixture(deployPayBatchFixture);
    const [alice] = f.customers;
    const m = f.merchants[0];
    const item = await signed(f, alice, { hold: 2n * ONE_DAY });
    await f.registry.connect(f.registrar).setTerms(m.id, 250, 3n * ONE_DAY, MAX_HOLD);
    await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([item])))
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(await idOf(f, item.payment), alice.address, RejectReason.HoldOutOfRange);
  });

  it("the hold is signed: a run header that changes it breaks the payer's signature", async function () {
    const f = await loadFixture(deployPayBatchFixture);
    const [alice] = f.customers;
    const item = await signed(f, alice, { hold: 3n * ONE_DAY });
    const body = encodeBatch([item]).slice(2);
    // The run header follows the count: merchantId (8 bytes) then the hold (4 bytes).
    const at = (BATCH_HEADER_BYTES + 8) * 2;
    const forged = body.slice(0, at) + (5n * ONE_DAY).toString(16).padStart(8, "0") + body.slice(at + 8);
    const forgedId = await idOf(f, { ...item.payment, hold: 5n * ONE_DAY });
    await expect(f.escrow.connect(f.relayer).payBatch(`0x${forged}`))
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(forgedId, alice.address, RejectReason.InvalidSignature);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(usd(1_000));
  });

  it("reverts ConflictingHold when one batch carries a merchant's payments under two holds", async function () {
    const f = await loadFixture(deployPayBatchFixture);
    const [alice, bob, carol] = f.customers;
    const m = f.merchants[0];
    const items = [
      await signed(f, alice, { hold: 3n * ONE_DAY }),
      await signed(f, bob, { merchantId: f.merchants[1].id }),
      await signed(f, carol, { hold: 10n * ONE_DAY }),
    ];
    expect(() => encodeBatch(items)).to.throw(/two holds|hold/);
    const batch = encodeBatch(items, { allowConflictingHolds: true });
    await expect(f.escrow.connect(f.relayer).payBatch(batch))
      .to.be.revertedWithCustomError(f.escrow, "ConflictingHold")
      .withArgs(m.id, 10n * ONE_DAY);
    // Rejected items of the other hold fund nothing, so they cannot conflict.
    const rejected = await signed(f, carol, { hold: 10n * ONE_DAY, nonce: 1n, amount: usd(5_000) });
    await f.escrow
      .connect(f.relayer)
      .payBatch(encodeBatch([items[0], items[1], rejected], { allowConflictingHolds: true }));
    expect((await f.escrow.tranche(1n, m.id)).amount).to.equal(usd(10));
  });

  describe("one-off payments", function () {
    it("payWithAuthorization reverts HoldOutOfRange with the hold and the merchant's bounds", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      const payment = {
        payer: alice.address as `0x${string}`,
        merchantId: f.merchants[0].id,
        amount: usd(1),
        orderRef: ethers.ZeroHash as `0x${string}`,
        nonce: await nextNonce(f, alice.address),
        validAfter: 0n,
        deadline: 2n ** 40n,
        hold: MAX_HOLD + 1n,
      };
      await expect(f.escrow.connect(f.relayer).payWithAuthorization(payment, 0n, 2n ** 40n, "0x"))
        .to.be.revertedWithCustomError(f.escrow, "HoldOutOfRange")
        .withArgs(MAX_HOLD + 1n, MIN_HOLD, MAX_HOLD);
    });
  });
});
