/**
 * What several relayer instances on one store rely on, tested with two store instances on one
 * database (two connections to one SQLite file, two pools on one PostgreSQL schema): the guarded
 * intake insert, fenced submissions, leases, shared rate limits, webhook endpoint claims.
 */
import { expect } from "chai";
import { ONE_OFF_NONCE } from "../../../src/protocol";
import { PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { FencedError } from "../../../src/relayer/store/errors";
import type { GuardedInsertOutcome } from "../../../src/relayer/store/types";
import { ADDRESS_A, ADDRESS_B, hex32, makeEndpoint, makePayment } from "./helpers";
import { describeEachStoreWithFixture, type AnyStore } from "./stores";

const SIGNER_1 = "0x00000000000000000000000000000000000000A1" as Hex;
const SIGNER_2 = "0x00000000000000000000000000000000000000A2" as Hex;

const failure = (attempt: Promise<unknown>): Promise<unknown> =>
  attempt.then(
    () => null,
    (error: unknown) => error,
  );

describeEachStoreWithFixture("store: several instances", (ctx) => {
  let store: AnyStore;
  let other: AnyStore;
  beforeEach(async () => {
    store = ctx.f.store;
    other = await ctx.f.reopen();
  });

  describe("payments.insertAcceptedGuarded", () => {
    it("judges items in order against the ceiling, the pending nonces and the stored ids, in one commit", async () => {
      await store.payments.insertAccepted([makePayment(1, { amount: 300n })]);
      await store.payments.insertAccepted([makePayment(2, { amount: 1_000n })]);
      await store.payments.setState([makePayment(2).id], PaymentState.Escrowed); // no longer pending
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: makePayment(1, { amount: 300n }), ceiling: 10_000n }, // stored already
        { record: makePayment(3, { amount: 500n }), ceiling: 1_000n }, // 300 + 500 <= 1000
        { record: makePayment(4, { amount: 300n }), ceiling: 1_000n }, // 800 + 300 > 1000
        { record: makePayment(5, { amount: 200n }), ceiling: 1_000n }, // 800 + 200 = 1000
        { record: makePayment(6, { amount: 1n, nonce: 3n }), ceiling: 10_000n }, // nonce of payment 3
        { record: makePayment(7, { amount: 1n, nonce: 2n }), ceiling: 10_000n }, // payment 2 is final: free
        { record: makePayment(3, { amount: 500n }), ceiling: 10_000n }, // repeated in the call
        { record: makePayment(8, { amount: 5n, payer: ADDRESS_B }), ceiling: 5n }, // another payer
      ]);
      const expected: [number, GuardedInsertOutcome][] = [
        [1, "duplicate"],
        [3, "inserted"],
        [4, "insufficient_balance"],
        [5, "inserted"],
        [6, "nonce_unavailable"],
        [7, "inserted"],
        [8, "inserted"],
      ];
      expect([...outcomes.entries()].sort()).to.deep.equal(
        expected.map(([n, outcome]) => [makePayment(n).id, outcome] as const).sort(),
      );
      expect(await store.payments.pendingAmountOf(ADDRESS_A)).to.equal(300n + 500n + 200n + 1n);
      expect(await store.payments.get(makePayment(4).id)).to.equal(null);
      expect(await store.payments.get(makePayment(6).id)).to.equal(null);
      expect((await store.payments.get(makePayment(8).id))!.state).to.equal(PaymentState.Accepted);
    });

    it("queues payment.accepted for each inserted payment in the same commit", async () => {
      await store.webhooks.create(makeEndpoint("we_1"));
      await store.payments.insertAcceptedGuarded([
        { record: makePayment(1, { amount: 10n }), ceiling: 15n },
        { record: makePayment(2, { amount: 10n }), ceiling: 15n },
      ]);
      const due = await store.outbox.due(Number.MAX_SAFE_INTEGER, 10);
      expect(
        due.map((r) => [r.eventType, JSON.parse(r.payload).data.id, JSON.parse(r.payload).sequence]),
      ).to.deep.equal([["payment.accepted", makePayment(1).id, 1]]);
    });

    it("two instances guarding one payer at once accept exactly the affordable payments", async () => {
      const amount = 100n;
      const ceiling = 1_000n; // ten of them
      const payments = Array.from({ length: 30 }, (_, i) => makePayment(i + 1, { amount }));
      const calls = payments.map((record, i) =>
        (i % 2 === 0 ? store : other).payments.insertAcceptedGuarded([{ record, ceiling }]),
      );
      // And a few groups of several items, interleaved with the single ones.
      const groups = [31, 34, 37].map((n) =>
        (n % 2 === 0 ? store : other).payments.insertAcceptedGuarded(
          [n, n + 1, n + 2].map((k) => ({ record: makePayment(k, { amount }), ceiling })),
        ),
      );
      const outcomes = new Map<Hex, GuardedInsertOutcome>();
      for (const result of await Promise.all([...calls, ...groups])) for (const [id, o] of result) outcomes.set(id, o);
      const inserted = [...outcomes.values()].filter((o) => o === "inserted").length;
      expect(inserted).to.equal(10);
      expect([...outcomes.values()].filter((o) => o === "insufficient_balance").length).to.equal(39 - 10);
      expect(await store.payments.pendingAmountOf(ADDRESS_A)).to.equal(ceiling);
      expect((await other.payments.pendingOf(ADDRESS_A)).length).to.equal(10);
    });

    it("two instances guarding one wallet's one-off payments at once accept exactly what it holds, next to its escrow-balance payments", async () => {
      const wallet = 1_000n; // ten one-off payments of 100
      const oneOffs = Array.from({ length: 24 }, (_, i) =>
        makePayment(100 + i, { amount: 100n, nonce: ONE_OFF_NONCE }),
      );
      const fromBalance = Array.from({ length: 4 }, (_, i) => makePayment(200 + i, { amount: 100n }));
      const outcomes = new Map<Hex, GuardedInsertOutcome>();
      const results = await Promise.all([
        ...oneOffs.map((record, i) =>
          (i % 2 === 0 ? store : other).payments.insertAcceptedGuarded([{ record, ceiling: wallet }]),
        ),
        ...fromBalance.map((record, i) =>
          (i % 2 === 0 ? other : store).payments.insertAcceptedGuarded([{ record, ceiling: 400n }]),
        ),
      ]);
      for (const result of results) for (const [id, o] of result) outcomes.set(id, o);
      const of = (records: typeof oneOffs) => records.map((r) => outcomes.get(r.id.toLowerCase() as Hex));
      expect(of(oneOffs).filter((o) => o === "inserted")).to.have.length(10);
      expect(of(oneOffs).filter((o) => o === "insufficient_balance")).to.have.length(14);
      expect(of(fromBalance).every((o) => o === "inserted")).to.equal(true);
      expect(await other.payments.pendingOneOffAmountOf(ADDRESS_A)).to.equal(wallet);
      expect(await store.payments.pendingAmountOf(ADDRESS_A)).to.equal(400n);
    });

    it("two instances inserting one nonce (other ids) or one payment (same id) at once: exactly one wins", async () => {
      const sameNonce = await Promise.all([
        store.payments.insertAcceptedGuarded([{ record: makePayment(1, { nonce: 77n }), ceiling: 10n ** 18n }]),
        other.payments.insertAcceptedGuarded([{ record: makePayment(2, { nonce: 77n }), ceiling: 10n ** 18n }]),
      ]);
      expect(sameNonce.flatMap((m) => [...m.values()]).sort()).to.deep.equal(["inserted", "nonce_unavailable"]);
      expect(await store.payments.pendingNoncesOf(ADDRESS_A)).to.deep.equal([77n]);

      const sameId = await Promise.all([
        store.payments.insertAcceptedGuarded([{ record: makePayment(3), ceiling: 10n ** 18n }]),
        other.payments.insertAcceptedGuarded([{ record: makePayment(3), ceiling: 10n ** 18n }]),
      ]);
      expect(sameId.flatMap((m) => [...m.values()]).sort()).to.deep.equal(["duplicate", "inserted"]);
    });
  });

  describe("leases", () => {
    it("acquire, extend, refuse while live, take over after expiry with epoch + 1; the old holder cannot renew", async () => {
      const first = await store.leases.acquire("lane:a", "w1", 1_000, 10_000, "pid 1");
      expect(first).to.deep.equal({ name: "lane:a", holder: "w1", epoch: 1, expiresAt: 11_000, info: "pid 1" });
      expect(await other.leases.acquire("lane:a", "w2", 1_000, 10_500, "pid 2"), "live: refused").to.equal(null);
      const extended = await store.leases.acquire("lane:a", "w1", 1_000, 10_600, "pid 1");
      expect([extended!.epoch, extended!.expiresAt]).to.deep.equal([1, 11_600]);
      expect(await store.leases.renew("lane:a", "w1", 1, 1_000, 11_000)).to.equal(true);
      expect((await other.leases.get("lane:a"))!.expiresAt).to.equal(12_000);

      const taken = await other.leases.acquire("lane:a", "w2", 1_000, 12_000, "pid 2");
      expect(taken).to.deep.include({ holder: "w2", epoch: 2, expiresAt: 13_000 });
      expect(await store.leases.renew("lane:a", "w1", 1, 1_000, 12_001), "old holder").to.equal(false);
      expect(await other.leases.renew("lane:a", "w2", 1, 1_000, 12_001), "wrong epoch").to.equal(false);
      expect(await other.leases.renew("lane:a", "w2", 2, 1_000, 12_001)).to.equal(true);

      const stale = await failure(store.leases.assertHeld({ lease: "lane:a", holder: "w1", epoch: 1 }));
      expect(stale).to.be.instanceOf(FencedError);
      expect((stale as FencedError).code).to.equal("lease_lost");
      expect((stale as FencedError).current).to.deep.equal({ holder: "w2", epoch: 2 });
      await other.leases.assertHeld({ lease: "lane:a", holder: "w2", epoch: 2 });
    });

    it("release lets another holder in at once, with a higher epoch; get and list", async () => {
      await store.leases.acquire("lane:a", "w1", 60_000, 0, "");
      await store.leases.acquire("lane:b", "w1", 60_000, 0, "");
      await store.leases.acquire("jobs", "w1", 60_000, 0, "");
      await store.leases.release("lane:a", "w1", 1);
      expect(await other.leases.get("lane:a")).to.equal(null);
      const released = await failure(store.leases.assertHeld({ lease: "lane:a", holder: "w1", epoch: 1 }));
      expect((released as FencedError).current).to.equal(null);
      const next = await other.leases.acquire("lane:a", "w2", 60_000, 1, "");
      expect(next!.epoch).to.equal(2);
      expect((await store.leases.list("lane:")).map((l) => [l.name, l.holder])).to.deep.equal([
        ["lane:a", "w2"],
        ["lane:b", "w1"],
      ]);
      expect(await store.leases.get("nope")).to.equal(null);
    });

    it("two instances acquiring a free lease at once: exactly one gets it", async () => {
      const results = await Promise.all([
        store.leases.acquire("lane:x", "w1", 60_000, 0, ""),
        other.leases.acquire("lane:x", "w2", 60_000, 0, ""),
      ]);
      expect(results.filter((r) => r !== null).length).to.equal(1);
      expect(results.find((r) => r !== null)!.epoch).to.equal(1);
    });
  });

  describe("submissions with a fence", () => {
    const submission = (nonce: number, signer: Hex, epoch: number) => ({
      purpose: `batch:${nonce}`,
      signer: signer.toLowerCase() as Hex,
      epoch,
      nonce,
      txHash: hex32(nonce, "ff"),
      rawTx: "0x02" as Hex,
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
      state: SubmissionState.Pending,
      sentAt: 1_000,
    });

    it("records under a held lease; a stale epoch throws FencedError and stores nothing", async () => {
      const lease = (await store.leases.acquire("lane:1", "w1", 1_000, 0, ""))!;
      const fence = { lease: "lane:1", holder: "w1", epoch: lease.epoch };
      const ok = await store.submissions.record(submission(5, SIGNER_1, lease.epoch), fence);
      expect([ok.signer, ok.epoch, ok.nonce]).to.deep.equal([SIGNER_1.toLowerCase(), 1, 5]);

      await other.leases.acquire("lane:1", "w2", 1_000, 5_000, ""); // w1 stalled past its lease
      const fenced = await failure(store.submissions.record(submission(6, SIGNER_1, 1), fence));
      expect(fenced).to.be.instanceOf(FencedError);
      expect((fenced as FencedError).code).to.equal("lease_lost");
      expect((fenced as FencedError).current).to.deep.equal({ holder: "w2", epoch: 2 });
      expect((await other.submissions.listPending()).map((s) => s.nonce)).to.deep.equal([5]);
      expect(await other.submissions.maxNonce(SIGNER_1)).to.equal(5);

      const never = await failure(
        store.submissions.record(submission(7, SIGNER_1, 1), { lease: "lane:none", holder: "w1", epoch: 1 }),
      );
      expect((never as FencedError).current).to.equal(null);
      expect((await store.submissions.listPending()).length).to.equal(1);
    });

    it("listPending and maxNonce per signer", async () => {
      await store.submissions.record(submission(3, SIGNER_1, 0));
      await store.submissions.record(submission(9, SIGNER_2, 0));
      const s4 = await store.submissions.record(submission(4, SIGNER_1, 0));
      expect((await store.submissions.listPending(SIGNER_1)).map((s) => s.nonce)).to.deep.equal([3, 4]);
      expect((await store.submissions.listPending(SIGNER_2)).map((s) => s.nonce)).to.deep.equal([9]);
      expect((await store.submissions.listPending()).map((s) => s.nonce)).to.deep.equal([3, 9, 4]);
      expect(await store.submissions.maxNonce(SIGNER_1)).to.equal(4);
      expect(await store.submissions.maxNonce(SIGNER_2)).to.equal(9);
      expect(await store.submissions.maxNonce()).to.equal(9);
      expect(await store.submissions.maxNonce("0x00000000000000000000000000000000000000ff" as Hex)).to.equal(null);
      await store.submissions.setState(s4.id, SubmissionState.Mined);
      expect((await store.submissions.listPending(SIGNER_1)).map((s) => s.nonce)).to.deep.equal([3]);
    });
  });

  describe("rateLimits", () => {
    it("two instances share one bucket: burst, then refill at the rate; a denial says how long to wait", async () => {
      const take = (s: AnyStore, now: number) => s.rateLimits.take("key:1", 2, 5, 1, now);
      const first = await Promise.all(Array.from({ length: 12 }, (_, i) => take(i % 2 ? store : other, 1_000)));
      expect(first.filter((r) => r.allowed).length).to.equal(5);
      const denied = first.find((r) => !r.allowed)!;
      expect(denied.retryAfterMs).to.equal(500); // one token at 2 per second
      expect((await take(other, 1_499)).allowed).to.equal(false);
      expect((await take(store, 1_500)).allowed).to.equal(true); // one token refilled
      expect((await take(other, 1_500)).allowed).to.equal(false);
      expect((await store.rateLimits.take("key:2", 2, 5, 1, 1_500)).allowed, "another key").to.equal(true);
      // Refill is capped at the burst.
      const later = await Promise.all(Array.from({ length: 7 }, () => take(other, 1_000_000)));
      expect(later.filter((r) => r.allowed).length).to.equal(5);
    });
  });

  describe("webhooks.claimDueEndpoints", () => {
    const event = (eventId: string) => ({
      eventId,
      merchantId: 1n,
      eventType: "payment.accepted",
      payload: "{}",
      now: 100,
    });

    beforeEach(async () => {
      for (const id of ["we_1", "we_2", "we_3", "we_4"]) await store.webhooks.create(makeEndpoint(id));
      await store.outbox.enqueue(event("evt_1"));
    });

    it("an endpoint claimed by one holder is left out for another until released or expired", async () => {
      const a = await store.webhooks.claimDueEndpoints(1_000, 10, "A", 30_000);
      expect(a.map((e) => e.id)).to.deep.equal(["we_1", "we_2", "we_3", "we_4"]);
      expect(a[0].secret, "decrypted").to.equal("s");
      expect(await other.webhooks.claimDueEndpoints(1_000, 10, "B", 30_000)).to.deep.equal([]);
      expect((await store.webhooks.claimDueEndpoints(2_000, 10, "A", 30_000)).length, "own claims").to.equal(4);
      await store.webhooks.releaseEndpoint("we_2", "A");
      await store.webhooks.releaseEndpoint("we_3", "B"); // not B's: no effect
      expect((await other.webhooks.claimDueEndpoints(3_000, 10, "B", 30_000)).map((e) => e.id)).to.deep.equal(["we_2"]);
      expect(
        (await other.webhooks.claimDueEndpoints(32_001, 10, "B", 30_000)).map((e) => e.id),
        "A's claims expired",
      ).to.deep.equal(["we_1", "we_2", "we_3", "we_4"]);
      expect((await other.webhooks.claimDueEndpoints(32_001, 10, "B", 30_000, "we_2")).map((e) => e.id)).to.deep.equal([
        "we_3",
        "we_4",
      ]);
    });

    it("two holders claiming at once never get the same endpoint", async () => {
      const [a, b] = await Promise.all([
        store.webhooks.claimDueEndpoints(1_000, 10, "A", 30_000),
        other.webhooks.claimDueEndpoints(1_000, 10, "B", 30_000),
      ]);
      const ids = [...a, ...b].map((e) => e.id);
      expect(new Set(ids).size).to.equal(ids.length);
      expect(ids.sort()).to.deep.equal(["we_1", "we_2", "we_3", "we_4"]);
    });
  });
});
