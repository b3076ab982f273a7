/**
 * Chain watcher: the source of truth for every payment state after `submitted`.
 *
 * It reads the escrow's logs from its stored cursor up to the block that has config.confirmations,
 * in pages of blocks, decodes each page, and applies it (./logApplier.ts) in the same store
 * transaction that moves the cursor: after a crash it resumes exactly after the last applied page.
 * That transaction also tells intake's ledger, on commit, which block it reached and which payers'
 * accounts changed in ways the payment changes do not show.
 *
 * How far behind the head it reads, and how far back it rewinds, is the chain's finality profile
 * (../chain/finality.ts): `confirmations` below the head, or the node's `finalized` block in
 * FINALITY=finalized mode (whichever is lower); `reorgDepth` blocks back on a reorg.
 *
 * Reorgs: the cursor keeps the hash of its block. When the chain's block at that height has another
 * hash (or is gone), the watcher rewinds `reorgDepth` blocks, lets ./reorg.ts undo what the dropped
 * blocks did to the relayer's transactions (a dropped batch returns its payments to `accepted` for
 * the batcher), has the submitter reconcile its nonce, and re-reads from the rewind point; the
 * ledger hears `rewound` with the cursor's move back.
 *
 * Deep reorgs: a second cursor, the anchor, keeps the hash of the block `reorgDepth` below the
 * cursor (the rewind point), written in the same transaction. When the anchor's block changed too,
 * the common ancestor lies beyond the window, and rewinding `reorgDepth` would re-read from a block
 * of the new chain on top of state from the old one. Likewise a changed block at or below the
 * `finalized` block in finalized mode. Either is reported (an error line with
 * `event: "deep_reorg"`, and relayer_deep_reorgs_total), and the watcher rewinds to the last block
 * it can trust: the node's `finalized` block when that lies below the anchor, else the deployment
 * block (a full re-scan). Re-reading is idempotent and ./reorg.ts re-checks every batch above the
 * rewind point, so going back further than needed costs node calls, never correctness; stopping
 * would leave payments escrowed on a chain that no longer has them.
 */
import { type RelayerConfig } from "../config";
import { finalityProfile, type FinalityProfile } from "../chain/finality";
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
/** The rewind point's block, kept to tell a reorg within the window from a deeper one. */
export const ANCHOR_CURSOR_NAME = `${CURSOR_NAME}:anchor`;

/** Why a reorg counts as deeper than the watched window. */
export type DeepReorgReason = "beyond_window" | "finalized";

/** Node refusals of a too-large log query (geth, erigon, Alchemy, Infura, ...). */
export const RANGE_ERROR =
  /block range|too many|more than \d+ results|limit exceeded|response size|query returned more/i;

export interface WatcherOptions {
  store: RelayerStore;
  chain: ChainClient;
  /** `finality` (the chain's profile, applied at start-up) wins over `confirmations` when set. */
  config: Pick<RelayerConfig, "confirmations" | "pollIntervalMs"> & Partial<Pick<RelayerConfig, "finality">>;
  /** The signer's serialisation and nonce reconcile (the submitter), used around reorg recovery. */
  submitter?: { exclusive<T>(work: () => Promise<T>): Promise<T>; reconcile(): Promise<unknown> };
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Told of every committed page, payment change and rewind (default: nobody). */
  ledger?: LedgerListener;
  /** Default: config.finality.reorgDepth, else the chain's profile. */
  reorgDepth?: bigint;
  pageBlocks?: bigint;
  /** Every signer lane's address: batches any of them sent are the relayer's own (default: the chain's signer). */
  own?: readonly Hex[];
  /** The `jobs` lease: a page commits only while it is still held (a stalled old leader's cannot). */
  fence?: () => Fence | null;
  /**
   * The cursor's name and its anchor's (default CURSOR_NAME and ANCHOR_CURSOR_NAME): one pair per
   * escrow watched on the store (../roles/worker.ts qualifies them by currency).
   */
  cursorNames?: { cursor: string; anchor: string };
}

export interface WatcherReorg extends ReorgOutcome {
  rewindTo: bigint;
  /** Set when the reorg went deeper than the window (and was reported). */
  deep: DeepReorgReason | null;
}

export class ChainWatcher extends Job {
  private readonly store: RelayerStore;
  private readonly chain: ChainClient;
  private readonly clock: Clock;
  private readonly ledger: LedgerListener;
  private readonly reorgDepth: bigint;
  private pageBlocks: bigint;
  private readonly cursorName: string;
  private readonly anchorName: string;
  /** What this watcher follows: confirmations, window and mode. */
  readonly finality: FinalityProfile;
  private finalizedTagFailed = false;
  /** What the last tick applied and undid (for logs and tests). */
  lastTick: { applied: AppliedCounts; reorg: WatcherReorg | null; head: bigint | null; safe: bigint | null } = {
    applied: {},
    reorg: null,
    head: null,
    safe: null,
  };

