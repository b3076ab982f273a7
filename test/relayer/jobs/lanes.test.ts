/**
 * Signer lanes on the in-process Hardhat chain: several keys send batches in parallel, each under
 * its lane lease, each with its own nonce sequence; and fencing: a lane whose lease another worker
 * took cannot record (FencedError), so it sends nothing.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { BatchState, PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { encodePayBatch } from "../../../src/relayer/chain/calldata";
import { LocalKeySigner } from "../../../src/relayer/chain/signers";
import type { TxSigner } from "../../../src/relayer/chain/signers/types";
import { batchPurpose } from "../../../src/relayer/jobs/batchOutcome";
import { FencedError } from "../../../src/relayer/store/errors";
import { laneLease } from "../../../src/relayer/roles/lanes";
import { JOBS_LEASE, WorkerRole } from "../../../src/relayer/roles/worker";
import { usd } from "../../escrow/fixtures";
import { HUNDRED_ETH, fundedPayers, rpc, statesOf, usePipelineFixture, type PipelineFixture } from "../helpers/chain";

const TTL = 10_000;

async function freshSigner(): Promise<LocalKeySigner> {
  const wallet = Wallet.createRandom();
  await rpc("hardhat_setBalance", [wallet.address, HUNDRED_ETH]);
  return new LocalKeySigner(wallet.privateKey);
}

function worker(fx: PipelineFixture, signers: LocalKeySigner[], holder: string): WorkerRole {
  return new WorkerRole({
    store: fx.store,
    chain: fx.chain,
    signers,
    config: { ...fx.config, leaseTtlMs: TTL },
    holder,
    role: "worker",
    clock: fx.clock,
    logger: fx.logger,
    autoStart: false,
  });
}

/** Every batch's mined submission, by signer: the nonces each lane used. */
async function noncesBySigner(fx: PipelineFixture): Promise<Map<string, number[]>> {
  const bySigner = new Map<string, number[]>();
  for (const batch of await fx.store.batches.listByState([BatchState.Confirmed])) {
    const mined = (await fx.store.submissions.listByPurpose(batchPurpose(batch.key))).filter(
      (s) => s.state === SubmissionState.Mined,
    );
    expect(mined, `batch ${batch.key} mined once`).to.have.length(1);
    const list = bySigner.get(mined[0].signer) ?? [];
    list.push(mined[0].nonce);
    bySigner.set(mined[0].signer, list);
  }
  return bySigner;
}

