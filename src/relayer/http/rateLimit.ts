import { ApiError, type ErrorCode } from "../errors";

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
 * with several relayer instances each enforces its own share.
 */
export class TokenBucketLimiter {
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
