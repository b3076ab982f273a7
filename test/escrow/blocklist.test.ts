/**
 * A customer the token blocklists cannot move its escrow balance out through payments: payBatch
 * rejects its payments (PayerBlocklisted, from the mirror kept by the permissionless syncBlocklist),
 * and confirm / confirmWithSignature refuse to release its held payments early.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  CUSTOMER_DEPOSIT,
  buildPayment,
  escrowOne,
  idOf,
  nextNonce,
  signConfirmation,
  signPayment,
  usd,
  HOLD_PERIOD,
  RejectReason,
} from "./fixtures";
import { settleFixture } from "./settle.helpers";
import { accountState, expectInvariant } from "./batch.helpers";
import { encodeBatch } from "../../src/protocol";

describe("PaymentEscrow blocklisted payers", function () {
  it("attack: a blocklisted payer's payment to a merchant is rejected PayerBlocklisted, balance and nonce kept", async function () {
    const f = await loadFixture(settleFixture);
    const [alice, bob] = f.customers;
    await f.token.connect(f.admin).blocklist(alice.address);
    await f.escrow.connect(f.stranger).syncBlocklist(alice.address);

    const bad = await buildPayment(f, alice, { amount: CUSTOMER_DEPOSIT });
    const good = await buildPayment(f, bob);
    const before = await accountState(f, alice.address);
    const tx = await f.escrow.connect(f.relayer).payBatch(
      encodeBatch([
        { payment: bad, signature: await signPayment(f, alice, bad) },
        { payment: good, signature: await signPayment(f, bob, good) },
      ]),
    );
    await expect(tx)
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(await idOf(f, bad), alice.address, RejectReason.PayerBlocklisted);
    await expect(tx)
      .to.emit(f.escrow, "PaymentEscrowed")
      .withArgs(await idOf(f, good), bob.address, good.merchantId, 1n, good.amount);
    expect(await accountState(f, alice.address)).to.deep.equal(before);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
    await expectInvariant(f);
  });

  it("without the sync the mirror is clear: the payment escrows (why the relayer syncs on the token's events)", async function () {
    const f = await loadFixture(settleFixture);
    const [alice] = f.customers;
    await f.token.connect(f.admin).blocklist(alice.address);
    expect(await f.escrow.blocklistMirrored(alice.address)).to.equal(false);
    const p = await buildPayment(f, alice);
    await expect(
      f.escrow.connect(f.relayer).payBatch(encodeBatch([{ payment: p, signature: await signPayment(f, alice, p) }])),
    )
      .to.emit(f.escrow, "PaymentEscrowed")
      .withArgs(await idOf(f, p), alice.address, p.merchantId, 1n, p.amount);
  });

  it("syncBlocklist is permissionless, mirrors the token both ways and logs only changes", async function () {
    const f = await loadFixture(settleFixture);
    const [alice] = f.customers;
    await f.token.connect(f.admin).blocklist(alice.address);
    await expect(f.escrow.connect(f.stranger).syncBlocklist(alice.address))
      .to.emit(f.escrow, "BlocklistSynced")
      .withArgs(alice.address, true);
    expect(await f.escrow.blocklistMirrored(alice.address)).to.equal(true);
    // Idempotent: no change, no event.
    await expect(f.escrow.connect(f.relayer).syncBlocklist(alice.address)).not.to.emit(f.escrow, "BlocklistSynced");

    await f.token.connect(f.admin).unBlocklist(alice.address);
    await expect(f.escrow.connect(alice).syncBlocklist(alice.address))
      .to.emit(f.escrow, "BlocklistSynced")
      .withArgs(alice.address, false);
    expect(await f.escrow.blocklistMirrored(alice.address)).to.equal(false);
  });

  it("after UnBlocklisted and a sync the payer pays again; the nonce window is untouched by the mirror bit", async function () {
    const f = await loadFixture(settleFixture);
    const [alice] = f.customers;
    await escrowOne(f, alice); // nonce 0 used: base 1
    const [baseBefore, bitmapBefore] = await f.escrow.nonceWindow(alice.address);
    await f.token.connect(f.admin).blocklist(alice.address);
    await f.escrow.syncBlocklist(alice.address);
    expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([baseBefore, bitmapBefore]);
    expect(await f.escrow.isNonceAvailable(alice.address, baseBefore)).to.equal(true);
    // A cancelled nonce keeps the mirror bit.
    await f.escrow.connect(alice).cancelNonce(baseBefore + 1n);
    expect(await f.escrow.blocklistMirrored(alice.address)).to.equal(true);

    await f.token.connect(f.admin).unBlocklist(alice.address);
    await f.escrow.syncBlocklist(alice.address);
    const p = await buildPayment(f, alice, { nonce: await nextNonce(f, alice.address) });
    expect(p.nonce).to.equal(baseBefore);
    await expect(
      f.escrow.connect(f.relayer).payBatch(encodeBatch([{ payment: p, signature: await signPayment(f, alice, p) }])),
    )
      .to.emit(f.escrow, "PaymentEscrowed")
      .withArgs(await idOf(f, p), alice.address, p.merchantId, 2n, p.amount);
    expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([baseBefore + 2n, 0n]);
  });

  it("attack: a blocklisted payer cannot confirm its held payment to release it: CustomerBlocklisted(payer)", async function () {
    const f = await loadFixture(settleFixture);
    const [alice] = f.customers;
    const escrowed = await escrowOne(f, alice, { amount: usd(100) });
    await f.token.connect(f.admin).blocklist(alice.address);
    await expect(f.escrow.connect(alice).confirm(escrowed.payment, escrowed.inclusion))
      .to.be.revertedWithCustomError(f.escrow, "CustomerBlocklisted")
      .withArgs(alice.address);
    const deadline = BigInt(await time.latest()) + 3600n;
    const signature = await signConfirmation(f, alice, escrowed.id, deadline);
    await expect(
      f.escrow.connect(f.relayer).confirmWithSignature(escrowed.payment, escrowed.inclusion, deadline, signature),
    )
      .to.be.revertedWithCustomError(f.escrow, "CustomerBlocklisted")
      .withArgs(alice.address);

    // Unblocklisted, the same confirmation goes through.
    await f.token.connect(f.admin).unBlocklist(alice.address);
    await expect(
      f.escrow.connect(f.relayer).confirmWithSignature(escrowed.payment, escrowed.inclusion, deadline, signature),
    ).to.emit(f.escrow, "PaymentConfirmed");
  });

  it("a payment escrowed before its payer was blocklisted settles to the merchant when the hold ends (documented)", async function () {
    const f = await loadFixture(settleFixture);
    const [alice] = f.customers;
    const m = f.merchants[0];
    const escrowed = await escrowOne(f, alice, { amount: usd(100) });
    await f.token.connect(f.admin).blocklist(alice.address);
    await f.escrow.syncBlocklist(alice.address);
    await time.increase(HOLD_PERIOD + 1n);
    await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [escrowed.inclusion.batchId] }])).to.emit(
      f.escrow,
      "MerchantPaid",
    );
    await expectInvariant(f);
  });
});
