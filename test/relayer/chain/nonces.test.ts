/**
 * Nonce trouble on the relayer's one signer: the key used outside the relayer (counter below the
 * chain), pending transactions the node lost (counter above the chain), a gap, and the node's
 * "nonce too low" / "already known" / "replacement underpriced" answers, which are recognised as
 * already-submitted and never retried in a loop.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { BatchState, PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { batchPurpose } from "../../../src/relayer/jobs/batchOutcome";
import { cancelPurpose } from "../../../src/relayer/chain/nonceManager";
import {
  HUNDRED_ETH,
  mine,
  usePipelineFixture,
  rpc,
  setAutomine,
  statesOf,
  tickUntil,
  type PipelineFixture,
} from "../helpers/chain";

/** Every payment escrowed and every transaction of the relayer final. */
const escrowedAndFinal = (fx: PipelineFixture, payments: { id: Hex }[]) => async () =>
  (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed) &&
  (await fx.store.submissions.listPending()).length === 0;

const rawSends = (fx: PipelineFixture) => fx.bridge.calls.filter((m) => m === "eth_sendRawTransaction").length;

describe("relayer pipeline: nonces", function () {
  const setup = usePipelineFixture();

  it("jumps to the chain's count when the key was used outside the relayer", async () => {
    const fx = await setup();
    const first = await fx.accept([{ payer: fx.customers[0] }]);
    await tickUntil(
      fx.pipeline(),
      "escrowed",
      async () => (await statesOf(fx.store, first))[0] === PaymentState.Escrowed,
    );
    expect(await fx.store.submissions.maxNonce()).to.equal(0);

    const outside = new Wallet(fx.relayerKey, ethers.provider);
    await (await outside.sendTransaction({ to: outside.address, value: 0n })).wait();
    await (await outside.sendTransaction({ to: outside.address, value: 0n })).wait();

    const restarted = fx.pipeline({ chain: await fx.reconnect() });
    const report = await restarted.submitter.reconcile();
    expect(report).to.deep.include({ latest: 3, stored: 0, next: 3, jumped: true, rebroadcast: [], filled: [] });
    const second = await fx.accept([{ payer: fx.customers[1] }]);
    await tickUntil(restarted, "escrowed", async () => (await statesOf(fx.store, second))[0] === PaymentState.Escrowed);
    expect(await fx.store.submissions.maxNonce()).to.equal(3);
  });

  it("'nonce too low' on a fresh send: drops that transaction, moves past the chain's count, sends once more", async () => {
    const fx = await setup();
    const pipeline = fx.pipeline();
    const report = await pipeline.submitter.reconcile();
    expect(report.next).to.equal(0);
    // The key is used elsewhere after the relayer reconciled: nonce 0 is gone.
    const outside = new Wallet(fx.relayerKey, ethers.provider);
    await (await outside.sendTransaction({ to: outside.address, value: 0n })).wait();

    const payments = await fx.accept([{ payer: fx.customers[0] }, { payer: fx.customers[1] }]);
    const sendsBefore = rawSends(fx);
    await tickUntil(pipeline, "escrowed", escrowedAndFinal(fx, payments));
    const [batch] = await fx.store.batches.listByState([BatchState.Submitted, BatchState.Confirmed]);
    const submissions = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    expect(submissions.map((s) => [s.nonce, s.state])).to.deep.equal([
      [0, SubmissionState.Failed],
      [1, SubmissionState.Mined],
    ]);
    expect(rawSends(fx) - sendsBefore, "one refused send, one accepted: no loop").to.equal(2);
    expect(fx.logger.has("warn", "nonce taken outside the relayer")).to.equal(true);
  });

  it("recognises 'nonce too low', 'already known' and 'replacement underpriced' from the node", async () => {
    const fx = await setup();
    await setAutomine(false);
    const payments = await fx.accept([{ payer: fx.customers[0] }]);
    const pipeline = fx.pipeline();
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    const [original] = await fx.store.submissions.listPending();

    expect(await fx.chain.broadcast(original.rawTx)).to.equal("already_known");
    // A replacement with higher fees enters the pool; the original is now underpriced there.
    fx.clock.advance(fx.config.feeBumpAfterMs);
    await pipeline.submitter.tick();
    const group = await fx.store.submissions.listByPurpose(original.purpose);
    expect(group).to.have.length(2);
    expect(await fx.chain.broadcast(original.rawTx)).to.equal("replacement_underpriced");

    await mine();
    expect(await fx.chain.broadcast(group[1].rawTx)).to.equal("nonce_too_low");
    expect(await fx.chain.broadcast(original.rawTx)).to.equal("nonce_too_low");

    // A restart re-broadcasts nothing twice and finalises from the receipt.
    await setAutomine(true);
    const restarted = fx.pipeline({ chain: await fx.reconnect() });
    await tickUntil(
      restarted,
      "escrowed",
      async () => (await statesOf(fx.store, payments))[0] === PaymentState.Escrowed,
    );
    expect((await fx.store.submissions.listByPurpose(original.purpose)).map((s) => s.state)).to.deep.equal([
      SubmissionState.Replaced,
      SubmissionState.Mined,
    ]);
  });

  it("re-broadcasts a pending transaction the node lost, and fills a gap below it with a self-transfer", async () => {
    const fx = await setup({ batchMaxSize: 1 });
    await setAutomine(false);
    const [a, b] = await fx.accept([{ payer: fx.customers[0] }, { payer: fx.customers[1] }]);
    const pipeline = fx.pipeline();
    await pipeline.batcher.tick();
    await pipeline.submitter.tick();
    const [subA, subB] = await fx.store.submissions.listPending();
    expect([subA.nonce, subB.nonce]).to.deep.equal([0, 1]);

    // The node loses both; A's transaction is known to have failed (its batch goes back to the queue).
    await rpc("hardhat_dropTransaction", [subA.txHash]);
    await rpc("hardhat_dropTransaction", [subB.txHash]);
    const batchA = (await fx.store.batches.listByState([BatchState.Submitted])).find((x) => x.txHash === subA.txHash)!;
    await fx.store.submissions.setState(subA.id, SubmissionState.Failed);
    await fx.store.batches.update(batchA.key, { state: BatchState.Built, txHash: null });
    await fx.store.payments.setState([a.id], PaymentState.Batched, { txHash: null });

    const restarted = fx.pipeline({ chain: await fx.reconnect() });
    const report = await restarted.submitter.reconcile();
    expect(report).to.deep.include({ latest: 0, next: 2, rebroadcast: [1], filled: [0] });
    const [cancel] = await fx.store.submissions.listByPurpose(cancelPurpose(0));
    expect(cancel.state).to.equal(SubmissionState.Pending);

    await setAutomine(true);
    await mine();
    await tickUntil(restarted, "both escrowed", escrowedAndFinal(fx, [a, b]));
    expect((await fx.store.submissions.listByPurpose(cancelPurpose(0)))[0].state).to.equal(SubmissionState.Mined);
    expect((await fx.store.submissions.listByPurpose(subB.purpose)).map((s) => s.state)).to.deep.equal([
      SubmissionState.Mined,
    ]);
    // A was sent again with the next free nonce.
    expect(
      (await fx.store.submissions.listByPurpose(batchPurpose(batchA.key))).map((s) => [s.nonce, s.state]),
    ).to.deep.equal([
      [0, SubmissionState.Failed],
      [2, SubmissionState.Mined],
    ]);
    const cancelTx = (await ethers.provider.getTransaction(cancel.txHash))!;
    expect([cancelTx.to, cancelTx.value, cancelTx.nonce]).to.deep.equal([fx.relayerAddress, 0n, 0]);
  });

  it("a send the node refuses outright (no funds for gas) gives its nonce back: no gap", async () => {
    const fx = await setup();
    await rpc("hardhat_setBalance", [fx.relayerAddress, "0x0"]);
    const payments = await fx.accept([{ payer: fx.customers[0] }]);
    const pipeline = fx.pipeline();
    await pipeline.batcher.tick();
    let failure: unknown = null;
    await pipeline.submitter.tick().catch((e) => (failure = e));
    expect(failure, "the refusal surfaces as the tick's error").to.not.equal(null);
    expect(pipeline.submitter.nonces.next).to.equal(0);

    await rpc("hardhat_setBalance", [fx.relayerAddress, HUNDRED_ETH]);
    await tickUntil(pipeline, "escrowed", escrowedAndFinal(fx, payments));
    const [batch] = await fx.store.batches.listByState([BatchState.Submitted, BatchState.Confirmed]);
    expect(
      (await fx.store.submissions.listByPurpose(batchPurpose(batch.key))).map((s) => [s.nonce, s.state]),
    ).to.deep.equal([
      [0, SubmissionState.Failed],
      [0, SubmissionState.Mined],
    ]);
  });
});
