/**
 * Submitter: the only code that signs with a relayer key, one per signer lane.
 *
 * For each built batch it signs a payBatch transaction (EIP-1559 fees from the node, capped by
 * config.maxFeePerGasCap), records it in the store BEFORE broadcasting (so a crash right after the
 * send is recovered from the record, never re-signed with a new nonce), broadcasts it and marks the
 * batch and its payments submitted. Every tick it follows the pending transactions: one mined with
 * config.confirmations is final (siblings with its nonce become "replaced"); one pending longer than
 * feeBumpAfterMs is replaced by the same transaction with both fees raised by feeBumpPercent; one
 * that cannot be bumped under the cap is reported (log, failure metric, `stuck`, `onStuck`), not left
 * silently waiting; one whose nonce another transaction took is dropped and its batch re-sent.
 * Other jobs (the settler) send through `send()`, on the same nonce sequence and lock.
 *
 * Signer lanes (option `lane`): several keys send in parallel, each from one process at a time
 * (its lane lease). Each lane claims built batches (store.batches.claimBuilt), follows only its
 * signer's submissions and nonces, and records each under the lease's fence: once the lease moved
 * on (FencedError), the submitter stops at once and nothing it signed after that is stored or sent.
 *
 * A signer without ETH for gas is reported once (an error line naming the address, the
 * `insufficient_funds` failure metric, readiness `signer_unfunded`), and sending is held: tried
 * again with exponential backoff, or at once when the signer's balance grows. Meanwhile `send()`
 * throws SignerUnfundedError without calling the node.
 */
import { Transaction } from "ethers";
import { SubmissionState, type Hex, type SubmissionRecord } from "../domain";
import { DEFAULTS, type RelayerConfig } from "../config";
import { FencedError } from "../store/errors";
import type { Fence, RelayerStore } from "../store/types";
import type { ChainClient, Fees } from "../chain/client";
import type { RawReceipt } from "../chain/rawTypes";
import { bumpFees, gasLimitFromEstimate, initialFees } from "../chain/fees";
import { ChainUnavailableError, SignerUnfundedError, classifyRpcError } from "../chain/rpcErrors";
import type { Readiness } from "../runtime/readiness";
import { NonceManager, groupByNonce, type NonceReport } from "../chain/nonceManager";
import { NO_LEDGER, type LedgerListener } from "../ledger/listener";
import type { PayBatchGasModel } from "./batcher";
import type { BuiltBatchRecords } from "./builtBatches";
import { NO_STORE_WRITES, batchHandler, parsePurpose, sendBuiltBatches, type PurposeHandler } from "./batchOutcome";
import { systemClock, type Clock } from "../runtime/clock";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { Mutex } from "../runtime/mutex";
import { Job, type JobMetrics } from "./job";

/** Fresh sends whose nonce turned out taken are re-signed at most this often, then left to the next tick. */
const MAX_SEND_ATTEMPTS = 3;
/** Backoff of sends while the signer cannot pay for gas: doubling from the first, up to the second. */
export const UNFUNDED_BACKOFF_MS = { base: 1_000, max: 60_000 };
/** While unfunded, a reminder is logged at most this often. */
export const UNFUNDED_REMINDER_MS = 5 * 60_000;

interface Unfunded {
  since: number;
  /** Failed sends since it began. */
  attempts: number;
  /** Balance when the last send failed: a larger one means someone funded the signer. */
  balance: bigint | null;
  retryAt: number;
  remindedAt: number;
}

export interface StuckTransaction {
  nonce: number;
  purpose: string;
  txHash: Hex;
  /** Fees of the newest transaction sent with this nonce. */
  fees: Fees;
  /** The smallest replacement the node would accept. */
  needed: Fees;
  cap: bigint;
  since: number;
}

/**
 * What the other jobs (settler, blocklist sync, relayed writes, the watcher around a reorg) need of
 * "the submitter": one Submitter, or the signer lanes of a worker (src/relayer/roles/lanes.ts).
 */
export interface SubmitterPort {
  registerPurpose(kind: string, handler: PurposeHandler): void;
  gasLimitFor(data: string, fallback: bigint, options?: { strict?: boolean }): Promise<bigint>;
  send(purpose: string, data: string, gasLimit: bigint): Promise<SubmissionRecord>;
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  reconcile(): Promise<unknown>;
}

