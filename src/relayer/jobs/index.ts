/**
 * The chain side of the relayer wired together: batcher → submitter → chain watcher, the settler,
 * the order-timer keeper and the blocklist sync, sharing one store, one chain client (one signer), one clock and one ledger listener
 * (intake's account ledger, told of what the jobs commit).
 */
import type { RelayerConfig } from "../config";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import { NO_LEDGER, type LedgerListener } from "../ledger/listener";
import type { Readiness } from "../runtime/readiness";
import type { BatchAccountSource } from "./precheck";
import { Batcher, PayBatchGasModel } from "./batcher";
import { BlocklistSync } from "./blocklistSync";
import { BuiltBatchRecords } from "./builtBatches";
import { ChainWatcher } from "./chainWatcher";
import { OrderTimerKeeper } from "./orderTimers";
import { Settler } from "./settler";
import { Submitter, type StuckTransaction } from "./submitter";
import { systemClock, type Clock } from "../runtime/clock";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import type { JobMetrics } from "./job";

export { Batcher } from "./batcher";
export { BlocklistSync } from "./blocklistSync";
export { ChainWatcher } from "./chainWatcher";
export { OrderTimerKeeper } from "./orderTimers";
export { Settler } from "./settler";
export { Submitter, type StuckTransaction } from "./submitter";

export type PipelineConfig = Pick<
  RelayerConfig,
  | "batchMaxSize"
  | "batchMaxAgeMs"
  | "confirmations"
  | "pollIntervalMs"
  | "feeBumpAfterMs"
  | "maxFeePerGasCap"
  | "settleIntervalMs"
> &
  Partial<Pick<RelayerConfig, "finality">>;

export interface PipelineOptions {
  store: RelayerStore;
  chain: ChainClient;
  config: PipelineConfig;
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  onStuck?: (stuck: StuckTransaction) => void;
  /**
   * Told, from `store.onCommit` of the transactions that made them, of every payment state change
   * the jobs commit, every page the watcher applies, and every reorg rewind. Default: nobody.
   */
  ledger?: LedgerListener;
  /**
   * Where the batcher's pre-send simulation gets payer accounts (the same ledger, which knows the
   * payments in flight). Default: read each payer from the node at the `pending` block.
   */
  batchAccounts?: BatchAccountSource;
  /** Where the jobs report conditions that make the relayer not ready (an unfunded signer). */
  readiness?: Readiness;
}

export interface Pipeline {
  batcher: Batcher;
  submitter: Submitter;
  watcher: ChainWatcher;
  settler: Settler;
  /** Releases payments on their own order timer and escalates unanswered refund requests. */
  timers: OrderTimerKeeper;
  /** Mirrors the token's blocklist into the escrow (syncBlocklist) from the token's events. */
  blocklist: BlocklistSync;
  /** Reconciles the signer's nonce with the chain, then starts every job's loop. */
  start(): Promise<void>;
  /** Stops every loop and waits for ticks in flight. */
  stop(): Promise<void>;
  /** One pass of every job in pipeline order (tests and tools). */
  tick(): Promise<void>;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const logger = options.logger ?? silentLogger;
  const common = {
    store: options.store,
    chain: options.chain,
    clock: options.clock ?? systemClock,
    logger,
    metrics: options.metrics,
    ledger: options.ledger ? guardedLedger(options.ledger, logger) : NO_LEDGER,
  };
  const gasModel = new PayBatchGasModel();
  const builtBatches = new BuiltBatchRecords();
  const submitter = new Submitter({
    ...common,
    config: options.config,
    onStuck: options.onStuck,
    gasModel,
    builtBatches,
    readiness: options.readiness,
  });
  const batcher = new Batcher({
    ...common,
    config: options.config,
    batchAccounts: options.batchAccounts,
    gasModel,
    builtBatches,
  });
  const watcher = new ChainWatcher({ ...common, config: options.config, submitter });
  const settler = new Settler({ ...common, config: options.config, submitter });
  const timers = new OrderTimerKeeper({ ...common, config: options.config, submitter });
  const blocklist = new BlocklistSync({ ...common, config: options.config, submitter });
  const jobs = [watcher, batcher, submitter, settler, timers, blocklist];
  return {
    batcher,
    submitter,
    watcher,
    settler,
    timers,
    blocklist,
    async start() {
      await submitter.reconcile();
      for (const job of jobs) job.start();
    },
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
    },
    async tick() {
      await watcher.tick();
      await batcher.tick();
      await submitter.tick();
      await watcher.tick();
      await settler.tick();
      await timers.tick();
      await blocklist.tick();
    },
  };
}

/**
 * The listener runs right after a commit, inside the store's commit path: an exception there would
 * fail a transaction that did commit (and skip the callbacks after it). Logged instead; the
 * ledger's own expiry bounds what a missed notice can skew.
 */
export function guardedLedger(ledger: LedgerListener, log: Logger): LedgerListener {
  const safely =
    <A extends unknown[]>(name: string, call: (...args: A) => void) =>
    (...args: A) => {
      try {
        call(...args);
      } catch (error) {
        log.error({ err: errorMessage(error), call: name }, "ledger listener failed");
      }
    };
  return {
    paymentsChanged: safely("paymentsChanged", (changes) => ledger.paymentsChanged(changes)),
    chainAdvanced: safely("chainAdvanced", (block, touched) => ledger.chainAdvanced(block, touched)),
    rewound: safely("rewound", (block) => ledger.rewound(block)),
  };
}
