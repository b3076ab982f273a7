/**
 * The report index for tests: a ReportIndexer on a real SQLite file (or a given store) following
 * the in-process chain through the JSON-RPC bridge, and `through(block)`, which mines the blocks
 * the index's finality lag needs and ticks until the index holds `block` (no sleeps).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { connectChain, type ChainAddresses, type ChainClient } from "../../../src/relayer/chain/client";
import { ReportIndexer } from "../../../src/relayer/jobs/reportIndexer";
import { openSqliteStore } from "../../../src/relayer/store/sqlite";
import type { RelayerStore, ReportIndexCursor } from "../../../src/relayer/store/types";
import { FAST_RETRY, mine, startRpcBridge, TEST_CONFIG, type RpcBridge } from "./chain";

export interface ReportIndexHarness {
  indexer: ReportIndexer;
  chain: ChainClient;
  /** The indexer's node: every JSON-RPC method it called, in order. */
  bridge: RpcBridge;
  store: RelayerStore;
  /** Mines what the index's lag needs, then ticks until it holds `block` (default: the latest). */
  through(block?: bigint): Promise<ReportIndexCursor>;
  close(): Promise<void>;
}

export async function startReportIndex(options: {
  addresses: ChainAddresses;
  /** Default: a fresh SQLite file, closed with the harness. */
  store?: RelayerStore;
  /** Default 2: a small reorg window, so the lag is real but cheap to mine past. */
  reorgDepth?: bigint;
  pageBlocks?: bigint;
}): Promise<ReportIndexHarness> {
  let dir: string | null = null;
  let store = options.store;
  if (!store) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-index-"));
    store = await openSqliteStore(path.join(dir, "relayer.sqlite"));
  }
  const bridge = await startRpcBridge();
  const chain = await connectChain({ rpcUrl: bridge.url, deployment: options.addresses, retry: FAST_RETRY });
  const indexer = new ReportIndexer({
    store,
    chain,
    config: TEST_CONFIG,
    reorgDepth: options.reorgDepth ?? 2n,
    pageBlocks: options.pageBlocks,
  });
  const held = store;
  return {
    indexer,
    chain,
    bridge,
    store,
    async through(block) {
      const target = block ?? BigInt(await ethers.provider.getBlockNumber());
      const head = BigInt(await ethers.provider.getBlockNumber());
      const short = target + indexer.lagBlocks - head;
      if (short > 0n) await mine(Number(short));
      for (let ticks = 0; ticks < 1_000; ticks++) {
        await indexer.tick();
        const cursor = await held.reportIndex.cursor();
        if (cursor && cursor.blockNumber >= target) return cursor;
      }
      throw new Error(`the report index did not reach block ${target}`);
    },
    async close() {
      await indexer.stop();
      chain.provider.destroy();
      await bridge.close();
      if (dir) {
        await held.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
