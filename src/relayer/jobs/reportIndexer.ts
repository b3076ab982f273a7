/**
 * Report indexer: keeps the merchants' report events (src/protocol/reports: escrows, confirmations,
 * refunds, disputes, rulings, settlements, payouts and claims) in the store, so the report and
 * credit routes read one table instead of the node (docs/REPORTS.md, "Where the events come from").
 *
 * - It reads the escrow's report events from its cursor in pages, with each block's time (one read
 *   per block that has events) and each escrowing transaction's calldata (one read per transaction,
 *   for the payments' order references), and stores a page and the cursor in one transaction.
 * - It indexes up to the block the chain watcher counts safe (head minus confirmations, or the
 *   node's `finalized` block in FINALITY=finalized mode), so a merchant sees an event in its files
 *   and credit record when the relayer moves the payment's state, not a reorg window later.
 * - A reorg that replaces the cursor's block (depth mode) rewinds the index by the watcher's reorg
 *   window (`reorgDepth`, the depth it trusts blocks to be final at) and re-reads from there: a file
 *   can change until its blocks are that deep, like the payments' states. In finalized mode the
 *   cursor's block was final: its replacement is reported like the watcher's deep reorgs
 *   (`event: "deep_reorg"`, relayer_deep_reorgs_total{reason="report_index"}) and the index is
 *   rebuilt from the node's `finalized` block when it lies below the cursor, else from the start.
 */
import pMap from "p-map";
import { collectOrderRefs, reportEventOf, REPORT_ESCROW_EVENTS, type ReportEvent } from "../../protocol/reports";
import { escrowDomain, type EscrowDomain } from "../../protocol";
import type { RelayerConfig } from "../config";
import type { Hex } from "../domain";
import { finalityProfile, type FinalityProfile } from "../chain/finality";
import type { ChainClient } from "../chain/client";
import { EscrowEventDecoder } from "../chain/escrowEvents";
import { classifyRpcError } from "../chain/rpcErrors";
import type { Fence, IndexedReportEvent, RelayerStore, ReportIndexCursor } from "../store/types";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { LOG_PAGE_BLOCKS, RANGE_ERROR } from "./chainWatcher";
import { Job, type JobMetrics } from "./job";

/** Pages per tick at most, so one tick never runs unbounded while catching up. */
const MAX_PAGES_PER_TICK = 20;
/** Block and transaction reads in flight at once while a page is prepared. */
const READ_CONCURRENCY = 8;

export interface ReportIndexerOptions {
  store: RelayerStore;
  chain: ChainClient;
  /** The same finality settings as the chain watcher's. */
  config: Pick<RelayerConfig, "confirmations" | "pollIntervalMs"> & Partial<Pick<RelayerConfig, "finality">>;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Default: config.finality.reorgDepth, else the chain's profile. */
  reorgDepth?: bigint;
  pageBlocks?: bigint;
  /** The `jobs` lease: a page commits only while it is still held. */
  fence?: () => Fence | null;
}

interface JsonLog {
  topics: Hex[];
  data: Hex;
  blockNumber: string;
  blockHash: string;
  logIndex: string;
  transactionHash: string;
  removed?: boolean;
}

export class ReportIndexer extends Job {
  readonly finality: FinalityProfile;
  private readonly store: RelayerStore;
  private readonly chain: ChainClient;
  private readonly decoder = new EscrowEventDecoder(REPORT_ESCROW_EVENTS);
  private readonly domain: EscrowDomain;
  private pageBlocks: bigint;
  /** The last tick's final block and how many events it stored (for logs and tests). */
  lastTick: { final: bigint | null; indexed: number } = { final: null, indexed: 0 };
  private announced = false;

