import { expect } from "chai";
import { isApiError } from "../../../src/relayer/errors";
import { SharedFailureLimiter, SharedTokenBucketLimiter } from "../../../src/relayer/http/rateLimit";
import type { RelayerStore } from "../../../src/relayer/store/types";
import { tempStore } from "../store/helpers";

/** The error code and Retry-After seconds `work` was refused with, or null if it passed. */
async function refusal(work: () => unknown): Promise<{ code: string; retryAfterSeconds: unknown } | null> {
  try {
    await work();
    return null;
  } catch (error) {
    if (!isApiError(error)) throw error;
    return { code: error.code, retryAfterSeconds: error.details?.retryAfterSeconds };
  }
}

describe("rate limits shared by two instances on one store", () => {
  let store: RelayerStore;
  let cleanup: () => Promise<void>;
  let now = 1_000_000;
  const clock = () => now;
  beforeEach(async () => {
    const temp = await tempStore();
    store = temp.store;
    cleanup = temp.cleanup;
    now = 1_000_000;
  });
  afterEach(async () => cleanup());

  it("a merchant gets exactly the shared budget across both instances, then 429 rate_limited with Retry-After", async () => {
    // 1 token/s, burst 40, chunks of 8: the instances take from the shared bucket 8 at a time.
    const a = new SharedTokenBucketLimiter(store.rateLimits, "requests", 1, 40, clock, "rate_limited", 8);
    const b = new SharedTokenBucketLimiter(store.rateLimits, "requests", 1, 40, clock, "rate_limited", 8);
    let passed = 0;
    const refused: { code: string; retryAfterSeconds: unknown }[] = [];
    for (let i = 0; i < 60; i++) {
      const limiter = i % 2 === 0 ? a : b;
      const outcome = await refusal(() => limiter.take("merchant:1"));
      if (outcome === null) passed++;
      else refused.push(outcome);
    }
    expect(passed).to.equal(40);
    expect(refused[0]).to.deep.equal({ code: "rate_limited", retryAfterSeconds: 1 });
    // Another merchant has its own budget.
    expect(await refusal(() => b.take("merchant:2"))).to.equal(null);
    // A second later one token is back, on either instance.
    now += 1_000;
    const again = await Promise.all([refusal(() => a.take("merchant:1")), refusal(() => b.take("merchant:1"))]);
    expect(again.filter((r) => r === null)).to.have.length(1);
  });

  it("a batch's debt on one instance is paid from the shared bucket before the other gets more", async () => {
    const a = new SharedTokenBucketLimiter(store.rateLimits, "requests", 0.001, 20, clock, "rate_limited", 4);
    const b = new SharedTokenBucketLimiter(store.rateLimits, "requests", 0.001, 20, clock, "rate_limited", 4);
    await a.take("ip:1");
    a.charge("ip:1", 17); // a batch of 18 items
    // The next take pays the debt from the shared bucket: 4 + 15 of its 20 tokens are now spent.
    expect(await refusal(() => a.take("ip:1"))).to.equal(null);
    // One token is left in all, whichever instance (a prefetches) ends up spending it.
    let passed = 0;
    for (let i = 0; i < 10; i++) if ((await refusal(() => (i % 2 ? a : b).take("ip:1"))) === null) passed++;
    expect(passed).to.equal(1);
  });

  it("failed authentications: the budget holds across instances, plus at most one per instance", async () => {
    const a = new SharedFailureLimiter(store.rateLimits, "auth", 10 / 60, 5, clock, "too_many_auth_failures");
    const b = new SharedFailureLimiter(store.rateLimits, "auth", 10 / 60, 5, clock, "too_many_auth_failures");
    let attempts = 0;
    for (let i = 0; i < 20; i++) {
      const limiter = i % 2 === 0 ? a : b;
      if ((await refusal(() => limiter.check("ip:9"))) !== null) continue;
      attempts++;
      await limiter.charge("ip:9", 1);
    }
    expect(attempts).to.be.at.most(5 + 2);
    expect(attempts).to.be.at.least(5);
    const refused = await refusal(() => a.check("ip:9"));
    expect(refused?.code).to.equal("too_many_auth_failures");
    expect(refused?.retryAfterSeconds).to.be.a("number").greaterThan(0);
    // Successful authentications cost nothing: another IP is untouched.
    expect(await refusal(() => b.check("ip:10"))).to.equal(null);
  });
});
