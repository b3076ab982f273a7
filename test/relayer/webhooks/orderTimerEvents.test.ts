/**
 * The order timer's webhook events on both stores, without a chain: each step the chain jobs write
 * queues its own type (payment.hold_extended also when the payment stays `held`, the rejection and
 * the clock resuming by name; the others as payment.<state>), with the timer in `data.timer`; ids
 * are stable (the same change queued again is one delivery) and two extensions are two events; a
 * field-only change without an event type queues nothing; the ledger hears only state changes.
 */
import { expect } from "chai";
import { REFUND_REASONS } from "../../../src/protocol";
import { PaymentState, type OrderTimer, type PaymentRecord } from "../../../src/relayer/domain";
import type { LedgerListener } from "../../../src/relayer/ledger/listener";
import { writePaymentChanges, type PaymentStateChange } from "../../../src/relayer/jobs/paymentChanges";
import { ORDER_TIMER_EVENT_TYPES, paymentEventId } from "../../../src/relayer/webhooks/events";
import { makeEndpoint, makePayment } from "../store/helpers";
import { describeEachStoreWithFixture, type AnyStore } from "../store/stores";

function buildTimer(overrides: Partial<OrderTimer> = {}): OrderTimer {
  return {
    extensions: 1,
    refundRequests: 0,
    holdLeft: null,
    request: null,
    escalateBy: null,
    dueAt: 1_800_000_000n,
    block: 10n,
    logIndex: 0,
    ...overrides,
  };
}

describeEachStoreWithFixture("webhooks: order-timer events", (ctx) => {
  let store: AnyStore;
  let heard: PaymentStateChange[][];
  const ledger: LedgerListener = {
    paymentsChanged: (changes) => heard.push([...changes]),
    chainAdvanced() {},
    rewound() {},
  };
  const events = async () =>
    (await store.outbox.due(Number.MAX_SAFE_INTEGER, 100))
      .sort((a, b) => a.id - b.id)
      .filter((r) => r.eventType !== "payment.accepted")
      .map((r) => ({ row: r, body: JSON.parse(r.payload) as { id: string; type: string; data: Record<string, any> } }));

  let escrowed: PaymentRecord;
  beforeEach(async () => {
    store = ctx.f.store;
    heard = [];
    await store.webhooks.create(makeEndpoint("we_1"));
    await store.payments.insertAccepted([makePayment(1)]);
    await store.payments.updateMany([
      { id: makePayment(1).id, state: PaymentState.Escrowed, fields: { releaseAt: 1_700_000_000n } },
    ]);
    escrowed = (await store.payments.get(makePayment(1).id))!;
  });

  /** Writes one change in its own transaction, as a watcher page does; returns the payment as written. */
  async function write(change: Parameters<typeof writePaymentChanges>[1][number], now: number) {
    const [written] = await store.transaction(() => writePaymentChanges(store, [change], now, ledger));
    return written;
  }

  it("one event per step, named for the timer's steps, with the timer in data; two extensions are two events", async () => {
    const t0 = escrowed.updatedAt + 1_000;
    const held1 = await write(
      {
        payment: escrowed,
        state: PaymentState.Held,
        fields: { releaseAt: 1_700_086_400n, timer: buildTimer() },
        event: "payment.hold_extended",
      },
      t0,
    );
    const held2 = await write(
      {
        payment: held1,
        state: PaymentState.Held,
        fields: { releaseAt: 1_700_172_800n, timer: buildTimer({ extensions: 2, block: 11n }) },
        event: "payment.hold_extended",
      },
      t0,
    );
    const request = { amount: 4n, reason: REFUND_REASONS.damaged, respondBy: 1_700_259_200n };
    const requested = await write(
      {
        payment: held2,
        state: PaymentState.RefundRequested,
        fields: { releaseAt: null, timer: buildTimer({ extensions: 2, refundRequests: 1, holdLeft: 3600n, request }) },
      },
      t0,
    );
    const resumed = await write(
      {
        payment: requested,
        state: PaymentState.Held,
        fields: { releaseAt: 1_700_003_600n, timer: buildTimer({ extensions: 2, refundRequests: 1 }) },
        event: "payment.hold_resumed",
      },
      t0,
    );
    // A refund's field change alone: no event.
    await write({ payment: resumed, fields: { refunded: 4n } }, t0);

    const queued = await events();
    expect(queued.map((e) => e.body.type)).to.deep.equal([
      "payment.hold_extended",
      "payment.hold_extended",
      "payment.refund_requested",
      "payment.hold_resumed",
    ]);
    expect(new Set(queued.map((e) => e.body.id)).size, "two extensions, two ids").to.equal(4);
    expect(queued[0].body.id).to.equal(paymentEventId(held1, "payment.hold_extended"));
    expect(queued[1].body.id).to.equal(paymentEventId(held2, "payment.hold_extended"));
    expect(queued[1].body.data).to.deep.include({ state: "held", releaseAt: "1700172800" });
    expect(queued[1].body.data.timer).to.deep.equal({
      releaseAt: "1700172800",
      extensions: 2,
      refundRequests: 0,
      holdLeft: null,
      refundRequest: null,
      escalateBy: null,
    });
    expect(queued[2].body.data.timer).to.deep.include({
      releaseAt: null,
      holdLeft: "3600",
      refundRequest: { amount: "4", reason: REFUND_REASONS.damaged, reasonName: "damaged", respondBy: "1700259200" },
    });
    // The ledger hears state changes only: the second extension kept the payment held.
    expect(heard.flat().map((c) => [c.before, c.after.state])).to.deep.equal([
      [PaymentState.Escrowed, PaymentState.Held],
      [PaymentState.Held, PaymentState.RefundRequested],
      [PaymentState.RefundRequested, PaymentState.Held],
    ]);
  });

  it("the same change queued again (a crash before the cursor moved) is one delivery: ids are stable", async () => {
    const at = escrowed.updatedAt + 1_000;
    const change = {
      payment: escrowed,
      state: PaymentState.RefundRejected,
      fields: { timer: buildTimer({ escalateBy: 1_700_604_800n }) },
      event: "payment.refund_request_rejected" as const,
    };
    await write(change, at);
    await write(change, at);
    const queued = await events();
    expect(queued.map((e) => e.body.type)).to.deep.equal(["payment.refund_request_rejected"]);
    expect(queued[0].body.data.timer.escalateBy).to.equal("1700604800");
    expect(ORDER_TIMER_EVENT_TYPES).to.deep.equal([
      "payment.hold_extended",
      "payment.refund_request_rejected",
      "payment.hold_resumed",
    ]);
  });
});
