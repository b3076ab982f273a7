/**
 * Store suites for what must hold across relayer instances sharing one store, written once and run
 * against each store implementation (SQLite here; the PostgreSQL harness runs them too).
 */
import { expect } from "chai";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import type { RelayerStore } from "../../../src/relayer/store/types";
import { enqueuePaymentEvent } from "../../../src/relayer/webhooks/events";
import { ADDRESS_B, makeEndpoint, makePayment } from "./helpers";

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
