/**
 * Store suites for what must hold across relayer instances sharing one store, written once and run
 * against each store implementation (SQLite here; the PostgreSQL harness runs them too).
 */
import { expect } from "chai";
import { ONE_OFF_NONCE } from "../../../src/protocol";
import {
  BatchState,
  PaymentState,
  type Hex,
  type PaymentRequestRecord,
  type RelayRequestRecord,
} from "../../../src/relayer/domain";
import type { IndexedReportEvent, NewRelayRequest, RelayerStore, StoreKind } from "../../../src/relayer/store/types";
import type { ReportEvent } from "../../../src/protocol/reports";
import { enqueuePaymentEvent } from "../../../src/relayer/webhooks/events";
import { ADDRESS_A, ADDRESS_B, hex32, makeEndpoint, makePayment } from "./helpers";
import type { OldStoreFixture } from "./stores";

type Open = () => Promise<{ store: RelayerStore; cleanup: () => Promise<void> }>;

export function guardedInsertSuite(open: Open): void {
  describe("payments.insertAcceptedGuarded", () => {
    let store: RelayerStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, cleanup } = await open()));
    afterEach(async () => cleanup());

    it("inserts within the ceiling, counting pending payments and the group's own in order", async () => {
      await store.payments.insertAccepted([makePayment(1, { amount: 40n })]);
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: makePayment(2, { amount: 30n }), ceiling: 100n },
        { record: makePayment(3, { amount: 40n }), ceiling: 100n },
        { record: makePayment(4, { amount: 30n }), ceiling: 100n },
        { record: makePayment(5, { amount: 30n, payer: ADDRESS_B }), ceiling: 30n },
      ]);
      expect([...outcomes.values()]).to.deep.equal(["inserted", "insufficient_balance", "inserted", "inserted"]);
      expect(await store.payments.get(makePayment(3).id)).to.equal(null);
      expect(await store.payments.pendingAmountOf(makePayment(1).payer.toLowerCase() as Hex)).to.equal(100n);
    });

    it("refuses a nonce another pending payment of the payer holds, and reports a stored id as duplicate", async () => {
      await store.payments.insertAccepted([makePayment(1, { amount: 10n })]);
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: makePayment(7, { nonce: 1n, amount: 1n }), ceiling: 1_000n },
        { record: makePayment(1, { amount: 10n }), ceiling: 0n },
        { record: makePayment(8, { amount: 1n }), ceiling: 1_000n },
        { record: makePayment(9, { nonce: 8n, amount: 1n }), ceiling: 1_000n },
      ]);
      expect(outcomes.get(makePayment(7).id)).to.equal("nonce_unavailable");
      expect(outcomes.get(makePayment(1).id)).to.equal("duplicate");
      expect(outcomes.get(makePayment(8).id)).to.equal("inserted");
      expect(outcomes.get(makePayment(9).id)).to.equal("nonce_unavailable");
    });

    it("payments no longer pending free their amount and nonce", async () => {
      await store.payments.insertAccepted([makePayment(1, { amount: 60n })]);
      await store.payments.setState([makePayment(1).id], PaymentState.Escrowed);
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: makePayment(2, { amount: 60n, nonce: 1n }), ceiling: 60n },
      ]);
      expect(outcomes.get(makePayment(2).id)).to.equal("inserted");
    });

    it("concurrent groups for one payer (two instances) accept exactly the affordable payments", async () => {
      const groups = [0, 1, 2, 3].map((g) =>
        [0, 1, 2, 3, 4].map((i) => ({ record: makePayment(10 + g * 5 + i, { amount: 10n }), ceiling: 95n })),
      );
      const results = await Promise.all(groups.map((group) => store.payments.insertAcceptedGuarded(group)));
      const inserted = results.flatMap((r) => [...r.values()]).filter((o) => o === "inserted");
      expect(inserted).to.have.length(9);
      expect(await store.payments.pendingAmountOf(makePayment(10).payer.toLowerCase() as Hex)).to.equal(90n);
    });

    it("sums pending amounts exactly up to uint128, whatever their digits", async () => {
      const max = 2n ** 128n - 1n;
      // Every limb of 13 decimal digits at its largest, and carries across limbs when summed.
      const amounts = [max, max - 1n, 10n ** 26n - 1n, 10n ** 13n - 1n, 10n ** 13n, 1n];
      await store.payments.insertAccepted(amounts.map((amount, i) => makePayment(30 + i, { amount })));
      const total = amounts.reduce((a, b) => a + b, 0n);
      const payer = makePayment(30).payer.toLowerCase() as Hex;
      expect(await store.payments.pendingAmountOf(payer)).to.equal(total);
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: makePayment(40, { amount: 2n }), ceiling: total + 1n },
        { record: makePayment(41, { amount: 1n }), ceiling: total + 1n },
      ]);
      expect([...outcomes.values()]).to.deep.equal(["insufficient_balance", "inserted"]);
      expect(await store.payments.pendingAmountOf(payer)).to.equal(total + 1n);
    });

    it("queues the payment.accepted event of inserted payments only", async () => {
      await store.webhooks.create(makeEndpoint("we_1"));
      await store.payments.insertAcceptedGuarded([
        { record: makePayment(1, { amount: 10n }), ceiling: 10n },
        { record: makePayment(2, { amount: 10n }), ceiling: 10n },
      ]);
      expect(await store.outbox.pendingCount()).to.equal(1);
    });
  });
}

export function rateLimitSuite(open: Open): void {
  describe("rateLimits.take", () => {
    let store: RelayerStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, cleanup } = await open()));
    afterEach(async () => cleanup());

    it("starts full, takes all or nothing, and refills at the rate up to the burst", async () => {
      const t = 1_000_000;
      expect(await store.rateLimits.take("k", 10, 5, 4, t)).to.deep.equal({ allowed: true, retryAfterMs: 0 });
      const short = await store.rateLimits.take("k", 10, 5, 2, t);
      expect(short.allowed).to.equal(false);
      expect(short.retryAfterMs).to.equal(100);
      expect((await store.rateLimits.take("k", 10, 5, 1, t)).allowed).to.equal(true);
      expect((await store.rateLimits.take("k", 10, 5, 1, t)).allowed).to.equal(false);
      expect((await store.rateLimits.take("k", 10, 5, 5, t + 10_000)).allowed).to.equal(true);
      expect((await store.rateLimits.take("k", 10, 5, 1, t + 10_000)).allowed).to.equal(false);
      expect((await store.rateLimits.take("other", 10, 5, 5, t)).allowed).to.equal(true);
    });

    it("concurrent takes never spend more than the bucket holds", async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, () => store.rateLimits.take("shared", 0, 10, 1, 5_000)),
      );
      expect(outcomes.filter((o) => o.allowed)).to.have.length(10);
      const refused = outcomes.find((o) => !o.allowed)!;
      expect(refused.retryAfterMs).to.be.greaterThan(0);
    });
  });
}

