/**
 * Reorgs (evm_snapshot / evm_revert on the test chain, after the relayer saw a batch escrowed): the
 * watcher notices its cursor's block hash changed, the dropped batch's payments go back to accepted
 * and are escrowed again by a new batch, once; a dropped transaction still in the mempool is
 * followed again instead of being re-sent.
 */
import { expect } from "chai";
import { BatchState, PaymentState, SubmissionState } from "../../../src/relayer/domain";
import { batchPurpose } from "../../../src/relayer/jobs/batchOutcome";
import { usd, CUSTOMER_DEPOSIT, HOLD_PERIOD } from "../../escrow/fixtures";
import { makeEndpoint } from "../store/helpers";
import {
  advanceChainTime,
  mine,
  usePipelineFixture,
  rpc,
  setAutomine,
  statesOf,
  tickUntil,
  tickUntilEscrowedInOneBatch,
  type PipelineFixture,
} from "../helpers/chain";

describe("relayer pipeline: reorgs", function () {
  const setup = usePipelineFixture();
  let fx: PipelineFixture;

  async function escrowFirstBatch() {
    const payments = await fx.accept([
      { payer: fx.customers[0] },
      { payer: fx.customers[1] },
      { payer: fx.customers[0] },
    ]);
    const snapshot = await rpc<string>("evm_snapshot");
    const pipeline = fx.pipeline();
    await tickUntilEscrowedInOneBatch(pipeline, fx.store, payments, "escrowed and confirmed");
    const [batch] = await fx.store.batches.listByState([BatchState.Confirmed]);
    const cursor = (await pipeline.watcher.cursor())!;
    return { payments, snapshot, pipeline, batch, cursor };
  }

  it("returns the payments of a batch dropped by a reorg to accepted and escrows them again, once", async () => {
    fx = await setup();
    await fx.store.webhooks.create(makeEndpoint("wh", { url: "http://127.0.0.1:9/x" }));
    const { payments, snapshot, pipeline, batch, cursor } = await escrowFirstBatch();
    const [submission] = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));

    // The chain forgets the batch; a different chain grows past the watcher's cursor.
    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);
    expect(await fx.chain.receipt(submission.txHash)).to.equal(null);
    expect(await fx.escrow.batchCount()).to.equal(0n);

    await pipeline.watcher.tick();
    const reorg = pipeline.watcher.lastTick.reorg!;
    expect(reorg.dropped).to.deep.equal([batch.key]);
    expect(reorg.rewindTo < cursor.blockNumber).to.equal(true);
    expect((await fx.store.batches.get(batch.key))!.state).to.equal(BatchState.Reorged);
    expect((await fx.store.submissions.listByPurpose(batchPurpose(batch.key))).map((s) => s.state)).to.deep.equal([
      SubmissionState.Failed,
    ]);
    const requeued = await Promise.all(payments.map(async (p) => (await fx.store.payments.get(p.id))!));
    for (const p of requeued) {
      expect([p.state, p.batchId, p.leafIndex, p.txHash, p.batchKey]).to.deep.equal([
        PaymentState.Accepted,
        null,
        null,
        null,
        null,
      ]);
    }
    // The nonce the dropped transaction used is free again, and the relayer uses it.
    expect(pipeline.submitter.nonces.next).to.equal(submission.nonce);

    await tickUntilEscrowedInOneBatch(pipeline, fx.store, payments, "escrowed again");
    const [again] = await fx.store.batches.listByState([BatchState.Confirmed]);
    expect(again.key).to.not.equal(batch.key);
    expect(again.batchId).to.equal(1n);
    expect(await fx.escrow.batchCount()).to.equal(1n);
    expect(await fx.escrow.balanceOf(fx.customers[0].address)).to.equal(CUSTOMER_DEPOSIT - usd(20));
    expect(await fx.escrow.balanceOf(fx.customers[1].address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
    expect((await fx.escrow.liabilities()).held).to.equal(usd(30));
    for (const p of payments) expect((await fx.store.payments.get(p.id))!.txHash).to.equal(again.txHash);
    expect(pipeline.watcher.lastTick.reorg, "no further reorg seen").to.equal(null);
    // The merchant's webhooks saw the way back: escrowed → accepted → ... → escrowed.
    const events = (await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 1000)).filter(
      (e) => (JSON.parse(e.payload) as { data: { id: string } }).data.id === payments[0].id,
    );
    expect(events.map((e) => e.eventType)).to.deep.equal([
      "payment.accepted",
      "payment.batched",
      "payment.submitted",
      "payment.escrowed",
      "payment.accepted",
      "payment.batched",
      "payment.submitted",
      "payment.escrowed",
    ]);
  });

  it("follows a dropped batch transaction that is back in the mempool instead of sending it again", async () => {
    fx = await setup();
    const { payments, snapshot, pipeline, batch, cursor } = await escrowFirstBatch();
    const [submission] = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));

    await rpc("evm_revert", [snapshot]);
    await setAutomine(false);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);
    // The dropped transaction returns to the pool (as nodes re-add the transactions of dropped blocks).
    await rpc("eth_sendRawTransaction", [submission.rawTx]);

    await pipeline.watcher.tick();
    expect(pipeline.watcher.lastTick.reorg!.pending).to.deep.equal([batch.key]);
    expect((await fx.store.batches.get(batch.key))!.state).to.equal(BatchState.Submitted);
    expect(await statesOf(fx.store, payments)).to.deep.equal(payments.map(() => PaymentState.Submitted));
    expect((await fx.store.submissions.listPending()).map((s) => s.txHash)).to.deep.equal([submission.txHash]);

    await mine();
    await tickUntil(
      pipeline,
      "escrowed by the same transaction",
      async () =>
        (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed) &&
        (await fx.store.batches.get(batch.key))!.state === BatchState.Confirmed,
    );
    expect(await fx.store.submissions.listByPurpose(batchPurpose(batch.key))).to.have.length(1);
    expect(await fx.escrow.batchCount()).to.equal(1n);
    const moved = (await fx.store.batches.get(batch.key))!;
    expect(moved.blockHash).to.not.equal(batch.blockHash);
    expect((await fx.store.payments.get(payments[0].id))!.txHash).to.equal(submission.txHash);
  });

  it("undoes a settlement dropped by a reorg: payments back to escrowed, the tranche settled again", async () => {
    fx = await setup();
    const payments = await fx.accept([{ payer: fx.customers[0] }, { payer: fx.customers[1] }]);
    const pipeline = fx.pipeline();
    const final = async () => (await fx.store.submissions.listPending()).length === 0;
    await tickUntil(
      pipeline,
      "escrowed",
      async () => (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed) && (await final()),
    );
    await advanceChainTime(HOLD_PERIOD + 1n);
    const snapshot = await rpc<string>("evm_snapshot");
    await tickUntil(
      pipeline,
      "settled",
      async () => (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Settled) && (await final()),
    );
    const [settled] = await fx.store.settlements.listByState(["confirmed"]);
    const cursor = (await pipeline.watcher.cursor())!;

    await rpc("evm_revert", [snapshot]);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);
    await pipeline.watcher.tick();
    expect(pipeline.watcher.lastTick.reorg!.settlementsUndone).to.deep.equal([settled.key]);
    expect((await fx.store.settlements.listByState(["failed"])).map((s) => s.key)).to.deep.equal([settled.key]);
    expect(await statesOf(fx.store, payments)).to.deep.equal([PaymentState.Escrowed, PaymentState.Escrowed]);
    expect((await fx.escrow.tranche(1n, fx.merchants[0].id)).releaseAt > 0n, "unsettled on the new chain").to.equal(
      true,
    );

    await tickUntil(
      pipeline,
      "settled again",
      async () => (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Settled) && (await final()),
    );
    const [again] = await fx.store.settlements.listByState(["confirmed"]);
    expect(again.key).to.not.equal(settled.key);
    expect(again.amount).to.equal(settled.amount);
    expect((await fx.escrow.tranche(1n, fx.merchants[0].id)).releaseAt).to.equal(0n);
  });
});
