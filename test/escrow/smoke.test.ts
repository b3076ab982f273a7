import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  deployEscrowFixture,
  buildPayment,
  signPayment,
  submitBatch,
  invariant,
  HOLD_PERIOD,
  usd,
  feeOf,
  nextNonce,
} from "./fixtures";

describe("PaymentEscrow smoke", function () {
  it("escrows a batch, settles it and keeps the invariant", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const [alice, bob] = f.customers;
    const items = [];
    for (const c of [alice, bob]) {
      const p = await buildPayment(f, c, { nonce: await nextNonce(f, c.address) });
      items.push({ payment: p, signature: await signPayment(f, c, p) });
    }
    const batch = await submitBatch(f, items);
    await expect(batch.tx).to.emit(f.escrow, "BatchEscrowed");
    expect(await f.escrow.batchRoot(batch.batchId)).to.equal(batch.tree.root);
    await time.increase(HOLD_PERIOD);
    const m = f.merchants[0];
    await expect(f.escrow.settle([{ merchantId: m.id, batchIds: [batch.batchId] }]))
      .to.emit(f.escrow, "MerchantPaid")
      .withArgs(m.id, m.payout.address, usd(20) - feeOf(usd(20)));
    const inv = await invariant(f);
    expect(inv.balance).to.equal(inv.owed);
  });
});
