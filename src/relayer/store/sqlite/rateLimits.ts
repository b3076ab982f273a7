import type { RateLimitRepository } from "../types";
import type { Connection } from "./connection";

/**
 * Token buckets in the store, shared by every process on the file: one row per key with the tokens
 * left at `updated_at`; a take refills by the time passed, then takes `cost` or nothing, atomically
 * (BEGIN IMMEDIATE). Callers take in chunks (src/relayer/http/rateLimit.ts), not per request.
 */
export class SqliteRateLimits implements RateLimitRepository {
  constructor(private readonly conn: Connection) {}

  take(
    key: string,
    ratePerSecond: number,
    burst: number,
    cost: number,
    now: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    return this.conn.atomic(() => {
      const row = this.conn.prepare("SELECT tokens, updated_at FROM rate_limits WHERE key = ?").get(key) as
        { tokens: number; updated_at: number } | undefined;
      const tokens = refill(row, ratePerSecond, burst, now);
      const outcome = judge(tokens, ratePerSecond, cost);
      this.conn
        .prepare(
          `INSERT INTO rate_limits (key, tokens, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
        )
        .run(key, outcome.allowed ? tokens - cost : tokens, Math.max(now, row?.updated_at ?? now));
      return { allowed: outcome.allowed, retryAfterMs: outcome.retryAfterMs };
    });
  }
}

/** Tokens in the bucket at `now`: full when new; a clock that went back adds nothing. */
export function refill(
  row: { tokens: number; updated_at: number } | undefined,
  ratePerSecond: number,
  burst: number,
  now: number,
): number {
  if (!row) return burst;
  const elapsed = Math.max(0, now - row.updated_at);
  return Math.min(burst, row.tokens + (elapsed / 1000) * ratePerSecond);
}

/** Whether `cost` fits in `tokens`, and if not how long until it does (a rate of 0 never refills: a minute). */
export function judge(tokens: number, ratePerSecond: number, cost: number): { allowed: boolean; retryAfterMs: number } {
  if (tokens >= cost) return { allowed: true, retryAfterMs: 0 };
  const retryAfterMs = ratePerSecond > 0 ? Math.ceil(((cost - tokens) / ratePerSecond) * 1000) : 60_000;
  return { allowed: false, retryAfterMs };
}
