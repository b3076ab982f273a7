import { expect } from "chai";
import { PaymentState } from "../../../src/relayer/domain";
import type { RelayerStore } from "../../../src/relayer/store/types";
import { enqueuePaymentEvent } from "../../../src/relayer/webhooks/events";
import { EVENT_ID_HEADER } from "../../../src/protocol/schemas/webhookSignature";
import { makeEndpoint, makePayment, tempStore } from "../store/helpers";
import { testDispatcher } from "./outbox";
import { Receiver, waitFor } from "./receiver";

describe("webhooks: two dispatchers on one store", function () {
  this.timeout(60_000);
  let receiver: Receiver;
  let cleanup: () => Promise<void>;
  let store: RelayerStore;

  beforeEach(async () => {
    receiver = await new Receiver().start();
    const temp = await tempStore();
    store = temp.store;
    cleanup = temp.cleanup;
  });
  afterEach(async () => {
    await receiver.stop();
    await cleanup();
  });

  it("deliver every event at least once, one dispatcher at a time per endpoint, a retry with the same event id", async () => {
    const endpoints = 3;
    const perEndpoint = 5;
    for (let e = 1; e <= endpoints; e++) {
      await store.webhooks.create(makeEndpoint(`we_${e}`, { merchantId: BigInt(e), url: `${receiver.url}?e=${e}` }));
    }
    for (let e = 1; e <= endpoints; e++) {
      for (let i = 0; i < perEndpoint; i++) {
        const n = e * 100 + i;
        await enqueuePaymentEvent(store, makePayment(n, { merchantId: BigInt(e), state: PaymentState.Escrowed }));
      }
    }
    // Every third request fails: those events are retried.
    receiver.respond = (index) => (index % 3 === 0 ? 500 : 200);
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const countingFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      const now = (inFlight.get(url) ?? 0) + 1;
      inFlight.set(url, now);
      if (now > 1) overlaps++;
      try {
        await new Promise((resolve) => setTimeout(resolve, 15));
        return await fetch(input, init);
      } finally {
        inFlight.set(url, inFlight.get(url)! - 1);
      }
    };
    const options = { store, fetch: countingFetch, endpointConcurrency: 1, baseDelayMs: 20, maxDelayMs: 50 };
    const a = testDispatcher({ ...options, holder: "a" });
    const b = testDispatcher({ ...options, holder: "b" });
    a.start();
    b.start();
    try {
      await waitFor(async () => (await store.outbox.pendingCount()) === 0, "every event delivered");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(overlaps).to.equal(0);
    const delivered = receiver.delivered().map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()] as string);
    expect(new Set(delivered).size).to.equal(endpoints * perEndpoint);
    const failed = receiver.requests
      .filter((r) => r.status >= 300)
      .map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()] as string);
    expect(failed.length).to.be.greaterThan(0);
    // A failed attempt's event was later delivered under the same id.
    for (const id of failed) expect(delivered).to.include(id);
  });
});
