import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from "prom-client";

/** A registry's series as plain data (`registry.getMetricsAsJSON()`): what crosses a thread boundary. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Prometheus metrics of the relayer. One registry per process (`metrics`), served at GET /metrics.
 * The HTTP layer and intake record their own series; the chain jobs (batcher, submitter, watcher,
 * settler) record theirs through the `batchSize`, `gasUsed`, `submissionLatency` and `failures`
 * handles below, or register new series on `metrics.registry`.
 *
 * Gauges that mirror state (payments by state, intake queue depth) are refreshed when scraped, from
 * the sources the app registers with `setGaugeSource`, so they never drift from the store.
 */
export interface RelayerMetrics {
  readonly registry: Registry;
  /** HTTP requests by method, route pattern and status code. */
  readonly httpRequestDuration: Histogram<"method" | "route" | "status">;
  /** Payments verified and waiting for the group commit. */
  readonly intakeQueueDepth: Gauge;
  /** Payments written per group commit. */
  readonly groupCommitSize: Histogram;
  /** Seconds one group commit took. */
  readonly groupCommitDuration: Histogram;
  /** Intake decisions by outcome (accepted, duplicate, or the error code). */
  readonly intakeResults: Counter<"result" | "currency">;
  /** The FX mirror's actions by kind and result (sent, or the refusal's code). */
  readonly fxMirrorActions: Counter<"action" | "result">;
  /** Payments by relayer state, from the store. */
  readonly paymentsByState: Gauge<"state" | "currency">;
  /** Payments per batch sent on chain (chain jobs). */
  readonly batchSize: Histogram;
  /** Gas used by mined relayer transactions, by purpose ("batch", "settle", ...) (chain jobs). */
  readonly gasUsed: Counter<"purpose">;
  /** Seconds from sending a transaction to its confirmation, by purpose (chain jobs). */
  readonly submissionLatency: Histogram<"purpose">;
  /** Failures by component and reason (rpc errors, reverts, webhook deliveries...). */
  readonly failures: Counter<"component" | "reason">;
  /**
   * Reorgs deeper than the chain watcher's window (or below the `finalized` block it follows), by
   * reason: "beyond_window" or "finalized". Any increase wants an operator (chain/finality.ts).
   */
  readonly deepReorgs: Counter<"reason">;
  /** Relay requests by state, from the store (the queue api instances fill and workers' lanes drain). */
  readonly relayRequests: Gauge<"state" | "currency">;
  /**
   * Relay requests a worker finished, by outcome: "sent", "recovered" (found recorded after a
   * crash or takeover, marked sent without a second transaction) or "failed" (chain jobs).
   */
  readonly relayResults: Counter<"outcome">;
  /** Registers a function that sets mirrored gauges right before a scrape. */
  setGaugeSource(name: string, refresh: () => Promise<void> | void): void;
  /**
   * Adds the series another registry reports (the jobs thread's) to every scrape: counters and
   * histograms of the same name and labels are summed. A failing source is left out of the scrape.
   */
  addRemoteSource(name: string, snapshot: () => Promise<MetricsSnapshot>): void;
  /** Refreshes mirrored gauges and renders the exposition text. */
  render(): Promise<string>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): RelayerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "relayer_" });
  const registers = [registry];
  const sources = new Map<string, () => Promise<void> | void>();
  const remotes = new Map<string, () => Promise<MetricsSnapshot>>();

  const metrics: RelayerMetrics = {
    registry,
    httpRequestDuration: new Histogram({
      name: "relayer_http_request_duration_seconds",
      help: "HTTP request duration by method, route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    intakeQueueDepth: new Gauge({
      name: "relayer_intake_queue_depth",
      help: "Verified payments waiting for the group commit",
      registers,
    }),
    groupCommitSize: new Histogram({
      name: "relayer_group_commit_size",
      help: "Payments written per group commit",
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    groupCommitDuration: new Histogram({
      name: "relayer_group_commit_duration_seconds",
      help: "Duration of one group commit",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    }),
    intakeResults: new Counter({
      name: "relayer_intake_results_total",
      help: "Intake decisions by result and currency",
      labelNames: ["result", "currency"],
      registers,
    }),
    fxMirrorActions: new Counter({
      name: "relayer_fx_mirror_actions_total",
      help: "FX mirror actions by kind and result (sent, or the refusal's code)",
      labelNames: ["action", "result"],
      registers,
    }),
    paymentsByState: new Gauge({
      name: "relayer_payments",
      help: "Payments by relayer state and currency",
      labelNames: ["state", "currency"],
      registers,
    }),
    batchSize: new Histogram({
      name: "relayer_batch_size",
      help: "Payments per batch sent on chain",
      buckets: [1, 5, 10, 25, 50, 100, 200, 400, 800],
      registers,
    }),
    gasUsed: new Counter({
      name: "relayer_gas_used_total",
      help: "Gas used by mined relayer transactions",
      labelNames: ["purpose"],
      registers,
    }),
    submissionLatency: new Histogram({
      name: "relayer_submission_latency_seconds",
      help: "Seconds from sending a transaction to its confirmation",
      labelNames: ["purpose"],
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    }),
    failures: new Counter({
      name: "relayer_failures_total",
      help: "Failures by component and reason",
      labelNames: ["component", "reason"],
      registers,
    }),
    deepReorgs: new Counter({
      name: "relayer_deep_reorgs_total",
      help: "Reorgs deeper than the chain watcher's window (or replacing a block the report index holds), by reason",
      labelNames: ["reason"],
      registers,
    }),
    relayRequests: new Gauge({
      name: "relayer_relay_requests",
      help: "Relay requests by state and currency (queued: waiting for a worker's signer lane)",
      labelNames: ["state", "currency"],
      registers,
    }),
    relayResults: new Counter({
      name: "relayer_relay_results_total",
      help: "Relay requests finished by a worker, by outcome (sent, recovered, failed)",
      labelNames: ["outcome"],
      registers,
    }),
    setGaugeSource(name, refresh) {
      sources.set(name, refresh);
    },
    addRemoteSource(name, snapshot) {
      remotes.set(name, snapshot);
    },
    async render() {
      // A failing source must not take the whole scrape down: the other series are still useful.
      await Promise.allSettled([...sources.values()].map(async (refresh) => refresh()));
      if (remotes.size === 0) return registry.metrics();
      const settled = await Promise.allSettled([...remotes.values()].map((snapshot) => snapshot()));
      const snapshots = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      const own = (await registry.getMetricsAsJSON()) as MetricsSnapshot;
      return AggregatorRegistry.aggregate([own, ...snapshots]).metrics();
    },
  };
  return metrics;
}

/** The process-wide registry the app and the chain jobs share. */
export const metrics: RelayerMetrics = createMetrics();
