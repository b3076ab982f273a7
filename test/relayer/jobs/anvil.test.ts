/**
 * The chain jobs against anvil, a node that behaves like a real chain where Hardhat does not:
 * blocks come on an interval (a sent batch waits in the pool), the pool replaces a transaction only
 * with a dearer one and evicts those below a risen base fee, and `anvil_reorg` replaces blocks the
 * way a fork-choice switch does.
 */
import { expect } from "chai";
import { Transaction } from "ethers";
import { BatchState, PaymentState, SubmissionState, type PaymentRecord } from "../../../src/relayer/domain";
import { ANCHOR_CURSOR_NAME } from "../../../src/relayer/jobs/chainWatcher";
import { anvilReorg, setIntervalMining } from "../../../src/localnet/anvil";
import type { Pipeline } from "../../../src/relayer/jobs";
import { statesOf } from "../helpers/chain";
import {
  ANVIL_DEPOSIT,
  tickUntilReal,
  useAnvilPipelineFixture,
  waitForHead,
  type AnvilPipelineFixture,
} from "../helpers/anvil";

const GWEI = 1_000_000_000n;

describe("relayer pipeline on anvil (interval mining, real pool, real reorgs)", function () {
  this.timeout(60_000);
  const setup = useAnvilPipelineFixture();

  const escrowed = (fx: AnvilPipelineFixture, payments: PaymentRecord[]) => async () =>
    (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed) &&
    (await fx.store.submissions.listPending()).length === 0;

  /** Escrows `payments` in one batch and lets the watcher's cursor pass its block by `past` blocks. */
  async function escrowOneBatch(fx: AnvilPipelineFixture, pipeline: Pipeline, payments: PaymentRecord[], past = 0n) {
    await tickUntilReal(pipeline, "escrowed", escrowed(fx, payments));
    const [batch] = await fx.store.batches.listByState([BatchState.Confirmed]);
    await waitForHead(fx, batch.blockNumber! + past);
    await pipeline.watcher.tick();
    return batch;
  }

  async function expectEscrowedOnce(fx: AnvilPipelineFixture, payments: PaymentRecord[]) {
    expect(await fx.escrow.batchCount()).to.equal(1n);
    expect((await fx.escrow.liabilities()).held).to.equal(10_000_000n * BigInt(payments.length));
    for (const customer of fx.customers) {
      const paid = payments.filter((p) => p.payer === customer.address.toLowerCase()).length;
      expect(await fx.escrow.balanceOf(customer.address)).to.equal(ANVIL_DEPOSIT - 10_000_000n * BigInt(paid));
    }
    expect(await fx.store.batches.listByState([BatchState.Confirmed])).to.have.length(1);
  }

  it("sends a batch that waits in the pool until the next block, then escrows it once", async () => {
    const fx = await setup();
    const payments = await fx.accept([fx.customers[0], fx.customers[1], fx.customers[2], fx.customers[0]]);
    const pipeline = fx.pipeline();
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    const [sent] = await fx.store.submissions.listPending();
    // No automine: the transaction sits in the pool, and the relayer keeps it pending.
    const inPool = await fx.rpc<{ blockNumber: string | null } | null>("eth_getTransactionByHash", [sent.txHash]);
    expect(inPool, "known to the node").to.not.equal(null);
    expect(inPool!.blockNumber, "not mined on arrival").to.equal(null);
    expect(await statesOf(fx.store, payments)).to.deep.equal(payments.map(() => PaymentState.Submitted));

    await tickUntilReal(pipeline, "escrowed", escrowed(fx, payments));
    await expectEscrowedOnce(fx, payments);
    expect((await fx.store.submissions.listByPurpose(sent.purpose)).map((s) => s.state)).to.deep.equal([
      SubmissionState.Mined,
    ]);
    expect((await fx.store.payments.get(payments[0].id))!.txHash).to.equal(sent.txHash);
  });

  it("re-broadcasts a dropped transaction, bumps fees under the pool's replacement rules, and gets an evicted one mined", async () => {
    const fx = await setup();
    const payments = await fx.accept([fx.customers[0], fx.customers[1]]);
    const pipeline = fx.pipeline();
    const inPool = async (hash: string) => (await fx.rpc("eth_getTransactionByHash", [hash])) !== null;
    // Mining paused while the scene is set: no block may take the transaction in between.
    await setIntervalMining(fx.url, 0);
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    const [original] = await fx.store.submissions.listPending();

    // The pool forgets it: the submitter sends the same signed transaction again.
    await fx.rpc("anvil_dropTransaction", [original.txHash]);
    expect(await inPool(original.txHash)).to.equal(false);
    await pipeline.submitter.tick();
    expect(await inPool(original.txHash), "back in the pool").to.equal(true);
    expect(fx.logger.has("warn", "node lost a pending transaction")).to.equal(true);

    // Not mined within feeBumpAfterMs: replaced in the pool (same nonce, both fees up by at least
    // the 10% geth requires of a replacement; anvil takes any dearer one); the original leaves the pool.
    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    const [, first] = await fx.store.submissions.listPending();
    expect(first.nonce).to.equal(original.nonce);
    expect(first.maxFeePerGas * 100n >= original.maxFeePerGas * 110n).to.equal(true);
    expect(first.maxPriorityFeePerGas * 100n >= original.maxPriorityFeePerGas * 110n).to.equal(true);
    expect(await inPool(first.txHash)).to.equal(true);
    expect(await inPool(original.txHash), "replaced").to.equal(false);
    // The rule itself: a replacement at the same fees is refused, and the client reads anvil's wording.
    const tx = Transaction.from(first.rawTx);
    const cheap = await fx.chain.sign({
      to: tx.to!,
      data: tx.data,
      value: tx.value,
      nonce: tx.nonce,
      gasLimit: tx.gasLimit + 1n,
      fees: { maxFeePerGas: first.maxFeePerGas, maxPriorityFeePerGas: first.maxPriorityFeePerGas },
    });
    expect(await fx.chain.broadcast(cheap.rawTx)).to.equal("replacement_underpriced");

    // A block whose base fee is far above the transaction's cap: anvil evicts it, and refuses the
    // same bytes again. The next bump, above the base fee, is what gets it mined.
    await fx.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${(200n * GWEI).toString(16)}`]);
    await fx.rpc("evm_mine");
    expect(first.maxFeePerGas < 200n * GWEI).to.equal(true);
    expect(await fx.chain.receipt(first.txHash), "not mined below the base fee").to.equal(null);
    expect(await inPool(first.txHash), "evicted by the pool").to.equal(false);
    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    const pending = await fx.store.submissions.listPending();
    const second = pending[pending.length - 1];
    expect(second.maxFeePerGas > 200n * GWEI, "follows the node's suggestion above the base fee").to.equal(true);
    expect(fx.logger.lines.some((l) => String((l.obj as { outcome?: string }).outcome).startsWith("refused"))).to.equal(
      true,
    );

    await setIntervalMining(fx.url, 1);
    await tickUntilReal(pipeline, "escrowed by the last replacement", escrowed(fx, payments));
    await expectEscrowedOnce(fx, payments);
    const states = (await fx.store.submissions.listByPurpose(original.purpose)).map((s) => [s.txHash, s.state]);
    expect(states).to.deep.equal([
      [original.txHash, SubmissionState.Replaced],
      [first.txHash, SubmissionState.Replaced],
      [second.txHash, SubmissionState.Mined],
    ]);
    expect((await fx.store.payments.get(payments[0].id))!.txHash).to.equal(second.txHash);
  });

  it("recovers from a reorg within the window: the dropped batch is escrowed again, once", async () => {
    const fx = await setup();
    const payments = await fx.accept([fx.customers[0], fx.customers[1], fx.customers[2]]);
    const pipeline = fx.pipeline();
    const batch = await escrowOneBatch(fx, pipeline, payments, 1n);
    const cursor = (await pipeline.watcher.cursor())!;
    expect(cursor.blockNumber >= batch.blockNumber!).to.equal(true);

    // Replace every block from the batch's on: the new branch does not carry the batch.
    const depth = Number((await fx.head()) - batch.blockNumber! + 1n);
    await anvilReorg(fx.url, depth);
    expect(await fx.chain.receipt(batch.txHash!)).to.equal(null);
    expect(await fx.escrow.batchCount()).to.equal(0n);

    await pipeline.watcher.tick();
    const reorg = pipeline.watcher.lastTick.reorg!;
    expect(reorg.deep).to.equal(null);
    expect([...reorg.dropped, ...reorg.pending]).to.deep.equal([batch.key]);
    expect(fx.logger.lines.some((l) => (l.obj as { event?: string }).event === "deep_reorg")).to.equal(false);

    await tickUntilReal(pipeline, "escrowed again", async () => {
      const confirmed = await fx.store.batches.listByState([BatchState.Confirmed]);
      return (await escrowed(fx, payments)()) && confirmed.length === 1;
    });
    await expectEscrowedOnce(fx, payments);
    expect((await fx.metrics.deepReorgs.get()).values.reduce((n, v) => n + v.value, 0)).to.equal(0);
  });

  it("reports a reorg deeper than the window (error line, metric) and still ends with the payments escrowed once", async () => {
    // A window of 2 blocks; the reorg replaces more than that below the cursor.
    const fx = await setup({
      config: { finality: { confirmations: 1, reorgDepth: 2n, mode: "depth" } },
    });
    const payments = await fx.accept([fx.customers[0], fx.customers[1]]);
    const pipeline = fx.pipeline();
    expect(pipeline.watcher.finality.reorgDepth).to.equal(2n);
    const batch = await escrowOneBatch(fx, pipeline, payments, 4n);
    const cursor = (await pipeline.watcher.cursor())!;
    const anchor = (await fx.store.chainCursor.get(ANCHOR_CURSOR_NAME))!;
    expect(anchor.blockNumber).to.equal(cursor.blockNumber - 2n);

    const depth = Number((await fx.head()) - batch.blockNumber! + 1n);
    expect(depth > 2 + 1, "deeper than window + confirmations").to.equal(true);
    await anvilReorg(fx.url, depth);

    await pipeline.watcher.tick();
    const reorg = pipeline.watcher.lastTick.reorg!;
    expect(reorg.deep).to.equal("beyond_window");
    // anvil's `finalized` (two epochs of 32 below the head) lies before the deployment: full re-scan.
    expect(reorg.rewindTo).to.equal(fx.addresses.startBlock - 1n);
    const line = fx.logger.lines.find((l) => (l.obj as { event?: string }).event === "deep_reorg")!;
    expect(line.level).to.equal("error");
    expect(line.obj).to.deep.include({ reason: "beyond_window", reorgDepth: "2", chainId: "31337" });
    const metric = (await fx.metrics.deepReorgs.get()).values.find((v) => v.labels.reason === "beyond_window");
    expect(metric?.value).to.equal(1);

    await tickUntilReal(pipeline, "escrowed again", async () => {
      const confirmed = await fx.store.batches.listByState([BatchState.Confirmed]);
      return (await escrowed(fx, payments)()) && confirmed.length === 1;
    });
    await expectEscrowedOnce(fx, payments);
    expect(pipeline.watcher.lastTick.reorg, "no further reorg").to.equal(null);
  });

  it("follows the finalized tag when configured, and reports a reorg of a finalized block", async () => {
    // One block per epoch: anvil's `finalized` is the head minus two.
    const fx = await setup({
      slotsInAnEpoch: 1,
      config: { finality: { confirmations: 1, reorgDepth: 64n, mode: "finalized" } },
    });
    const payments = await fx.accept([fx.customers[0]]);
    const pipeline = fx.pipeline();
    await tickUntilReal(pipeline, "escrowed", escrowed(fx, payments));
    const head = pipeline.watcher.lastTick.head!;
    // The node's finalized block, two below the head it had when read (just before the head was):
    // blocks mined between the two reads can only leave it further below.
    const safe = pipeline.watcher.lastTick.safe!;
    expect(safe <= head - 2n && safe >= head - 4n, `safe ${safe}, head ${head}`).to.equal(true);
    const [batch] = await fx.store.batches.listByState([BatchState.Confirmed]);
    const cursor = (await pipeline.watcher.cursor())!;
    expect(cursor.blockNumber <= head - 2n && cursor.blockNumber >= batch.blockNumber!).to.equal(true);

    await anvilReorg(fx.url, Number((await fx.head()) - cursor.blockNumber + 1n));
    await pipeline.watcher.tick();
    expect(pipeline.watcher.lastTick.reorg!.deep).to.equal("finalized");
    expect(pipeline.watcher.lastTick.reorg!.rewindTo).to.equal(fx.addresses.startBlock - 1n);
    const metric = (await fx.metrics.deepReorgs.get()).values.find((v) => v.labels.reason === "finalized");
    expect(metric?.value).to.equal(1);

    await tickUntilReal(pipeline, "escrowed again", async () => {
      const confirmed = await fx.store.batches.listByState([BatchState.Confirmed]);
      return (await escrowed(fx, payments)()) && confirmed.length === 1;
    });
    await expectEscrowedOnce(fx, payments);
  });
});
