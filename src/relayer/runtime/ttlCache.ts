/**
 * A small read-through cache: concurrent misses for one key share a single load (so a burst of
 * payments from one payer costs one RPC round trip), values live `ttlMs`, failed loads are not
 * kept. Bounded: past `maxEntries` the oldest entries are dropped.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { expiresAt: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && (hit.expiresAt === Infinity || hit.expiresAt > this.now())) return hit.value;
    const value = load();
    // Until it settles the entry never expires, so concurrent callers share the load.
    const entry = { expiresAt: Infinity, value };
    this.entries.set(key, entry);
    value.then(
      () => {
        if (this.entries.get(key) === entry) entry.expiresAt = this.now() + this.ttlMs;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    if (this.entries.size > this.maxEntries) this.evict();
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
    // Still full: drop the oldest insertions (Map iterates in insertion order).
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
