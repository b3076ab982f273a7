import { DEFAULTS } from "../config";
import type { OutboxRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signWebhook } from "./signature";

export type DeliveryOutcome = "delivered" | "failed" | "dead";

export interface WebhookDispatcherOptions {
  store: RelayerStore;
  /** Delay between ticks when the previous one found nothing to do. */
  pollIntervalMs?: number;
  /** Deliveries attempted per tick (in parallel). */
  batchSize?: number;
  timeoutMs?: number;
  /** Attempts before a delivery is dead-lettered. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Returns a number in [0, 1); tests pin it. */
  random?: () => number;
  now?: () => number;
  fetch?: typeof fetch;
  /** Called once per attempt: wire it to metrics (dead letters especially). */
  onResult?: (outcome: DeliveryOutcome, record: OutboxRecord, error?: string) => void;
  /** Called when a tick itself fails (e.g. the store is unavailable); the loop keeps going. */
  onError?: (error: unknown) => void;
}

const DEFAULT_POLL_INTERVAL_MS = 500;
const DEFAULT_BATCH_SIZE = 32;
const USER_AGENT = "StablePay-Webhooks/1";

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: exponential from `base`, capped at
 * `max`, with "equal jitter" (half fixed, half random) so endpoints that failed together don't all
 * retry in the same instant, while the delay still grows with every failure.
 */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const exponential = Math.min(max, base * 2 ** Math.min(attempt - 1, 52));
  return Math.ceil(exponential / 2 + (random() * exponential) / 2);
}

/**
 * Delivers the durable webhook outbox: each tick POSTs the due rows and records the outcome.
 * At-least-once: a row is marked delivered only after a 2xx, so a crash between the receiver's 2xx
 * and the mark re-sends it after restart (receivers dedupe on the event id). Nothing is held in
 * memory that isn't in the outbox, so a new dispatcher on the same database picks up where the
 * last one stopped. Run one dispatcher per database.
 */
export class WebhookDispatcher {
  private readonly store: RelayerStore;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private readonly onResult?: WebhookDispatcherOptions["onResult"];
  private readonly onError?: WebhookDispatcherOptions["onError"];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.webhook.timeoutMs;
    this.maxAttempts = options.maxAttempts ?? DEFAULTS.webhook.attempts;
    this.baseDelayMs = options.baseDelayMs ?? DEFAULTS.webhook.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULTS.webhook.maxDelayMs;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? fetch;
    this.onResult = options.onResult;
    this.onError = options.onError;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the tick in flight (its deliveries finish and are recorded). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = null;
  }

  /** Ends the current wait so a newly queued event goes out now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Delivers the rows due now; returns how many were attempted. */
  async tick(): Promise<number> {
    const due = await this.store.outbox.due(this.now(), this.batchSize);
    await Promise.all(due.map((record) => this.deliver(record)));
    return due.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let attempted = 0;
      try {
        attempted = await this.tick();
      } catch (error) {
        this.onError?.(error);
      }
      // A full batch suggests more is due: go again at once instead of sleeping.
      if (!this.running || attempted >= this.batchSize) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, this.pollIntervalMs);
      });
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.wakeUp = null;
    }
  }

  private async deliver(record: OutboxRecord): Promise<void> {
    const endpoint = await this.store.webhooks.get(record.endpointId);
    if (!endpoint || endpoint.disabledAt !== null) {
      await this.store.outbox.markDead(record.id, "endpoint disabled", this.now());
      this.onResult?.("dead", record, "endpoint disabled");
      return;
    }
    const error = await this.post(endpoint.url, endpoint.secret, record);
    const at = this.now();
    if (error === null) {
      await this.store.outbox.markDelivered(record.id, at);
      this.onResult?.("delivered", record);
      return;
    }
    const attempt = record.attempts + 1;
    if (attempt >= this.maxAttempts) {
      await this.store.outbox.markDead(record.id, error, at);
      this.onResult?.("dead", record, error);
      return;
    }
    const delay = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs, this.random);
    await this.store.outbox.markFailed(record.id, error, at + delay);
    this.onResult?.("failed", record, error);
  }

  /** One POST; returns null on a 2xx, else why it failed. Redirects are failures: the URL is configured. */
  private async post(url: string, secret: string, record: OutboxRecord): Promise<string | null> {
    const timestamp = Math.floor(this.now() / 1000);
    try {
      const response = await this.fetch(url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: {
          "content-type": "application/json",
          "user-agent": USER_AGENT,
          [SIGNATURE_HEADER]: signWebhook(secret, timestamp, record.payload),
          [EVENT_ID_HEADER]: record.eventId,
          [EVENT_TYPE_HEADER]: record.eventType,
        },
        body: record.payload,
      });
      // Drain the body so the connection can be reused; its content is not needed.
      await response.arrayBuffer().catch(() => undefined);
      return response.status >= 200 && response.status < 300 ? null : `HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") return `timeout after ${this.timeoutMs}ms`;
      return cause ? `network error: ${cause}` : `network error: ${(error as Error).message}`;
    }
  }
}
