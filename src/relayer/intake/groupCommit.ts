import { DEFAULTS } from "../config";
import type { Hex, PaymentRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import type { RelayerMetrics } from "../runtime/metrics";

interface Waiter {
  record: PaymentRecord;
  enqueuedAt: number;
  resolve: (inserted: boolean) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  maxSize?: number;
  maxWaitMs?: number;
  /**
   * The durable insert. Default: the store's `payments.insertAccepted` on this thread; the relayer
   * passes its writer thread's (src/relayer/store/sqlite/writerThread.ts) so commits never stop
   * the HTTP thread.
   */
  insert?: (payments: PaymentRecord[]) => Promise<Set<Hex>>;
}

/**
 * Group commit of verified payments. A durable commit (fsync) costs about the same for one row as
 * for a thousand, so concurrent requests share one: each enqueues its payment and waits; a flush
 * writes up to `maxSize` of them in ONE `insertAccepted` call at most `maxWaitMs` after the oldest
 * arrived (at once when the queue is full), then resolves every waiter. A request acknowledges its
 * payment only after that resolution, so an acknowledged payment is on disk.
 *
 * One flush runs at a time: while it commits, new payments gather for the next one, which is how
 * the group grows under load without any tuning.
 */
export class GroupCommitWriter {
  private readonly maxSize: number;
  private readonly maxWaitMs: number;
  private readonly insert: (payments: PaymentRecord[]) => Promise<Set<Hex>>;
  private queue: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: RelayerStore,
    private readonly metrics?: RelayerMetrics,
    options: GroupCommitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxSize = options.maxSize ?? DEFAULTS.groupCommitMaxSize;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULTS.groupCommitMaxWaitMs;
    this.insert = options.insert ?? ((payments) => this.store.payments.insertAccepted(payments));
  }

  /** Payments waiting for a commit (including the one in flight). */
  get depth(): number {
    return this.queue.length + this.inFlight;
  }
  private inFlight = 0;

  /** Resolves true once `record` is committed, false if a payment with its id was already stored. */
  enqueue(record: PaymentRecord): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error("intake is shutting down"));
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ record, enqueuedAt: this.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Commits everything queued and refuses new payments (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else this.flush();
    }
  }

  private schedule(): void {
    if (this.flushing) return; // the running flush reschedules when it ends
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
    if (this.flushing || this.queue.length === 0) return;
    const group = this.queue.splice(0, this.maxSize);
    this.inFlight = group.length;
    this.flushing = this.commit(group).finally(() => {
      this.inFlight = 0;
      this.flushing = null;
      this.schedule();
    });
  }

  private async commit(group: Waiter[]): Promise<void> {
    const started = this.now();
    let inserted: Set<Hex>;
    try {
      inserted = await this.insert(group.map((w) => w.record));
    } catch (error) {
      for (const waiter of group) waiter.reject(error);
      return;
    }
    this.metrics?.groupCommitSize.observe(group.length);
    this.metrics?.groupCommitDuration.observe((this.now() - started) / 1000);
    for (const waiter of group) waiter.resolve(inserted.has(waiter.record.id));
  }
}
