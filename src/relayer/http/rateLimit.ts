import { ApiError, type ErrorCode } from "../errors";
import type { RateLimitRepository } from "../store/types";

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Past this many buckets, idle (full) ones are dropped: a flood of client IPs cannot grow memory forever. */
const MAX_BUCKETS = 100_000;

/**
 * Token bucket per caller (a merchant, or a client IP on customer routes): `burst` requests at
 * once, refilled at `perSecond`. A request may cost more than one token (a batch costs one per
 * item): it is let in when at least one token is left and may leave the bucket in debt, which later
 * requests wait out, so the average rate holds whatever the request sizes. In memory, per process:
 * exact for one instance; several instances on one store use SharedTokenBucketLimiter below.
 */
export class TokenBucketLimiter implements RequestLimiter, FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    /** The 429 code this limiter answers with. */
    private readonly code: ErrorCode = "rate_limited",
  ) {}

  /** Takes `cost` tokens for `key`, or throws 429 (`code`) with the seconds until one is free. */
  take(key: string, cost = 1): void {
    this.check(key);
    this.charge(key, cost);
  }

  /** Throws 429 if `key` has no token left; takes nothing. */
  check(key: string): void {
    const bucket = this.bucket(key);
    if (bucket.tokens >= 1) return;
    const retryAfterSeconds = this.perSecond > 0 ? Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) : 60;
    throw new ApiError(this.code, "too many requests", { retryAfterSeconds });
  }

  /** Takes `cost` tokens from `key` whatever is left (the bucket may go into debt). */
  charge(key: string, cost: number): void {
    this.bucket(key).tokens -= cost;
  }

  private bucket(key: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.prune(now);
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
      bucket.updatedAt = now;
    }
    return bucket;
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    // Everyone is mid-burst: forget the oldest rather than refuse to track new callers.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < MAX_BUCKETS) break;
      this.buckets.delete(key);
    }
  }
}

/** A request limiter: `take` refuses with 429 when the caller has no token left; `charge` may go into debt. */
export interface RequestLimiter {
  take(key: string, cost?: number): void | Promise<void>;
  charge(key: string, cost: number): void;
}

/** A limiter of failures (authentication): `check` refuses while the budget is spent, `charge` spends it. */
export interface FailureLimiter {
  check(key: string): void;
  charge(key: string, cost: number): void | Promise<void>;
}

interface Allowance {
  /** Tokens taken from the shared bucket and not spent yet (negative: a debt, paid at the next take). */
  tokens: number;
  /** The shared bucket refused until then: no store call before. */
  refusedUntil: number;
  refill: Promise<void> | null;
  usedAt: number;
}

/**
 * A token bucket shared by every relayer instance on the store (`store.rateLimits`), spent locally:
 * an instance takes tokens from the shared bucket `chunk` at a time (one store round trip per chunk,
 * fetched ahead when half spent) and spends them in memory, falling back to single tokens when the
 * shared bucket has less than a chunk. Every token spent was taken from the shared bucket, so the
 * shared rate holds; what an instance holds unspent can be spent later, so a burst may exceed
 * `burst` by at most instances × chunk. Refusals are remembered until the shared bucket's wait ends.
 */
export class SharedTokenBucketLimiter implements RequestLimiter {
  private readonly allowances = new Map<string, Allowance>();
  readonly chunk: number;

  constructor(
    private readonly repo: RateLimitRepository,
    /** Namespace of this limiter's keys in the shared table. */
    private readonly name: string,
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly code: ErrorCode = "rate_limited",
    chunk?: number,
  ) {
    // A tenth of a second of the rate, at most an eighth of the burst: small against both bounds.
    this.chunk = Math.max(1, Math.floor(chunk ?? Math.min(burst / 8, Math.ceil(perSecond / 10))));
  }

  async take(key: string, cost = 1): Promise<void> {
    const allowance = this.allowance(key);
    if (allowance.tokens < 1) {
      if (allowance.refill) await allowance.refill;
      if (allowance.tokens < 1) {
        if (this.now() < allowance.refusedUntil) throw this.refusal(allowance.refusedUntil - this.now());
        await this.refill(key, allowance);
      }
      if (allowance.tokens < 1) {
        const waitMs =
          allowance.refusedUntil > this.now()
            ? allowance.refusedUntil - this.now()
            : ((1 - allowance.tokens) / Math.max(this.perSecond, 1e-9)) * 1000;
        throw this.refusal(waitMs);
      }
    }
    allowance.tokens -= cost;
    this.prefetch(key, allowance);
  }

