import { randomBytes } from "node:crypto";
import { Agent, fetch as undiciFetch } from "undici";
import { DEFAULTS } from "../config";
import type { OutboxRecord } from "../domain";
import type { DisablePolicy, DueEndpoint, RelayerStore } from "../store/types";
import { WEBHOOK_DEFAULTS } from "./settings";
import {
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
} from "../../protocol/schemas/webhookSignature";
import { AddressNotAllowedError, checkLiteralHost, guardedLookup, type UrlPolicy } from "./urlGuard";

export type DeliveryOutcome = "delivered" | "failed" | "dead";

export interface WebhookDispatcherOptions {
  store: RelayerStore;
  /** Delay between looks at the outbox when nothing finished sooner. */
  pollIntervalMs?: number;
  /** Deliveries in flight across all endpoints. */
  concurrency?: number;
  /** Deliveries in flight to one endpoint; one while the endpoint is failing. */
  endpointConcurrency?: number;
  timeoutMs?: number;
  /** Attempts before a delivery is dead-lettered. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** When a run of failures disables an endpoint. */
  disablePolicy?: DisablePolicy;
  /** Which addresses may be delivered to. Default: public addresses only. */
  urlPolicy?: UrlPolicy;
  /** Delivered and dead-lettered rows are deleted this long after (checked every `pruneIntervalMs`). */
  retentionMs?: number;
  pruneIntervalMs?: number;
  /** Returns a number in [0, 1); tests pin it. */
  random?: () => number;
  now?: () => number;
  /** Replaces the HTTP client (the address check of names then is the caller's). */
  fetch?: typeof fetch;
  /** Called once per attempt: wire it to metrics (dead letters especially). */
  onResult?: (outcome: DeliveryOutcome, record: OutboxRecord, error?: string) => void;
  /** Called when a run of failures disabled an endpoint (tell the operator; the merchant sees it in the list). */
  onDisabled?: (endpoint: DueEndpoint, consecutiveFailures: number, error: string) => void;
  /** Called when a look at the outbox itself fails (e.g. the store is unavailable); the loop keeps going. */
  onError?: (error: unknown) => void;
  /** Who claims endpoints (unique per dispatcher; never a secret). Default: random. */
  holder?: string;
  /** How long a claim on an endpoint lasts. Default: three delivery timeouts (a delivery and its writes). */
  claimMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 500;
const USER_AGENT = "StablePay-Webhooks/1";
/** Rows deleted per prune statement: bounds how long one holds the write lock. */
const PRUNE_CHUNK = 1_000;
const STRICT: UrlPolicy = { allowLoopback: false, allowPrivate: false };

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
 * Delivers the durable webhook outbox, per endpoint and fairly: each look at the outbox serves the
 * endpoints with deliveries due round-robin, at most `endpointConcurrency` in flight per endpoint
 * (one while it is failing) and `concurrency` in all. Deliveries run in the background: a slow or
 * dead receiver holds only its own endpoint's slots, never the others'. A failed delivery backs off
 * both itself and its endpoint (exponential with jitter); a run of failures meeting the disable
 * policy disables the endpoint (`onDisabled`), which the merchant sees on the endpoint list.
 *
 * At-least-once: a row is marked delivered only after a 2xx, so a crash between the receiver's 2xx
 * and the mark re-sends it after restart (receivers dedupe on the event id). Nothing is held in
 * memory that isn't in the outbox, so a new dispatcher on the same database picks up where the
 * last one stopped.
 *
 * Several dispatchers (workers) may share a store: each claims the endpoints it serves
 * (`claimDueEndpoints`, for `claimMs`, longer than a delivery takes) and releases an endpoint when
 * its deliveries in flight end, so one endpoint's events are delivered by one dispatcher at a time;
 * a dispatcher that dies leaves its claims to expire. A retry carries the same event id.
 */
export class WebhookDispatcher {
  private readonly store: RelayerStore;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly endpointConcurrency: number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly disablePolicy: DisablePolicy;
  private readonly urlPolicy: UrlPolicy;
  private readonly retentionMs: number;
  private readonly pruneIntervalMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  /** Connection pool of the default client, created on first use and closed by stop(). */
  private agent: Agent | null = null;
  private readonly onResult?: WebhookDispatcherOptions["onResult"];
  private readonly onDisabled?: WebhookDispatcherOptions["onDisabled"];
  private readonly onError?: WebhookDispatcherOptions["onError"];
  readonly holder: string;
  private readonly claimMs: number;
  /** Endpoints whose claim is being released: nothing starts for them until that is done. */
  private readonly releasing = new Set<string>();
  /** Outbox ids in flight, by endpoint. */
  private readonly inFlight = new Map<string, Set<number>>();
  private readonly deliveries = new Set<Promise<void>>();
  private active = 0;
  /** The last endpoint served: the next look starts after it (round robin). */
  private cursor = "";
  private lastPruneAt = -Infinity;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.concurrency = options.concurrency ?? WEBHOOK_DEFAULTS.concurrency;
    this.endpointConcurrency = options.endpointConcurrency ?? WEBHOOK_DEFAULTS.endpointConcurrency;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.webhook.timeoutMs;
    this.maxAttempts = options.maxAttempts ?? DEFAULTS.webhook.attempts;
    this.baseDelayMs = options.baseDelayMs ?? DEFAULTS.webhook.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULTS.webhook.maxDelayMs;
    this.disablePolicy = options.disablePolicy ?? {
      failures: WEBHOOK_DEFAULTS.disableAfterFailures,
      spanMs: WEBHOOK_DEFAULTS.disableAfterMs,
    };
    this.urlPolicy = options.urlPolicy ?? STRICT;
    this.retentionMs = options.retentionMs ?? WEBHOOK_DEFAULTS.retentionMs;
    this.pruneIntervalMs = options.pruneIntervalMs ?? WEBHOOK_DEFAULTS.pruneIntervalMs;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? ((input, init) => this.guardedFetch(input as string, init!));
    this.onResult = options.onResult;
    this.onDisabled = options.onDisabled;
    this.onError = options.onError;
    this.holder = options.holder ?? `dispatcher-${randomBytes(8).toString("hex")}`;
    this.claimMs = options.claimMs ?? this.timeoutMs * 3;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops starting deliveries; those in flight finish and are recorded. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = null;
    await this.settle();
    const agent = this.agent;
    this.agent = null;
    await agent?.close();
  }

