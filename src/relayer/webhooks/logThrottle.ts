/**
 * Rate limit for repeated log lines: a key (e.g. endpoint + outcome) is logged at most once per
 * interval, and the line that is logged says how many were suppressed since the previous one. A
 * dead endpoint retried all day then costs one line per interval, not one per attempt.
 */
export class LogThrottle {
  private readonly entries = new Map<string, { last: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    /** Keys remembered at most; past it, keys idle for an interval are forgotten. */
    private readonly maxKeys = 10_000,
  ) {}

  /** Null: don't log this one. Else log it, with the number of lines suppressed before it. */
  take(key: string): number | null {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.last < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (!entry && this.entries.size >= this.maxKeys) this.forgetIdle(now);
    this.entries.set(key, { last: now, suppressed: 0 });
    return suppressed;
  }

  private forgetIdle(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.last >= this.intervalMs) this.entries.delete(key);
    }
  }
}
