/**
 * The batcher hands the payments of a batch it built to the submitter, which then encodes the
 * calldata without reading the rows back; a relayer that did not build the batch (a restart)
 * reads them from the store. Either way the batch sent is the batch built.
 */
import { expect } from "chai";
import { BatchState, PaymentState, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { BuiltBatchRecords } from "../../../src/relayer/jobs/builtBatches";
import { encodePayBatch } from "../../../src/relayer/chain/calldata";
import { makePayment } from "../store/helpers";
import { usePipelineFixture, statesOf, type PipelineFixture } from "../helpers/chain";

const record = (i: number): PaymentRecord => makePayment(i);

describe("relayer pipeline: built batches handed to the submitter", function () {
  describe("BuiltBatchRecords", function () {
    it("gives a batch's payments once, only for the same ids in the same order", function () {
      const built = new BuiltBatchRecords();
      const payments = [record(1), record(2), record(3)];
      built.remember(7, payments);
      expect(built.take({ key: 7, paymentIds: [payments[0].id, payments[2].id, payments[1].id] })).to.equal(null);
      // Forgotten after a take, even a refused one: a re-send reads the store.
      built.remember(7, payments);
      expect(built.take({ key: 7, paymentIds: payments.map((p) => p.id) })).to.deep.equal(payments);
      expect(built.take({ key: 7, paymentIds: payments.map((p) => p.id) })).to.equal(null);
      built.remember(8, payments);
      expect(built.take({ key: 8, paymentIds: payments.slice(0, 2).map((p) => p.id) })).to.equal(null);
      expect(built.take({ key: 9, paymentIds: [] })).to.equal(null);
    });

    it("holds at most eight batches, dropping the oldest", function () {
      const built = new BuiltBatchRecords();
      for (let key = 1; key <= 10; key++) built.remember(key, [record(key)]);
      expect(built.size).to.equal(8);
      expect(built.take({ key: 1, paymentIds: [record(1).id] })).to.equal(null);
      expect(built.take({ key: 2, paymentIds: [record(2).id] })).to.equal(null);
      expect(built.take({ key: 3, paymentIds: [record(3).id] })).to.deep.equal([record(3)]);
    });
  });

  describe("sending", function () {
    const setup = usePipelineFixture();
    let fx: PipelineFixture;

    /** Counts the store reads of payments by id made while `run` runs. */
    async function countingReads(run: () => Promise<void>): Promise<number> {
      const original = fx.store.payments.getMany.bind(fx.store.payments);
      let reads = 0;
      fx.store.payments.getMany = (ids) => {
        reads++;
        return original(ids);
      };
      try {
        await run();
      } finally {
        fx.store.payments.getMany = original;
      }
      return reads;
    }

    async function sentCalldata(txHash: Hex): Promise<string> {
      const tx = await fx.chain.provider.getTransaction(txHash);
      return tx!.data;
    }

    /** The calldata of the batch as stored, in the batch's order. */
    async function storedCalldata(paymentIds: Hex[]): Promise<string> {
      const stored = await fx.store.payments.getMany(paymentIds);
      return encodePayBatch(paymentIds.map((id) => stored.get(id)!));
    }

    it("sends the batch this relayer built from its own records: the same calldata, one read fewer", async () => {
      fx = await setup();
      const payments = await fx.accept(fx.customers.slice(0, 4).map((payer) => ({ payer })));
      const pipeline = fx.pipeline();
      await pipeline.batcher.tick();
      const [built] = await fx.store.batches.listByState([BatchState.Built]);
      const expected = await storedCalldata(built.paymentIds);

      // Only the re-read inside the transaction that marks the payments submitted.
      expect(await countingReads(() => pipeline.submitter.tick())).to.equal(1);
      const submitted = (await fx.store.batches.get(built.key))!;
      expect(submitted.state).to.equal(BatchState.Submitted);
      expect(await sentCalldata(submitted.txHash!)).to.equal(expected);

      await pipeline.watcher.tick();
      expect(await statesOf(fx.store, payments)).to.deep.equal(payments.map(() => PaymentState.Escrowed));
    });

    it("reads the payments from the store when another relayer process built the batch", async () => {
      fx = await setup();
      const payments = await fx.accept(fx.customers.slice(0, 3).map((payer) => ({ payer })));
      await fx.pipeline().batcher.tick();
      const [built] = await fx.store.batches.listByState([BatchState.Built]);
      const expected = await storedCalldata(built.paymentIds);

      const restarted = fx.pipeline();
      expect(await countingReads(() => restarted.submitter.tick())).to.equal(2);
      const submitted = (await fx.store.batches.get(built.key))!;
      expect(await sentCalldata(submitted.txHash!)).to.equal(expected);

      await restarted.watcher.tick();
      expect(await statesOf(fx.store, payments)).to.deep.equal(payments.map(() => PaymentState.Escrowed));
    });
  });
});
