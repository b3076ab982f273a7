/**
 * Batches someone else sent: payBatch is open and the API shows every accepted payment's signature,
 * so a third party can escrow a payment before the relayer does. The watcher adopts that batch
 * (its leaves and root from the transaction's logs): the payment gets its batch, an inclusion proof
 * the escrow accepts and its webhooks; the relayer's own batch that carried it too sees the item
 * rejected (nonce_unavailable) and leaves the payment escrowed.
 */
import { expect } from "chai";
import { BatchTree, processProof, encodeBatch } from "../../../src/protocol";
import { ethers } from "hardhat";
import { BatchState, ONCHAIN_REJECT_REASONS, PaymentState, type Hex } from "../../../src/relayer/domain";
import { buildPayment, PaymentStatus, signConfirmation, signPayment } from "../../escrow/fixtures";
import { signedPayment } from "../helpers/api";
import { mine, rpc, setAutomine, tickUntil, waitFor, usePipelineFixture } from "../helpers/chain";
import { startSdkHarness, type SdkHarness } from "../../sdk/helpers";
import { makeEndpoint } from "../store/helpers";

describe("relayer pipeline: adopting batches someone else sent", function () {
  let harness: SdkHarness | undefined;

  afterEach(async () => {
    await setAutomine(true);
    await harness?.cleanup();
    harness = undefined;
  });
  const setup = usePipelineFixture();

  it("a payment front-run into a third party's batch gets that batch's proof; confirm through the API succeeds", async function () {
    const s = (harness = await startSdkHarness());
    await s.store.webhooks.create(makeEndpoint("wh1", { merchantId: s.f.merchants[0].id }));
    const { payment, signature, body } = await signedPayment(s, 0);
    const created = await s.request("POST", "/v1/payments", { body });
    expect(created.status, created.text).to.equal(201);
    const id = created.body.id as Hex;

    // The third party copies the signature and escrows it behind a payment of its own.
    const theirs = await buildPayment(s.f, s.f.customers[1]);
    const theirSignature = await signPayment(s.f, s.f.customers[1], theirs);
    const tx = await s.f.escrow.connect(s.f.stranger).payBatch(
      encodeBatch([
        { payment: theirs, signature: theirSignature },
        { payment, signature },
      ]),
    );
    await tx.wait();
    const batchId = await s.f.escrow.batchCount();

    await s.tickUntil([id], [PaymentState.Escrowed]);
    const stored = (await s.store.payments.get(id))!;
    expect(stored.batchId).to.equal(batchId);
    expect(stored.leafIndex).to.equal(1);
    expect(stored.txHash).to.equal(tx.hash.toLowerCase());
    const [adopted] = await s.store.batches.listByState([BatchState.Adopted]);
    expect(stored.batchKey).to.equal(adopted.key);
    expect(adopted.batchId).to.equal(batchId);
    expect(adopted.root).to.equal((await s.f.escrow.batchRoot(batchId)).toLowerCase());

    const view = await s.request("GET", `/v1/payments/${id}`);
    expect(view.status).to.equal(200);
    expect(view.body.state).to.equal("escrowed");
    expect(view.body.batchId).to.equal(batchId.toString());
    expect(view.body.inclusion.leafIndex).to.equal(1);
    expect(view.body.inclusion.root).to.equal(await s.f.escrow.batchRoot(batchId));
    expect(processProof(id, view.body.inclusion.proof)).to.equal(view.body.inclusion.root);

    const deadline = s.nowSec() + 3600n;
    const confirmation = await signConfirmation(s.f, s.f.customers[0], id, deadline);
    const confirm = await s.request("POST", `/v1/payments/${id}/confirm`, {
      body: { deadline: deadline.toString(), signature: confirmation },
    });
    expect(confirm.status, confirm.text).to.equal(202);
    await waitFor("the confirmation mined", async () => (await s.f.escrow.paymentRecord(id)).status !== 0n);
    expect((await s.f.escrow.paymentRecord(id)).status).to.equal(BigInt(PaymentStatus.Confirmed));
    await s.tickUntil([id], [PaymentState.Released]);

    // The merchant heard of it as of any escrow.
    const events = await s.store.outbox.due(Number.MAX_SAFE_INTEGER, 100);
    expect(events.map((e) => e.eventType)).to.include.members(["payment.escrowed", "payment.released"]);
  });

  it("the relayer's own batch carrying it lands after the third party's: the item is rejected on chain, the payment stays escrowed with the adopted proof", async function () {
    const s = (harness = await startSdkHarness());
    const first = await signedPayment(s, 0);
    const second = await signedPayment(s, 2);
    const ids: Hex[] = [];
    for (const { body } of [first, second]) {
      const res = await s.request("POST", "/v1/payments", { body });
      expect(res.status, res.text).to.equal(201);
      ids.push(res.body.id);
    }

    // The relayer's batch waits in the mempool; the third party's (higher tip) is mined first.
    await setAutomine(false);
    await s.pipeline.batcher.tick();
    await s.pipeline.submitter.tick();
    expect((await s.store.payments.get(ids[0]))!.state).to.equal(PaymentState.Submitted);
    const [own] = await s.store.batches.listByState([BatchState.Submitted]);
    const front = await s.f.escrow
      .connect(s.f.stranger)
      .payBatch(encodeBatch([{ payment: first.payment, signature: first.signature }]), {
        maxPriorityFeePerGas: 50_000_000_000n,
        maxFeePerGas: 400_000_000_000n,
      });
    await mine();
    await setAutomine(true);
    const frontReceipt = (await ethers.provider.getTransactionReceipt(front.hash))!;
    const ownReceipt = (await ethers.provider.getTransactionReceipt(own.txHash!))!;
    expect(frontReceipt.blockNumber).to.equal(ownReceipt.blockNumber);
    expect(frontReceipt.index).to.be.lessThan(ownReceipt.index);

    await s.tickUntil(ids, [PaymentState.Escrowed]);
    // The own transaction rejected the first payment's second escrow with nonce_unavailable.
    const rejections = ownReceipt.logs
      .map((l) => s.f.escrow.interface.parseLog(l))
      .filter((e) => e?.name === "PaymentRejected");
    expect(rejections.map((e) => [e!.args.paymentId.toLowerCase(), e!.args.reason])).to.deep.equal([
      [ids[0], BigInt(ONCHAIN_REJECT_REASONS.indexOf("nonce_unavailable"))],
    ]);

    const adopted = (await s.store.payments.get(ids[0]))!;
    expect(adopted.state).to.equal(PaymentState.Escrowed);
    expect(adopted.rejectReason).to.equal(null);
    expect(adopted.txHash).to.equal(front.hash.toLowerCase());
    const mineOnly = (await s.store.payments.get(ids[1]))!;
    expect(mineOnly.batchKey).to.equal(own.key);
    for (const id of ids) {
      const p = (await s.store.payments.get(id))!;
      const view = await s.request("GET", `/v1/payments/${id}`);
      expect(view.body.inclusion.root).to.equal(await s.f.escrow.batchRoot(p.batchId!));
      expect(processProof(id, view.body.inclusion.proof)).to.equal(view.body.inclusion.root);
    }
    expect(new BatchTree([ids[0]]).root).to.equal((await s.f.escrow.batchRoot(adopted.batchId!)).toLowerCase());
    await mine();
    await s.pipeline.tick();
    expect((await s.store.payments.get(ids[0]))!.state).to.equal(PaymentState.Escrowed);
  });

  it("a reorg that drops the adopted batch returns the payment to the queue; the relayer escrows it itself, once", async function () {
    const fx = await setup();
    const [payment] = await fx.accept([{ payer: fx.customers[0] }]);
    const snapshot = await rpc<string>("evm_snapshot");
    const { id, signature, payer, merchantId, amount, orderRef, nonce, validAfter, deadline, hold } = payment;
    await (
      await fx.escrow
        .connect(fx.stranger)
        .payBatch(
          encodeBatch([
            { payment: { payer, merchantId, amount, orderRef, nonce, validAfter, deadline, hold }, signature },
          ]),
        )
    ).wait();
    const pipeline = fx.pipeline();
    await pipeline.watcher.tick();
    const [adopted] = await fx.store.batches.listByState([BatchState.Adopted]);
    expect((await fx.store.payments.get(id))!.batchKey).to.equal(adopted.key);
    const cursor = (await pipeline.watcher.cursor())!;

    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);
    await pipeline.watcher.tick();
    expect(pipeline.watcher.lastTick.reorg!.dropped).to.deep.equal([adopted.key]);
    expect((await fx.store.batches.get(adopted.key))!.state).to.equal(BatchState.Reorged);
    const requeued = (await fx.store.payments.get(id))!;
    expect([requeued.state, requeued.batchKey, requeued.batchId, requeued.txHash]).to.deep.equal([
      PaymentState.Accepted,
      null,
      null,
      null,
    ]);

    await tickUntil(pipeline, "escrowed by the relayer", async () => {
      const p = (await fx!.store.payments.get(id))!;
      return p.state === PaymentState.Escrowed && p.batchKey !== adopted.key;
    });
    const own = (await fx.store.payments.get(id))!;
    expect((await fx.store.batches.get(own.batchKey!))!.state).to.be.oneOf([
      BatchState.Submitted,
      BatchState.Confirmed,
    ]);
    expect(await fx.escrow.batchCount()).to.equal(1n);
  });
});
