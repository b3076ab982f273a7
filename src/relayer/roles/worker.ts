/**
 * The worker role: the chain jobs of one currency's escrow (a relayer serving several currencies runs
 * one WorkerRole per currency, ./jobs.ts). Two kinds of lease coordinate any number of workers on one store:
 *  - `jobs` (`jobs:<code>` for a currency but the default): one worker at a time runs the singletons (chain watcher, batcher, settler, order-timer
 *    keeper, blocklist sync). The watcher's page transactions and the batcher's and settler's record writes commit
 *    only while the lease is still held at its epoch, so a stalled old leader's work cannot land;
 *  - `lane:<address>`, one per signer key (./lanes.ts): at most one submitter per key.
 * A worker on standby polls for leases that are free, released or expired; each lease's TTL is
 * LEASE_TTL_MS (renewed every third of it), so a killed worker is replaced within that time.
 * The webhook dispatcher runs in every worker (the store hands each endpoint to one at a time), and
 * so does the relay queue's sender (../jobs/relayQueue.ts): each lane this worker holds claims and
 * sends what api instances queued.
 */
import type { Hex } from "../domain";
import type { RelayerConfig } from "../config";
import type { ChainClient } from "../chain/client";
import type { TxSigner } from "../chain/signers/types";
import type { Fence, RelayerStore } from "../store/types";
import { currencyQualified } from "../store/currencyScope";
import { systemClock, type Clock } from "../runtime/clock";
import { errorMessage, type Logger } from "../runtime/log";
import type { Readiness } from "../runtime/readiness";
import { NO_LEDGER, type LedgerListener } from "../ledger/listener";
import type { PayerAccounts } from "../ledger/payerAccounts";
import { Batcher, PayBatchGasModel } from "../jobs/batcher";
import { BlocklistSync } from "../jobs/blocklistSync";
import { BuiltBatchRecords } from "../jobs/builtBatches";
import { ANCHOR_CURSOR_NAME, CURSOR_NAME, ChainWatcher } from "../jobs/chainWatcher";
import { ReportIndexer } from "../jobs/reportIndexer";
import type { JobMetrics } from "../jobs/job";
import type { BatchAccountSource } from "../jobs/precheck";
import { RelayQueue } from "../jobs/relayQueue";
import { relayHandler } from "../jobs/relayWriter";
import { Settler } from "../jobs/settler";
import { OrderTimerKeeper } from "../jobs/orderTimers";
import type { StuckTransaction } from "../jobs/submitter";
import { guardedLedger } from "../jobs";
import { LaneSet } from "./lanes";
import { LeaseKeeper } from "./leaseKeeper";

/** The lease of the singleton jobs (of the default currency; see `WorkerOptions.currency`). */
export const JOBS_LEASE = "jobs";

export type WorkerConfig = Pick<
  RelayerConfig,
  | "batchMaxSize"
  | "batchMaxAgeMs"
  | "confirmations"
  | "pollIntervalMs"
  | "feeBumpAfterMs"
  | "maxFeePerGasCap"
  | "settleIntervalMs"
  | "leaseTtlMs"
>;

export interface WorkerOptions {
  /** The currency's view of the store (`store.forCurrency(code)`) when the relayer serves several. */
  store: RelayerStore;
  /**
   * Connected with the first signer; the lanes share its provider. Its top-level addresses are the
   * escrow and token the jobs serve (`ChainClient.forCurrency`).
   */
  chain: ChainClient;
  /** Serving this currency only: a key's nonces are one submitter's at a time (config.ts dealSigners). */
  signers: readonly TxSigner[];
  /**
   * The currency served when it is not the deployment's default: the jobs lease and the watcher's
   * cursors are named for it (`jobs:EUR`, `escrow:EUR`, store/currencyScope.ts currencyQualified).
   * Absent or null: the default currency, whose names are unqualified (as before currencies).
   */
  currency?: string | null;
  config: WorkerConfig;
  /** Random per process start. */
  holder: string;
  /** "worker" or "all" (operators read it in the leases' info). */
  role: string;
  clock?: Clock;
  logger: Logger;
  metrics?: JobMetrics;
  ledger?: LedgerListener;
  batchAccounts?: BatchAccountSource;
  /** Where the relay queue's withdrawals, once sent, are reserved (the jobs' payer ledger). */
  outflows?: Pick<PayerAccounts, "reserveOutflow">;
  readiness?: Readiness;
  onStuck?: (stuck: StuckTransaction) => void;
  /** Jobs and submitters run on their timers once their lease is taken (false: tests tick). Default true. */
  autoStart?: boolean;
}

