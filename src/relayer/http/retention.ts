import type { FastifyBaseLogger } from "fastify";
import type { RelayerStore } from "../store/types";
import { PeriodicTask } from "../runtime/periodic";

/** Rows deleted per statement: each delete is short, so intake's commits are never held up for long. */
const PRUNE_CHUNK = 1_000;

export interface RetentionOptions {
  /** Idempotency records older than this are deleted (ms). */
  idempotencyRetentionMs: number;
  /** Payment requests that expired longer ago than this are deleted (ms). */
  requestRetentionMs: number;
  /** Period of the pruner (ms); 0 disables the timer (`prune()` still works). */
  intervalMs: number;
}

/**
 * Deletes what the API no longer needs: idempotency records past their retention, payment
 * requests long expired, and relay requests sent or failed longer ago than the idempotency
 * retention (a retry that late is answered by the chain's own refusal instead). Runs on a timer in the API's process (unref'd: it never keeps the process
 * alive) and in chunks, so a large backlog after a long downtime never blocks writes for long.
 */
export class RetentionPruner {
  private readonly task = new PeriodicTask(
    () => this.prune(),
    (error: unknown) => this.log?.warn({ err: error }, "retention pruning failed"),
  );

  constructor(
    private readonly store: RelayerStore,
    private readonly options: RetentionOptions,
    private readonly clock: () => number,
    private readonly log?: FastifyBaseLogger,
  ) {}

  start(): void {
    this.task.start(this.options.intervalMs);
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass; returns how many rows of each kind were deleted. */
  async prune(): Promise<{ idempotency: number; requests: number; relayRequests: number }> {
    const now = this.clock();
    const idempotency = await this.drain((limit) =>
      this.store.idempotency.pruneCreatedBefore(now - this.options.idempotencyRetentionMs, limit),
    );
    const requests = await this.drain((limit) =>
      this.store.requests.pruneExpiredBefore(now - this.options.requestRetentionMs, limit),
    );
    const relayRequests = await this.drain((limit) =>
      this.store.relayRequests.pruneFinishedBefore(now - this.options.idempotencyRetentionMs, limit),
    );
    if (idempotency + requests + relayRequests > 0)
      this.log?.info({ idempotency, requests, relayRequests }, "pruned expired records");
    return { idempotency, requests, relayRequests };
  }

  private async drain(step: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await step(PRUNE_CHUNK);
      total += deleted;
      if (deleted < PRUNE_CHUNK) return total;
    }
  }
}
