/**
 * The relay queue on the in-process Hardhat chain: operations a QueuedChainWriter (role api's)
 * queues are sent by a worker's signer lane (jobs/relayQueue.ts) and applied by its watcher; one
 * that would now revert fails with its API code, one past its deadline with `expired`; and the
 * recovery rule after a kill -9: the submission record is the source of truth, so a request the
 * dead worker recorded is marked sent from that record and one it only claimed is sent once by the
 * lane's next holder, never twice.
 */
import { expect } from "chai";
import { ApiError } from "../../../src/relayer/errors";
import { PaymentState, RelayState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { RelayPendingError, type SignedPaymentAction } from "../../../src/relayer/chain/chainWriter";
import { LocalKeySigner } from "../../../src/relayer/chain/signers";
import { FencedError } from "../../../src/relayer/store/errors";
import type { Outflow } from "../../../src/relayer/ledger/payerAccounts";
import { QueuedChainWriter, relayCalls, relayPurpose, relayRequestId } from "../../../src/relayer/jobs/relayWriter";
import { laneLease } from "../../../src/relayer/roles/lanes";
import { WorkerRole } from "../../../src/relayer/roles/worker";
import { BatchTree } from "../../../src/protocol";
import { signConfirmation, signWithdrawal, usd } from "../../escrow/fixtures";
import { latestTimestamp, statesOf, usePipelineFixture, type PipelineFixture } from "../helpers/chain";

const TTL = 60_000;

describe("relayer: the relay queue sent by a worker's signer lanes", function () {
  this.timeout(120_000);
  const setup = usePipelineFixture();

  function worker(fx: PipelineFixture, holder: string, outflows?: { payer: Hex; outflow: Outflow }[]): WorkerRole {
    return new WorkerRole({
      store: fx.store,
      chain: fx.chain,
      signers: [new LocalKeySigner(fx.relayerKey)],
      config: { ...fx.config, leaseTtlMs: TTL },
      holder,
      role: "worker",
      clock: fx.clock,
      logger: fx.logger,
      autoStart: false,
      outflows: outflows && { reserveOutflow: (payer, outflow) => void outflows.push({ payer, outflow }) },
    });
  }

  /** Role api's writer on the fixture's store and node. */
  const queued = (fx: PipelineFixture, waitMs = 10_000) =>
    new QueuedChainWriter({
      store: fx.store,
      estimateGas: (data) => fx.chain.estimateGas(fx.addresses.escrow, data),
      waitMs,
      pollMs: 5,
      // Each request a millisecond after the last: the queue's order is the order they were made.
      clock: () => {
        fx.clock.advance(1);
        return fx.clock.now();
      },
    });

  /** Ticks `w` until `pending` settles (the api's request waits while the worker works). */
  async function whileTicking<T>(pending: Promise<T>, w: WorkerRole): Promise<T> {
    let done = false;
    const settled = pending.finally(() => (done = true));
    settled.catch(() => undefined);
    for (let i = 0; i < 100 && !done; i++) {
      await w.tick();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return settled;
  }

  /** One payment of customer `c` escrowed by `w`, with what a signed action on it needs. */
  async function escrowedPayment(fx: PipelineFixture, w: WorkerRole, c = 0) {
    const [payment] = await fx.accept([{ payer: fx.customers[c] }]);
    for (let i = 0; i < 20 && (await statesOf(fx.store, [payment]))[0] !== PaymentState.Escrowed; i++) await w.tick();
    const stored = (await fx.store.payments.get(payment.id))!;
    expect(stored.state).to.equal(PaymentState.Escrowed);
    return {
      stored,
      payment: { ...payment, payer: payment.payer as Hex },
      inclusion: { batchId: stored.batchId!, proof: new BatchTree([stored.id]).proof(0) },
    };
  }

  async function confirmAction(fx: PipelineFixture, w: WorkerRole): Promise<SignedPaymentAction & { id: Hex }> {
    const { stored, payment, inclusion } = await escrowedPayment(fx, w);
    const deadline = (await latestTimestamp()) + 3_600n;
    const signature = await signConfirmation(fx, fx.customers[0], stored.id, deadline);
    return { id: stored.id, payment, inclusion, deadline, signature };
  }

  const confirmedEvents = async (fx: PipelineFixture, id: Hex) =>
    (await fx.escrow.queryFilter(fx.escrow.filters.PaymentConfirmed(id))).length;

  it("queued operations are sent on the lane and applied; the same request again answers its outcome; a withdrawal is reserved", async () => {
    const fx = await setup();
    const outflows: { payer: Hex; outflow: Outflow }[] = [];
    const w = worker(fx, "w1", outflows);
    await w.standbyTick();
    const writer = queued(fx);
    const action = await confirmAction(fx, w);

    const sent = await whileTicking(writer.confirmWithSignature(action), w);
    const id = relayRequestId(relayCalls.confirmWithSignature(action).data);
    const [submission] = await fx.store.submissions.listByPurpose(relayPurpose("confirmWithSignature", id));
    expect(sent).to.deep.equal({ txHash: submission.txHash });
    expect(await fx.store.relayRequests.get(id)).to.include({ state: RelayState.Sent, txHash: submission.txHash });
    for (let i = 0; i < 10 && (await statesOf(fx.store, [action]))[0] !== PaymentState.Released; i++) await w.tick();
    expect(await statesOf(fx.store, [action]), "the watcher applied PaymentConfirmed").to.deep.equal([
      PaymentState.Released,
    ]);
    // Again (a client retry, or another api instance): the stored outcome, not a second transaction.
    expect(await writer.confirmWithSignature(action)).to.deep.equal({ txHash: submission.txHash, replayed: true });
    expect(await fx.store.submissions.listByPurpose(relayPurpose("confirmWithSignature", id))).to.have.length(1);
    expect(await confirmedEvents(fx, action.id)).to.equal(1);

    // A signed withdrawal: sent, executed, and reserved in the jobs' ledger once sent.
    const c1 = fx.customers[1];
    const [nonce] = await fx.escrow.nonceWindow(c1.address);
    const withdrawal = {
      payer: c1.address as Hex,
      to: c1.address as Hex,
      amount: usd(5),
      nonce,
      deadline: (await latestTimestamp()) + 3_600n,
    };
    const before = await fx.escrow.balanceOf(c1.address);
    const signature = await signWithdrawal(fx, c1, withdrawal);
    const out = await whileTicking(writer.withdrawWithSignature(withdrawal, signature), w);
    expect((await fx.chain.receipt(out.txHash))?.status).to.equal(1);
    expect(before - (await fx.escrow.balanceOf(c1.address))).to.equal(usd(5));
    expect(outflows).to.deep.equal([
      { payer: c1.address.toLowerCase(), outflow: { nonce, amount: usd(5), deadline: withdrawal.deadline } },
    ]);
    await w.stop();
  });

  it("what the escrow would refuse by the time a lane sends it fails with its code; a request past its deadline fails expired", async () => {
    const fx = await setup();
    const w = worker(fx, "w1");
    await w.standbyTick();
    // No worker ticks while these wait: each answers relay_pending and stays queued.
    const writer = queued(fx, 30);
    const c1 = fx.customers[1];
    const [nonce] = await fx.escrow.nonceWindow(c1.address);
    const deadline = (await latestTimestamp()) + 3_600n;
    const first = { payer: c1.address as Hex, to: c1.address as Hex, amount: usd(5), nonce, deadline };
    const second = { ...first, amount: usd(6) };
    const signatures = [await signWithdrawal(fx, c1, first), await signWithdrawal(fx, c1, second)];
    const pending = [
      await writer.withdrawWithSignature(first, signatures[0]).catch((e: unknown) => e),
      await writer.withdrawWithSignature(second, signatures[1]).catch((e: unknown) => e),
    ];
    for (const error of pending) {
      expect(error).to.be.instanceOf(RelayPendingError);
      expect([(error as ApiError).code, (error as ApiError).status]).to.deep.equal(["relay_pending", 503]);
      expect((error as RelayPendingError).replayed).to.equal(false);
    }
    // Both passed the api's simulation (the nonce was free); the lane sends the older one first,
    // after which the second would revert (NonceUnavailable): failed, with the API's code for it.
    const past = relayRequestId(`0xdead`);
    await fx.store.relayRequests.enqueue({
      id: past,
      operation: "confirmWithSignature",
      calldata: "0xdead",
      payer: null,
      deadline: BigInt(Math.floor(fx.clock.now() / 1000)) - 1n,
      now: fx.clock.now(),
    });
    await w.tick();
    const [firstId, secondId] = [first, second].map((wd, i) =>
      relayRequestId(relayCalls.withdrawWithSignature(wd, signatures[i]).data),
    );
    expect(await fx.store.relayRequests.get(firstId)).to.include({ state: RelayState.Sent });
    expect(await fx.store.relayRequests.get(secondId)).to.include({
      state: RelayState.Failed,
      errorCode: "nonce_unavailable",
      errorMessage: "the escrow rejected it: NonceUnavailable",
    });
    expect(await fx.store.relayRequests.get(past)).to.include({ state: RelayState.Failed, errorCode: "expired" });
    expect(await fx.store.submissions.listByPurpose(relayPurpose("withdrawWithSignature", secondId))).to.deep.equal([]);
    // The client's retry answers the verdict.
    const retried = await writer.withdrawWithSignature(second, signatures[1]).catch((e: unknown) => e);
    expect([(retried as ApiError).code, (retried as ApiError).status]).to.deep.equal(["nonce_unavailable", 409]);
    await w.stop();
  });

  it("kill -9 after the record, before the mark: the lane's next holder marks the request sent from the record, no second transaction", async () => {
    const fx = await setup();
    const dead = worker(fx, "dead");
    await dead.standbyTick();
    const action = await confirmAction(fx, dead);
    const writer = queued(fx, 30);
    expect(await writer.confirmWithSignature(action).catch((e: unknown) => (e as ApiError).code)).to.equal(
      "relay_pending",
    );
    const call = relayCalls.confirmWithSignature(action);
    const id = relayRequestId(call.data);
    const lease = laneLease(fx.relayerAddress);
    // What the dead worker's relay queue got through: the claim, the record and the broadcast.
    expect((await fx.store.relayRequests.claim(lease, fx.clock.now(), 4)).map((r) => r.id)).to.deep.equal([id]);
    const submitter = dead.lanes.lanes[0].submitter!;
    const recorded = await submitter.send(relayPurpose(call.operation, id), call.data, 300_000n);

    // It stops renewing (killed); a standby takes the lane once the lease lapses.
    fx.clock.advance(TTL + 1);
    const standby = worker(fx, "standby");
    await standby.standbyTick();
    expect((await fx.store.leases.get(lease))!).to.include({ holder: "standby", epoch: 2 });
    await standby.relayQueue.tick();
    expect(await fx.store.relayRequests.get(id)).to.include({ state: RelayState.Sent, txHash: recorded.txHash });
    expect(fx.logger.lines.some((l) => l.msg === "relay request sent" && (l.obj as { recovered?: boolean }).recovered))
      .to.be.true;
    for (let i = 0; i < 10 && (await statesOf(fx.store, [action]))[0] !== PaymentState.Released; i++)
      await standby.tick();
    expect(await statesOf(fx.store, [action])).to.deep.equal([PaymentState.Released]);
    const subs = await fx.store.submissions.listByPurpose(relayPurpose(call.operation, id));
    expect(subs.map((s) => [s.txHash, s.state])).to.deep.equal([[recorded.txHash, SubmissionState.Mined]]);
    expect(await confirmedEvents(fx, action.id)).to.equal(1);
    expect(await writer.confirmWithSignature(action)).to.deep.equal({ txHash: recorded.txHash, replayed: true });
    await standby.stop();
  });

  it("kill -9 after the claim, before the record: sent once by the lane's next holder; the old holder, woken, cannot send it", async () => {
    const fx = await setup();
    const dead = worker(fx, "dead");
    await dead.standbyTick();
    const action = await confirmAction(fx, dead);
    const writer = queued(fx, 30);
    await writer.confirmWithSignature(action).catch(() => undefined);
    const call = relayCalls.confirmWithSignature(action);
    const id = relayRequestId(call.data);
    const lease = laneLease(fx.relayerAddress);
    await fx.store.relayRequests.claim(lease, fx.clock.now(), 4);
    const nonceBefore = await fx.chain.nonceAt("pending");

    fx.clock.advance(TTL + 1);
    const standby = worker(fx, "standby");
    await standby.standbyTick();
    await standby.relayQueue.tick();
    const [sub] = await fx.store.submissions.listByPurpose(relayPurpose(call.operation, id));
    expect(sub.epoch, "sent under the new holder's fence").to.equal(2);
    expect(await fx.store.relayRequests.get(id)).to.include({ state: RelayState.Sent, txHash: sub.txHash });
    expect(await fx.chain.nonceAt("pending")).to.equal(nonceBefore + 1);

    // The old holder wakes up in the middle of its handling and sends: refused, nothing recorded.
    const stale = dead.lanes.lanes[0].submitter!;
    const error = await stale.send(relayPurpose(call.operation, id), call.data, 300_000n).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(FencedError);
    await dead.relayQueue.tick();
    for (let i = 0; i < 10 && (await statesOf(fx.store, [action]))[0] !== PaymentState.Released; i++)
      await standby.tick();
    expect(await fx.store.submissions.listByPurpose(relayPurpose(call.operation, id))).to.have.length(1);
    expect(await fx.chain.nonceAt("pending")).to.equal(nonceBefore + 1);
    expect(await confirmedEvents(fx, action.id)).to.equal(1);
    expect(await statesOf(fx.store, [action])).to.deep.equal([PaymentState.Released]);
    await standby.stop();
    await dead.stop();
  });
});
