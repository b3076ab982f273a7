/**
 * ChainView.paymentEvents on a real chain: a payment escrowed by a real payBatch reads back as its
 * PaymentEscrowed event (block, time, transaction), another payment of the same batch is not
 * mixed in, and a transaction with no receipt gives nothing.
 */
import { expect } from "chai";
import type { Hex } from "../../../src/relayer/domain";
import { usd } from "../../escrow/fixtures";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";

describe("relayer chain: a payment's escrow events", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  it("reads the payment's own events from its batch's block on, with block time and transaction", async function () {
    const ids: Hex[] = [];
    for (const [i, amount] of [usd(7), usd(2)].entries()) {
      const { body } = await signedPayment(h, i, { amount });
      const res = await h.request("POST", "/v1/payments", { body });
      expect(res.status, res.text).to.equal(201);
      ids.push(res.body.id);
    }
    const { batchId } = await escrowInStore(h, ids);
    const txHash = (await h.store.payments.get(ids[0]))!.txHash!;
    const events = await h.chain.paymentEvents(ids[0], txHash);
    expect(events).to.have.length(1);
    const [escrowed] = events;
    expect(escrowed.event).to.deep.include({ name: "PaymentEscrowed", paymentId: ids[0], batchId, amount: usd(7) });
    expect(escrowed.txHash).to.equal(txHash.toLowerCase());
    const block = await h.f.escrow.runner!.provider!.getBlock(escrowed.blockNumber);
    expect(escrowed.timestamp).to.equal(block!.timestamp);

    expect(await h.chain.paymentEvents(ids[0], `0x${"ab".repeat(32)}`), "no receipt").to.deep.equal([]);
    expect(await h.chain.paymentEvents(`0x${"cd".repeat(32)}`, txHash), "unknown payment").to.deep.equal([]);
  });
});