export function endpointClaimSuite(open: Open): void {
  describe("webhooks.claimDueEndpoints / releaseEndpoint", () => {
    let store: RelayerStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, cleanup } = await open()));
    afterEach(async () => cleanup());

    const due = async (n: number) => {
      for (let i = 1; i <= n; i++) await store.webhooks.create(makeEndpoint(`we_${i}`, { merchantId: BigInt(i) }));
      for (let i = 1; i <= n; i++)
        await enqueuePaymentEvent(
          store,
          makePayment(i, { merchantId: BigInt(i), state: PaymentState.Escrowed }),
          undefined,
          1_000,
        );
    };

    it("an endpoint claimed by one holder is left out for another until released or expired", async () => {
      await due(2);
      const a = await store.webhooks.claimDueEndpoints(2_000, 10, "a", 1_000);
      expect(a.map((e) => e.id)).to.deep.equal(["we_1", "we_2"]);
      expect(a[0].secret).to.equal("s");
      expect(await store.webhooks.claimDueEndpoints(2_000, 10, "b", 1_000)).to.deep.equal([]);
      // Its own holder gets them again (and the claim is extended).
      expect((await store.webhooks.claimDueEndpoints(2_500, 10, "a", 1_000)).map((e) => e.id)).to.have.length(2);
      await store.webhooks.releaseEndpoint("we_1", "b"); // not b's: no effect
      expect(await store.webhooks.claimDueEndpoints(2_600, 10, "b", 1_000)).to.deep.equal([]);
      await store.webhooks.releaseEndpoint("we_1", "a");
      expect((await store.webhooks.claimDueEndpoints(2_600, 10, "b", 1_000)).map((e) => e.id)).to.deep.equal(["we_1"]);
      // a's claim on we_2 expired at 3,500.
      expect((await store.webhooks.claimDueEndpoints(3_500, 10, "c", 1_000)).map((e) => e.id)).to.deep.equal(["we_2"]);
    });

    it("concurrent claims hand each endpoint to one holder", async () => {
      await due(6);
      const claims = await Promise.all(
        ["a", "b", "c"].map((holder) => store.webhooks.claimDueEndpoints(2_000, 10, holder, 5_000)),
      );
      const ids = claims.flatMap((c) => c.map((e) => e.id)).sort();
      expect(ids).to.deep.equal(["we_1", "we_2", "we_3", "we_4", "we_5", "we_6"]);
    });
  });
}

/** A queued request n as an api instance would store it (id and calldata made up, distinct per n). */
export function relayRequest(n: number, overrides: Partial<NewRelayRequest> = {}): NewRelayRequest {
  return {
    id: hex32(n, "7e"),
    operation: "confirmWithSignature",
    calldata: `0x1234abcd${n.toString(16).padStart(8, "0")}` as Hex,
    payer: ADDRESS_A,
    deadline: 2n ** 48n - 1n,
    now: 1_000 + n,
    ...overrides,
  };
}

type OpenShared = () => Promise<{
  store: RelayerStore;
  /** Another instance on the same database. */
  reopen(): Promise<RelayerStore>;
  cleanup: () => Promise<void>;
}>;

