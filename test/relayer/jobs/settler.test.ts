/**
 * Settler: one settle call for every releasable tranche, one entry per merchant with all its batch
 * ids, bounded per call; suspended merchants skipped until reactivated; tranches someone else
 * settled are not sent again (the watcher marks their payments settled from the chain's events).
 */
import { expect } from "chai";
import { PaymentState, type PaymentRecord } from "../../../src/relayer/domain";
import { Settler } from "../../../src/relayer/jobs/settler";
import { HOLD_PERIOD } from "../../escrow/fixtures";
import { advanceChainTime, usePipelineFixture, statesOf, tickUntil } from "../helpers/chain";

describe("relayer pipeline: settler", function () {
  const setup = usePipelineFixture();

  it("settles across merchants and batches in bounded calls, skips suspended merchants and what others settled", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const [c0, c1, , c3] = fx.customers;
    const [m1, m2, m3] = fx.merchants.map((m) => m.id);
    const pipeline = fx.pipeline();
    const final = async () => (await fx.store.submissions.listPending()).length === 0;
    // Three batches, one per tick: (m1, m2), (m1, m2), (m1, m3).
    const payments: PaymentRecord[] = [];
    for (const pair of [
      [m1, m2],
      [m1, m2],
      [m1, m3],
    ]) {
      const made = await fx.accept([
        { payer: c0, merchantId: pair[0] },
        { payer: pair[1] === m3 ? c3 : c1, merchantId: pair[1] },
      ]);
      payments.push(...made);
      await tickUntil(
        pipeline,
        "escrowed",
        async () => (await statesOf(fx.store, made)).every((s) => s === PaymentState.Escrowed) && (await final()),
      );
    }
    expect(await fx.escrow.batchCount()).to.equal(3n);
    await fx.registry.connect(fx.registrar).suspend(m3);
    await advanceChainTime(HOLD_PERIOD + 1n);
    // Someone else settles merchant 2's tranche of batch 1 first.
    await fx.escrow.connect(fx.stranger).settle([{ merchantId: m2, batchIds: [1n] }]);

    const settler = new Settler({
      store: fx.store,
      chain: fx.chain,
      submitter: pipeline.submitter,
      config: fx.config,
      maxTranches: 3,
    });
    await settler.tick();
    expect(settler.lastSent!.entries).to.deep.equal([{ merchantId: m1, batchIds: [1n, 2n, 3n] }]);
    await pipeline.submitter.tick();
    await settler.tick();
    expect(
      settler.lastSent!.entries,
      "the rest in the next call; m2's batch 1 and suspended m3 left out",
    ).to.deep.equal([{ merchantId: m2, batchIds: [2n] }]);
    await tickUntil(
      pipeline,
      "settled",
      async () =>
        (
          await statesOf(
            fx.store,
            payments.filter((p) => p.merchantId !== m3),
          )
        ).every((s) => s === PaymentState.Settled) && (await final()),
    );
    expect(
      await statesOf(
        fx.store,
        payments.filter((p) => p.merchantId === m3),
      ),
    ).to.deep.equal([PaymentState.Escrowed]);
    const records = await fx.store.settlements.listByState(["confirmed"]);
    expect(records.map((r) => [r.merchantId, r.batchIds])).to.deep.equal([
      [m1, [1n, 2n, 3n]],
      [m2, [2n]],
    ]);

    await fx.registry.connect(fx.registrar).reactivate(m3);
    await tickUntil(
      pipeline,
      "m3 settled",
      async () => (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Settled) && (await final()),
    );
    expect(
      (await fx.store.settlements.listByState(["confirmed"])).map((r) => [r.merchantId, r.batchIds]),
    ).to.deep.equal([
      [m1, [1n, 2n, 3n]],
      [m2, [2n]],
      [m3, [3n]],
    ]);
  });
});