/** How often a worker renews its leases and looks for free ones. */
export const standbyPollMs = (ttlMs: number): number => Math.max(50, Math.min(1_000, Math.floor(ttlMs / 3)));

export class WorkerRole {
  readonly lanes: LaneSet;
  readonly batcher: Batcher;
  readonly watcher: ChainWatcher;
  readonly settler: Settler;
  readonly timers: OrderTimerKeeper;
  readonly blocklist: BlocklistSync;
  /** Keeps the merchants' report events in the store for the report and credit routes. */
  readonly reports: ReportIndexer;
  /** Sends the relay queue on the lanes held here (not under the jobs lease: every lane helps). */
  readonly relayQueue: RelayQueue;
  readonly jobsLease: LeaseKeeper;
  /** `jobs`, or `jobs:<code>` for a currency but the default. */
  readonly jobsLeaseName: string;
  private readonly singletons: { start(): void; stop(): Promise<void> }[];
  private timer: NodeJS.Timeout | null = null;
  private standby: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: WorkerOptions) {
    const clock = options.clock ?? systemClock;
    const log = options.logger;
    const ledger = options.ledger ? guardedLedger(options.ledger, log) : NO_LEDGER;
    const gasModel = new PayBatchGasModel();
    const builtBatches = new BuiltBatchRecords();
    const named = (name: string) => currencyQualified(name, options.currency ?? null);
    this.jobsLeaseName = named(JOBS_LEASE);
    this.lanes = new LaneSet({
      store: options.store,
      chain: options.chain,
      signers: options.signers,
      holder: options.holder,
      role: options.role,
      ttlMs: options.config.leaseTtlMs,
      config: options.config,
      clock,
      logger: log,
      metrics: options.metrics,
      ledger,
      gasModel,
      builtBatches,
      readiness: options.readiness,
      onStuck: options.onStuck,
      autoStart: options.autoStart,
    });
    this.jobsLease = new LeaseKeeper({
      leases: options.store.leases,
      name: this.jobsLeaseName,
      holder: options.holder,
      role: options.role,
      ttlMs: options.config.leaseTtlMs,
      clock,
      log,
      onAcquired: async () => {
        // What earlier holders applied never passed through this process's ledger: without a reset
        // the batcher would judge payers by accounts read at a stale block (e.g. before deposits).
        const cursor = await this.watcher.cursor();
        if (cursor) ledger.rewound(cursor.blockNumber);
        if (options.autoStart !== false) for (const job of this.singletons) job.start();
      },
      onLost: async () => {
        await Promise.all(this.singletons.map((job) => job.stop()));
      },
    });
    const fence = () => this.jobsLease.fence();
    const jobsStore = fencedJobsStore(options.store, fence);
    const common = { chain: options.chain, clock, logger: log, metrics: options.metrics, ledger };
    this.batcher = new Batcher({
      ...common,
      store: jobsStore,
      config: options.config,
      batchAccounts: options.batchAccounts,
      gasModel,
      builtBatches,
    });
    this.watcher = new ChainWatcher({
      ...common,
      store: options.store,
      config: options.config,
      submitter: this.lanes,
      own: this.lanes.addresses,
      fence,
      cursorNames: { cursor: named(CURSOR_NAME), anchor: named(ANCHOR_CURSOR_NAME) },
    });
    this.settler = new Settler({ ...common, store: jobsStore, config: options.config, submitter: this.lanes });
    this.timers = new OrderTimerKeeper({ ...common, store: jobsStore, config: options.config, submitter: this.lanes });
    this.blocklist = new BlocklistSync({
      ...common,
      store: options.store,
      config: options.config,
      submitter: this.lanes,
      own: this.lanes.addresses,
    });
    this.reports = new ReportIndexer({ ...common, store: options.store, config: options.config, fence });
    this.singletons = [this.watcher, this.batcher, this.settler, this.timers, this.blocklist, this.reports];
    // Relayed operations' outcomes are logged by whichever lane follows them.
    this.lanes.registerPurpose("relay", relayHandler(log));
    this.relayQueue = new RelayQueue({
      store: options.store,
      lanes: () => this.lanes.active().map((lane) => ({ lease: lane.keeper.name, submitter: lane.submitter! })),
      config: options.config,
      clock,
      logger: log,
      metrics: options.metrics,
      onWithdrawalSent: options.outflows
        ? (payer, outflow) => options.outflows!.reserveOutflow(payer, outflow)
        : undefined,
    });
  }

  /** Takes what leases it can (lanes reconciled before they send), then keeps polling. */
  async start(): Promise<void> {
    await this.standbyTick();
    this.schedule();
    if (this.options.autoStart !== false) this.relayQueue.start();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.standby = this.standbyTick().finally(() => {
        this.standby = null;
        this.schedule();
      });
    }, standbyPollMs(this.options.config.leaseTtlMs));
  }

  /**
   * Renews held leases and tries to take free ones: lanes first, then the jobs. The jobs send
   * settlements, blocklist updates and relayed writes through this process's own lanes, so a worker
   * holding no lane leaves the jobs to one that does (releasing them if it held them): after an
   * outage the leases could otherwise split, the jobs here and every lane elsewhere, and nothing
   * would settle while both workers live.
   */
  async standbyTick(): Promise<void> {
    const step = async (work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        this.options.logger.warn({ err: errorMessage(error) }, "lease step failed; retrying");
      }
    };
    await step(() => this.lanes.tick());
    if (this.lanes.held().length > 0) await step(() => this.jobsLease.tick());
    else if (this.jobsLease.isHeld) await step(() => this.jobsLease.release());
  }

  /** The leases this process holds now. */
  /**
   * Runs the chain watcher now (a pass that starts after the call, shared with other callers), so
   * intake judges a payer on blocks mined since the last poll; whether the watcher's cursor moved.
   * False where this process does not hold the `jobs` lease, or the pass failed.
   */
  async catchUp(): Promise<boolean> {
    if (!this.jobsLease.isHeld) return false;
    try {
      const before = (await this.watcher.cursor())?.blockNumber ?? null;
      await this.watcher.runSoon();
      return ((await this.watcher.cursor())?.blockNumber ?? null) !== before;
    } catch {
      return false;
    }
  }

  heldLeases(): string[] {
    return [...(this.jobsLease.isHeld ? [this.jobsLeaseName] : []), ...this.lanes.held()];
  }

  /** Every lane's address. */
  get signers(): Hex[] {
    return this.lanes.addresses;
  }

  /** One pass of every job this process holds, in pipeline order (tests and tools). */
  async tick(): Promise<void> {
    const jobs = this.jobsLease.isHeld;
    if (jobs) await this.watcher.tick();
    if (jobs) await this.batcher.tick();
    for (const lane of this.lanes.active()) await lane.submitter!.tick();
    await this.relayQueue.tick();
    if (jobs) {
      await this.watcher.tick();
      await this.settler.tick();
      await this.timers.tick();
      await this.blocklist.tick();
    }
  }

  /** Graceful: stops polling, stops the jobs and lanes, frees their leases for a standby. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.standby;
    await this.relayQueue.stop();
    await this.jobsLease.release();
    await this.lanes.stop();
  }
}

/**
 * The store as the singleton jobs write it: a batch or a settlement is created only while the jobs
 * lease is still held (checked in the same transaction), so a stalled old leader does not batch
 * payments the new one batches too.
 */
export function fencedJobsStore(store: RelayerStore, fence: () => Fence | null): RelayerStore {
  const assertHeld = async () => {
    const current = fence();
    if (!current) throw new Error("the jobs lease is not held");
    await store.leases.assertHeld(current);
  };
  const batches = override(store.batches, {
    create: (ids: Parameters<RelayerStore["batches"]["create"]>[0], gas?: bigint | null) =>
      store.transaction(async () => {
        await assertHeld();
        return store.batches.create(ids, gas);
      }),
  });
  const settlements = override(store.settlements, {
    create: (merchantId: bigint, batchIds: bigint[]) =>
      store.transaction(async () => {
        await assertHeld();
        return store.settlements.create(merchantId, batchIds);
      }),
  });
  return override(store, { batches, settlements });
}

/** `target` with some members replaced; the others bound to it (private fields keep working). */
function override<T extends object>(target: T, members: Partial<T>): T {
  return new Proxy(target, {
    get(t, property) {
      if (Object.prototype.hasOwnProperty.call(members, property))
        return (members as Record<PropertyKey, unknown>)[property];
      const value = Reflect.get(t, property, t) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}