export function relayQueueSuite(kind: StoreKind, open: OpenShared): void {
  describe("relayRequests: the relay queue", () => {
    let store: RelayerStore;
    let reopen: () => Promise<RelayerStore>;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, reopen, cleanup } = await open()));
    afterEach(async () => cleanup());

    const TTL = 10_000;
    /** Lane leases held at `now` (a claim by a live lane is left alone by the others). */
    const lanes = async (names: string[], now: number) => {
      for (const name of names)
        expect(await store.leases.acquire(name, `holder-${name}`, TTL, now, "{}")).to.not.equal(null);
    };
    const ids = (records: { id: Hex }[]) => records.map((r) => r.id);

    it("enqueue is idempotent on the id: the first request's row is returned unchanged, whichever instance asks", async () => {
      const first = await store.relayRequests.enqueue(relayRequest(1, { id: hex32(1, "7E") }));
      expect(first.inserted).to.equal(true);
      expect(first.record).to.deep.equal({
        id: hex32(1, "7e"),
        currency: "USD",
        operation: "confirmWithSignature",
        calldata: relayRequest(1).calldata,
        payer: ADDRESS_A.toLowerCase(),
        deadline: 2n ** 48n - 1n,
        state: "queued",
        claimedBy: null,
        txHash: null,
        errorCode: null,
        errorMessage: null,
        createdAt: 1_001,
        updatedAt: 1_001,
      });
      const other = await reopen();
      const again = await other.relayRequests.enqueue(
        relayRequest(1, { operation: "withdrawWithSignature", payer: null, deadline: null, now: 9_999 }),
      );
      expect(again).to.deep.equal({ record: first.record, inserted: false });
      expect(await store.relayRequests.get(hex32(1, "7e"))).to.deep.equal(first.record);
      expect(await store.relayRequests.get(hex32(2, "7e"))).to.equal(null);

      // The same request from several instances at once: one row, inserted by exactly one call.
      const stores = [store, other, await reopen()];
      const raced = await Promise.all(
        Array.from({ length: 9 }, (_, i) => stores[i % 3].relayRequests.enqueue(relayRequest(5, { now: 2_000 + i }))),
      );
      expect(raced.filter((r) => r.inserted)).to.have.length(1);
      const winner = raced.find((r) => r.inserted)!.record;
      for (const r of raced) expect(r.record).to.deep.equal(winner);
      expect((await store.relayRequests.countByState()).queued).to.equal(2);
    });

    it("claims the oldest queued requests for a lane; a live lane's claims are left alone, a lapsed or released one's are free", async () => {
      for (const n of [3, 1, 2, 4, 5]) await store.relayRequests.enqueue(relayRequest(n));
      await lanes(["lane:a", "lane:b"], 10_000);
      await lanes(["lane:c"], 10_005);
      const a = await store.relayRequests.claim("lane:a", 10_000, 2);
      expect(ids(a)).to.deep.equal([hex32(1, "7e"), hex32(2, "7e")]);
      expect(a.map((r) => r.claimedBy)).to.deep.equal(["lane:a", "lane:a"]);
      // Its own claims come back with the next ones (a lane taken over gets what the old holder claimed).
      expect(ids(await store.relayRequests.claim("lane:a", 10_000, 1))).to.deep.equal(
        [1, 2, 3].map((n) => hex32(n, "7e")),
      );
      expect(ids(await store.relayRequests.claim("lane:b", 10_000, 10))).to.deep.equal([
        hex32(4, "7e"),
        hex32(5, "7e"),
      ]);
      expect(
        await store.relayRequests.claim("lane:c", 10_000, 10),
        "every request is held by a live lane",
      ).to.deep.equal([]);

      // Released: free for any lane at once.
      await store.relayRequests.release(hex32(4, "7e"), "lane:a", 10_001); // not a's: no effect
      await store.relayRequests.release(hex32(4, "7e"), "lane:b", 10_001);
      expect(ids(await store.relayRequests.claim("lane:c", 10_001, 10))).to.deep.equal([hex32(4, "7e")]);
      // lane:a's lease released (graceful stop) and lane:b's expired (a dead worker): their claims are
      // free; lane:c's lease is still live at 20,001.
      await store.leases.release("lane:a", "holder-lane:a", 1);
      expect(ids(await store.relayRequests.claim("lane:c", 10_002, 2))).to.deep.equal(
        [1, 2, 4].map((n) => hex32(n, "7e")),
      );
      expect(ids(await store.relayRequests.claim("lane:d", 10_000 + TTL + 1, 10))).to.deep.equal([
        hex32(3, "7e"),
        hex32(5, "7e"),
      ]);
    });

    it("two instances claiming at once never get the same request", async () => {
      for (let n = 1; n <= 24; n++) await store.relayRequests.enqueue(relayRequest(n));
      const names = ["lane:a", "lane:b", "lane:c", "lane:d"];
      await lanes(names, 10_000);
      const other = await reopen();
      const claimed = new Map<string, string>();
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(
          names.map((name, i) => (i % 2 === 0 ? store : other).relayRequests.claim(name, 10_000, 2)),
        );
        results.forEach((records, i) => {
          for (const r of records) {
            expect(claimed.get(r.id) ?? names[i], `${r.id} claimed by two lanes`).to.equal(names[i]);
            claimed.set(r.id, names[i]);
          }
        });
      }
      expect(claimed.size).to.equal(24);
      for (const name of names) expect([...claimed.values()].filter((v) => v === name)).to.have.length(6);
    });

    // PostgreSQL only: on SQLite one writer at a time is the lock, and a claim waits (busy_timeout).
    if (kind === "postgres")
      it("a claim skips the rows another instance's open claim has locked instead of waiting (SKIP LOCKED)", async function () {
        for (let n = 1; n <= 4; n++) await store.relayRequests.enqueue(relayRequest(n));
        await lanes(["lane:a", "lane:b"], 10_000);
        const other = await reopen();
        const { a, b } = await store.transaction(async () => {
          const a = await store.relayRequests.claim("lane:a", 10_000, 2);
          // lane:a's claim is not committed: its rows are locked, and still look unclaimed to others.
          const b = await Promise.race([
            other.relayRequests.claim("lane:b", 10_000, 10),
            new Promise<"blocked">((resolve) => setTimeout(() => resolve("blocked"), 3_000)),
          ]);
          return { a, b };
        });
        expect(b, "the second claim waited for the first").to.not.equal("blocked");
        expect(ids(a)).to.deep.equal([hex32(1, "7e"), hex32(2, "7e")]);
        expect(ids(b as RelayRequestRecord[])).to.deep.equal([hex32(3, "7e"), hex32(4, "7e")]);
      });

    it("a request moves queued → sent or queued → failed once; neither is claimed again; finished rows are pruned", async () => {
      for (let n = 1; n <= 3; n++) await store.relayRequests.enqueue(relayRequest(n));
      await lanes(["lane:a"], 10_000);
      const tx = hex32(99, "cc");
      expect(await store.relayRequests.markSent(hex32(1, "7e"), tx, 20_000)).to.equal(true);
      expect(await store.relayRequests.markSent(hex32(1, "7e"), hex32(98, "cc"), 20_001)).to.equal(false);
      expect(await store.relayRequests.markFailed(hex32(1, "7e"), "expired", "too late", 20_001)).to.equal(false);
      expect(
        await store.relayRequests.markFailed(
          hex32(2, "7e"),
          "invalid_signature",
          "the escrow rejected it: InvalidSigner",
          20_000,
        ),
      ).to.equal(true);
      expect(await store.relayRequests.markSent(hex32(2, "7e"), tx, 20_001)).to.equal(false);
      expect(await store.relayRequests.markSent(hex32(9, "7e"), tx, 20_001), "unknown id").to.equal(false);

      const sent = (await store.relayRequests.get(hex32(1, "7e")))!;
      expect([sent.state, sent.txHash, sent.errorCode, sent.updatedAt]).to.deep.equal(["sent", tx, null, 20_000]);
      const failed = (await store.relayRequests.get(hex32(2, "7e")))!;
      expect([failed.state, failed.txHash, failed.errorCode, failed.errorMessage]).to.deep.equal([
        "failed",
        null,
        "invalid_signature",
        "the escrow rejected it: InvalidSigner",
      ]);
      expect(ids(await store.relayRequests.claim("lane:a", 20_000, 10))).to.deep.equal([hex32(3, "7e")]);
      expect(await store.relayRequests.countByState()).to.deep.equal({ queued: 1, sent: 1, failed: 1 });
      // A re-enqueue of a finished request changes nothing: the outcome stays.
      expect((await store.relayRequests.enqueue(relayRequest(1))).record.state).to.equal("sent");

      expect(await store.relayRequests.pruneFinishedBefore(20_000, 10), "changed at 20,000: kept").to.equal(0);
      expect(await store.relayRequests.pruneFinishedBefore(20_001, 1)).to.equal(1);
      expect(await store.relayRequests.pruneFinishedBefore(20_001, 10)).to.equal(1);
      expect(await store.relayRequests.countByState()).to.deep.equal({ queued: 1, sent: 0, failed: 0 });
    });
  });
}

