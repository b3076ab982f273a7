import { ApiError } from "../errors";

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Past this many buckets, idle (full) ones are dropped: a flood of client IPs cannot grow memory forever. */
const MAX_BUCKETS = 100_000;

/**
 * Token bucket per caller (a merchant's API key, or a client IP on customer routes): `burst`
 * requests at once, refilled at `perSecond`. In memory, per process: with several relayer
 * instances each enforces its own share.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`, or throws 429 rate_limited with the seconds until one is free. */
  take(key: string): void {
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
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = this.perSecond > 0 ? Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) : 60;
    throw new ApiError("rate_limited", "too many requests", { retryAfterSeconds });
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
