import { expect } from "chai";
import { PaymentState, type OutboxRecord } from "../../../src/relayer/domain";
import type { SqliteStore } from "../../../src/relayer/store/sqlite";
import type { DueEndpoint } from "../../../src/relayer/store/types";
import { WebhookDispatcher, type DeliveryOutcome } from "../../../src/relayer/webhooks/dispatcher";
import { enqueuePaymentEvent } from "../../../src/relayer/webhooks/events";
import { LogThrottle } from "../../../src/relayer/webhooks/logThrottle";
import { makeEndpoint, makePayment, tempStore } from "../store/helpers";
import { outboxRows, testDispatcher } from "./outbox";
import { Receiver, waitFor } from "./receiver";

describe("webhook dispatcher: fairness, backoff, disabling, pruning", function () {
  this.timeout(120_000);
  let store: SqliteStore;
  let file: string;
  let cleanup: () => Promise<void>;
  let receivers: Receiver[];
  let dispatchers: WebhookDispatcher[];
  let results: { outcome: DeliveryOutcome; record: OutboxRecord; error?: string }[];

  const receiver = async () => {
    const r = await new Receiver().start();
    receivers.push(r);
    return r;
  };
  const endpoint = (id: string, merchantId: bigint, url: string) =>
    store.webhooks.create(makeEndpoint(id, { merchantId, url, secret: `whsec_${id}` }));
  const dispatcher = (overrides: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {}) => {
    const d = testDispatcher({
      store,
      baseDelayMs: 50,
      maxAttempts: 50,
      onResult: (outcome, record, error) => results.push({ outcome, record, error }),
      ...overrides,
    });
    dispatchers.push(d);
    return d;
  };
  const rows = () => outboxRows(file);
  /** Queues `count` escrowed-payment events of `merchantId` (payments numbered from `from`). */
  const queue = async (merchantId: bigint, count: number, from: number) => {
    for (let n = from; n < from + count; n++) {
      await enqueuePaymentEvent(store, makePayment(n, { merchantId, state: PaymentState.Escrowed }), undefined, 1);
    }
  };

  beforeEach(async () => {
    ({ store, file, cleanup } = await tempStore());
    receivers = [];
    dispatchers = [];
    results = [];
  });
  afterEach(async () => {
    for (const d of dispatchers) await d.stop();
    for (const r of receivers) await r.stop();
    await cleanup();
  });

  it("a hanging receiver of merchant A does not delay merchant B's delivery (one outbox, oldest first, used to)", async () => {
    const slow = await receiver();
    slow.respond = () => "hang";
    const fast = await receiver();
    for (let i = 0; i < 4; i++) await endpoint(`we_a${i}`, 1n, slow.url);
    await endpoint("we_b", 2n, fast.url);
    await queue(1n, 60, 0); // 240 deliveries to A's endpoints, all queued before B's event
    await queue(2n, 1, 1_000);

    const queuedAt = Date.now();
    const d = dispatcher({ timeoutMs: 3_000, concurrency: 16, endpointConcurrency: 2 });
    d.start();
    await waitFor(() => fast.delivered().length === 1, "B's delivery");
    const latency = fast.requests[0].at - queuedAt;
    // Far below A's 3 s timeout: B never waited for A's receiver.
    expect(latency, `B's latency ${latency} ms`).to.be.below(1_000);
    // A's endpoints hold at most their own slots: 4 endpoints × 2.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slow.requests.length).to.be.at.most(8);
  });

  it("holds at most endpointConcurrency deliveries in flight per endpoint and concurrency in all", async () => {
    const slow = [await receiver(), await receiver(), await receiver()];
    for (const [i, r] of slow.entries()) {
      r.respond = () => "hang";
      await endpoint(`we_${i}`, 1n, r.url);
    }
    await queue(1n, 10, 0);
    const d = dispatcher({ timeoutMs: 5_000, concurrency: 5, endpointConcurrency: 2 });
    d.start();
    const total = () => slow.reduce((n, r) => n + r.requests.length, 0);
    await waitFor(() => total() >= 5, "five requests in flight");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(total(), "global limit").to.equal(5);
    // Round robin: every endpoint got a slot, none more than two.
    expect(slow.map((r) => r.requests.length).sort()).to.deep.equal([1, 2, 2]);
  });

  it("a dead endpoint is retried once per backoff, not once per queued event", async () => {
    const gone = await receiver();
    const url = gone.url;
    await gone.stop(); // connection refused
    await endpoint("we_dead", 1n, url);
    await queue(1n, 20, 0);
    const d = dispatcher({ baseDelayMs: 200, maxDelayMs: 10_000, disablePolicy: { failures: 1_000, spanMs: 0 } });
    d.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await d.stop();
    // Before: every due row was attempted in each tick (20 at once, then again per row backoff).
    // Now the endpoint backs off as a whole: ~0.15 + 0.3 + 0.6 s of backoff fit in a second.
    expect(results.length, `${results.length} attempts`).to.be.within(2, 5);
    expect(results.every((r) => r.outcome === "failed" && /ECONNREFUSED|network error/.test(r.error!))).to.equal(true);
    const details = await store.webhooks.getDetails("we_dead");
    expect(details!.consecutiveFailures).to.equal(results.length);
    expect(details!.failingSince).to.be.a("number");
    expect(details!.lastError).to.match(/ECONNREFUSED|network error/);
  });

  it("disables an endpoint after a run of failures, tells the caller once, and keeps its events for re-enabling", async () => {
    const failing = await receiver();
    failing.respond = () => 500;
    await endpoint("we_1", 1n, failing.url);
    await queue(1n, 5, 0);
    const disabled: { endpoint: DueEndpoint; failures: number; error: string }[] = [];
    const d = dispatcher({
      baseDelayMs: 10,
      disablePolicy: { failures: 3, spanMs: 0 },
      onDisabled: (e, failures, error) => disabled.push({ endpoint: e, failures, error }),
    });
    d.start();
    await waitFor(() => disabled.length === 1, "automatic disabling");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await d.stop();
    expect(failing.requests.length, "no request after disabling").to.equal(3);
    expect(disabled).to.have.length(1);
    expect([disabled[0].endpoint.id, disabled[0].failures, disabled[0].error]).to.deep.equal(["we_1", 3, "HTTP 500"]);
    const details = (await store.webhooks.getDetails("we_1"))!;
    expect([details.disabledReason, details.consecutiveFailures, details.lastError]).to.deep.equal([
      "failing",
      3,
      "HTTP 500",
    ]);
    expect(details.disabledAt).to.be.a("number");
    expect(rows().every((r) => r.dead_at !== null && r.last_error !== null)).to.equal(true);
    // The failed ones too: all five are set aside, none lost.
    expect(rows().filter((r) => r.last_error === "endpoint disabled")).to.have.length(5);
    // Nothing new is queued while it is disabled.
    expect(await enqueuePaymentEvent(store, makePayment(99, { state: PaymentState.Escrowed }))).to.equal(0);

    // Enabled again (the receiver is fixed): the set-aside events go out.
    failing.respond = () => 200;
    expect(await store.webhooks.enable("we_1", Date.now(), 0)).to.equal(5);
    await dispatcher().tick();
    expect(failing.delivered()).to.have.length(5);
    expect((await store.webhooks.getDetails("we_1"))!.consecutiveFailures).to.equal(0);
  });

  it("a run of failures disables only once it spans the policy's time as well", async () => {
    await endpoint("we_1", 1n, "https://shop.example/hooks");
    const policy = { failures: 3, spanMs: 60_000 };
    for (const at of [1_000, 2_000, 3_000, 4_000]) {
      expect(await store.webhooks.recordFailure("we_1", "HTTP 503", at, at + 1, policy)).to.deep.include({
        disabled: false,
      });
    }
    expect(await store.webhooks.recordFailure("we_1", "HTTP 503", 61_000, 61_001, policy)).to.deep.equal({
      consecutiveFailures: 5,
      disabled: true,
    });
    // A success in between starts the run again.
    await store.webhooks.enable("we_1", 70_000, 0);
    await store.webhooks.recordFailure("we_1", "HTTP 503", 71_000, 71_001, policy);
    await store.webhooks.recordSuccess("we_1");
    expect(await store.webhooks.recordFailure("we_1", "HTTP 503", 200_000, 200_001, policy)).to.deep.equal({
      consecutiveFailures: 1,
      disabled: false,
    });
  });

  it("refuses loopback addresses at delivery time unless allowed, for names (DNS) and literals", async () => {
    const target = await receiver();
    await endpoint("we_name", 1n, `http://localhost:${target.port}/hooks`);
    await endpoint("we_literal", 1n, target.url);
    await queue(1n, 1, 0);
    const strict = dispatcher({
      urlPolicy: { allowLoopback: false, allowPrivate: true },
      baseDelayMs: 10_000,
      maxDelayMs: 10_000,
    });
    expect(await strict.tick()).to.equal(2);
    expect(target.requests, "nothing reached the loopback receiver").to.have.length(0);
    expect(results.map((r) => r.error).sort()).to.deep.equal([
      "address not allowed: 127.0.0.1 is a loopback address",
      "address not allowed: localhost resolves to 127.0.0.1, a loopback address",
    ]);
    results = [];
    await store.webhooks.recordSuccess("we_name"); // end the backoff the refusals started
    await store.webhooks.recordSuccess("we_literal");
    const allowed = dispatcher({ now: () => Date.now() + 60_000 });
    expect(await allowed.tick()).to.equal(2);
    expect(target.delivered()).to.have.length(2);
  });

  it("prunes delivered and dead-lettered rows past the retention period, never undelivered ones", async () => {
    await endpoint("we_1", 1n, "https://shop.example/hooks");
    await queue(1n, 5, 0);
    const [oldDelivered, newDelivered, oldDead, newDead] = await store.outbox.due(Number.MAX_SAFE_INTEGER, 10);
    await store.outbox.markDelivered(oldDelivered.id, 1_000);
    await store.outbox.markDelivered(newDelivered.id, 9_500);
    await store.outbox.markDead(oldDead.id, "HTTP 500", 2_000);
    await store.outbox.markDead(newDead.id, "HTTP 500", 9_900);
    // The fifth stays pending, created long ago.
    const d = dispatcher({ now: () => 10_000, retentionMs: 5_000 });
    expect(await d.prune()).to.equal(2);
    expect(rows().map((r) => r.id)).to.deep.equal([newDelivered.id, newDead.id, rows()[2].id]);
    expect(rows()[2].delivered_at).to.equal(null);
    expect(rows()[2].dead_at).to.equal(null);
    expect(await d.prune()).to.equal(0);
  });

  it("LogThrottle logs a key once per interval with the number suppressed", () => {
    let now = 0;
    const throttle = new LogThrottle(1_000, () => now);
    expect(throttle.take("a")).to.equal(0);
    expect(throttle.take("a")).to.equal(null);
    expect(throttle.take("b")).to.equal(0);
    now = 500;
    expect(throttle.take("a")).to.equal(null);
    now = 1_000;
    expect(throttle.take("a")).to.equal(2);
    expect(throttle.take("a")).to.equal(null);
  });
});