/**
 * One-off payments (nonce ONE_OFF_NONCE): several pending per payer, outside the escrow-balance
 * reads and the guarded insert's sum and nonces, summed apart for the wallet balance check.
 */
export function oneOffPaymentsSuite(open: Open): void {
  describe("payments: one-off payments", () => {
    let store: RelayerStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, cleanup } = await open()));
    afterEach(async () => cleanup());
    const oneOff = (n: number, amount: bigint) => makePayment(n, { nonce: ONE_OFF_NONCE, amount });
    const payer = ADDRESS_A.toLowerCase() as Hex;

    it("several pending of one payer are stored, summed apart, and left out of the escrow-balance reads", async () => {
      const inserted = await store.payments.insertAccepted([oneOff(1, 10n), oneOff(2, 20n), oneOff(3, 5n)]);
      expect(inserted.size).to.equal(3);
      await store.payments.insertAccepted([makePayment(4, { amount: 7n })]);
      expect(await store.payments.pendingOneOffAmountOf(payer)).to.equal(35n);
      expect(await store.payments.pendingAmountOf(payer)).to.equal(7n);
      expect(await store.payments.pendingNoncesOf(payer)).to.deep.equal([4n]);
      expect((await store.payments.pendingOf(payer)).map((p) => p.id)).to.deep.equal([makePayment(4).id]);
      expect((await store.payments.get(oneOff(2, 20n).id))!.nonce).to.equal(ONE_OFF_NONCE);
      // Out of the pending states, out of the sum.
      await store.payments.setState([oneOff(1, 10n).id], PaymentState.Escrowed);
      await store.payments.setState([oneOff(2, 20n).id], PaymentState.Rejected, {
        rejectReason: "authorization_failed",
      });
      expect(await store.payments.pendingOneOffAmountOf(payer)).to.equal(5n);
      expect(await store.payments.pendingOneOffAmountOf(ADDRESS_B.toLowerCase() as Hex)).to.equal(0n);
    });

    it("the guarded insert judges a one-off payment against the payer's pending one-off payments and its wallet (ceiling), with no nonce", async () => {
      await store.payments.insertAccepted([makePayment(1, { amount: 500n })]);
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: oneOff(2, 60n), ceiling: 100n },
        { record: oneOff(3, 50n), ceiling: 100n },
        { record: oneOff(4, 40n), ceiling: 100n },
        { record: oneOff(2, 60n), ceiling: 100n },
      ]);
      expect([...outcomes.entries()]).to.deep.equal([
        [oneOff(2, 60n).id, "inserted"],
        [oneOff(3, 50n).id, "insufficient_balance"],
        [oneOff(4, 40n).id, "inserted"],
      ]);
      expect(await store.payments.pendingOneOffAmountOf(payer)).to.equal(100n);
      const again = await store.payments.insertAcceptedGuarded([{ record: oneOff(2, 60n), ceiling: 1_000n }]);
      expect(again.get(oneOff(2, 60n).id)).to.equal("duplicate");
    });

    it("concurrent one-off groups for one wallet (two instances) accept exactly what it holds", async () => {
      const groups = [0, 1, 2, 3].map((g) =>
        [0, 1, 2, 3, 4].map((i) => ({ record: oneOff(10 + g * 5 + i, 10n), ceiling: 95n })),
      );
      const results = await Promise.all(groups.map((group) => store.payments.insertAcceptedGuarded(group)));
      const inserted = results.flatMap((r) => [...r.values()]).filter((o) => o === "inserted");
      expect(inserted).to.have.length(9);
      expect(await store.payments.pendingOneOffAmountOf(payer)).to.equal(90n);
    });

    it("the guarded insert of escrow-balance payments ignores pending one-off payments", async () => {
      await store.payments.insertAccepted([oneOff(1, 1_000n), oneOff(2, 1_000n)]);
      const outcomes = await store.payments.insertAcceptedGuarded([
        { record: makePayment(3, { amount: 50n }), ceiling: 50n },
        { record: makePayment(4, { amount: 1n }), ceiling: 50n },
      ]);
      expect([...outcomes.values()]).to.deep.equal(["inserted", "insufficient_balance"]);
    });
  });
}

/**
 * One report event of each kind for merchant `m` (uint64 ids and amounts above 2^53), blocks from
 * `block`, of `currency` (default "USD", a test store's default currency).
 */
export function reportEventsOf(m: bigint, block: bigint, currency = "USD"): IndexedReportEvent[] {
  const big = (1n << 64n) - 1n;
  const at = (i: number) => ({
    blockNumber: block + BigInt(i >> 1),
    logIndex: i % 2,
    txHash: hex32(0x7000 + i),
    timestamp: 1_700_000_000 + i * 60,
    merchantId: m,
  });
  const payment = hex32(0x5000);
  const events: ReportEvent[] = [
    { ...at(0), kind: "escrowed", paymentId: payment, payer: ADDRESS_A, batchId: 7n, amount: big },
    { ...at(1), kind: "confirmed", paymentId: payment, batchId: 7n, released: big - 5n, fee: 5n },
    { ...at(2), kind: "refunded", paymentId: payment, payer: ADDRESS_A, batchId: 7n, amount: 1n, totalRefunded: 2n },
    { ...at(3), kind: "disputed", paymentId: payment, payer: ADDRESS_A, batchId: 7n, amount: 3n, expiresAt: 1n << 40n },
    {
      ...at(4),
      kind: "ruled",
      paymentId: payment,
      payer: ADDRESS_A,
      toPayer: 1n,
      toMerchant: 0n,
      fee: 0n,
      byTimeout: true,
    },
    { ...at(5), kind: "settled", batchId: 7n, amount: big, fee: 9n },
    { ...at(6), kind: "paid", payout: ADDRESS_B, amount: 4n },
    { ...at(7), kind: "deferred", payout: ADDRESS_B, amount: 5n },
    { ...at(8), kind: "claimed", payout: ADDRESS_B, amount: 5n },
  ];
  return events.map((event) => ({
    currency,
    event,
    orderRef: event.kind === "escrowed" ? hex32(0x0de7) : null,
  }));
}

