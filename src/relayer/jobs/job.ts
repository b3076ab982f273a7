/**
 * The start/stop/tick loop every chain job shares. Jobs are driven by `tick()` (tests call it
 * directly) and `start()` runs ticks on a timer; `stop()` clears the timer and waits for a tick in
 * flight, so nothing leaks.
 */
import { errorMessage, type Logger } from "../runtime/log";
import type { RelayerMetrics } from "../runtime/metrics";
import { Mutex } from "../runtime/mutex";

/** Metrics the jobs record; the process-wide `metrics` of runtime/metrics.ts fits. */
export type JobMetrics = Pick<
  RelayerMetrics,
  "batchSize" | "gasUsed" | "submissionLatency" | "failures" | "deepReorgs" | "relayResults"
>;

/**
 * A periodic job. Subclasses implement `run()`; `tick()` runs it under the job's mutex so a timer
 * tick and a manual tick never overlap. A failing tick is logged and counted, and the loop goes on.
 */
export abstract class Job {
  private timer: NodeJS.Timeout | null = null;
  private tickInFlight: Promise<void> | null = null;
  private started = false;
  private readonly mutex = new Mutex();

  protected constructor(
    readonly name: string,
    protected readonly log: Logger,
    protected readonly metrics: JobMetrics | undefined,
  ) {}

  /** Milliseconds between the end of one tick and the start of the next. */
  protected abstract intervalMs(): number;

  protected abstract run(): Promise<void>;

  /** One pass of the job; safe to call while the loop runs (it waits its turn). */
  tick(): Promise<void> {
    return this.mutex.run(() => {
      this.soon = null;
      return this.run();
    });
  }

  private soon: Promise<void> | null = null;

  /**
   * A pass that starts after this call, shared by every caller that asks before it starts: however
   * many ask at once (intake refusing payers, say), the job runs at most once more per pass's duration.
   */
  runSoon(): Promise<void> {
    this.soon ??= this.tick();
    return this.soon;
  }

  get running(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops the loop and waits for a tick in flight; no timer is left behind. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.tickInFlight;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tickInFlight = this.safeTick().finally(() => {
        this.tickInFlight = null;
        if (this.started) this.schedule(this.intervalMs());
      });
    }, delayMs);
  }

  private async safeTick(): Promise<void> {
    try {
      await this.tick();
    } catch (error) {
      // A condition its owner already reported (rate-limited) would otherwise be logged every tick.
      if ((error as { reported?: boolean } | null)?.reported === true) return;
      this.log.error({ job: this.name, err: errorMessage(error) }, `${this.name} tick failed`);
      this.metrics?.failures.inc({ component: this.name, reason: "tick" });
    }
  }
}
