/**
 * The scan: every log of the three contracts from the deploy block (or --from-block) to the target
 * block, fetched page by page, timestamped and decoded. With a state file the decoded progress is
 * saved as pages complete, and a later run resumes after the last fully fetched block, first
 * checking that this block still has the same hash (a reorg or a reset chain invalidates the file).
 */
import type { PublicClient } from "viem";
import { ConnectionError, StateFileError } from "./errors";
import { contractsByAddress, decodeLogs } from "./decode";
import { fetchLogPages } from "./fetchLogs";
import { checkStateMatches, loadState, saveState, STATE_FILE_VERSION } from "./stateFile";
import { fillTimestamps } from "./timestamps";
import type { AuditEvent, AuditTarget, Hex } from "./types";

export interface ScanOptions {
  client: PublicClient;
  target: AuditTarget;
  fromBlock: bigint;
  toBlock: bigint;
  pageSize: bigint;
  stateFile?: string;
  onProgress?: (progress: ScanProgress) => void;
  /** Minimum time between two state-file writes (the last page is always written). */
  saveIntervalMs?: number;
}

export interface ScanProgress {
  fromBlock: bigint;
  toBlock: bigint;
  /** Blocks up to this one are fetched. */
  scannedTo: bigint;
  /** Events decoded so far (including those loaded from the state file). */
  events: number;
  /** Events fetched by this run, and the time it took. */
  fetched: number;
  elapsedMs: number;
  done: boolean;
}

export interface ScanResult {
  events: AuditEvent[];
  timestamps: Map<bigint, number>;
  fromBlock: bigint;
  toBlock: bigint;
  unknownLogs: number;
  /** First block this run fetched (later than fromBlock when resumed from a state file). */
  fetchedFrom: bigint;
  /** Events fetched by this run (not loaded from the state file). */
  fetched: number;
  pages: number;
  elapsedMs: number;
}

export async function scan(options: ScanOptions): Promise<ScanResult> {
  const { client, target, fromBlock, toBlock, stateFile } = options;
  const started = Date.now();
  let state = stateFile ? loadState(stateFile) : undefined;
  if (state && stateFile) {
    checkStateMatches(stateFile, state, target, fromBlock);
    const hash = await blockHash(client, state.lastBlock);
    if (hash !== state.lastBlockHash) {
      throw new StateFileError(
        stateFile,
        `Block ${state.lastBlock} of state file ${stateFile} now has hash ${hash}, not ${state.lastBlockHash}: ` +
          `the chain was reorganised or reset since. Delete the file to rescan.`,
      );
    }
  }
  state ??= {
    version: STATE_FILE_VERSION,
    chainId: target.chainId,
    token: target.token,
    registry: target.registry,
    escrow: target.escrow,
    fromBlock,
    lastBlock: fromBlock - 1n,
    lastBlockHash: "0x",
    events: [],
    unknownLogs: 0,
    timestamps: new Map(),
  };

  const fetchedFrom = state.lastBlock + 1n;
  const contracts = contractsByAddress(target);
  const progress = (done: boolean, fetched: number): void =>
    options.onProgress?.({
      fromBlock,
      toBlock,
      scannedTo: state.lastBlock,
      events: state.events.length,
      fetched,
      elapsedMs: Date.now() - started,
      done,
    });

  let fetched = 0;
  let pages = 0;
  let lastSave = Date.now();
  const saveIntervalMs = options.saveIntervalMs ?? 1_000;
  const pageStream = fetchLogPages(client, {
    addresses: [target.token, target.registry, target.escrow],
    fromBlock: fetchedFrom,
    toBlock,
    pageSize: options.pageSize,
  });
  try {
    for await (const page of pageStream) {
      await fillTimestamps(client, page.logs, state.timestamps);
      const decoded = decodeLogs(page.logs, contracts, (n) => state.timestamps.get(n)!);
      // The page's last block hash anchors a resume: fetched now, while the page is known complete.
      const hash = stateFile ? await blockHash(client, page.toBlock) : state.lastBlockHash;
      state.events.push(...decoded.events);
      state.unknownLogs += decoded.unknown.length;
      state.lastBlock = page.toBlock;
      state.lastBlockHash = hash;
      fetched += decoded.events.length;
      pages++;
      const last = page.toBlock >= toBlock;
      // Writing the whole file per page would be quadratic on long histories: at most once per interval.
      if (stateFile && (last || Date.now() - lastSave >= saveIntervalMs)) {
        saveState(stateFile, state);
        lastSave = Date.now();
      }
      progress(last, fetched);
    }
  } catch (e) {
    // An interrupted scan keeps what it completed, so the next run resumes after the last full page.
    if (stateFile && state.lastBlock >= fetchedFrom) saveState(stateFile, state);
    throw e;
  }
  if (pages === 0) progress(true, 0);

  // A state file that already covers more than asked (--to-block below an earlier run) is cut here.
  const events = state.lastBlock > toBlock ? state.events.filter((e) => e.ref.blockNumber <= toBlock) : state.events;
  return {
    events,
    timestamps: state.timestamps,
    fromBlock,
    toBlock,
    unknownLogs: state.unknownLogs,
    fetchedFrom,
    fetched,
    pages,
    elapsedMs: Date.now() - started,
  };
}

async function blockHash(client: PublicClient, blockNumber: bigint): Promise<Hex> {
  try {
    return (await client.getBlock({ blockNumber, includeTransactions: false })).hash as Hex;
  } catch (e) {
    throw new ConnectionError(`eth_getBlockByNumber(${blockNumber}) failed: ${(e as Error).message}`, e);
  }
}
