import { expect } from "chai";
import { PaymentState } from "../../../src/relayer/domain";
import type { SqliteStore } from "../../../src/relayer/store/sqlite";
import { WriterThread } from "../../../src/relayer/store/sqlite/writerThread";
import { enqueuePaymentEvent, paymentEventId } from "../../../src/relayer/webhooks/events";
import { makeEndpoint, makePayment, tempStore } from "../store/helpers";

describe("webhook events: payment.accepted and sequence numbers", function () {
  this.timeout(60_000);
  let store: SqliteStore;
  let file: string;
  let cleanup: () => Promise<void>;
  let writer: WriterThread | null;

  const events = async () =>
    (await store.outbox.due(Number.MAX_SAFE_INTEGER, 1000)).map((r) => ({
      endpoint: r.endpointId,
      ...(JSON.parse(r.payload) as {
        id: string;
        type: string;
        sequence: number;
        data: { id: string; state: string; currency: string };
      }),
    }));

  beforeEach(async () => {
    ({ store, file, cleanup } = await tempStore());
    writer = null;
    for (const [id, merchantId] of [
      ["we_1", 1n],
      ["we_2", 1n],
      ["we_other", 3n],
    ] as const) {
      await store.webhooks.create(makeEndpoint(id, { merchantId, url: "https://shop.example/h" }));
    }
  });
  afterEach(async () => {
    await writer?.close();
    await cleanup();
  });

  it("intake's writer thread queues payment.accepted in the commit that stores the payment, for listening merchants only", async () => {
    writer = new WriterThread(file);
    const mine = makePayment(1);
    const silent = makePayment(2, { merchantId: 2n }); // merchant 2 has no endpoint
    expect((await writer.insertAccepted([mine, silent])).size).to.equal(2);
    const queued = await events();
    expect(queued.map((e) => [e.endpoint, e.type, e.sequence, e.data.id, e.data.state])).to.deep.equal([
      ["we_1", "payment.accepted", 1, mine.id, "accepted"],
      ["we_2", "payment.accepted", 1, mine.id, "accepted"],
    ]);
    expect(queued[0].id).to.equal(paymentEventId(mine, "payment.accepted"));
    // The payload names the payment's currency (its escrow), as GET /v1/payments/:id does.
    expect(queued.map((e) => e.data.currency)).to.deep.equal([mine.currency, mine.currency]);
    // A retried submission of the same payment inserts nothing and queues nothing.
    expect((await writer.insertAccepted([mine])).size).to.equal(0);
    expect(await events()).to.have.length(2);
    // A group that fails queues nothing either: the event exists only if the payment does.
    const bad = makePayment(4, { createdAt: null as unknown as number });
    await writer.insertAccepted([makePayment(3), bad]).catch(() => undefined);
    expect(await store.payments.get(makePayment(3).id)).to.equal(null);
    expect(await events()).to.have.length(2);
  });

  it("numbers each payment's events 1, 2, 3... in the order they are queued; a repeated event takes no number", async () => {
    const p = makePayment(1);
    const q = makePayment(2);
    await store.payments.insertAccepted([p, q]);
    const at = (state: PaymentState, dt: number) => ({ ...p, state, updatedAt: p.updatedAt + dt });
    await enqueuePaymentEvent(store, at(PaymentState.Batched, 1));
    await enqueuePaymentEvent(store, at(PaymentState.Submitted, 2));
    expect(await enqueuePaymentEvent(store, at(PaymentState.Submitted, 2)), "a re-run after a crash").to.equal(0);
    // A reorg: back to accepted, then batched again (new changes, new events, later numbers).
    await enqueuePaymentEvent(store, at(PaymentState.Accepted, 3));
    await enqueuePaymentEvent(store, at(PaymentState.Batched, 4));
    const queued = await events();
    // One entry per event (each goes to both endpoints with the same number).
    const seq = (id: string) => [
      ...new Map(queued.filter((e) => e.data.id === id).map((e) => [e.id, [e.type, e.sequence]])).values(),
    ];
    expect(seq(p.id)).to.deep.equal([
      ["payment.accepted", 1],
      ["payment.batched", 2],
      ["payment.submitted", 3],
      ["payment.accepted", 4],
      ["payment.batched", 5],
    ]);
    expect(seq(q.id)).to.deep.equal([["payment.accepted", 1]]);
  });
});