  constructor(private readonly options: ReportIndexerOptions) {
    super("reports", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.chain = options.chain;
    const { config } = options;
    this.finality = finalityProfile(this.chain.chainId, {
      confirmations: config.finality?.confirmations ?? config.confirmations,
      reorgDepth: options.reorgDepth ?? config.finality?.reorgDepth ?? null,
      mode: config.finality?.mode ?? null,
    });
    this.domain = escrowDomain(this.chain.addresses.chainId, this.chain.addresses.escrow as Hex);
    this.pageBlocks = options.pageBlocks ?? LOG_PAGE_BLOCKS;
  }

  /** Blocks between the head and the last block indexed, in depth mode: the watcher's confirmations. */
  get lagBlocks(): bigint {
    return BigInt(Math.max(1, this.finality.confirmations)) - 1n;
  }

  protected intervalMs(): number {
    return this.options.config.pollIntervalMs;
  }

  protected async run(): Promise<void> {
    this.lastTick = { final: null, indexed: 0 };
    const final = await this.finalBlock();
    this.lastTick.final = final;
    let cursor = await this.store.reportIndex.cursor();
    if (cursor && !(await this.isCanonical(cursor))) {
      cursor = this.finality.mode === "finalized" ? await this.rebuild(cursor) : await this.rewindWindow(cursor);
    }
    let from = cursor ? cursor.blockNumber + 1n : this.chain.addresses.startBlock;
    if (!this.announced) {
      // Where this process takes over: after its stored cursor (a restart re-reads nothing before it).
      this.log.info({ from: from.toString(), final: final.toString() }, "report index resumes");
      this.announced = true;
    }
    if (!cursor && final < from && final >= 0n) {
      // Nothing final after the deployment yet: the index is complete (and empty) at the final block.
      const block = await this.chain.block(final);
      if (!block?.hash) return;
      const at = { blockNumber: final, blockHash: block.hash.toLowerCase() as Hex, timestamp: block.timestamp };
      await this.store.transaction(async () => {
        await this.assertLease();
        await this.store.reportIndex.append([], at);
      });
      return;
    }
    for (let pages = 0; from <= final && pages < MAX_PAGES_PER_TICK; pages++) {
      const to = from + this.pageBlocks - 1n < final ? from + this.pageBlocks - 1n : final;
      const block = await this.chain.block(to);
      if (!block?.hash) return; // the node lags behind its own head; the next tick checks again
      let logs: JsonLog[];
      try {
        logs = await this.logs(from, to);
      } catch (error) {
        if (this.pageBlocks > 1n && classifyRpcError(error) !== "transient" && RANGE_ERROR.test(errorMessage(error))) {
          this.pageBlocks = this.pageBlocks / 2n;
          this.log.warn({ pageBlocks: this.pageBlocks }, "node refused the log range; halving the report page");
          continue;
        }
        throw error;
      }
      const hash = block.hash.toLowerCase() as Hex;
      // A log from another version of block `to` means the chain moved between the two reads.
      if (logs.some((l) => BigInt(l.blockNumber) === to && l.blockHash.toLowerCase() !== hash)) return;
      const indexed = await this.prepare(logs, to, block.timestamp);
      const at: ReportIndexCursor = { blockNumber: to, blockHash: hash, timestamp: block.timestamp };
      await this.store.transaction(async () => {
        await this.assertLease();
        await this.store.reportIndex.append(indexed, at);
      });
      this.lastTick.indexed += indexed.length;
      if (indexed.length > 0) this.log.info({ from, to, events: indexed.length }, "report events indexed");
      from = to + 1n;
    }
  }

  /** The highest block the index may hold: the watcher's safe block (confirmations, or finalized). */
  private async finalBlock(): Promise<bigint> {
    const head = await this.chain.blockNumber();
    const safe = head - BigInt(Math.max(1, this.finality.confirmations)) + 1n;
    if (this.finality.mode === "finalized") {
      const finalized = await this.finalized();
      if (finalized) return BigInt(finalized.number) < safe ? BigInt(finalized.number) : safe;
    }
    return safe;
  }

  /** The node's `finalized` block; null when it has none or refuses the tag (then depth alone decides). */
  private async finalized(): Promise<{ number: number; hash: string | null; timestamp: number } | null> {
    try {
      return await this.chain.rpc("eth_getBlockByNumber", () => this.chain.provider.getBlock("finalized"));
    } catch (error) {
      if (classifyRpcError(error) === "transient") throw error;
      return null;
    }
  }

  private logs(from: bigint, to: bigint): Promise<JsonLog[]> {
    const filter = {
      address: this.chain.addresses.escrow,
      fromBlock: quantity(from),
      toBlock: quantity(to),
      topics: [this.decoder.topics],
    };
    return this.chain.rpc("eth_getLogs", async () => {
      const logs = (await this.chain.provider.send("eth_getLogs", [filter])) as JsonLog[];
      return logs.filter((l) => !l.removed);
    });
  }

  /** The page's report events with their block times and the escrowed payments' order references. */
  private async prepare(logs: readonly JsonLog[], to: bigint, toTime: number): Promise<IndexedReportEvent[]> {
    const times = new Map<bigint, number>([[to, toTime]]);
    const blocks = [...new Set(logs.map((l) => BigInt(l.blockNumber)))].filter((n) => !times.has(n));
    await pMap(
      blocks,
      async (n) => {
        const block = await this.chain.block(n);
        if (!block) throw new Error(`the node has no block ${n} below its final block`);
        times.set(n, block.timestamp);
      },
      { concurrency: READ_CONCURRENCY },
    );
    const events: ReportEvent[] = [];
    for (const log of logs) {
      const decoded = this.decoder.decode(log);
      if (!decoded) continue;
      const { name, ...args } = decoded;
      const blockNumber = BigInt(log.blockNumber);
      const event = reportEventOf(name, args, {
        blockNumber,
        logIndex: Number(BigInt(log.logIndex)),
        txHash: log.transactionHash.toLowerCase() as Hex,
        timestamp: times.get(blockNumber)!,
      });
      if (event) events.push(event);
    }
    const refs = await collectOrderRefs(
      events.map((e) => ({ kind: e.kind, txHash: e.txHash, paymentId: "paymentId" in e ? e.paymentId : undefined })),
      this.domain,
      (hash) => this.input(hash),
      READ_CONCURRENCY,
    );
    return events.map((event) => ({
      currency: this.store.defaultCurrency,
      event,
      orderRef: event.kind === "escrowed" ? (refs.get(event.paymentId) ?? null) : null,
    }));
  }

  private async input(hash: Hex): Promise<Hex | null> {
    const tx = (await this.chain.rpc("eth_getTransactionByHash", () =>
      this.chain.provider.send("eth_getTransactionByHash", [hash]),
    )) as { input: string } | null;
    return tx ? (tx.input.toLowerCase() as Hex) : null;
  }

  private async isCanonical(cursor: ReportIndexCursor): Promise<boolean> {
    const block = await this.chain.block(cursor.blockNumber);
    return block !== null && block.hash?.toLowerCase() === cursor.blockHash.toLowerCase();
  }

  /**
   * Depth mode, the cursor's block replaced: back by the reorg window (what the watcher trusts to be
   * final), to that block as the chain has it now, and re-read from there.
   */
  private async rewindWindow(cursor: ReportIndexCursor): Promise<ReportIndexCursor | null> {
    const at = cursor.blockNumber - this.finality.reorgDepth;
    let target: ReportIndexCursor | null = null;
    if (at >= this.chain.addresses.startBlock) {
      const block = await this.chain.block(at);
      if (!block?.hash) throw new Error(`node has no block ${at}`);
      target = { blockNumber: at, blockHash: block.hash.toLowerCase() as Hex, timestamp: block.timestamp };
    }
    this.log.warn(
      {
        event: "reorg",
        reason: "report_index",
        cursorBlock: cursor.blockNumber.toString(),
        rewindTo: target ? target.blockNumber.toString() : "start",
      },
      "reorg: the report index re-reads the blocks of its reorg window",
    );
    this.metrics?.failures.inc({ component: this.name, reason: "reorg" });
    await this.store.transaction(async () => {
      await this.assertLease();
      await this.store.reportIndex.rewind(target);
    });
    return target;
  }

  /** Finalized mode, the cursor's block replaced: a reorg of a final block. Rebuilds from a trusted block. */
  private async rebuild(cursor: ReportIndexCursor): Promise<ReportIndexCursor | null> {
    let target: ReportIndexCursor | null = null;
    const finalized = await this.finalized();
    if (finalized?.hash && BigInt(finalized.number) < cursor.blockNumber) {
      const at = BigInt(finalized.number);
      if (at >= this.chain.addresses.startBlock) {
        target = { blockNumber: at, blockHash: finalized.hash.toLowerCase() as Hex, timestamp: finalized.timestamp };
      }
    }
    this.log.error(
      {
        event: "deep_reorg",
        reason: "report_index",
        chainId: this.chain.chainId.toString(),
        cursorBlock: cursor.blockNumber.toString(),
        rewindTo: target ? target.blockNumber.toString() : "start",
      },
      "a reorg replaced a block the report index counted final: re-indexing from a trusted block",
    );
    this.metrics?.deepReorgs.inc({ reason: "report_index" });
    await this.store.transaction(async () => {
      await this.assertLease();
      await this.store.reportIndex.rewind(target);
    });
    return target;
  }

  /** Inside the page's transaction: it commits only under the jobs lease still held. */
  private async assertLease(): Promise<void> {
    const fence = this.options.fence?.();
    if (fence === undefined) return;
    if (fence === null) throw new Error("the jobs lease is not held");
    await this.store.leases.assertHeld(fence);
  }
}

const quantity = (n: bigint): string => `0x${n.toString(16)}`;