/** Built batches a lane claims per tick at most (the rest is left to the other lanes). */
export const LANE_CLAIM_LIMIT = 2;

/** The signer lane a submitter sends on, across processes (see src/relayer/roles/lanes.ts). */
export interface LaneBinding {
  /** The lane's lease name, "lane:<address>". */
  lease: string;
  /** The fence of the lease as held now; null when not held (nothing may be sent). */
  fence: () => Fence | null;
}

export interface SubmitterOptions {
  store: RelayerStore;
  chain: ChainClient;
  config: Pick<RelayerConfig, "confirmations" | "feeBumpAfterMs" | "maxFeePerGasCap" | "pollIntervalMs">;
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Default DEFAULTS.feeBumpPercent. */
  feeBumpPercent?: bigint;
  /** Called once when a transaction becomes stuck at the fee cap. */
  onStuck?: (stuck: StuckTransaction) => void;
  /** Shared with the batcher: a trusted model sends ECDSA-signed batches without an estimate. */
  gasModel?: PayBatchGasModel;
  /** The batcher's records of the batches it just built, so that sending one reads no rows. */
  builtBatches?: BuiltBatchRecords;
  /** Told of the payment state changes it commits (default: nobody). */
  ledger?: LedgerListener;
  /** Where `signer_unfunded` is reported (default: nowhere). */
  readiness?: Readiness;
  /**
   * A lane among several: every record carries the lane lease's fence, and only the built batches
   * the lane claims are sent. Absent: the one signer of a single relayer, unfenced.
   */
  lane?: LaneBinding;
  /** Called once when a record was refused because the lane's lease moved on (the submitter stopped). */
  onFenced?: (error: FencedError) => void;
}

export class Submitter extends Job implements SubmitterPort {
  readonly nonces: NonceManager;
  /** Transactions that need a bump above the fee cap, by nonce (cleared when mined or dropped). */
  readonly stuck = new Map<number, StuckTransaction>();
  private readonly store: RelayerStore;
  private readonly chain: ChainClient;
  private readonly config: SubmitterOptions["config"];
  private readonly clock: Clock;
  private readonly ledger: LedgerListener;
  private readonly gasModel?: PayBatchGasModel;
  private readonly builtBatches?: BuiltBatchRecords;
  private readonly bumpPercent: bigint;
  private readonly lock = new Mutex();
  private readonly handlers = new Map<string, PurposeHandler>();
  /** Last bump tried per nonce (fees and when), so a refused bump is neither repeated nor hurried. */
  private readonly tried = new Map<number, { fees: Fees; at: number }>();
  private reconciled = false;
  /** Set while the signer cannot pay for gas (see the class comment). */
  private unfunded: Unfunded | null = null;
  /** Set once the lane's lease was lost: from then on nothing is signed, recorded or broadcast. */
  private lost: FencedError | null = null;

