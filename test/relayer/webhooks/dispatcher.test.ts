import { expect } from "chai";
import { PaymentState, type OutboxRecord } from "../../../src/relayer/domain";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { backoffDelay, WebhookDispatcher, type DeliveryOutcome } from "../../../src/relayer/webhooks/dispatcher";
import { enqueuePaymentEvent, paymentEventId } from "../../../src/relayer/webhooks/events";
import { verifyWebhook } from "../../../src/protocol/schemas/webhookSignature";
import { makeEndpoint, makePayment, tempStore } from "../store/helpers";
import { outboxRows, testDispatcher } from "./outbox";
import { Receiver, waitFor } from "./receiver";

const SECRET = "whsec_dispatch";
const BASE = 60;

describe("webhook dispatcher", function () {
  this.timeout(120_000);
  let store: SqliteStore;
  let file: string;
  let cleanup: () => Promise<void>;
  let receiver: Receiver;
  let dispatchers: WebhookDispatcher[];
  let results: { outcome: DeliveryOutcome; error?: string }[];

  const dispatcher = (overrides: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {}) => {
    const d = testDispatcher({
      store,
      baseDelayMs: BASE,
      maxAttempts: 8,
      onResult: (outcome, _record: OutboxRecord, error) => results.push({ outcome, error }),
      ...overrides,
    });
    dispatchers.push(d);
    return d;
  };
  const rows = () => outboxRows(file);

  beforeEach(async () => {
    ({ store, file, cleanup } = await tempStore());
    receiver = await new Receiver().start();
    dispatchers = [];
    results = [];
    await store.webhooks.create(makeEndpoint("we_1", { url: receiver.url, secret: SECRET }));
  });
  afterEach(async () => {
    for (const d of dispatchers) await d.stop();
    await receiver.stop();
    await store.close(); // the current store: a test may have reopened it
    await cleanup();
  });

  it("enqueuePaymentEvent builds a deterministic, idempotent event per state change", async () => {
    const payment = makePayment(1, { state: PaymentState.Escrowed, amount: 2n ** 70n, batchId: 3n });
    expect(await enqueuePaymentEvent(store, payment, "payment.escrowed", 5_000)).to.equal(1);
    expect(await enqueuePaymentEvent(store, payment, undefined, 6_000), "same change again").to.equal(0);
    const [row] = await store.outbox.due(10_000, 10);
    const event = JSON.parse(row.payload);
    expect(event.id)
      .to.equal(paymentEventId(payment, "payment.escrowed"))
      .and.match(/^evt_[0-9a-f]{32}$/);
    expect(row.eventId).to.equal(event.id);
    expect(event.type).to.equal("payment.escrowed");
    expect(event.createdAt).to.equal(new Date(5_000).toISOString());
    expect(event.data).to.deep.include({
      id: payment.id,
      state: "escrowed",
      amount: (2n ** 70n).toString(),
      merchantId: "1",
      batchId: "3",
    });
    const released = { ...payment, state: PaymentState.Released, updatedAt: payment.updatedAt + 1 };
    expect(await enqueuePaymentEvent(store, released, undefined, 7_000)).to.equal(1);
    expect((await store.outbox.due(10_000, 10)).map((r) => r.eventType)).to.deep.equal([
      "payment.escrowed",
      "payment.released",
    ]);
    expect(await enqueuePaymentEvent(store, makePayment(2, { merchantId: 9n }))).to.equal(0); // no endpoint
  });

  it("retries a receiver that answers 500 with backoff, then delivers exactly once with a valid signature", async () => {
    receiver.respond = (i) => (i < 2 ? 500 : 200);
    const payment = makePayment(1, { state: PaymentState.Escrowed });
    await enqueuePaymentEvent(store, payment, undefined, Date.now());
    const d = dispatcher();
    d.start();
    await waitFor(async () => (await store.outbox.pendingCount()) === 0, "delivery");
    await d.stop();

    expect(receiver.requests.map((r) => r.status)).to.deep.equal([500, 500, 200]);
    expect(results.map((r) => r.outcome)).to.deep.equal(["failed", "failed", "delivered"]);
    // Gaps follow the backoff: attempt 1 → ~45ms (60·¾), attempt 2 → ~90ms (120·¾).
    const [a, b, c] = receiver.requests.map((r) => r.at);
    expect(b - a).to.be.at.least(backoffDelay(1, BASE, 400, () => 0.5) - 5);
    expect(c - b).to.be.at.least(backoffDelay(2, BASE, 400, () => 0.5) - 5);

    const delivered = receiver.delivered()[0];
    expect(delivered.method).to.equal("POST");
    expect(delivered.headers["content-type"]).to.equal("application/json");
    expect(delivered.headers["stablepay-event-type"]).to.equal("payment.escrowed");
    expect(delivered.headers["stablepay-event-id"]).to.equal(paymentEventId(payment, "payment.escrowed"));
    const verified = verifyWebhook({
      secret: SECRET,
      header: delivered.headers["stablepay-signature"],
      body: delivered.body,
      seenEventIds: new Set(),
    });
    expect(verified.eventId).to.equal(delivered.headers["stablepay-event-id"]);
    expect(() =>
      verifyWebhook({ secret: "other", header: delivered.headers["stablepay-signature"], body: delivered.body }),
    ).to.throw(/signature/);

    const [row] = rows();
    expect(row.attempts).to.equal(3);
    expect(row.delivered_at).to.be.a("number");
    expect(row.last_error).to.equal(null);
    // Exactly once: further ticks find nothing.
    expect(await dispatcher().tick()).to.equal(0);
    expect(receiver.requests.length).to.equal(3);
  });

  it("keeps retrying while the receiver is down (connection refused) and delivers after it restarts", async () => {
    await receiver.stop();
    await enqueuePaymentEvent(store, makePayment(1, { state: PaymentState.Accepted }), undefined, Date.now());
    const d = dispatcher();
    d.start();
    await waitFor(() => (rows()[0]?.attempts ?? 0) >= 2, "two refused attempts");
    expect(rows()[0].last_error).to.match(/ECONNREFUSED|network error/);
    expect(rows()[0].delivered_at).to.equal(null);
    await receiver.restart();
    await waitFor(() => rows()[0].delivered_at !== null, "delivery after restart");
    expect(receiver.requests.length).to.equal(1);
    expect(receiver.delivered().length).to.equal(1);
  });

  it("a new dispatcher on the same database file resumes pending deliveries", async () => {
    receiver.respond = () => 503;
    await enqueuePaymentEvent(store, makePayment(1, { state: PaymentState.Escrowed }), undefined, Date.now());
    const first = dispatcher();
    first.start();
    await waitFor(() => rows()[0].attempts >= 1, "a failed attempt");
    await first.stop();
    // Also an event queued while no dispatcher runs.
    await enqueuePaymentEvent(store, makePayment(2, { state: PaymentState.Escrowed }), undefined, Date.now());
    await store.close();

    receiver.respond = () => 200;
    store = await openSqliteStore(file);
    const second = dispatcher({ store });
    second.start();
    await waitFor(async () => (await store.outbox.pendingCount()) === 0, "resumed deliveries");
    const ids = receiver.delivered().map((r) => JSON.parse(r.body.toString()).id);
    expect(ids.sort()).to.deep.equal(
      [makePayment(1), makePayment(2)].map((p) => paymentEventId({ ...p }, "payment.escrowed")).sort(),
    );
  });

  it("dead-letters after max attempts, reports it, and never sends it again", async () => {
    receiver.respond = () => 500;
    await enqueuePaymentEvent(store, makePayment(1, { state: PaymentState.Rejected }), undefined, Date.now());
    const d = dispatcher({ maxAttempts: 3 });
    d.start();
    await waitFor(async () => (await store.outbox.deadCount()) === 1, "dead letter");
    await d.stop();
    expect(receiver.requests.length).to.equal(3);
    expect(results.map((r) => r.outcome)).to.deep.equal(["failed", "failed", "dead"]);
    expect(results[2].error).to.equal("HTTP 500");
    const [row] = rows();
    expect([row.attempts, row.delivered_at, row.last_error]).to.deep.equal([3, null, "HTTP 500"]);
    expect(row.dead_at).to.be.a("number");
    expect(await store.outbox.pendingCount()).to.equal(0);
    expect(await dispatcher({ now: () => Date.now() + 1e12 }).tick()).to.equal(0);
    expect(receiver.requests.length).to.equal(3);
  });

  it("treats a timeout and a redirect as failures, and dead-letters deliveries to a disabled endpoint", async () => {
    receiver.respond = (i) => (i === 0 ? "hang" : i === 1 ? 302 : 200);
    await enqueuePaymentEvent(store, makePayment(1, { state: PaymentState.Escrowed }), undefined, Date.now());
    const d = dispatcher({ timeoutMs: 1_000 });
    d.start();
    await waitFor(() => rows()[0].delivered_at !== null, "delivery after timeout and redirect");
    await d.stop();
    expect(results.map((r) => r.error ?? r.outcome)).to.deep.equal(["timeout after 1000ms", "HTTP 302", "delivered"]);

    await enqueuePaymentEvent(store, makePayment(2, { state: PaymentState.Escrowed }), undefined, Date.now());
    await store.webhooks.disable("we_1", Date.now());
    const sent = receiver.requests.length;
    expect(await dispatcher().tick(), "nothing is due for a disabled endpoint").to.equal(0);
    expect(receiver.requests.length).to.equal(sent);
    expect(rows()[1].dead_at).to.be.a("number");
    expect(rows()[1].last_error).to.equal("endpoint disabled");
  });

  it("backoff grows exponentially with jitter and is capped", () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 1e9, () => 0))).to.deep.equal([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 1e9, () => 0.999999))).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(backoffDelay(40, 1000, 3_600_000, () => 0.5)).to.equal(2_700_000);
    expect(backoffDelay(5000, 1000, 3_600_000, () => 0)).to.equal(1_800_000);
  });
});