  /** fetch through a pool whose every connection resolves with the guard, which checks the addresses it connects to. */
  private guardedFetch(url: string, init: RequestInit): Promise<Response> {
    this.agent ??= new Agent({ connect: { lookup: guardedLookup(this.urlPolicy) } });
    return undiciFetch(url, { ...(init as object), dispatcher: this.agent }) as unknown as Promise<Response>;
  }

  /** Ends the current wait so a newly queued event goes out now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Delivers what is due now, within the limits, round after round until a round finds nothing
   * (a failed delivery is not due again until its backoff ends); returns how many were attempted.
   */
  async tick(): Promise<number> {
    let attempted = 0;
    for (;;) {
      const started = await this.fill();
      if (started.length === 0) return attempted;
      attempted += started.length;
      await Promise.all(started);
    }
  }

  /** Waits for every delivery in flight. */
  async settle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  /**
   * Deletes delivered and dead-lettered rows older than the retention period, in chunks; returns
   * how many. Undelivered rows stay whatever their age.
   */
  async prune(): Promise<number> {
    const before = this.now() - this.retentionMs;
    let total = 0;
    for (;;) {
      const deleted = await this.store.outbox.prune(before, PRUNE_CHUNK);
      total += deleted;
      if (deleted < PRUNE_CHUNK) return total;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.now() - this.lastPruneAt >= this.pruneIntervalMs) {
          this.lastPruneAt = this.now();
          await this.prune();
        }
        await this.fill();
      } catch (error) {
        this.onError?.(error);
      }
      if (!this.running) break;
      // Woken early when a delivery ends (a slot is free) or an event is queued.
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, this.pollIntervalMs);
      });
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.wakeUp = null;
    }
  }

  /** Starts what is due within the limits, round-robin over endpoints; returns the started deliveries. */
  private async fill(): Promise<Promise<void>[]> {
    const free = this.concurrency - this.active;
    if (free <= 0) return [];
    const now = this.now();
    // Endpoints already at their limit may come back too: ask for enough to fill the free slots anyway.
    const wanted = free + this.inFlight.size;
    const claim = (limit: number, after?: string) =>
      this.store.webhooks.claimDueEndpoints(now, limit, this.holder, this.claimMs, after);
    const endpoints = await claim(wanted, this.cursor);
    if (endpoints.length < wanted && this.cursor !== "") {
      const seen = new Set(endpoints.map((e) => e.id));
      for (const e of await claim(wanted - endpoints.length)) {
        if (!seen.has(e.id)) endpoints.push(e);
      }
    }
    // Hand out the free slots one per endpoint per round, up to each endpoint's own limit.
    const slots = new Map<string, number>();
    let left = free;
    for (let progress = true; left > 0 && progress;) {
      progress = false;
      for (const e of endpoints) {
        if (left === 0) break;
        const given = slots.get(e.id) ?? 0;
        const limit = (e.consecutiveFailures > 0 ? 1 : this.endpointConcurrency) - (this.inFlight.get(e.id)?.size ?? 0);
        if (given >= limit) continue;
        slots.set(e.id, given + 1);
        left--;
        progress = true;
      }
    }
    const started: Promise<void>[] = [];
    for (const e of endpoints) {
      const count = slots.get(e.id);
      if (count && !this.releasing.has(e.id)) {
        const flying = this.inFlight.get(e.id) ?? new Set<number>();
        const records = await this.store.outbox.dueFor(e.id, now, count, [...flying]);
        // A concurrent fill (tick() beside the loop) may have started one meanwhile.
        for (const record of records) {
          if (!this.inFlight.get(e.id)?.has(record.id)) started.push(this.track(e, record));
        }
        this.cursor = e.id;
      }
      // Claimed but nothing of it started or in flight here: let another dispatcher have it.
      if (!this.inFlight.has(e.id)) await this.release(e.id);
    }
    return started;
  }

  private track(endpoint: DueEndpoint, record: OutboxRecord): Promise<void> {
    let flying = this.inFlight.get(endpoint.id);
    if (!flying) this.inFlight.set(endpoint.id, (flying = new Set()));
    flying.add(record.id);
    this.active++;
    const delivery = this.deliver(endpoint, record)
      .catch((error: unknown) => this.onError?.(error))
      .then(async () => {
        this.active--;
        flying.delete(record.id);
        if (flying.size === 0 && this.inFlight.get(endpoint.id) === flying) this.inFlight.delete(endpoint.id);
        // The endpoint's last delivery in flight here ended: its claim ends too (marked as releasing
        // before the loop is woken, so no new delivery starts under a claim being dropped).
        const released = this.inFlight.has(endpoint.id) ? undefined : this.release(endpoint.id);
        this.wake();
        await released?.catch((error: unknown) => this.onError?.(error));
        this.deliveries.delete(delivery);
      });
    this.deliveries.add(delivery);
    return delivery;
  }

  /**
   * Ends this dispatcher's claim on the endpoint. Until the store has done so, no delivery to it
   * starts here: one started meanwhile would run after its claim was dropped.
   */
  private async release(id: string): Promise<void> {
    if (this.releasing.has(id)) return;
    this.releasing.add(id);
    try {
      await this.store.webhooks.releaseEndpoint(id, this.holder);
    } finally {
      this.releasing.delete(id);
    }
  }

  private async deliver(endpoint: DueEndpoint, record: OutboxRecord): Promise<void> {
    const error = await this.post(endpoint.url, endpoint.secret, record);
    const at = this.now();
    if (error === null) {
      await this.store.outbox.markDelivered(record.id, at);
      await this.store.webhooks.recordSuccess(endpoint.id);
      this.onResult?.("delivered", record);
      return;
    }
    const attempt = record.attempts + 1;
    if (attempt >= this.maxAttempts) {
      await this.store.outbox.markDead(record.id, error, at);
      this.onResult?.("dead", record, error);
    } else {
      const delay = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs, this.random);
      await this.store.outbox.markFailed(record.id, error, at + delay);
      this.onResult?.("failed", record, error);
    }
    // The endpoint backs off too: its other deliveries wait instead of each failing in turn.
    const failures = endpoint.consecutiveFailures + 1;
    const endpointDelay = backoffDelay(failures, this.baseDelayMs, this.maxDelayMs, this.random);
    const outcome = await this.store.webhooks.recordFailure(
      endpoint.id,
      error,
      at,
      at + endpointDelay,
      this.disablePolicy,
    );
    if (outcome.disabled) this.onDisabled?.(endpoint, outcome.consecutiveFailures, error);
  }

  /** One POST; returns null on a 2xx, else why it failed. Redirects are failures: the URL is configured. */
  private async post(url: string, secret: string, record: OutboxRecord): Promise<string | null> {
    const timestamp = Math.floor(this.now() / 1000);
    try {
      checkLiteralHost(new URL(url), this.urlPolicy);
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
      // The body is not needed: cancelled rather than read, so a receiver cannot make the relayer
      // buffer a large answer (a body already received in full still lets the connection be reused).
      await response.body?.cancel().catch(() => undefined);
      return response.status >= 200 && response.status < 300 ? null : `HTTP ${response.status}`;
    } catch (error) {
      const refused = error instanceof AddressNotAllowedError ? error : (error as { cause?: unknown }).cause;
      if (refused instanceof AddressNotAllowedError) return `address not allowed: ${refused.message}`;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") return `timeout after ${this.timeoutMs}ms`;
      return cause ? `network error: ${cause}` : `network error: ${(error as Error).message}`;
    }
  }
}