  constructor(private readonly options: WatcherOptions) {
    super("watcher", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.chain = options.chain;
    this.clock = options.clock ?? systemClock;
    this.ledger = options.ledger ?? NO_LEDGER;
    const { config } = options;
    this.finality = finalityProfile(this.chain.chainId, {
      confirmations: config.finality?.confirmations ?? config.confirmations,
      reorgDepth: options.reorgDepth ?? config.finality?.reorgDepth ?? null,
      mode: config.finality?.mode ?? null,
    });
    this.reorgDepth = this.finality.reorgDepth;
    this.pageBlocks = options.pageBlocks ?? LOG_PAGE_BLOCKS;
    this.cursorName = options.cursorNames?.cursor ?? CURSOR_NAME;
    this.anchorName = options.cursorNames?.anchor ?? ANCHOR_CURSOR_NAME;
  }

  protected intervalMs(): number {
    return this.options.config.pollIntervalMs;
  }

  /** The last block applied, or null before the first page. */
  async cursor(): Promise<{ blockNumber: bigint; blockHash: Hex } | null> {
    return this.store.chainCursor.get(this.cursorName);
  }

  protected async run(): Promise<void> {
    const applied: AppliedCounts = {};
    this.lastTick = { applied, reorg: null, head: null, safe: null };
    // The finalized block is read before the head: blocks mined between the two reads then only
    // lower it relative to the head, never lift it above the head's finalized block.
    const finalized = this.finality.mode === "finalized" ? await this.finalizedBlock() : null;
    const head = await this.chain.blockNumber();
    this.lastTick.head = head;
    const safe = this.safeBlock(head, finalized);
    this.lastTick.safe = safe;

    let cursor = await this.cursor();
    // A cursor below block 0 (rewound to before genesis) has no block to compare.
    if (cursor && cursor.blockNumber >= 0n && !(await this.isCanonical(cursor))) {
      await this.rewind(cursor, head);
      cursor = await this.cursor();
    }
    let from = cursor ? cursor.blockNumber + 1n : this.chain.addresses.startBlock;
    for (let pages = 0; from <= safe && pages < MAX_PAGES_PER_TICK; pages++) {
      const to = from + this.pageBlocks - 1n < safe ? from + this.pageBlocks - 1n : safe;
      const block = await this.chain.block(to);
      if (!block?.hash) return; // the chain moved under us; the next tick checks again
      const anchor = await this.anchorFor(to);
      if (anchor === undefined) return;
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
        await this.store.chainCursor.set(this.cursorName, to, block.hash as Hex);
        if (anchor) await this.store.chainCursor.set(this.anchorName, anchor.blockNumber, anchor.blockHash);
        this.store.onCommit(() => this.ledger.chainAdvanced(to, result.touched));
        return result.counts;
      });
      for (const [state, n] of Object.entries(counts))
        applied[state as keyof AppliedCounts] = (applied[state as keyof AppliedCounts] ?? 0) + n!;
      if (logs.length > 0) this.log.info({ from, to, logs: logs.length, applied: counts }, "escrow logs applied");
      from = to + 1n;
    }
  }

  /** The highest block the watcher may apply: confirmations below the head, or the finalized block. */
  private safeBlock(head: bigint, finalized: bigint | null): bigint {
    const byDepth = head - BigInt(Math.max(1, this.finality.confirmations)) + 1n;
    return finalized !== null && finalized < byDepth ? finalized : byDepth;
  }

  /**
   * The node's `finalized` block number, or null when it has none (a node that refuses the tag is
   * reported once; the watcher then follows confirmations alone rather than stop).
   */
  private async finalizedBlock(): Promise<bigint | null> {
    try {
      const block = await this.chain.rpc("eth_getBlockByNumber", () => this.chain.provider.getBlock("finalized"));
      return block ? BigInt(block.number) : null;
    } catch (error) {
      if (classifyRpcError(error) === "transient") throw error;
      if (!this.finalizedTagFailed) {
        this.finalizedTagFailed = true;
        this.log.error(
          { event: "finalized_tag_unsupported", chainId: this.chain.chainId.toString(), err: errorMessage(error) },
          "node does not answer the finalized block tag: following confirmations only",
        );
      }
      return null;
    }
  }

  /**
   * The rewind point's block for a cursor at `to`: null below the deployment (a rewind there reads
   * everything again anyway), undefined when the node has no block there right now (retry later).
   */
  private async anchorFor(to: bigint): Promise<{ blockNumber: bigint; blockHash: Hex } | null | undefined> {
    const height = to - this.reorgDepth;
    if (height < this.chain.addresses.startBlock) return null;
    const block = await this.chain.block(height);
    return block?.hash ? { blockNumber: height, blockHash: block.hash as Hex } : undefined;
  }

  private async isCanonical(cursor: { blockNumber: bigint; blockHash: Hex }): Promise<boolean> {
    const block = await this.chain.block(cursor.blockNumber);
    return block !== null && block.hash?.toLowerCase() === cursor.blockHash.toLowerCase();
  }

  /** Whether the reorg that replaced the cursor's block reaches beyond the window, and why. */
  private async deepReorg(cursor: { blockNumber: bigint }): Promise<DeepReorgReason | null> {
    if (this.finality.mode === "finalized") {
      const finalized = await this.finalizedBlock();
      if (finalized !== null && cursor.blockNumber <= finalized) return "finalized";
    }
    const anchor = await this.store.chainCursor.get(this.anchorName);
    // An anchor from a cursor further back than this one (before a rewind) says nothing about it.
    if (!anchor || anchor.blockNumber < 0n || anchor.blockNumber > cursor.blockNumber) return null;
    return (await this.isCanonical(anchor)) ? null : "beyond_window";
  }

  /** Undoes what the blocks after the rewind point did, then points the cursor (and anchor) there. */
  private async rewind(cursor: { blockNumber: bigint; blockHash: Hex }, head: bigint): Promise<void> {
    const fromHeight = cursor.blockNumber < head ? cursor.blockNumber : head;
    const floor = this.chain.addresses.startBlock - 1n;
    let target = fromHeight - this.reorgDepth > floor ? fromHeight - this.reorgDepth : floor;
    const deep = await this.deepReorg(cursor);
    if (deep) {
      // The fork point is unknown below the anchor: back to the finalized block when the node
      // has one below the window (and the reorg did not reach it), else to the deployment.
      const finalized = deep === "beyond_window" ? await this.finalizedBlock() : null;
      target = finalized !== null && finalized < target && finalized > floor ? finalized : floor;
      this.log.error(
        {
          event: "deep_reorg",
          reason: deep,
          chainId: this.chain.chainId.toString(),
          network: this.finality.network,
          cursorBlock: cursor.blockNumber.toString(),
          head: head.toString(),
          reorgDepth: this.reorgDepth.toString(),
          rewindTo: target.toString(),
        },
        "reorg deeper than the watched window: re-reading the escrow's events from a trusted block",
      );
      this.metrics?.deepReorgs.inc({ reason: deep });
    } else {
      this.log.warn({ fromHeight, rewindTo: target }, "reorg detected: rewinding the escrow cursor");
    }
    this.metrics?.failures.inc({ component: "watcher", reason: "reorg" });
    const rewindTo = target;
    const recover = () =>
      recoverFromReorg({
        store: this.store,
        chain: this.chain,
        rewindTo,
        now: this.clock.now(),
        log: this.log,
        ledger: this.ledger,
      });
    const outcome = this.options.submitter ? await this.options.submitter.exclusive(recover) : await recover();
    await this.options.submitter?.reconcile();
    const block = target >= 0n ? await this.chain.block(target) : null;
    // No block there (below genesis): re-read from the start; the ledger then holds nothing either.
    const [at, hash]: [bigint, Hex] = block?.hash ? [target, block.hash as Hex] : [-1n, "0x" as Hex];
    const anchor = at >= 0n ? await this.anchorFor(at) : null;
    await this.store.transaction(async () => {
      await this.assertLease();
      await this.store.chainCursor.set(this.cursorName, at, hash);
      // No anchor known for the new cursor: one that can never match stands for "none".
      if (anchor) await this.store.chainCursor.set(this.anchorName, anchor.blockNumber, anchor.blockHash);
      else await this.store.chainCursor.set(this.anchorName, -1n, "0x" as Hex);
      this.store.onCommit(() => this.ledger.rewound(at));
    });
    this.lastTick.reorg = { ...outcome, rewindTo: target, deep };
  }

  /** Inside the page's transaction: it commits only under the jobs lease still held. */
  private async assertLease(): Promise<void> {
    const fence = this.options.fence?.();
    if (fence === undefined) return;
    if (fence === null) throw new Error("the jobs lease is not held");
    await this.store.leases.assertHeld(fence);
  }
}
