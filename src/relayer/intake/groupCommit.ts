import { DEFAULTS } from "../config";
import type { Hex, PaymentRecord } from "../domain";
import type { GuardedInsert, GuardedInsertOutcome, RelayerStore } from "../store/types";
import type { RelayerMetrics } from "../runtime/metrics";

interface Waiter {
  record: PaymentRecord;
  /** Set for a guarded insert (see enqueueGuarded). */
  ceiling: bigint | null;
  enqueuedAt: number;
  resolve: (outcome: GuardedInsertOutcome) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  maxSize?: number;
  maxWaitMs?: number;
  /**
   * Commits in flight at once (default 1). A store with one writer gains nothing from more; one with
   * a connection pool (PostgreSQL) overlaps a commit's round trips and fsync with the next group's.
   * Safe for intake: a payer's payments are never in two groups at once (intake holds the payer's
   * lock until its commit), and the store's guarded insert locks payers in sorted order.
   */
  maxInFlight?: number;
  /**
   * The durable insert. Default: the store's `payments.insertAccepted` on this thread; the relayer
   * passes its writer thread's (src/relayer/store/sqlite/writerThread.ts) so commits never stop
   * the HTTP thread.
   */
  insert?: (payments: PaymentRecord[]) => Promise<Set<Hex>>;
  /** The guarded insert. Default: the store's `payments.insertAcceptedGuarded`; likewise. */
  insertGuarded?: (items: readonly GuardedInsert[]) => Promise<Map<Hex, GuardedInsertOutcome>>;
}

/**
 * Group commit of verified payments. A durable commit (fsync) costs about the same for one row as
 * for a thousand, so concurrent requests share one: each enqueues its payment and waits; a flush
 * writes up to `maxSize` of them in ONE `insertAccepted` call at most `maxWaitMs` after the oldest
 * arrived (at once when the queue is full), then resolves every waiter. A request acknowledges its
 * payment only after that resolution, so an acknowledged payment is on disk.
 *
 * At most `maxInFlight` flushes run at a time: while they commit, new payments gather for the
 * next one, which is how the group grows under load without any tuning.
 */
export class GroupCommitWriter {
  private readonly maxSize: number;
  private readonly maxWaitMs: number;
  private readonly maxInFlight: number;
  private readonly insert: (payments: PaymentRecord[]) => Promise<Set<Hex>>;
  private readonly insertGuarded: (items: readonly GuardedInsert[]) => Promise<Map<Hex, GuardedInsertOutcome>>;
  private queue: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly flushing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly store: RelayerStore,
    private readonly metrics?: RelayerMetrics,
    options: GroupCommitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxSize = options.maxSize ?? DEFAULTS.groupCommitMaxSize;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULTS.groupCommitMaxWaitMs;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
    this.insert = options.insert ?? ((payments) => this.store.payments.insertAccepted(payments));
    this.insertGuarded = options.insertGuarded ?? ((items) => this.store.payments.insertAcceptedGuarded(items));
  }

  /** Payments waiting for a commit (including the one in flight). */
  get depth(): number {
    return this.queue.length + this.inFlight;
  }
  private inFlight = 0;

  /** Resolves true once `record` is committed, false if a payment with its id was already stored. */
  async enqueue(record: PaymentRecord): Promise<boolean> {
    return (await this.push(record, null)) === "inserted";
  }

  /**
   * Like `enqueue`, through the store's guarded insert: committed only if the payer's pending
   * payments (from every instance on the store) with this one stay within `ceiling` and none has its
   * nonce. Shares the group commit with every other payment queued meanwhile.
   */
  enqueueGuarded(record: PaymentRecord, ceiling: bigint): Promise<GuardedInsertOutcome> {
    return this.push(record, ceiling);
  }

  private push(record: PaymentRecord, ceiling: bigint | null): Promise<GuardedInsertOutcome> {
    if (this.closed) return Promise.reject(new Error("intake is shutting down"));
    return new Promise<GuardedInsertOutcome>((resolve, reject) => {
      this.queue.push({ record, ceiling, enqueuedAt: this.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Commits everything queued and refuses new payments (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.flushing.size > 0) {
      if (this.queue.length > 0 && this.flushing.size < this.maxInFlight) this.flush();
      else await Promise.race(this.flushing);
    }
  }

  private schedule(): void {
    if (this.flushing.size >= this.maxInFlight) return; // a running flush reschedules when it ends
    if (this.queue.length >= this.maxSize) {
      this.flush();
      return;
    }
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].enqueuedAt + this.maxWaitMs - this.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.flushing.size >= this.maxInFlight || this.queue.length === 0) return;
    const group = this.queue.splice(0, this.maxSize);
    this.inFlight += group.length;
    const flushing: Promise<void> = this.commit(group).finally(() => {
      this.inFlight -= group.length;
      this.flushing.delete(flushing);
      this.schedule();
    });
    this.flushing.add(flushing);
    this.schedule();
  }

  private async commit(group: Waiter[]): Promise<void> {
    const started = this.now();
    const guarded = group.filter((w) => w.ceiling !== null);
    const plain = group.filter((w) => w.ceiling === null);
    try {
      // Intake queues guarded inserts only; plain ones (other callers) commit on their own.
      if (guarded.length > 0) {
        const outcomes = await this.insertGuarded(guarded.map((w) => ({ record: w.record, ceiling: w.ceiling! })));
        for (const waiter of guarded) waiter.resolve(outcomes.get(waiter.record.id) ?? "duplicate");
      }
    } catch (error) {
      for (const waiter of guarded) waiter.reject(error);
    }
    try {
      if (plain.length > 0) {
        const inserted = await this.insert(plain.map((w) => w.record));
        for (const waiter of plain) waiter.resolve(inserted.has(waiter.record.id) ? "inserted" : "duplicate");
      }
    } catch (error) {
      for (const waiter of plain) waiter.reject(error);
    }
    this.metrics?.groupCommitSize.observe(group.length);
    this.metrics?.groupCommitDuration.observe((this.now() - started) / 1000);
  }
}