export function reportIndexSuite(open: OpenShared): void {
  describe("reportIndex: the merchants' report events", () => {
    let store: RelayerStore;
    let reopen: () => Promise<RelayerStore>;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, reopen, cleanup } = await open()));
    afterEach(async () => cleanup());
    const cursorAt = (blockNumber: bigint) => ({
      blockNumber,
      blockHash: hex32(Number(blockNumber)),
      timestamp: 1_800,
    });

    it("gives back exactly the events written (every kind, uint64 values), in chain order, with order refs; to another instance too", async () => {
      expect(await store.reportIndex.cursor()).to.equal(null);
      const m = (1n << 64n) - 1n;
      const mine = reportEventsOf(m, 100n);
      const other = reportEventsOf(2n, 100n).map((e) => ({
        ...e,
        event: { ...e.event, logIndex: e.event.logIndex + 2 },
      }));
      // Written out of order, and in two pages.
      await store.reportIndex.append([...mine.slice(5), ...other].reverse(), cursorAt(103n));
      await store.reportIndex.append(mine.slice(0, 5), cursorAt(110n));
      expect(await store.reportIndex.cursor()).to.deep.equal(cursorAt(110n));
      const read = await (await reopen()).reportIndex.events(m, 110n);
      expect(read.events).to.deep.equal(mine.map((e) => e.event));
      expect([...read.orderRefs]).to.deep.equal([[hex32(0x5000), hex32(0x0de7)]]);
      expect((await store.reportIndex.events(2n, 110n)).events).to.have.length(9);
      // Up to a block: the rest is left out.
      expect((await store.reportIndex.events(m, 101n)).events.map((e) => e.kind)).to.deep.equal([
        "escrowed",
        "confirmed",
        "refunded",
        "disputed",
      ]);
      expect((await store.reportIndex.events(3n, 110n)).events).to.deep.equal([]);
    });

    it("a page written again (after a crash before the cursor moved on) adds nothing", async () => {
      const page = reportEventsOf(1n, 10n);
      await store.reportIndex.append(page, cursorAt(20n));
      await store.reportIndex.append(page, cursorAt(20n));
      expect((await store.reportIndex.events(1n, 20n)).events).to.have.length(page.length);
    });

    it("a failed page leaves neither its events nor the cursor move", async () => {
      await store.reportIndex.append([], cursorAt(5n));
      const bad = reportEventsOf(1n, 10n);
      // The fourth row breaks a NOT NULL column: the three before it must not stay.
      (bad[3].event as { timestamp: unknown }).timestamp = null;
      await store.reportIndex.append(bad, cursorAt(20n)).then(
        () => expect.fail("a bad row must fail the page"),
        () => undefined,
      );
      expect(await store.reportIndex.cursor()).to.deep.equal(cursorAt(5n));
      expect((await store.reportIndex.events(1n, 100n)).events).to.deep.equal([]);
    });

    it("rewind drops the events above the block and moves the cursor; null drops all", async () => {
      await store.reportIndex.append(reportEventsOf(1n, 10n), cursorAt(20n));
      await store.reportIndex.rewind(cursorAt(11n));
      expect(await store.reportIndex.cursor()).to.deep.equal(cursorAt(11n));
      expect((await store.reportIndex.events(1n, 100n)).events.map((e) => e.blockNumber)).to.deep.equal([
        10n,
        10n,
        11n,
        11n,
      ]);
      await store.reportIndex.rewind(null);
      expect(await store.reportIndex.cursor()).to.equal(null);
      expect((await store.reportIndex.events(1n, 100n)).events).to.deep.equal([]);
    });
  });
}

/** A payment of `currency` (makePayment's, with that currency and merchant `merchantId`). */
const paymentIn = (currency: string, n: number, overrides: Parameters<typeof makePayment>[1] = {}) =>
  makePayment(n, { currency, ...overrides });

/** An error thrown by `work`, or a failure if it resolved. */
async function thrown(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  return expect.fail("expected an error");
}

/**
 * Several currencies in one store (docs/CURRENCIES.md): the unscoped store's default currency is
 * "USD" (the fixture opens it without one); views of "USD" and "EUR".
 */
