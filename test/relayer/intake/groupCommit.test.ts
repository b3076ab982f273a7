import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { PaymentState, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { GroupCommitWriter } from "../../../src/relayer/intake/groupCommit";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { makePayment } from "../store/helpers";

const hex = (bytes: number): Hex => `0x${randomBytes(bytes).toString("hex")}`;

/** A distinct accepted payment: a fresh id, payer and order ref; 1,000 units. */
const record = (): PaymentRecord => makePayment(0, { id: hex(32), payer: hex(20), orderRef: hex(32), amount: 1_000n });

/** Resolves once `check` holds, polling; fails after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not reached");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe("relayer intake: group commit", function () {
  let dir: string;
  let store: SqliteStore;
  let calls: number[];

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-gc-"));
    store = await openSqliteStore(path.join(dir, "relayer.sqlite"));
    calls = [];
    const insert = store.payments.insertAccepted.bind(store.payments);
    store.payments.insertAccepted = async (records) => {
      calls.push(records.length);
      return insert(records);
    };
  });

  afterEach(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("concurrent payments share one insertAccepted call; each resolves only after its row is committed", async function () {
    const metrics = createMetrics({ defaultMetrics: false });
    const writer = new GroupCommitWriter(store, metrics, { maxSize: 1_000, maxWaitMs: 25 });
    const records = Array.from({ length: 50 }, record);
    let settled = 0;
    const results = records.map((r) => writer.enqueue(r).finally(() => settled++));
    expect(writer.depth).to.equal(50);
    expect(settled).to.equal(0);
    expect(await store.payments.get(records[0].id)).to.equal(null); // not yet committed, not yet acknowledged
    expect(await Promise.all(results)).to.deep.equal(records.map(() => true));
    expect(calls).to.deep.equal([50]);
    for (const r of records) expect((await store.payments.get(r.id))?.state).to.equal(PaymentState.Accepted);
    expect(writer.depth).to.equal(0);
    const exposition = await metrics.registry.getSingleMetricAsString("relayer_group_commit_size");
    expect(exposition).to.include("relayer_group_commit_size_sum 50");
    expect(exposition).to.include("relayer_group_commit_size_count 1");
  });

  it("a full queue flushes at once, in groups of at most maxSize, without waiting for the timer", async function () {
    const writer = new GroupCommitWriter(store, undefined, { maxSize: 10, maxWaitMs: 60_000 });
    const records = Array.from({ length: 25 }, record);
    const pending = records.map((r) => writer.enqueue(r));
    // 20 of them go without the (one-minute) timer; the last 5 wait for it or for close().
    await until(() => calls.reduce((a, b) => a + b, 0) >= 20);
    expect(calls).to.deep.equal([10, 10]);
    await writer.close();
    expect(calls).to.deep.equal([10, 10, 5]);
    expect(await Promise.all(pending)).to.deep.equal(records.map(() => true));
  });

  it("a lone payment is committed after at most maxWaitMs (not held for company)", async function () {
    const writer = new GroupCommitWriter(store, undefined, { maxSize: 1_000, maxWaitMs: 2 });
    const r = record();
    expect(await writer.enqueue(r)).to.equal(true);
    expect(calls).to.deep.equal([1]);
  });

  it("payments arriving during a commit form the next group", async function () {
    const writer = new GroupCommitWriter(store, undefined, { maxSize: 1_000, maxWaitMs: 1 });
    const insert = store.payments.insertAccepted;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    store.payments.insertAccepted = async (records) => {
      if (++started === 1) await gate; // the first commit is slow
      return insert(records);
    };
    const first = writer.enqueue(record());
    await until(() => started === 1);
    const later = Array.from({ length: 7 }, () => writer.enqueue(record()));
    expect(writer.depth).to.equal(8);
    release();
    await Promise.all([first, ...later]);
    expect(calls).to.deep.equal([1, 7]);
  });

  it("an id already stored resolves false (the caller reports the existing payment)", async function () {
    const writer = new GroupCommitWriter(store, undefined, { maxWaitMs: 1 });
    const r = record();
    expect(await writer.enqueue(r)).to.equal(true);
    expect(await writer.enqueue({ ...r, amount: 5n })).to.equal(false);
    expect((await store.payments.get(r.id))?.amount).to.equal(1_000n);
  });

  it("a failed commit rejects every waiter of that group and nothing is acknowledged; later groups still commit", async function () {
    const writer = new GroupCommitWriter(store, undefined, { maxWaitMs: 1 });
    const insert = store.payments.insertAccepted;
    store.payments.insertAccepted = async (records) => {
      if (calls.length === 0) {
        calls.push(records.length);
        throw new Error("disk full");
      }
      return insert(records);
    };
    const doomed = [record(), record()];
    const outcomes = await Promise.allSettled(doomed.map((r) => writer.enqueue(r)));
    expect(outcomes.map((o) => o.status)).to.deep.equal(["rejected", "rejected"]);
    for (const r of doomed) expect(await store.payments.get(r.id)).to.equal(null);
    expect(await writer.enqueue(record())).to.equal(true);
  });

  for (const maxInFlight of [1, 3]) {
    it(`with maxInFlight ${maxInFlight}, at most ${maxInFlight} commits run at once; the rest gather, and close() waits for all`, async function () {
      let running = 0;
      let most = 0;
      const releases: (() => void)[] = [];
      const insert = store.payments.insertAccepted.bind(store.payments);
      const writer = new GroupCommitWriter(store, undefined, {
        maxWaitMs: 1,
        maxInFlight,
        insert: async (records) => {
          running++;
          most = Math.max(most, running);
          await new Promise<void>((resolve) => releases.push(resolve));
          running--;
          return insert(records);
        },
      });
      const first = Array.from({ length: 10 }, record);
      const results: Promise<boolean>[] = [];
      // One payment every few milliseconds: each would be a group of its own if a slot were free.
      for (const r of first) {
        results.push(writer.enqueue(r));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await until(() => releases.length === maxInFlight);
      expect(running).to.equal(maxInFlight);
      expect(writer.depth).to.equal(10);
      let closed = false;
      const closing = writer.close().then(() => (closed = true));
      // Release the commits one by one; the queued payments follow in the freed slots.
      while (!closed) {
        releases.shift()?.();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await closing;
      expect(await Promise.all(results)).to.deep.equal(first.map(() => true));
      expect(most).to.equal(maxInFlight);
      for (const r of first) expect(await store.payments.get(r.id)).to.not.equal(null);
    });
  }

  it("close() commits what is queued and refuses new payments", async function () {
    const writer = new GroupCommitWriter(store, undefined, { maxWaitMs: 60_000 });
    const r = record();
    const pending = writer.enqueue(r);
    await writer.close();
    expect(await pending).to.equal(true);
    expect(await store.payments.get(r.id)).to.not.equal(null);
    let refused = false;
    await writer.enqueue(record()).catch(() => (refused = true));
    expect(refused).to.equal(true);
  });
});
