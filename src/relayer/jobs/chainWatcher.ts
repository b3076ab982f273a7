/**
 * Chain watcher: the source of truth for every payment state after `submitted`.
 *
 * It reads the escrow's logs from its stored cursor up to the block that has config.confirmations,
 * in pages of blocks, decodes each page, and applies it (./logApplier.ts) in the same store
 * transaction that moves the cursor: after a crash it resumes exactly after the last applied page.
 * That transaction also tells intake's ledger, on commit, which block it reached and which payers'
 * accounts changed in ways the payment changes do not show.
 *
 * Reorgs: the cursor keeps the hash of its block. When the chain's block at that height has another
 * hash (or is gone), the watcher rewinds `reorgDepth` blocks, lets ./reorg.ts undo what the dropped
 * blocks did to the relayer's transactions (a dropped batch returns its payments to `accepted` for
 * the batcher), has the submitter reconcile its nonce, and re-reads from the rewind point; the
 * ledger hears `rewound` with the cursor's move back.
 */
import { type RelayerConfig } from "../config";
import type { Hex } from "../domain";
import type { Fence, RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import { classifyRpcError } from "../chain/rpcErrors";
import { NO_LEDGER, type LedgerListener } from "../ledger/listener";
import { WATCHED_TOPICS, applyEscrowPage, decodeEscrowLogs, type AppliedCounts } from "./logApplier";
import { recoverFromReorg, type ReorgOutcome } from "./reorg";
import { systemClock, type Clock } from "../runtime/clock";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { Job, type JobMetrics } from "./job";

export const CURSOR_NAME = "escrow";
/** Blocks per eth_getLogs request (halved down to 1 when a node refuses the range). */
export const LOG_PAGE_BLOCKS = 2_000n;
/** Pages per tick at most, so one tick never runs unbounded while catching up. */
const MAX_PAGES_PER_TICK = 20;
/** How far back a detected reorg rewinds (deeper than any reorg seen on the supported chains). */
export const REORG_REWIND_BLOCKS = 64n;

/** Node refusals of a too-large log query (geth, erigon, Alchemy, Infura, ...). */
const RANGE_ERROR = /block range|too many|more than \d+ results|limit exceeded|response size|query returned more/i;

export interface WatcherOptions {
  store: RelayerStore;
  chain: ChainClient;
  config: Pick<RelayerConfig, "confirmations" | "pollIntervalMs">;
  /** The signer's serialisation and nonce reconcile (the submitter), used around reorg recovery. */
  submitter?: { exclusive<T>(work: () => Promise<T>): Promise<T>; reconcile(): Promise<unknown> };
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Told of every committed page, payment change and rewind (default: nobody). */
  ledger?: LedgerListener;
  reorgDepth?: bigint;
  pageBlocks?: bigint;
  /** Every signer lane's address: batches any of them sent are the relayer's own (default: the chain's signer). */
  own?: readonly Hex[];
  /** The `jobs` lease: a page commits only while it is still held (a stalled old leader's cannot). */
  fence?: () => Fence | null;
}

export class ChainWatcher extends Job {
  private readonly store: RelayerStore;
  private readonly chain: ChainClient;
  private readonly clock: Clock;
  private readonly ledger: LedgerListener;
  private readonly reorgDepth: bigint;
  private pageBlocks: bigint;
  /** What the last tick applied and undid (for logs and tests). */
  lastTick: { applied: AppliedCounts; reorg: (ReorgOutcome & { rewindTo: bigint }) | null; head: bigint | null } = {
    applied: {},
    reorg: null,
    head: null,
  };

  constructor(private readonly options: WatcherOptions) {
    super("watcher", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.chain = options.chain;
    this.clock = options.clock ?? systemClock;
    this.ledger = options.ledger ?? NO_LEDGER;
    this.reorgDepth = options.reorgDepth ?? REORG_REWIND_BLOCKS;
    this.pageBlocks = options.pageBlocks ?? LOG_PAGE_BLOCKS;
  }

  protected intervalMs(): number {
    return this.options.config.pollIntervalMs;
  }

  /** The last block applied, or null before the first page. */
  async cursor(): Promise<{ blockNumber: bigint; blockHash: Hex } | null> {
    return this.store.chainCursor.get(CURSOR_NAME);
  }

  protected async run(): Promise<void> {
    const applied: AppliedCounts = {};
    this.lastTick = { applied, reorg: null, head: null };
    const head = await this.chain.blockNumber();
    this.lastTick.head = head;
    const safe = head - BigInt(Math.max(1, this.options.config.confirmations)) + 1n;

    let cursor = await this.cursor();
    // A cursor below block 0 (rewound to before genesis) has no block to compare.
    if (cursor && cursor.blockNumber >= 0n && !(await this.isCanonical(cursor))) {
      await this.rewind(cursor.blockNumber < head ? cursor.blockNumber : head);
      cursor = await this.cursor();
    }
    let from = cursor ? cursor.blockNumber + 1n : this.chain.addresses.startBlock;
    for (let pages = 0; from <= safe && pages < MAX_PAGES_PER_TICK; pages++) {
      const to = from + this.pageBlocks - 1n < safe ? from + this.pageBlocks - 1n : safe;
      const block = await this.chain.block(to);
      if (!block?.hash) return; // the chain moved under us; the next tick checks again
      let logs;
      try {
        logs = await this.chain.escrowLogs(from, to, [WATCHED_TOPICS]);
      } catch (error) {
        if (this.pageBlocks > 1n && classifyRpcError(error) !== "transient" && RANGE_ERROR.test(errorMessage(error))) {
          this.pageBlocks = this.pageBlocks / 2n;
          this.log.warn({ pageBlocks: this.pageBlocks }, "node refused the log range; halving the page");
          continue;
        }
        throw error;
      }
      // A log from another version of block `to` means a reorg raced the two reads: retry later.
      const hash = block.hash.toLowerCase();
      if (logs.some((l) => l.blockNumber === to && l.blockHash !== hash)) return;
      const page = decodeEscrowLogs(logs);
      const counts = await this.store.transaction(async () => {
        await this.assertLease();
        const self = this.options.own ?? [this.chain.address];
        const result = await applyEscrowPage(this.store, page, this.clock.now(), this.ledger, self);
        await this.store.chainCursor.set(CURSOR_NAME, to, block.hash as Hex);
        this.store.onCommit(() => this.ledger.chainAdvanced(to, result.touched));
        return result.counts;
      });
      for (const [state, n] of Object.entries(counts))
        applied[state as keyof AppliedCounts] = (applied[state as keyof AppliedCounts] ?? 0) + n!;
      if (logs.length > 0) this.log.info({ from, to, logs: logs.length, applied: counts }, "escrow logs applied");
      from = to + 1n;
    }
  }

  private async isCanonical(cursor: { blockNumber: bigint; blockHash: Hex }): Promise<boolean> {
    const block = await this.chain.block(cursor.blockNumber);
    return block !== null && block.hash?.toLowerCase() === cursor.blockHash.toLowerCase();
  }

  /** Undoes what the blocks after the rewind point did, then points the cursor there. */
  private async rewind(fromHeight: bigint): Promise<void> {
    const floor = this.chain.addresses.startBlock - 1n;
    const target = fromHeight - this.reorgDepth > floor ? fromHeight - this.reorgDepth : floor;
    this.log.warn({ fromHeight, rewindTo: target }, "reorg detected: rewinding the escrow cursor");
    this.metrics?.failures.inc({ component: "watcher", reason: "reorg" });
    const recover = () =>
      recoverFromReorg({
        store: this.store,
        chain: this.chain,
        rewindTo: target,
        now: this.clock.now(),
        log: this.log,
        ledger: this.ledger,
      });
    const outcome = this.options.submitter ? await this.options.submitter.exclusive(recover) : await recover();
    await this.options.submitter?.reconcile();
    const block = target >= 0n ? await this.chain.block(target) : null;
    // No block there (below genesis): re-read from the start; the ledger then holds nothing either.
    const [at, hash]: [bigint, Hex] = block?.hash ? [target, block.hash as Hex] : [-1n, "0x" as Hex];
    await this.store.transaction(async () => {
      await this.assertLease();
      await this.store.chainCursor.set(CURSOR_NAME, at, hash);
      this.store.onCommit(() => this.ledger.rewound(at));
    });
    this.lastTick.reorg = { ...outcome, rewindTo: target };
  }

  /** Inside the page's transaction: it commits only under the jobs lease still held. */
  private async assertLease(): Promise<void> {
    const fence = this.options.fence?.();
    if (fence === undefined) return;
    if (fence === null) throw new Error("the jobs lease is not held");
    await this.store.leases.assertHeld(fence);
  }
}