describe("relayer signer lanes", function () {
  this.timeout(120_000);
  const setup = usePipelineFixture();

  it("two lanes send batches in parallel: both send, nonces per signer contiguous, every payment escrowed once", async () => {
    const fx = await setup({ batchMaxSize: 4 });
    const a = new LocalKeySigner(fx.relayerKey);
    const b = await freshSigner();
    const w = worker(fx, [a, b], "worker-1");
    await w.standbyTick();
    expect(w.heldLeases()).to.deep.equal([JOBS_LEASE, laneLease(a.address), laneLease(b.address)]);

    const payers = await fundedPayers(fx, 6, usd(1_000));
    const accepted = await fx.accept(payers.flatMap((payer) => Array.from({ length: 4 }, () => ({ payer }))));
    for (let i = 0; i < 20; i++) {
      await w.tick();
      const open = await fx.store.batches.listByState([BatchState.Built, BatchState.Submitted]);
      if (open.length === 0 && (await statesOf(fx.store, accepted)).every((s) => s === PaymentState.Escrowed)) break;
    }
    expect(await statesOf(fx.store, accepted)).to.deep.equal(accepted.map(() => PaymentState.Escrowed));

    const nonces = await noncesBySigner(fx);
    expect([...nonces.keys()].sort()).to.deep.equal([a.address.toLowerCase(), b.address.toLowerCase()].sort());
    for (const [signer, used] of nonces) {
      const sorted = [...used].sort((x, y) => x - y);
      expect(sorted, `nonces of ${signer}`).to.deep.equal(sorted.map((_, i) => i));
      expect(await fx.chain.provider.getTransactionCount(signer)).to.equal(sorted.length);
    }
    // Escrowed once on chain: one PaymentEscrowed event per payment, none rejected.
    const escrowed = await fx.escrow.queryFilter(fx.escrow.filters.PaymentEscrowed());
    const ids = escrowed.map((e) => e.args.paymentId.toLowerCase());
    expect(new Set(ids).size).to.equal(ids.length);
    expect(ids.sort()).to.deep.equal(accepted.map((p) => p.id).sort());
    expect(await fx.escrow.queryFilter(fx.escrow.filters.PaymentRejected())).to.have.length(0);
    await w.stop();
    expect(await fx.store.leases.get(laneLease(a.address)), "released on stop").to.equal(null);
  });

  it("a stalled lane holder whose lease another worker took cannot record or send: FencedError, nothing stored", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const key = fx.relayerKey;
    const old = worker(fx, [new LocalKeySigner(key)], "old");
    await old.standbyTick();
    const lane = old.lanes.lanes[0];
    const stale = lane.submitter!;
    const nonceBefore = await fx.chain.nonceAt("pending");

    // The old holder stalls (no renewal) past its TTL; a standby takes the lane and the jobs.
    fx.clock.advance(TTL + 1);
    const standby = worker(fx, [new LocalKeySigner(key)], "standby");
    await standby.standbyTick();
    expect(standby.heldLeases()).to.deep.equal([JOBS_LEASE, laneLease(lane.address)]);
    const taken = (await fx.store.leases.get(laneLease(lane.address)))!;
    expect(taken).to.include({ holder: "standby", epoch: 2 });

    // The old one wakes up and tries to send: refused by the store before anything is broadcast.
    const pendingBefore = await fx.store.submissions.listPending();
    const error = await stale.send("relay:test", "0x", 100_000n).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FencedError);
    expect((error as FencedError).code).to.equal("lease_lost");
    // Refused by its own clock first (its lease ran out while it stalled); the store below refuses too.
    expect((error as FencedError).fence.lease).to.equal(laneLease(lane.address));
    expect(stale.leaseLost).to.equal(true);
    expect(await fx.store.submissions.listPending()).to.deep.equal(pendingBefore);
    expect(await fx.chain.nonceAt("pending")).to.equal(nonceBefore);
    // Its keeper learns the lease is gone and goes back to standby.
    await old.standbyTick();
    expect(old.heldLeases()).to.deep.equal([]);
    expect(fx.logger.lines.some((l) => l.msg === "signer lane lease lost: this submitter stops sending")).to.equal(
      true,
    );

    // Even the store refuses a record carrying the old fence directly.
    const direct = await fx.store.submissions
      .record(
        {
          purpose: "relay:direct",
          signer: lane.address.toLowerCase() as Hex,
          epoch: 1,
          nonce: 0,
          txHash: `0x${"11".repeat(32)}`,
          rawTx: "0x02",
          maxFeePerGas: 1n,
          maxPriorityFeePerGas: 1n,
          state: SubmissionState.Pending,
          sentAt: fx.clock.now(),
        },
        { lease: laneLease(lane.address), holder: "old", epoch: 1 },
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(direct).to.be.instanceOf(FencedError);
    expect((direct as FencedError).current).to.deep.equal({ holder: "standby", epoch: 2 });
    expect(await fx.store.submissions.listByPurpose("relay:direct")).to.have.length(0);

    // The new holder sends the payments.
    const [payer] = await fundedPayers(fx, 1, usd(100));
    const accepted = await fx.accept([{ payer }, { payer }]);
    for (let i = 0; i < 10; i++) {
      await standby.tick();
      if ((await fx.store.batches.listByState([BatchState.Confirmed])).length === 1) break;
    }
    expect(await statesOf(fx.store, accepted)).to.deep.equal([PaymentState.Escrowed, PaymentState.Escrowed]);
    const [batch] = await fx.store.batches.listByState([BatchState.Confirmed]);
    const [sub] = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    expect(sub.epoch).to.equal(2);
    await standby.stop();
    await old.stop();
  });

  it("a lane whose lease runs out while it signs records nothing: refused before the store, nothing sent", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const inner = new LocalKeySigner(fx.relayerKey);
    // A signer that takes longer than the lease (a pause, a slow remote signer); no one takes the lane meanwhile.
    let stall = false;
    const slow: TxSigner = {
      address: inner.address,
      kind: inner.kind,
      signTransaction: async (tx) => {
        if (stall) fx.clock.advance(TTL + 1);
        return inner.signTransaction(tx);
      },
      close: () => inner.close(),
    };
    const w = worker(fx, [slow as LocalKeySigner], "slow");
    await w.standbyTick();
    const submitter = w.lanes.lanes[0].submitter!;
    const nonceBefore = await fx.chain.nonceAt("pending");
    stall = true;
    const error = await submitter.send("relay:late", "0x", 100_000n).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FencedError);
    expect(submitter.leaseLost).to.equal(true);
    expect(await fx.store.submissions.listByPurpose("relay:late"), "nothing recorded").to.deep.equal([]);
    expect(await fx.chain.nonceAt("pending"), "nothing broadcast").to.equal(nonceBefore);
    // The lane's lease row still names this holder at its epoch: only its own clock could refuse.
    expect(await fx.store.leases.get(laneLease(inner.address))).to.include({ holder: "slow", epoch: 1 });
    await w.stop();
  });

  it("a lane taken over reconciles first: the recorded, never broadcast transaction of the dead holder is re-broadcast, not re-signed", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const key = fx.relayerKey;
    const first = worker(fx, [new LocalKeySigner(key)], "first");
    await first.standbyTick();
    const [payer] = await fundedPayers(fx, 1, usd(100));
    const accepted = await fx.accept([{ payer }, { payer }]);
    await first.batcher.tick();
    // Recorded and "crashed" before the broadcast: the node never saw it.
    const lane = first.lanes.lanes[0];
    const fence = lane.keeper.fence()!;
    const [batch] = await fx.store.batches.listByState([BatchState.Built]);
    const stored = await fx.store.payments.getMany(batch.paymentIds);
    const data = encodePayBatch(batch.paymentIds.map((id) => stored.get(id)!));
    const fees = await fx.chain.suggestedFees();
    const signed = await lane.chain.sign({ to: fx.addresses.escrow, data, nonce: 0, gasLimit: 3_000_000n, fees });
    await fx.store.submissions.record(
      {
        purpose: batchPurpose(batch.key),
        signer: lane.address.toLowerCase() as Hex,
        epoch: fence.epoch,
        nonce: 0,
        txHash: signed.txHash,
        rawTx: signed.rawTx,
        ...fees,
        state: SubmissionState.Pending,
        sentAt: fx.clock.now(),
      },
      fence,
    );
    fx.clock.advance(TTL + 1);
    const next = worker(fx, [new LocalKeySigner(key)], "next");
    await next.standbyTick();
    // Reconciled on taking the lane: the recorded bytes were broadcast (and mined, automine).
    expect(await fx.chain.receipt(signed.txHash)).to.not.equal(null);
    for (let i = 0; i < 10; i++) {
      await next.tick();
      if ((await statesOf(fx.store, accepted)).every((s) => s === PaymentState.Escrowed)) break;
    }
    expect(await statesOf(fx.store, accepted)).to.deep.equal([PaymentState.Escrowed, PaymentState.Escrowed]);
    const subs = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    expect(subs.map((s) => [s.txHash, s.state])).to.deep.equal([[signed.txHash, SubmissionState.Mined]]);
    await next.stop();
    await first.stop();
  });

  it("the jobs go only to a worker holding a lane: without one it releases them, and the lane holder takes them", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const key = fx.relayerKey;
    const lane = laneLease(new LocalKeySigner(key).address);
    const a = worker(fx, [new LocalKeySigner(key)], "a");
    const b = worker(fx, [new LocalKeySigner(key)], "b");
    await a.standbyTick();
    expect(a.heldLeases()).to.deep.equal([JOBS_LEASE, lane]);
    // A worker holding no lane does not take free jobs.
    await a.jobsLease.release();
    await b.standbyTick();
    expect(b.heldLeases()).to.deep.equal([]);
    // The split a database outage can leave (both leases lapse, each worker wins one race): b holds
    // the jobs, a every lane. b's next step gives the jobs back; a's takes them.
    await b.jobsLease.tick();
    expect(b.heldLeases()).to.deep.equal([JOBS_LEASE]);
    await b.standbyTick();
    expect(b.heldLeases()).to.deep.equal([]);
    expect((await fx.store.leases.get(JOBS_LEASE))?.holder ?? null).to.equal(null);
    await a.standbyTick();
    expect(a.heldLeases()).to.deep.equal([JOBS_LEASE, lane]);
    await b.stop();
    await a.stop();
  });
});
