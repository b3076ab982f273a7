/**
 * The pipeline end to end on a real chain (Hardhat over JSON-RPC/HTTP) and a real SQLite file:
 * accepted → batched → submitted → escrowed (leaf indexes whose proofs the escrow accepts) →
 * released by a confirm() → settled after the hold, with a webhook event per status change.
 */
import { expect } from "chai";
import { BatchTree } from "../../../src/protocol";
import { paymentFields } from "../../../src/protocol";
import { BatchState, PaymentState, SubmissionState, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { encodePayBatch } from "../../../src/relayer/chain/calldata";
import { batchPurpose } from "../../../src/relayer/jobs/batchOutcome";
import { ChainWatcher } from "../../../src/relayer/jobs/chainWatcher";
import { feeOf, HOLD_PERIOD, usd } from "../../escrow/fixtures";
import { makeEndpoint } from "../store/helpers";
import {
  advanceChainTime,
  usePipelineFixture,
  statesOf,
  tickUntil,
  tickUntilEscrowedInOneBatch,
} from "../helpers/chain";

describe("relayer pipeline: lifecycle", function () {
  const setup = usePipelineFixture();

  it("escrows accepted payments grouped by merchant, with leaf indexes the escrow accepts, then settles them", async () => {
    const fx = await setup();
    const [c0, c1, c2, c3] = fx.customers;
    const [m1, m2, m3] = fx.merchants.map((m) => m.id);
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: m1 }));
    const accepted = await fx.accept([
      { payer: c0, merchantId: m1 },
      { payer: c1, merchantId: m2, amount: usd(7) },
      { payer: c2, merchantId: m1, amount: usd(3) },
      { payer: c3, merchantId: m3 },
      { payer: c0, merchantId: m2 },
      { payer: c1, merchantId: m1, amount: usd(1) },
    ]);
    const pipeline = fx.pipeline();
    await tickUntilEscrowedInOneBatch(pipeline, fx.store, accepted, "all escrowed and the batch confirmed");

    const batchId = await fx.escrow.batchCount();
    expect(batchId).to.equal(1n);
    const [batch] = await fx.store.batches.listByState([BatchState.Confirmed]);
    expect(batch.batchId).to.equal(batchId);
    expect(batch.root).to.equal((await fx.escrow.batchRoot(batchId)).toLowerCase());
    expect(batch.gasUsed! > 0n).to.equal(true);
    // Grouped by merchant, merchants in order of their oldest payment, each run oldest first.
    const byId = new Map(accepted.map((p) => [p.id, p]));
    expect(batch.paymentIds.map((id) => byId.get(id)!.merchantId)).to.deep.equal([m1, m1, m1, m2, m2, m3]);

    const stored = await Promise.all(accepted.map(async (p) => (await fx.store.payments.get(p.id))!));
    const receipt = (await fx.chain.receipt(batch.txHash!))!;
    const block = (await fx.chain.block(BigInt(receipt.blockNumber)))!;
    for (const p of stored) {
      expect(p.batchId).to.equal(batchId);
      expect(p.txHash).to.equal(batch.txHash);
      // Each payment is held for the hold it signed (here its merchant's shortest).
      expect(p.hold).to.equal((await fx.registry.terms(p.merchantId)).minHold);
      expect(p.releaseAt).to.equal(BigInt(block.timestamp) + p.hold);
      expect(p.leafIndex).to.equal(batch.paymentIds.indexOf(p.id));
    }
    const tree = new BatchTree([...stored].sort((a, b) => a.leafIndex! - b.leafIndex!).map((p) => p.id));
    expect(tree.root).to.equal(batch.root);

    // The stored leaf index yields a proof the escrow accepts: the payer confirms delivery.
    const confirmed = stored.find((p) => p.payer === c2.address.toLowerCase())!;
    await fx.escrow.connect(c2).confirm(paymentFields(confirmed), { batchId, proof: tree.proof(confirmed.leafIndex!) });
    await tickUntil(
      pipeline,
      "released",
      async () => (await fx.store.payments.get(confirmed.id))!.state === PaymentState.Released,
    );

    // Before the hold ends nothing is settled.
    await pipeline.tick();
    expect(pipeline.settler.lastSent).to.equal(null);
    expect(await fx.store.settlements.listByState(["built", "submitted", "confirmed"])).to.deep.equal([]);

    await advanceChainTime(HOLD_PERIOD + 1n);
    const payoutBefore = await Promise.all(fx.merchants.map((m) => fx.token.balanceOf(m.payout.address)));
    await tickUntil(pipeline, "all settled", async () =>
      (await statesOf(fx.store, accepted)).every((s) => s === PaymentState.Settled),
    );

    const settlements = await fx.store.settlements.listByState(["confirmed"]);
    expect(settlements.map((s) => s.merchantId)).to.deep.equal([m1, m2, m3]);
    for (const [i, merchant] of fx.merchants.entries()) {
      const mine = stored.filter((p) => p.merchantId === merchant.id);
      const gross = mine.reduce((sum, p) => sum + p.amount, 0n);
      const paid = (await fx.token.balanceOf(merchant.payout.address)) - payoutBefore[i];
      expect(paid, `merchant ${merchant.id} payout`).to.equal(settlements[i].amount);
      expect(settlements[i].batchIds).to.deep.equal([batchId]);
      // The confirmed payment's fee was taken at confirm time; the tranche fee covers the rest.
      const released = mine.filter((p) => p.id === confirmed.id);
      const trancheGross = gross - released.reduce((s, p) => s + p.amount, 0n);
      expect(settlements[i].fee).to.equal(trancheGross === 0n ? 0n : feeOf(trancheGross));
      expect(paid).to.equal(gross - feeOf(trancheGross) - released.reduce((s, p) => s + feeOf(p.amount), 0n));
    }
    expect((await fx.escrow.tranche(batchId, m1)).releaseAt).to.equal(0n);

    // Merchant 1's webhook endpoint got one event per status change of each of its payments.
    const events = await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 1000);
    const m1Payments = stored.filter((p) => p.merchantId === m1).map((p) => p.id);
    for (const id of m1Payments) {
      const types = events
        .filter((e) => (JSON.parse(e.payload) as { data: { id: string } }).data.id === id)
        .map((e) => e.eventType);
      const expected = ["payment.accepted", "payment.batched", "payment.submitted", "payment.escrowed"];
      if (id === confirmed.id) expected.push("payment.released");
      expect(types).to.deep.equal([...expected, "payment.settled"]);
    }
    expect(events.every((e) => e.merchantId === m1)).to.equal(true);
  });

  it("applies refunds, disputes and rulings from the chain; re-reading every block changes nothing", async () => {
    const fx = await setup();
    const m1 = fx.merchants[0];
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: m1.id }));
    const accepted = await fx.accept(fx.customers.map((payer) => ({ payer })));
    const pipeline = fx.pipeline();
    const allFinal = async () => (await fx.store.submissions.listPending()).length === 0;
    await tickUntil(
      pipeline,
      "escrowed",
      async () => (await statesOf(fx.store, accepted)).every((s) => s === PaymentState.Escrowed) && (await allFinal()),
    );
    const stored = await Promise.all(accepted.map(async (p) => (await fx.store.payments.get(p.id))!));
    const tree = new BatchTree([...stored].sort((a, b) => a.leafIndex! - b.leafIndex!).map((p) => p.id));
    const inclusion = (p: PaymentRecord) => ({ batchId: p.batchId!, proof: tree.proof(p.leafIndex!) });
    const [refunded, disputed, confirmed, untouched] = stored;

    await fx.escrow.connect(m1.owner).refund(paymentFields(refunded), inclusion(refunded), usd(4));
    await tickUntil(
      pipeline,
      "partly refunded",
      async () => (await fx.store.payments.get(refunded.id))!.refunded === usd(4),
    );
    expect((await fx.store.payments.get(refunded.id))!.state).to.equal(PaymentState.Escrowed);
    await fx.escrow.connect(m1.owner).refund(paymentFields(refunded), inclusion(refunded), usd(6));
    await fx.escrow.connect(fx.customers[1]).openDispute(paymentFields(disputed), inclusion(disputed));
    await fx.escrow.connect(fx.customers[2]).confirm(paymentFields(confirmed), inclusion(confirmed));
    await tickUntil(pipeline, "refunded, disputed, released", async () => {
      const states = await statesOf(fx.store, stored);
      return (
        states.join() ===
        [PaymentState.Refunded, PaymentState.Disputed, PaymentState.Released, PaymentState.Escrowed].join()
      );
    });
    expect((await fx.store.payments.get(refunded.id))!.refunded).to.equal(usd(10));
    await fx.escrow.connect(fx.arbiter).resolveDispute(paymentFields(disputed), usd(3));
    await tickUntil(
      pipeline,
      "resolved",
      async () => (await fx.store.payments.get(disputed.id))!.state === PaymentState.Resolved,
    );

    await advanceChainTime(HOLD_PERIOD + 1n);
    await tickUntil(
      pipeline,
      "settled",
      async () =>
        (await statesOf(fx.store, [confirmed, untouched])).every((s) => s === PaymentState.Settled) &&
        (await allFinal()),
    );
    const final = await statesOf(fx.store, stored);
    expect(final).to.deep.equal([
      PaymentState.Refunded,
      PaymentState.Resolved,
      PaymentState.Settled,
      PaymentState.Settled,
    ]);

    // Re-read everything from the deploy block, two blocks per page: the same states, no new events.
    const events = (await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 10_000)).length;
    const snapshot = await Promise.all(stored.map((p) => fx.store.payments.get(p.id)));
    const before = (await fx.chain.block(fx.addresses.startBlock - 1n))!;
    await fx.store.chainCursor.set("escrow", BigInt(before.number), before.hash as Hex);
    const replay = new ChainWatcher({
      store: fx.store,
      chain: fx.chain,
      config: fx.config,
      clock: fx.clock,
      pageBlocks: 2n,
    });
    const head = await fx.chain.blockNumber();
    for (let i = 0; i < 20 && (await replay.cursor())!.blockNumber < head; i++) await replay.tick();
    expect((await replay.cursor())!.blockNumber).to.equal(head);
    const replayed = await Promise.all(stored.map((p) => fx.store.payments.get(p.id)));
    for (const [i, p] of replayed.entries()) expect(p, `payment ${i}`).to.deep.equal(snapshot[i]);
    expect((await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 10_000)).length).to.equal(events);
  });

  it("a batch sent again after a lost record update is rejected by the escrow and stays escrowed once", async () => {
    const fx = await setup();
    const [c0, c1] = fx.customers;
    const accepted = await fx.accept([{ payer: c0 }, { payer: c1 }, { payer: c0 }]);
    const pipeline = fx.pipeline();
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    const [batch] = await fx.store.batches.listByState([BatchState.Submitted]);
    const [first] = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    const balancesBefore = await Promise.all([c0, c1].map((c) => fx.escrow.balanceOf(c.address)));

    // The crash: the relayer lost track of having sent it (record gone, batch back to built).
    await fx.store.submissions.setState(first.id, SubmissionState.Failed);
    await fx.store.batches.update(batch.key, { state: BatchState.Built, txHash: null });
    await fx.store.payments.setState(
      accepted.map((p) => p.id),
      PaymentState.Batched,
      { txHash: null },
    );
    await pipeline.submitter.tick();
    const sent = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    expect(sent).to.have.length(2);
    expect(sent[1].nonce).to.equal(first.nonce + 1);

    await tickUntil(pipeline, "escrowed", async () =>
      (await statesOf(fx.store, accepted)).every((s) => s === PaymentState.Escrowed),
    );
    await pipeline.tick();
    // The second transaction was mined and rejected every item: nonce_unavailable.
    const second = (await fx.chain.receipt(sent[1].txHash))!;
    const rejected = second.logs
      .map((l) => fx.escrow.interface.parseLog(l))
      .filter((e) => e?.name === "PaymentRejected");
    expect(rejected.map((e) => [e!.args.paymentId.toLowerCase(), e!.args.reason])).to.deep.equal(
      batch.paymentIds.map((id) => [id, 5n]),
    );
    expect(await fx.escrow.batchCount()).to.equal(1n);
    expect(await statesOf(fx.store, accepted)).to.deep.equal(accepted.map(() => PaymentState.Escrowed));
    for (const p of accepted) expect((await fx.store.payments.get(p.id))!.batchId).to.equal(1n);
    const balancesAfter = await Promise.all([c0, c1].map((c) => fx.escrow.balanceOf(c.address)));
    expect(balancesBefore[0] - balancesAfter[0]).to.equal(0n); // already debited by the first send
    expect(balancesBefore[1] - balancesAfter[1]).to.equal(0n);
    expect((await fx.escrow.liabilities()).held).to.equal(usd(30));
  });

  it("a crash after the send was recorded but before the batch was marked resumes without signing again", async () => {
    const fx = await setup();
    const accepted = await fx.accept([{ payer: fx.customers[0] }, { payer: fx.customers[1] }]);
    const before = fx.pipeline();
    await before.batcher.tick();
    const [batch] = await fx.store.batches.listByState([BatchState.Built]);
    // What the submitter does up to the crash: record, then broadcast; the batch stays built.
    const data = encodePayBatch(accepted);
    const sent = await before.submitter.send(
      batchPurpose(batch.key),
      data,
      await before.submitter.gasLimitFor(data, 1_000_000n),
    );

    const after = fx.pipeline({ chain: await fx.reconnect() });
    await after.submitter.reconcile();
    await tickUntil(after, "escrowed", async () =>
      (await statesOf(fx.store, accepted)).every((s) => s === PaymentState.Escrowed),
    );
    const submissions = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    expect(submissions.map((s) => [s.txHash, s.state])).to.deep.equal([[sent.txHash, SubmissionState.Mined]]);
    expect((await fx.store.batches.get(batch.key))!.state).to.equal(BatchState.Confirmed);
    expect(await fx.escrow.batchCount()).to.equal(1n);
    const txHashes = new Set(
      (await Promise.all(accepted.map((p) => fx.store.payments.get(p.id)))).map((p) => p!.txHash as Hex),
    );
    expect([...txHashes]).to.deep.equal([sent.txHash]);
  });
});