  charge(key: string, cost: number): void {
    const allowance = this.allowance(key);
    allowance.tokens -= cost;
    this.prefetch(key, allowance);
  }

  /** Fetches the next chunk in the background once half of the current one is spent. */
  private prefetch(key: string, allowance: Allowance): void {
    if (this.chunk < 2 || allowance.tokens >= this.chunk / 2 || allowance.refill) return;
    if (this.now() < allowance.refusedUntil) return;
    // A failed prefetch is retried by the next take, which then reports the error.
    this.refill(key, allowance).catch(() => undefined);
  }

  /** One refill at a time per key; concurrent takes wait for it. */
  private refill(key: string, allowance: Allowance): Promise<void> {
    allowance.refill ??= this.fetch(key, allowance).finally(() => (allowance.refill = null));
    return allowance.refill;
  }

  private async fetch(key: string, allowance: Allowance): Promise<void> {
    const shared = `${this.name}:${key}`;
    const need = Math.min(this.burst, Math.max(1, Math.ceil(1 - allowance.tokens)));
    const want = Math.min(this.burst, Math.max(need, this.chunk + Math.max(0, need - 1)));
    let result = await this.repo.take(shared, this.perSecond, this.burst, want, this.now());
    let taken = want;
    if (!result.allowed && want > need) {
      result = await this.repo.take(shared, this.perSecond, this.burst, need, this.now());
      taken = need;
    }
    if (result.allowed) {
      allowance.tokens += taken;
      allowance.refusedUntil = 0;
    } else allowance.refusedUntil = this.now() + result.retryAfterMs;
  }

  private refusal(waitMs: number): ApiError {
    const retryAfterSeconds = this.perSecond > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 60;
    return new ApiError(this.code, "too many requests", { retryAfterSeconds });
  }

  private allowance(key: string): Allowance {
    const now = this.now();
    let allowance = this.allowances.get(key);
    if (!allowance) {
      if (this.allowances.size >= MAX_BUCKETS) this.prune(now);
      allowance = { tokens: 0, refusedUntil: 0, refill: null, usedAt: now };
      this.allowances.set(key, allowance);
    }
    allowance.usedAt = now;
    return allowance;
  }

  /** Forgets idle callers (their unspent tokens are given up), oldest first. */
  private prune(now: number): void {
    for (const [key, a] of this.allowances) {
      if (!a.refill && a.tokens >= 0 && now - a.usedAt > 60_000) this.allowances.delete(key);
    }
    for (const [key, a] of this.allowances) {
      if (this.allowances.size < MAX_BUCKETS) break;
      if (!a.refill) this.allowances.delete(key);
    }
  }
}

/**
 * Failures (authentication) counted in the shared bucket: each failure takes one token from it in
 * a store call (failures are rare; successes cost nothing). When the shared bucket is empty the
 * instance refuses the key locally until it refills, so across N instances a caller gets at most
 * N failures more than the budget (one per instance that has not yet seen the bucket empty).
 */
export class SharedFailureLimiter implements FailureLimiter {
  private readonly refusedUntil = new Map<string, number>();

  constructor(
    private readonly repo: RateLimitRepository,
    private readonly name: string,
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly code: ErrorCode = "rate_limited",
  ) {}

  check(key: string): void {
    const until = this.refusedUntil.get(key);
    if (until === undefined) return;
    const now = this.now();
    if (now >= until) {
      this.refusedUntil.delete(key);
      return;
    }
    throw new ApiError(this.code, "too many requests", {
      retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)),
    });
  }

  async charge(key: string, cost: number): Promise<void> {
    const now = this.now();
    const result = await this.repo.take(`${this.name}:${key}`, this.perSecond, this.burst, cost, now);
    // The budget is spent: refuse locally until a token is back.
    if (!result.allowed) {
      if (this.refusedUntil.size >= MAX_BUCKETS) this.refusedUntil.clear();
      this.refusedUntil.set(key, now + result.retryAfterMs);
    }
  }
}
