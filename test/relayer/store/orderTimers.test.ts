/**
 * The payment's order timer in both stores (migration 15): written by updateMany, read back exactly
 * by get/getMany/list, cleared with null; the chain jobs' reads over it: the keeper's due list
 * (soonest first, bounded, without skipped merchants), the timers a reorg must re-check, and the
 * payments released outside their tranche.
 */
import { expect } from "chai";
import { PaymentState, type OrderTimer, type PaymentRecord } from "../../../src/relayer/domain";
import { makePayment } from "./helpers";
import { describeEachStoreWithFixture, type AnyStore } from "./stores";

/** A timer with overrides; the defaults are those of a payment extended once in block 100. */
function buildTimer(overrides: Partial<OrderTimer> = {}): OrderTimer {
  return {
    extensions: 1,
    refundRequests: 0,
    holdLeft: null,
    request: null,
    escalateBy: null,
    dueAt: 1_800_000_000n,
    block: 100n,
    logIndex: 0,
    ...overrides,
  };
}

describeEachStoreWithFixture("store: order timers", (ctx) => {
  let store: AnyStore;
  beforeEach(() => {
    store = ctx.f.store;
  });

  async function withTimers(
    specs: { n: number; state: PaymentState; timer: OrderTimer | null; merchantId?: bigint }[],
  ) {
    const payments = specs.map((s) => makePayment(s.n, { merchantId: s.merchantId ?? 1n }));
    await store.payments.insertAccepted(payments);
    await store.payments.updateMany(
      specs.map((s, i) => ({ id: payments[i].id, state: s.state, fields: { timer: s.timer } })),
    );
    return payments;
  }

  const ids = (ps: PaymentRecord[]) => ps.map((p) => p.id);

  it("an accepted payment has no timer; a written timer reads back exactly (uint128 amounts, uint48 times), and null clears it", async () => {
    const [p] = await withTimers([{ n: 1, state: PaymentState.Accepted, timer: null }]);
    expect((await store.payments.get(p.id))!.timer).to.equal(null);
    const timer = buildTimer({
      refundRequests: 3,
      holdLeft: 86_399n,
      request: { amount: 2n ** 128n - 1n, reason: 255, respondBy: 2n ** 47n },
      escalateBy: 2n ** 47n + 1n,
      dueAt: 2n ** 47n,
      block: 2n ** 53n + 5n,
      logIndex: Number.MAX_SAFE_INTEGER,
    });
    await store.payments.updateMany([
      { id: p.id, state: PaymentState.RefundRequested, fields: { timer, releaseAt: null } },
    ]);
    const got = (await store.payments.get(p.id))!;
    expect(got.state).to.equal(PaymentState.RefundRequested);
    expect(got.timer).to.deep.equal(timer);
    expect((await store.payments.getMany([p.id])).get(p.id)!.timer).to.deep.equal(timer);
    expect((await store.payments.list({ limit: 10 })).items[0].timer).to.deep.equal(timer);

    await store.payments.updateMany([{ id: p.id, state: PaymentState.Accepted, fields: { timer: null } }]);
    expect((await store.payments.get(p.id))!.timer).to.equal(null);
    expect(await store.payments.listTimersAfter(0n)).to.deep.equal([]);
  });

  it("listTimersDue: due by the given time, soonest first, at most `limit`, leaving out skipped merchants and timers with no due time", async () => {
    const payments = await withTimers([
      { n: 1, state: PaymentState.Held, timer: buildTimer({ dueAt: 300n }) },
      { n: 2, state: PaymentState.RefundRequested, timer: buildTimer({ dueAt: 100n }) },
      { n: 3, state: PaymentState.Held, timer: buildTimer({ dueAt: 200n }), merchantId: 2n },
      { n: 4, state: PaymentState.Held, timer: buildTimer({ dueAt: 301n }) },
      { n: 5, state: PaymentState.Released, timer: buildTimer({ dueAt: null }) },
      { n: 6, state: PaymentState.Escrowed, timer: null },
    ]);
    const [p1, p2, p3] = payments;
    expect(ids(await store.payments.listTimersDue(300n, 10))).to.deep.equal(ids([p2, p3, p1]));
    expect(ids(await store.payments.listTimersDue(300n, 2))).to.deep.equal(ids([p2, p3]));
    expect(ids(await store.payments.listTimersDue(300n, 10, [2n]))).to.deep.equal(ids([p2, p1]));
    expect(ids(await store.payments.listTimersDue(99n, 10))).to.deep.equal([]);
    expect(ids(await store.payments.listTimersDue(2n ** 62n, 10, [1n]))).to.deep.equal(ids([p3]));
  });

  it("listTimersAfter: the timers an event above the block wrote last", async () => {
    const [, p2, p3] = await withTimers([
      { n: 1, state: PaymentState.Held, timer: buildTimer({ block: 100n }) },
      { n: 2, state: PaymentState.Held, timer: buildTimer({ block: 101n }) },
      { n: 3, state: PaymentState.Disputed, timer: buildTimer({ block: 250n, dueAt: null }) },
      { n: 4, state: PaymentState.Escrowed, timer: null },
    ]);
    expect(ids(await store.payments.listTimersAfter(100n))).to.deep.equal(ids([p2, p3]));
    expect(ids(await store.payments.listTimersAfter(250n))).to.deep.equal([]);
  });

  it("listReleasedOffTranche: released payments with a timer, of one merchant or all", async () => {
    const [p1, , p3] = await withTimers([
      { n: 1, state: PaymentState.Released, timer: buildTimer({ dueAt: null }) },
      { n: 2, state: PaymentState.Released, timer: null },
      { n: 3, state: PaymentState.Released, timer: buildTimer({ dueAt: null }), merchantId: 2n },
      { n: 4, state: PaymentState.Settled, timer: buildTimer({ dueAt: null }) },
      { n: 5, state: PaymentState.Held, timer: buildTimer() },
    ]);
    expect(ids(await store.payments.listReleasedOffTranche())).to.deep.equal(ids([p1, p3]));
    expect(ids(await store.payments.listReleasedOffTranche(2n))).to.deep.equal(ids([p3]));
    expect(ids(await store.payments.listReleasedOffTranche(3n))).to.deep.equal([]);
  });
});
