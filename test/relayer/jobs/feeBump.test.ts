/**
 * Fee bumps: a transaction stuck below a risen base fee is replaced (same nonce, both fees raised)
 * after feeBumpAfterMs; one that cannot be bumped under maxFeePerGasCap is reported as stuck (log,
 * failure metric, `stuck`, onStuck), once, and cleared when it is finally mined.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import type { StuckTransaction } from "../../../src/relayer/jobs/submitter";
import { mine, rpc, setAutomine, statesOf, tickUntil, usePipelineFixture } from "../helpers/chain";

const GWEI = 1_000_000_000n;

/** The next block's base fee becomes `fee`, and a block is mined at it (without our transaction). */
async function raiseBaseFee(fee: bigint): Promise<void> {
  await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${fee.toString(16)}`]);
  await mine();
}

describe("relayer pipeline: fee bumps", function () {
  afterEach(async () => {
    await setAutomine(true);
    await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${GWEI.toString(16)}`]);
    await mine();
  });
  const setup = usePipelineFixture();

  it("replaces a transaction stuck below the base fee with one paying both fees higher; the replacement is mined", async () => {
    const fx = await setup();
    await setAutomine(false);
    const payments = await fx.accept([{ payer: fx.customers[0] }, { payer: fx.customers[1] }]);
    const pipeline = fx.pipeline();
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    const [original] = await fx.store.submissions.listPending();
    await raiseBaseFee(100n * GWEI);
    expect(await ethers.provider.getTransactionReceipt(original.txHash), "stuck below the base fee").to.equal(null);

    await pipeline.submitter.tick();
    expect(await fx.store.submissions.listPending(), "not bumped before feeBumpAfterMs").to.have.length(1);
    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    const [, bump] = await fx.store.submissions.listPending();
    expect(bump.nonce).to.equal(original.nonce);
    expect(bump.maxPriorityFeePerGas * 100n >= original.maxPriorityFeePerGas * 110n).to.equal(true);
    expect(bump.maxFeePerGas * 100n >= original.maxFeePerGas * 110n).to.equal(true);
    expect(bump.maxFeePerGas > 100n * GWEI, "follows the node's suggestion above the risen base fee").to.equal(true);

    await mine();
    await tickUntil(
      pipeline,
      "escrowed by the replacement",
      async () =>
        (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed) &&
        (await fx.store.submissions.listPending()).length === 0,
    );
    const states = (await fx.store.submissions.listByPurpose(original.purpose)).map((s) => [s.txHash, s.state]);
    expect(states).to.deep.equal([
      [original.txHash, SubmissionState.Replaced],
      [bump.txHash, SubmissionState.Mined],
    ]);
    expect((await fx.store.payments.get(payments[0].id))!.txHash).to.equal(bump.txHash);
    expect(pipeline.submitter.stuck.size).to.equal(0);
  });

  it("reports a transaction that cannot be bumped under maxFeePerGasCap as stuck, once, until it is mined", async () => {
    const fx = await setup({ maxFeePerGasCap: 5n * GWEI });
    await setAutomine(false);
    const metrics = createMetrics({ defaultMetrics: false });
    const reported: StuckTransaction[] = [];
    const pipeline = fx.pipeline({ metrics, onStuck: (s) => reported.push(s) });
    const payments = await fx.accept([{ payer: fx.customers[0] }]);
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    await raiseBaseFee(100n * GWEI);

    // First bump: up to the cap (the node suggests far more).
    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    const [original, capped] = await fx.store.submissions.listPending();
    expect(capped.maxFeePerGas).to.equal(5n * GWEI);
    expect(reported).to.deep.equal([]);

    // Second bump would need 6 gwei > cap: reported, not sent, not silently waiting.
    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    expect(await fx.store.submissions.listPending()).to.have.length(2);
    expect(reported).to.have.length(1);
    expect(reported[0]).to.deep.include({ nonce: original.nonce, txHash: capped.txHash as Hex, cap: 5n * GWEI });
    expect(reported[0].needed.maxFeePerGas).to.equal(6n * GWEI);
    expect(pipeline.submitter.stuck.get(original.nonce)?.txHash).to.equal(capped.txHash);
    expect(fx.logger.has("error", "transaction stuck")).to.equal(true);
    const failures = (await metrics.failures.get()).values.find((v) => v.labels.reason === "fee_cap_exceeded");
    expect(failures?.value).to.equal(1);

    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    expect(reported, "reported once").to.have.length(1);

    // The base fee falls back: the capped transaction is mined and the report clears.
    await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${GWEI.toString(16)}`]);
    await mine();
    await tickUntil(
      pipeline,
      "escrowed",
      async () =>
        (await statesOf(fx.store, payments))[0] === PaymentState.Escrowed && pipeline.submitter.stuck.size === 0,
    );
    expect((await fx.store.submissions.listByPurpose(original.purpose)).map((s) => s.state)).to.deep.equal([
      SubmissionState.Replaced,
      SubmissionState.Mined,
    ]);
  });
});
