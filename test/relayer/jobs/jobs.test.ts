/**
 * The jobs on their own timers: start() runs the whole pipeline (accepted → escrowed → settled with
 * no manual ticks), a failing tick is logged and the loop carries on, and stop() leaves no timer.
 */
import { expect } from "chai";
import { PaymentState } from "../../../src/relayer/domain";
import { HOLD_PERIOD } from "../../escrow/fixtures";
import { advanceChainTime, usePipelineFixture, statesOf, waitFor } from "../helpers/chain";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("relayer pipeline: job loops", function () {
  const setup = usePipelineFixture();

  it("runs on its timers from accepted to settled, survives failing ticks, and stops cleanly", async () => {
    const fx = await setup();
    const baseline = timers();
    const pipeline = fx.pipeline();
    await pipeline.start();
    expect([pipeline.batcher, pipeline.submitter, pipeline.watcher, pipeline.settler].every((j) => j.running)).to.equal(
      true,
    );

    // A node outage longer than the retries: ticks fail, are logged, and the loops go on.
    fx.bridge.failNext(40, 503);
    const payments = await fx.accept([
      { payer: fx.customers[0] },
      { payer: fx.customers[1] },
      { payer: fx.customers[2] },
    ]);
    await waitFor("a failed tick logged", async () => fx.logger.has("error", "tick failed"));
    fx.bridge.heal();

    await waitFor("escrowed", async () =>
      (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed),
    );
    await advanceChainTime(HOLD_PERIOD + 1n);
    await waitFor("settled", async () => (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Settled));
    expect(await fx.escrow.batchCount()).to.equal(1n);

    await pipeline.stop();
    expect([pipeline.batcher, pipeline.submitter, pipeline.watcher, pipeline.settler].some((j) => j.running)).to.equal(
      false,
    );
    const requests = fx.bridge.requests;
    await waitFor("no timer left behind", async () => timers() <= baseline, 5_000);
    expect(fx.bridge.requests, "no job ran after stop()").to.equal(requests);
  });
});