  constructor(private readonly options: SubmitterOptions) {
    super("submitter", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.chain = options.chain;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.ledger = options.ledger ?? NO_LEDGER;
    this.gasModel = options.gasModel;
    this.builtBatches = options.builtBatches;
    this.bumpPercent = options.feeBumpPercent ?? DEFAULTS.feeBumpPercent;
    this.nonces = new NonceManager(this.chain, this.store, {
      clock: this.clock,
      logger: this.log,
      maxFeePerGasCap: this.config.maxFeePerGasCap,
      fence: options.lane?.fence,
    });
    const now = () => this.clock.now();
    this.handlers.set(
      "batch",
      batchHandler({ store: this.store, escrow: this.chain.addresses.escrow, now, log: this.log, ledger: this.ledger }),
    );
    this.handlers.set("cancel", { onMined: () => NO_STORE_WRITES, onDropped: async () => undefined });
  }

  protected intervalMs(): number {
    return this.config.pollIntervalMs;
  }

  /** Routes the outcome of transactions whose purpose is `<kind>:...` (e.g. the settler's). */
  registerPurpose(kind: string, handler: PurposeHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Runs `work` with the signer to itself (no send, no nonce change meanwhile). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.lock.run(work);
  }

  /** Resolves pending transactions, then reconciles the nonce counter with the chain. */
  reconcile(): Promise<NonceReport> {
    return this.fenced(() =>
      this.lock.run(async () => {
        await this.checkLane();
        return this.reconcileLocked();
      }),
    );
  }

  /** Signs, records and broadcasts a transaction to the escrow carrying `data`. */
  send(purpose: string, data: string, gasLimit: bigint): Promise<SubmissionRecord> {
    return this.fenced(() =>
      this.lock.run(async () => {
        await this.checkLane();
        if (!this.reconciled) await this.reconcileLocked();
        if (!(await this.maySend())) throw new SignerUnfundedError(this.chain.address, this.unfunded!.retryAt);
        return this.sendLocked(purpose, data, gasLimit);
      }),
    );
  }

  /** The lane's lease was lost (FencedError): this submitter sends nothing more. */
  get leaseLost(): boolean {
    return this.lost !== null;
  }

  /**
   * A lane submitter checks its lease before anything that may reach the node, so an old holder
   * woken from a pause does not even re-broadcast; the store checks it again in every record.
   */
  private async checkLane(): Promise<void> {
    if (this.lost) throw this.lost;
    const lane = this.options.lane;
    if (!lane) return;
    const fence = lane.fence();
    if (!fence) throw new FencedError({ lease: lane.lease, holder: "", epoch: 0 }, null);
    await this.store.leases.assertHeld(fence);
  }

  private async fenced<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof FencedError) this.onLeaseLost(error);
      throw error;
    }
  }

  private onLeaseLost(error: FencedError): void {
    // Reported here once; the job loop must not log it again every tick.
    Object.assign(error, { reported: true });
    if (this.lost) return;
    this.lost = error;
    this.log.error(
      { lease: error.fence.lease, epoch: error.fence.epoch, current: error.current?.epoch ?? null },
      "signer lane lease lost: this submitter stops sending",
    );
    this.metrics?.failures.inc({ component: "submitter", reason: "lease_lost" });
    this.options.onFenced?.(error);
  }

  /** Whether the signer was last seen unable to pay for gas (until a send succeeds). */
  get signerUnfunded(): boolean {
    return this.unfunded !== null;
  }

  /**
   * Gas limit for a call to the escrow: the node's estimate with headroom, or `fallback` when the
   * estimate fails. `strict`: any failure is rethrown (a revert means the call would revert on
   * chain too; without a simulation the caller should not send).
   */
  async gasLimitFor(data: string, fallback: bigint, options: { strict?: boolean } = {}): Promise<bigint> {
    try {
      return gasLimitFromEstimate(await this.chain.estimateGas(this.chain.addresses.escrow, data));
    } catch (error) {
      if (options.strict) throw error;
      this.log.warn({ err: errorMessage(error) }, "gas estimate failed; using the model");
      return gasLimitFromEstimate(fallback);
    }
  }

  protected run(): Promise<void> {
    if (this.lost) return Promise.resolve();
    return this.fenced(() =>
      this.lock.run(async () => {
        await this.checkLane();
        if (!this.reconciled) await this.reconcileLocked();
        await this.followPending();
        if (!(await this.maySend())) return;
        // A refusal for want of funds surfaces as this tick's error (SignerUnfundedError, already
        // reported: the job loop does not log it again); the batches wait for the next try.
        await this.sendBatches();
      }),
    );
  }

  private sendBatches(): Promise<void> {
    return sendBuiltBatches({
      store: this.store,
      ledger: this.ledger,
      now: () => this.clock.now(),
      log: this.log,
      metrics: this.metrics,
      gasLimitFor: (data, fallback) => this.gasLimitFor(data, fallback),
      gasModel: this.gasModel,
      builtBatches: this.builtBatches,
      send: (purpose, data, gasLimit) => this.sendLocked(purpose, data, gasLimit),
      batches: this.options.lane
        ? () => this.store.batches.claimBuilt(this.options.lane!.lease, this.clock.now(), LANE_CLAIM_LIMIT)
        : undefined,
    });
  }

  private async reconcileLocked(): Promise<NonceReport> {
    await this.followPending();
    const report = await this.nonces.reconcile();
    this.reconciled = true;
    this.log.info({ ...report }, "nonce reconciled with the chain");
    return report;
  }

  private async sendLocked(purpose: string, data: string, gasLimit: bigint): Promise<SubmissionRecord> {
    for (let attempt = 1; ; attempt++) {
      // Network first: a failure here must not leave a nonce handed out and unused (a gap).
      const fees = initialFees(await this.chain.suggestedFees(), this.config.maxFeePerGasCap);
      const nonce = this.nonces.allocate();
      let signed: { rawTx: Hex; txHash: Hex };
      let submission: SubmissionRecord;
      try {
        signed = await this.chain.sign({ to: this.chain.addresses.escrow, data, nonce, gasLimit, fees });
        submission = await this.record(purpose, nonce, signed, fees);
      } catch (error) {
        this.nonces.release(nonce);
        throw error;
      }
      let outcome: Awaited<ReturnType<ChainClient["broadcast"]>>;
      try {
        outcome = await this.chain.broadcast(signed.rawTx);
      } catch (error) {
        // Recorded and pending: the next tick re-broadcasts it when the node is back.
        if (error instanceof ChainUnavailableError) return submission;
        // Some nodes (Hardhat's automine) mine a reverting transaction and still answer an error.
        if (await this.chain.transaction(signed.txHash).catch(() => null)) return submission;
        // Refused outright (e.g. no funds for gas): nothing holds the nonce, so give it back.
        await this.store.submissions.setState(submission.id, SubmissionState.Failed);
        this.nonces.release(nonce);
        if (classifyRpcError(error) === "insufficient_funds") {
          await this.onUnfunded(error);
          throw new SignerUnfundedError(this.chain.address, this.unfunded!.retryAt);
        }
        this.metrics?.failures.inc({ component: "submitter", reason: "broadcast_refused" });
        throw error;
      }
      this.onFunded();
      if (outcome === "sent" || outcome === "already_known") return submission;
      if (outcome === "nonce_too_high") {
        this.log.warn({ nonce }, "node reports a nonce gap; reconciling");
        await this.nonces.reconcile();
        return submission;
      }
      // nonce_too_low / replacement_underpriced can mean OUR transaction already holds the nonce:
      // the node took it but its answer was lost, and a retry of the same bytes met it. If the node
      // knows our hash, it was sent; re-signing would only pay for a second, rejected batch.
      if (await this.chain.transaction(signed.txHash).catch(() => null)) return submission;
      // Otherwise another transaction of this key holds it. Ours can never be mined: drop it, move
      // past the chain's count, re-sign.
      await this.store.submissions.setState(submission.id, SubmissionState.Failed);
      this.log.warn({ nonce, outcome, purpose }, "nonce taken outside the relayer; re-signing with the next one");
      await this.nonces.resync();
      if (attempt >= MAX_SEND_ATTEMPTS) throw new Error(`${purpose}: nonce taken ${attempt} times in a row`);
    }
  }

  /**
   * False while the signer is known unfunded and neither its backoff has run out nor its balance
   * grown. One eth_getBalance per call while unfunded; none otherwise.
   */
  private async maySend(): Promise<boolean> {
    const state = this.unfunded;
    if (!state) return true;
    if (this.clock.now() >= state.retryAt) return true;
    const balance = await this.chain.balance().catch(() => null);
    return balance !== null && state.balance !== null && balance > state.balance;
  }

  private async onUnfunded(error: unknown): Promise<void> {
    const now = this.clock.now();
    const balance = await this.chain.balance().catch(() => null);
    const attempts = (this.unfunded?.attempts ?? 0) + 1;
    const delay = Math.min(UNFUNDED_BACKOFF_MS.max, UNFUNDED_BACKOFF_MS.base * 2 ** (attempts - 1));
    const first = this.unfunded === null;
    const remind = !first && now - this.unfunded!.remindedAt >= UNFUNDED_REMINDER_MS;
    this.unfunded = {
      since: this.unfunded?.since ?? now,
      attempts,
      balance,
      retryAt: now + delay,
      remindedAt: first || remind ? now : this.unfunded!.remindedAt,
    };
    this.metrics?.failures.inc({ component: "submitter", reason: "insufficient_funds" });
    // Per lane: another lane funded again must not clear this one's condition.
    this.options.readiness?.fail(
      "signer_unfunded",
      `the relayer's signer ${this.chain.address} has no ETH for gas`,
      this.chain.address,
    );
    const fields = { signer: this.chain.address, balanceWei: balance?.toString() ?? null, retryInMs: delay };
    if (first) {
      // The node's own words (not ethers' "could not coalesce error"), without the signed bytes.
      this.log.error(
        { ...fields, node: nodeMessage(error) },
        "signer has no ETH for gas: nothing is sent until it is funded",
      );
    } else if (remind) {
      this.log.error({ ...fields, attempts, since: this.unfunded.since }, "signer still has no ETH for gas");
    }
  }

  private onFunded(): void {
    if (!this.unfunded) return;
    this.log.info(
      { signer: this.chain.address, unfundedForMs: this.clock.now() - this.unfunded.since },
      "signer funded again: sending resumed",
    );
    this.unfunded = null;
    this.options.readiness?.clear("signer_unfunded", this.chain.address);
  }

  private record(
    purpose: string,
    nonce: number,
    signed: { rawTx: Hex; txHash: Hex },
    fees: Fees,
  ): Promise<SubmissionRecord> {
    const lane = this.options.lane;
    const fence = lane?.fence() ?? undefined;
    // The lease ran out while this transaction was being signed (a pause, a slow remote signer):
    // another lane may have claimed its work by now. Recording it unfenced would let both send.
    if (lane && !fence) return Promise.reject(new FencedError({ lease: lane.lease, holder: "", epoch: 0 }, null));
    return this.store.submissions.record(
      {
        purpose,
        signer: this.nonces.signer,
        epoch: fence?.epoch ?? 0,
        nonce,
        txHash: signed.txHash,
        rawTx: signed.rawTx,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        state: SubmissionState.Pending,
        sentAt: this.clock.now(),
      },
      fence,
    );
  }

  /** Finalises mined transactions, drops those whose nonce was taken, bumps the slow ones. */
  private async followPending(): Promise<void> {
    const pending = await this.store.submissions.listPending(this.nonces.signer);
    if (pending.length === 0) {
      this.stuck.clear();
      return;
    }
    const latestNonce = await this.chain.nonceAt("latest");
    const head = await this.chain.blockNumber();
    for (const [nonce, group] of groupByNonce(pending)) {
      let mined: { submission: SubmissionRecord; receipt: RawReceipt } | null = null;
      for (const submission of [...group].reverse()) {
        const receipt = await this.chain.receipt(submission.txHash);
        if (receipt) {
          mined = { submission, receipt };
          break;
        }
      }
      if (mined) {
        if (head - mined.receipt.blockNumber + 1n >= BigInt(this.config.confirmations)) {
          await this.finalize(group, mined.submission, mined.receipt);
          this.forget(nonce);
        }
      } else if (nonce < latestNonce) {
        await this.drop(group);
        this.forget(nonce);
      } else {
        await this.keepAlive(group);
      }
    }
  }

  private forget(nonce: number): void {
    this.stuck.delete(nonce);
    this.tried.delete(nonce);
  }

  private async finalize(group: SubmissionRecord[], mined: SubmissionRecord, receipt: RawReceipt): Promise<void> {
    const { kind, keys } = parsePurpose(mined.purpose);
    // The receipt is read before the transaction: only store writes happen while it is open.
    const writes = this.handlers.get(kind)?.onMined(keys, receipt) ?? NO_STORE_WRITES;
    await this.store.transaction(async () => {
      await this.store.submissions.setState(
        mined.id,
        receipt.status === 1 ? SubmissionState.Mined : SubmissionState.Failed,
      );
      for (const other of group)
        if (other.id !== mined.id) await this.store.submissions.setState(other.id, SubmissionState.Replaced);
      await writes();
    });
    this.metrics?.gasUsed.inc({ purpose: kind }, Number(receipt.gasUsed));
    this.metrics?.submissionLatency.observe({ purpose: kind }, Math.max(0, this.clock.now() - group[0].sentAt) / 1000);
    if (receipt.status !== 1) this.metrics?.failures.inc({ component: "submitter", reason: "reverted" });
    this.log.info(
      { purpose: mined.purpose, txHash: receipt.transactionHash, block: receipt.blockNumber, gasUsed: receipt.gasUsed },
      "transaction final",
    );
  }

  private async drop(group: SubmissionRecord[]): Promise<void> {
    this.log.warn(
      { nonce: group[0].nonce, purposes: group.map((s) => s.purpose) },
      "nonce consumed by a transaction we did not send",
    );
    this.metrics?.failures.inc({ component: "submitter", reason: "nonce_taken" });
    await this.store.transaction(async () => {
      for (const s of group) await this.store.submissions.setState(s.id, SubmissionState.Failed);
      for (const purpose of new Set(group.map((s) => s.purpose))) {
        const { kind, keys } = parsePurpose(purpose);
        await this.handlers.get(kind)?.onDropped(keys);
      }
    });
  }

  /** A pending transaction: re-broadcast if the node lost it, bump it if it has waited too long. */
  private async keepAlive(group: SubmissionRecord[]): Promise<void> {
    const newest = group[group.length - 1];
    if (!(await this.chain.transaction(newest.txHash))) {
      // Best effort: a node that evicted the transaction for its fees (anvil, when the base fee rose
      // above its cap) refuses the same bytes again; the bump below is then what gets it mined.
      const outcome = await this.chain.broadcast(newest.rawTx).catch((error: unknown) => {
        if (classifyRpcError(error) === "transient") throw error;
        return `refused: ${(error as { error?: { message?: string } }).error?.message ?? errorMessage(error)}`;
      });
      this.log.warn(
        { nonce: newest.nonce, txHash: newest.txHash, outcome },
        "node lost a pending transaction; re-broadcast",
      );
    }
    const tried = this.tried.get(newest.nonce);
    if (this.clock.now() - Math.max(newest.sentAt, tried?.at ?? 0) < this.config.feeBumpAfterMs) return;
    const previous = tried?.fees ?? {
      maxFeePerGas: newest.maxFeePerGas,
      maxPriorityFeePerGas: newest.maxPriorityFeePerGas,
    };
    const bump = bumpFees(previous, await this.chain.suggestedFees(), this.bumpPercent, this.config.maxFeePerGasCap);
    if (!bump.ok) {
      this.reportStuck(newest, bump.needed, bump.cap);
      return;
    }
    const tx = Transaction.from(newest.rawTx);
    const signed = await this.chain.sign({
      to: tx.to!,
      data: tx.data,
      value: tx.value,
      nonce: tx.nonce,
      gasLimit: tx.gasLimit,
      fees: bump.fees,
    });
    const replacement = await this.record(newest.purpose, newest.nonce, signed, bump.fees);
    this.tried.set(newest.nonce, { fees: bump.fees, at: this.clock.now() });
    let outcome: Awaited<ReturnType<ChainClient["broadcast"]>>;
    try {
      outcome = await this.chain.broadcast(signed.rawTx);
    } catch (error) {
      if (classifyRpcError(error) !== "insufficient_funds") throw error;
      // The bump costs more than the signer holds: the transaction waits at its current fees.
      await this.store.submissions.setState(replacement.id, SubmissionState.Failed);
      await this.onUnfunded(error);
      return;
    }
    if (outcome === "sent" || outcome === "already_known") {
      this.log.info({ nonce: tx.nonce, from: newest.txHash, to: signed.txHash, fees: bump.fees }, "fee bumped");
      return;
    }
    // Refused (the node wants more, or the nonce was just mined): this one never enters the pool.
    await this.store.submissions.setState(replacement.id, SubmissionState.Failed);
    this.log.warn({ nonce: tx.nonce, outcome }, "fee bump refused by the node");
  }

  private reportStuck(newest: SubmissionRecord, needed: Fees, cap: bigint): void {
    const known = this.stuck.get(newest.nonce);
    const info: StuckTransaction = {
      nonce: newest.nonce,
      purpose: newest.purpose,
      txHash: newest.txHash,
      fees: { maxFeePerGas: newest.maxFeePerGas, maxPriorityFeePerGas: newest.maxPriorityFeePerGas },
      needed,
      cap,
      since: known?.since ?? this.clock.now(),
    };
    this.stuck.set(newest.nonce, info);
    if (known) return;
    this.log.error(
      { nonce: info.nonce, purpose: info.purpose, txHash: info.txHash, neededMaxFeePerGas: needed.maxFeePerGas, cap },
      "transaction stuck: a fee bump would exceed maxFeePerGasCap",
    );
    this.metrics?.failures.inc({ component: "submitter", reason: "fee_cap_exceeded" });
    this.options.onStuck?.(info);
  }
}

/** The node's message inside an ethers error (its `error.message`), else the error's own, bounded. */
function nodeMessage(error: unknown): string {
  const inner = (error as { error?: { message?: unknown } } | null)?.error?.message;
  return (typeof inner === "string" ? inner : errorMessage(error)).slice(0, 200);
}
