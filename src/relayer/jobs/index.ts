/**
 * The chain side of the relayer wired together: batcher → submitter → chain watcher, and the
 * settler, sharing one store, one chain client (one signer) and one clock.
 */
import type { RelayerConfig } from "../config";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/contracts";
import { Batcher } from "./batcher";
import { ChainWatcher } from "./chainWatcher";
import { Settler } from "./settler";
import { Submitter, type StuckTransaction } from "./submitter";
import { silentLogger, systemClock, type Clock, type JobMetrics, type Logger } from "./runtime";

export { Batcher } from "./batcher";
export { ChainWatcher } from "./chainWatcher";
export { Settler } from "./settler";
export { Submitter, type StuckTransaction } from "./submitter";
export { systemClock, silentLogger, type Clock, type Logger } from "./runtime";

export type PipelineConfig = Pick<
  RelayerConfig,
  | "batchMaxSize"
  | "batchMaxAgeMs"
  | "confirmations"
  | "pollIntervalMs"
  | "feeBumpAfterMs"
  | "maxFeePerGasCap"
  | "settleIntervalMs"
>;

export interface PipelineOptions {
  store: RelayerStore;
  chain: ChainClient;
  config: PipelineConfig;
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  onStuck?: (stuck: StuckTransaction) => void;
}

export interface Pipeline {
  batcher: Batcher;
  submitter: Submitter;
  watcher: ChainWatcher;
  settler: Settler;
  /** Reconciles the signer's nonce with the chain, then starts every job's loop. */
  start(): Promise<void>;
  /** Stops every loop and waits for ticks in flight. */
  stop(): Promise<void>;
  /** One pass of every job in pipeline order (tests and tools). */
  tick(): Promise<void>;
}

export function createPipeline(options: PipelineOptions): Pipeline {
  const common = {
    store: options.store,
    chain: options.chain,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    metrics: options.metrics,
  };
  const submitter = new Submitter({ ...common, config: options.config, onStuck: options.onStuck });
  const batcher = new Batcher({ ...common, config: options.config });
  const watcher = new ChainWatcher({ ...common, config: options.config, submitter });
  const settler = new Settler({ ...common, config: options.config, submitter });
  const jobs = [watcher, batcher, submitter, settler];
  return {
    batcher,
    submitter,
    watcher,
    settler,
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
    },
  };
}