export function currencySuite(open: Open): void {
  describe("currencies: one store, a view per currency", () => {
    let store: RelayerStore;
    let usd: RelayerStore;
    let eur: RelayerStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
      usd = store.forCurrency("USD");
      eur = store.forCurrency("EUR");
    });
    afterEach(async () => cleanup());

    it("a view shares the store's connection and currency-free repositories; its default currency is its own", async () => {
      expect(store.defaultCurrency).to.equal("USD");
      expect(eur.defaultCurrency).to.equal("EUR");
      expect(store.forCurrency("EUR")).to.equal(eur);
      expect(usd.forCurrency("EUR")).to.equal(eur);
      for (const key of [
        "apiKeys",
        "webhooks",
        "outbox",
        "idempotency",
        "rateLimits",
        "leases",
        "chainCursor",
      ] as const) {
        expect(eur[key], key).to.equal(store[key]);
      }
      expect(eur.submissions).to.equal(store.submissions);
      // One transaction across views: a rollback undoes both currencies' writes.
      await thrown(() =>
        store.transaction(async () => {
          await usd.payments.insertAccepted([paymentIn("USD", 1)]);
          await eur.payments.insertAccepted([paymentIn("EUR", 2)]);
          throw new Error("roll back");
        }),
      );
      expect((await store.payments.list({ limit: 10 })).items).to.deep.equal([]);
      expect(() => store.forCurrency("usd")).to.throw(/Invalid currency code/);
    });

    it("nonces and pending sums are per currency: the same payer and nonce in two currencies are both accepted", async () => {
      const outcomes = async (
        view: RelayerStore,
        items: { record: ReturnType<typeof makePayment>; ceiling: bigint }[],
      ) => [...(await view.payments.insertAcceptedGuarded(items)).values()];
      expect(
        await outcomes(usd, [{ record: paymentIn("USD", 1, { nonce: 5n, amount: 60n }), ceiling: 100n }]),
      ).to.deep.equal(["inserted"]);
      expect(
        await outcomes(eur, [{ record: paymentIn("EUR", 2, { nonce: 5n, amount: 60n }), ceiling: 100n }]),
      ).to.deep.equal(["inserted"]);
      // Each currency's sum against its own ceiling, each currency's nonces apart.
      expect(
        await outcomes(usd, [
          { record: paymentIn("USD", 3, { nonce: 6n, amount: 50n }), ceiling: 100n },
          { record: paymentIn("USD", 4, { nonce: 5n, amount: 1n }), ceiling: 100n },
        ]),
      ).to.deep.equal(["insufficient_balance", "nonce_unavailable"]);
      // The unscoped store judges each payment of a mixed group in its own currency.
      expect(
        await outcomes(store, [
          { record: paymentIn("USD", 5, { nonce: 7n, amount: 40n }), ceiling: 100n },
          { record: paymentIn("EUR", 6, { nonce: 7n, amount: 40n }), ceiling: 100n },
          { record: paymentIn("EUR", 7, { nonce: 8n, amount: 1n }), ceiling: 100n },
        ]),
      ).to.deep.equal(["inserted", "inserted", "insufficient_balance"]);
      for (const view of [usd, eur]) {
        expect(await view.payments.pendingAmountOf(ADDRESS_A)).to.equal(100n);
        expect(await view.payments.pendingNoncesOf(ADDRESS_A)).to.deep.equal([5n, 7n]);
        expect((await view.payments.pendingOf(ADDRESS_A)).map((p) => p.amount)).to.have.members([60n, 40n]);
      }
      // Unscoped: every currency's (meaningful for a single-currency store only).
      expect(await store.payments.pendingAmountOf(ADDRESS_A)).to.equal(200n);
      // One-off payments: their sum per currency too.
      const oneOff = (currency: string, n: number, amount: bigint) =>
        paymentIn(currency, n, { nonce: ONE_OFF_NONCE, amount });
      await store.payments.insertAccepted([oneOff("USD", 8, 3n), oneOff("EUR", 9, 4n)]);
      expect(await usd.payments.pendingOneOffAmountOf(ADDRESS_A)).to.equal(3n);
      expect(await eur.payments.pendingOneOffAmountOf(ADDRESS_A)).to.equal(4n);
    });

    it("a view reads and changes only its currency's payments; the unscoped store reads both and lists by currency", async () => {
      const [u, e] = [paymentIn("USD", 1), paymentIn("EUR", 2, { merchantId: 2n })];
      await store.payments.insertAccepted([u, e]);
      expect((await usd.payments.get(u.id))!.currency).to.equal("USD");
      expect(await usd.payments.get(e.id)).to.equal(null);
      expect((await store.payments.get(e.id))!.currency).to.equal("EUR");
      expect([...(await eur.payments.getMany([u.id, e.id])).keys()]).to.deep.equal([e.id]);
      expect((await store.payments.getMany([u.id, e.id])).size).to.equal(2);
      const ids = async (view: RelayerStore, filter: { currency?: string } = {}) =>
        (await view.payments.list({ limit: 10, ...filter })).items.map((p) => p.id);
      expect(await ids(store)).to.have.members([u.id, e.id]);
      expect(await ids(store, { currency: "EUR" })).to.deep.equal([e.id]);
      expect(await ids(usd)).to.deep.equal([u.id]);
      expect(await ids(usd, { currency: "EUR" })).to.deep.equal([]);
      expect((await eur.payments.listByState(PaymentState.Accepted, 10)).map((p) => p.id)).to.deep.equal([e.id]);
      expect((await eur.payments.countByState()).accepted).to.equal(1);
      expect((await store.payments.countByState()).accepted).to.equal(2);
      // Updates by id through a view skip another currency's payment.
      expect([
        ...(await usd.payments.updateMany([{ id: e.id, state: PaymentState.Expired, fields: {} }])),
      ]).to.deep.equal([]);
      await usd.payments.setState([e.id], PaymentState.Expired);
      expect((await store.payments.get(e.id))!.state).to.equal(PaymentState.Accepted);
      // A currency is never updated.
      await store.payments.updateMany([{ id: e.id, fields: { currency: "USD", refunded: 1n } }]);
      expect(await store.payments.get(e.id)).to.include({ currency: "EUR", refunded: 1n });
    });

    it("a view refuses to insert another currency's record (nothing is written)", async () => {
      const error = await thrown(() => usd.payments.insertAccepted([paymentIn("USD", 1), paymentIn("EUR", 2)]));
      expect(error.message).to.match(/USD store view was given a EUR record/);
      await thrown(() => eur.payments.insertAcceptedGuarded([{ record: paymentIn("USD", 3), ceiling: 10n ** 18n }]));
      expect((await store.payments.list({ limit: 10 })).items).to.deep.equal([]);
      await thrown(() => usd.requests.create(paymentRequest("req_eur", "EUR")));
      expect(await store.requests.get("req_eur")).to.equal(null);
      await thrown(() => eur.relayRequests.enqueue(relayRequest(1, { currency: "USD" })));
      expect(await store.relayRequests.get(relayRequest(1).id)).to.equal(null);
      await thrown(() => usd.reportIndex.append(reportEventsOf(1n, 10n, "EUR"), cursorAt(20n)));
      expect(await usd.reportIndex.cursor()).to.equal(null);
    });

    it("on-chain batch ids are per currency: batch 1 of each is found by its view alone", async () => {
      const [u1, u2, e1] = [paymentIn("USD", 1), paymentIn("USD", 2), paymentIn("EUR", 3, { merchantId: 2n })];
      await store.payments.insertAccepted([u1, u2, e1]);
      // A view's batch takes only its currency's payments.
      const usdBatch = await usd.batches.create([u1.id, e1.id]);
      expect(usdBatch.currency).to.equal("USD");
      expect((await store.payments.get(e1.id))!.state).to.equal(PaymentState.Accepted);
      const eurBatch = await eur.batches.create([e1.id]);
      expect(eurBatch.currency).to.equal("EUR");
      const unscoped = await store.batches.create([u2.id]);
      expect(unscoped.currency, "the unscoped store's: its default currency").to.equal("USD");
      expect((await eur.batches.claimBuilt("lane:a", 1, 10)).map((b) => b.key)).to.deep.equal([eurBatch.key]);
      expect((await usd.batches.listByState([BatchState.Built])).map((b) => b.key)).to.deep.equal([
        usdBatch.key,
        unscoped.key,
      ]);
      for (const [view, batch, payment] of [
        [usd, usdBatch, u1],
        [eur, eurBatch, e1],
      ] as const) {
        await view.batches.update(batch.key, { state: BatchState.Confirmed, batchId: 1n });
        await view.payments.updateMany([
          { id: payment.id, state: PaymentState.Escrowed, fields: { batchId: 1n, releaseAt: 100n } },
        ]);
      }
      expect(await eur.batches.get(usdBatch.key)).to.equal(null);
      await eur.batches.update(usdBatch.key, { state: BatchState.Reorged });
      expect((await usd.batches.get(usdBatch.key))!.state).to.equal(BatchState.Confirmed);
      expect((await usd.batches.getByBatchId(1n))!.key).to.equal(usdBatch.key);
      expect((await eur.batches.getByBatchId(1n))!.key).to.equal(eurBatch.key);
      expect((await usd.payments.listByBatchIds([1n], [PaymentState.Escrowed])).map((p) => p.id)).to.deep.equal([
        u1.id,
      ]);
      expect((await eur.payments.listByBatchIds([1n], [PaymentState.Escrowed])).map((p) => p.id)).to.deep.equal([
        e1.id,
      ]);
      expect(await usd.payments.releasableTranches([PaymentState.Escrowed], 100n)).to.deep.equal([
        { merchantId: 1n, batchId: 1n },
      ]);
      expect(await eur.payments.releasableTranches([PaymentState.Escrowed], 100n)).to.deep.equal([
        { merchantId: 2n, batchId: 1n },
      ]);
      expect(await store.payments.releasableTranches([PaymentState.Escrowed], 100n)).to.have.deep.members([
        { merchantId: 1n, batchId: 1n },
        { merchantId: 2n, batchId: 1n },
      ]);
      // Adopting the same (batch id, transaction) in two currencies records two batches.
      const adopted = { leaves: [u1.id], batchId: 9n, root: u1.id, txHash: u2.id, blockNumber: 5n, blockHash: u2.id };
      const a = await usd.batches.adopt(adopted);
      const b = await eur.batches.adopt(adopted);
      expect([a.currency, b.currency]).to.deep.equal(["USD", "EUR"]);
      expect((await eur.batches.adopt(adopted)).key).to.equal(b.key);
    });

    it("settlements, payment requests and relay requests are per view; the unscoped store sees them all", async () => {
      const s1 = await usd.settlements.create(1n, [1n]);
      const s2 = await eur.settlements.create(1n, [1n]);
      const s3 = await store.settlements.create(1n, [2n]);
      expect([s1.currency, s2.currency, s3.currency]).to.deep.equal(["USD", "EUR", "USD"]);
      const keys = (page: { items: { key: number }[] }) => page.items.map((s) => s.key);
      expect(keys(await eur.settlements.listByMerchant(1n, 10))).to.deep.equal([s2.key]);
      expect(keys(await store.settlements.listByMerchant(1n, 10))).to.deep.equal([s3.key, s2.key, s1.key]);
      expect((await usd.settlements.listByState(["built"])).map((s) => s.key)).to.deep.equal([s1.key, s3.key]);
      await eur.settlements.update(s1.key, { state: "confirmed" });
      expect((await usd.settlements.listByState(["built"])).map((s) => s.key)).to.deep.equal([s1.key, s3.key]);

      await eur.requests.create(paymentRequest("req_eur", "EUR"));
      await store.requests.create(paymentRequest("req_usd", "USD"));
      expect(await usd.requests.get("req_eur")).to.equal(null);
      expect((await store.requests.get("req_eur"))!.currency).to.equal("EUR");
      expect((await usd.requests.get("req_usd"))!.currency).to.equal("USD");

      const r1 = await usd.relayRequests.enqueue(relayRequest(1));
      const r2 = await eur.relayRequests.enqueue(relayRequest(2));
      const r3 = await store.relayRequests.enqueue(relayRequest(3, { currency: "EUR" }));
      expect([r1.record.currency, r2.record.currency, r3.record.currency]).to.deep.equal(["USD", "EUR", "EUR"]);
      // The same request queued again through another view: the stored one, unchanged.
      expect((await usd.relayRequests.enqueue(relayRequest(2))).record).to.deep.equal(r2.record);
      expect(await usd.relayRequests.get(r2.record.id)).to.equal(null);
      expect((await usd.relayRequests.countByState()).queued).to.equal(1);
      expect((await store.relayRequests.countByState()).queued).to.equal(3);
      expect((await eur.relayRequests.claim("lane:a", 2_000, 10)).map((r) => r.id)).to.deep.equal([
        r2.record.id,
        r3.record.id,
      ]);
      expect(await usd.relayRequests.markSent(r2.record.id, hex32(1), 2_000)).to.equal(false);
      expect(await eur.relayRequests.markSent(r2.record.id, hex32(1), 2_000)).to.equal(true);
    });

    it("the report index keeps events and a cursor per currency; the unscoped one moves the default currency's", async () => {
      await usd.reportIndex.append(reportEventsOf(1n, 10n, "USD"), cursorAt(20n));
      // Another escrow's logs of the same chain: other blocks or other log indexes.
      await eur.reportIndex.append(reportEventsOf(1n, 30n, "EUR"), cursorAt(40n));
      expect(await usd.reportIndex.cursor()).to.deep.equal(cursorAt(20n));
      expect(await eur.reportIndex.cursor()).to.deep.equal(cursorAt(40n));
      expect(await store.reportIndex.cursor()).to.deep.equal(cursorAt(20n));
      expect((await usd.reportIndex.events(1n, 100n)).events.map((e) => e.blockNumber)).to.satisfy((blocks: bigint[]) =>
        blocks.every((b) => b < 30n),
      );
      expect((await eur.reportIndex.events(1n, 100n)).events).to.have.length(9);
      expect((await store.reportIndex.events(1n, 100n)).events).to.have.length(18);
      await eur.reportIndex.rewind(cursorAt(31n));
      expect((await eur.reportIndex.events(1n, 100n)).events).to.have.length(4);
      expect((await usd.reportIndex.events(1n, 100n)).events).to.have.length(9);
      await eur.reportIndex.rewind(null);
      expect(await eur.reportIndex.cursor()).to.equal(null);
      expect(await usd.reportIndex.cursor()).to.deep.equal(cursorAt(20n));
      expect((await store.reportIndex.events(1n, 100n)).events).to.have.length(9);
    });
  });
}

