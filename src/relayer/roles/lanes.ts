/**
 * Signer lanes: one submitter per signer key, each under the lease `lane:<address>` so that across
 * every worker at most one process sends with a key at a time. A worker tries to hold every lane it
 * has a key for; lanes held elsewhere stay on standby here and are taken over when their lease
 * expires (or is released).
 *
 * On taking a lane the submitter reconciles that signer first: its pending recorded transactions
 * are re-broadcast (the exact bytes recorded, as after a crash) and its nonce is set from the chain
 * and the store, before anything new is signed. Every record carries the lane's fence; a record
 * refused with FencedError stops that submitter at once and the lane goes back to standby.
 *
 * To the other jobs the lanes are one SubmitterPort: settlements, blocklist syncs and relayed
 * writes go out on the held lanes in turn; a transaction's outcome is followed by the lane that
 * sent it (every lane knows every purpose).
 */
import { getAddress } from "ethers";
import type { Hex, SubmissionRecord } from "../domain";
import type { ChainClient } from "../chain/client";
import type { TxSigner } from "../chain/signers/types";
import type { RelayerStore } from "../store/types";
import type { Clock } from "../runtime/clock";
import type { Readiness } from "../runtime/readiness";
import type { Logger } from "../runtime/log";
import type { LedgerListener } from "../ledger/listener";
import type { PurposeHandler } from "../jobs/batchOutcome";
import type { PayBatchGasModel } from "../jobs/batcher";
import type { BuiltBatchRecords } from "../jobs/builtBatches";
import type { JobMetrics } from "../jobs/job";
import { Submitter, type StuckTransaction, type SubmitterOptions, type SubmitterPort } from "../jobs/submitter";
import { LeaseKeeper } from "./leaseKeeper";

/** The lease name of a signer's lane. */
export const laneLease = (address: string): string => `lane:${address.toLowerCase()}`;

/** No lane is held by this process right now (another worker holds them, or none was taken yet). */
export class NoLaneError extends Error {
  readonly code = "no_signer_lane";
  constructor() {
    super("this process holds no signer lane right now");
    this.name = "NoLaneError";
  }
}

export interface LaneSetOptions {
  store: RelayerStore;
  /** Lanes' chain clients share its provider (ChainClient.withSigner). */
  chain: ChainClient;
  signers: readonly TxSigner[];
  holder: string;
  role: string;
  ttlMs: number;
  config: SubmitterOptions["config"];
  clock: Clock;
  logger: Logger;
  metrics?: JobMetrics;
  ledger?: LedgerListener;
  gasModel?: PayBatchGasModel;
  builtBatches?: BuiltBatchRecords;
  readiness?: Readiness;
  onStuck?: (stuck: StuckTransaction) => void;
  /** Whether the submitters run on their timers once taken (false: tests tick them). Default true. */
  autoStart?: boolean;
}

export class Lane {
  submitter: Submitter | null = null;
  readonly keeper: LeaseKeeper;
  readonly chain: ChainClient;

  constructor(
    private readonly set: LaneSet,
    readonly signer: TxSigner,
  ) {
    this.chain = set.options.chain.withSigner(signer);
    this.keeper = new LeaseKeeper({
      leases: set.options.store.leases,
      name: laneLease(signer.address),
      holder: set.options.holder,
      role: set.options.role,
      ttlMs: set.options.ttlMs,
      clock: set.options.clock,
      log: set.options.logger,
      onAcquired: (fence) => this.activate(fence.epoch),
      onLost: () => this.deactivate(),
    });
  }

  get address(): Hex {
    return this.signer.address;
  }

  private async activate(epoch: number): Promise<void> {
    const o = this.set.options;
    const submitter = new Submitter({
      store: o.store,
      chain: this.chain,
      config: o.config,
      clock: o.clock,
      logger: o.logger,
      metrics: o.metrics,
      ledger: o.ledger,
      gasModel: o.gasModel,
      builtBatches: o.builtBatches,
      readiness: o.readiness,
      onStuck: o.onStuck,
      lane: { lease: this.keeper.name, fence: () => this.keeper.fence() },
      // Not awaited: the submitter's own tick is still in flight.
      onFenced: () => void this.keeper.lost(),
    });
    for (const [kind, handler] of this.set.handlers) submitter.registerPurpose(kind, handler);
    // Before anything new: this signer's recorded transactions are re-broadcast, its nonce set.
    const report = await submitter.reconcile();
    o.logger.info({ lane: this.keeper.name, epoch, ...report }, "signer lane taken");
    this.submitter = submitter;
    if (o.autoStart !== false) submitter.start();
  }

  private async deactivate(): Promise<void> {
    const submitter = this.submitter;
    this.submitter = null;
    // Not awaited from inside the submitter's own tick (a fenced record) — its stop waits for it.
    if (submitter) void submitter.stop();
  }
}

export class LaneSet implements SubmitterPort {
  readonly lanes: Lane[];
  /** @internal Purpose handlers every lane's submitter gets. */
  readonly handlers = new Map<string, PurposeHandler>();
  private turn = 0;

  constructor(readonly options: LaneSetOptions) {
    const seen = new Set<string>();
    this.lanes = [];
    for (const signer of options.signers) {
      const key = signer.address.toLowerCase();
      if (seen.has(key)) throw new Error(`signer ${getAddress(signer.address)} is configured twice`);
      seen.add(key);
      this.lanes.push(new Lane(this, signer));
    }
  }

  /** Every configured lane's address (batches any of them sent are the relayer's own). */
  get addresses(): Hex[] {
    return this.lanes.map((l) => l.address);
  }

  /** Lanes this process holds now, with a live submitter. */
  active(): Lane[] {
    return this.lanes.filter((l) => l.submitter !== null && !l.submitter.leaseLost && l.keeper.fence() !== null);
  }

  /** The leases held now (for the "started" line and /health). */
  held(): string[] {
    return this.lanes.filter((l) => l.keeper.isHeld).map((l) => l.keeper.name);
  }

  /** One standby/renewal step for every lane. */
  async tick(): Promise<void> {
    for (const lane of this.lanes) await lane.keeper.tick();
  }

  /** Stops every lane's submitter and frees its lease (graceful). */
  async stop(): Promise<void> {
    const submitters = this.lanes.map((l) => l.submitter).filter((s): s is Submitter => s !== null);
    await Promise.all(this.lanes.map((l) => l.keeper.release()));
    await Promise.all(submitters.map((s) => s.stop()));
  }

  registerPurpose(kind: string, handler: PurposeHandler): void {
    this.handlers.set(kind, handler);
    for (const lane of this.lanes) lane.submitter?.registerPurpose(kind, handler);
  }

  /** The next held lane in turn. */
  private pick(): Submitter {
    const active = this.active();
    if (active.length === 0) throw new NoLaneError();
    return active[this.turn++ % active.length].submitter!;
  }

  gasLimitFor(data: string, fallback: bigint, options?: { strict?: boolean }): Promise<bigint> {
    try {
      return this.pick().gasLimitFor(data, fallback, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async send(purpose: string, data: string, gasLimit: bigint): Promise<SubmissionRecord> {
    return this.pick().send(purpose, data, gasLimit);
  }

  /** `work` with every held lane to itself (the watcher's reorg recovery). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const submitters = this.active().map((l) => l.submitter!);
    const nest = (i: number): Promise<T> =>
      i === submitters.length ? work() : submitters[i].exclusive(() => nest(i + 1));
    return nest(0);
  }

  async reconcile(): Promise<void> {
    for (const lane of this.active()) await lane.submitter!.reconcile();
  }
}