/** A payment request of merchant 3 in `currency`. */
function paymentRequest(id: string, currency: string): PaymentRequestRecord {
  return {
    id,
    currency,
    merchantId: 3n,
    amount: 5n,
    orderRef: hex32(2),
    orderRefText: null,
    hold: 3_600n,
    expiresAt: 1_000,
    paymentId: null,
    createdAt: 1,
  };
}

const cursorAt = (blockNumber: bigint) => ({ blockNumber, blockHash: hex32(Number(blockNumber)), timestamp: 1_800 });

/**
 * The currency migration (SQLite 16, PostgreSQL 9) on a store an older relayer left at the version
 * before it, with rows in it: they become the
 * default currency the store is opened with, and the report cursor becomes that currency's.
 */
export function currencyMigrationSuite(openBefore: () => Promise<OldStoreFixture>): void {
  describe("currencies: migration 16 on a store with rows", () => {
    it("gives every existing row the default currency it is opened with", async () => {
      const old = await openBefore();
      try {
        const p = makePayment(1, { nonce: 4n, amount: 7n });
        const q = makePayment(2, { nonce: 5n, amount: 8n, state: PaymentState.Escrowed, batchId: 3n, releaseAt: 10n });
        for (const r of [p, q]) {
          await old.sql(
            `INSERT INTO payments (id, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline, signature,
               state, refunded, batch_id, release_at, created_at, updated_at, hold)
             VALUES ('${r.id}', '${r.payer.toLowerCase()}', '1', '${r.amount}', '${r.orderRef}', '${r.nonce}', '0',
               '2000000000', '${r.signature}', '${r.state}', '0', ${r.batchId === null ? "NULL" : `'${r.batchId}'`},
               ${r.releaseAt === null ? "NULL" : `'${r.releaseAt}'`}, ${r.createdAt}, ${r.updatedAt}, 3600)`,
          );
        }
        await old.sql(
          `INSERT INTO payment_requests (id, merchant_id, amount, order_ref, expires_at, created_at, hold)
           VALUES ('req_1', '1', '5', '${hex32(1)}', 10, 1, 3600)`,
        );
        await old.sql(
          `INSERT INTO batches (state, payment_ids, batch_id, created_at, updated_at) VALUES ('confirmed', '[]', '3', 1, 1)`,
        );
        await old.sql(
          `INSERT INTO settlements (merchant_id, batch_ids, state, created_at, updated_at) VALUES ('1', '["3"]', 'built', 1, 1)`,
        );
        await old.sql(
          `INSERT INTO relay_requests (id, operation, calldata, state, created_at, updated_at)
           VALUES ('${hex32(9)}', 'confirmWithSignature', '0x12', 'queued', 1, 1)`,
        );
        await old.sql(
          `INSERT INTO report_events (block_number, log_index, merchant_id, tx_hash, block_time, kind, fields)
           VALUES (5, 0, '1', '${hex32(8)}', 1000, 'paid', '{"payout":"${ADDRESS_B.toLowerCase()}","amount":"4"}')`,
        );
        await old.sql(
          `INSERT INTO report_index_cursor (id, block_number, block_hash, block_time) VALUES (1, 6, '${hex32(6)}', 1100)`,
        );

        const store = await old.open("USDC");
        expect(store.defaultCurrency).to.equal("USDC");
        expect(await store.schemaVersion()).to.equal(old.version + 1);
        const usdc = store.forCurrency("USDC");
        const usd = store.forCurrency("USD");
        expect((await usdc.payments.get(p.id))!.currency).to.equal("USDC");
        expect(await usd.payments.get(p.id)).to.equal(null);
        expect(await usdc.payments.pendingAmountOf(p.payer)).to.equal(7n);
        expect(await usdc.payments.pendingNoncesOf(p.payer)).to.deep.equal([4n]);
        expect(await usd.payments.pendingAmountOf(p.payer)).to.equal(0n);
        expect(await usdc.payments.releasableTranches([PaymentState.Escrowed], 10n)).to.deep.equal([
          { merchantId: 1n, batchId: 3n },
        ]);
        expect((await usdc.requests.get("req_1"))!.currency).to.equal("USDC");
        expect((await usdc.batches.getByBatchId(3n))!.currency).to.equal("USDC");
        expect(await usd.batches.getByBatchId(3n)).to.equal(null);
        expect((await usdc.settlements.listByState(["built"])).map((s) => s.currency)).to.deep.equal(["USDC"]);
        expect((await usdc.relayRequests.get(hex32(9)))!.currency).to.equal("USDC");
        expect(await usdc.reportIndex.cursor()).to.deep.equal({
          blockNumber: 6n,
          blockHash: hex32(6),
          timestamp: 1100,
        });
        expect(await store.reportIndex.cursor(), "the unscoped cursor: the default currency's").to.deep.equal(
          await usdc.reportIndex.cursor(),
        );
        expect(await usd.reportIndex.cursor()).to.equal(null);
        expect((await usdc.reportIndex.events(1n, 10n)).events.map((e) => e.kind)).to.deep.equal(["paid"]);
        // New rows are the view's; a second currency's same payer and nonce is free.
        const next = makePayment(3, { currency: "EUR", nonce: 4n, amount: 7n });
        expect([
          ...(await store.forCurrency("EUR").payments.insertAcceptedGuarded([{ record: next, ceiling: 7n }])).values(),
        ]).to.deep.equal(["inserted"]);
      } finally {
        await old.cleanup();
      }
    });
  });
}
