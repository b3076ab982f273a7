/**
 * One audit, end to end: check that the RPC serves the recorded deployment, scan every event,
 * rebuild the ledger from them, then reconcile it with itself and with the chain's state at the
 * scanned block. Writes nothing and prints nothing: the CLI (./cli) and the tests decide that.
 */
import type { PublicClient } from "viem";
import { ConnectionError, DeploymentError, UsageError } from "./errors";
import { readChainState, type ChainState } from "./onchain";
import { checkChain } from "./reconcile/chain";
import { checkEvents } from "./reconcile/events";
import { checkFlows } from "./reconcile/flows";
import { surplusOf, type Surplus } from "./reconcile/surplus";
import { rebuild, type Ledger } from "./rebuild";
import { scan, type ScanProgress, type ScanResult } from "./scan";
import type { AuditTarget, Mismatch } from "./types";

export const DEFAULT_PAGE_SIZE = 2_000n;

export interface AuditOptions {
  client: PublicClient;
  target: AuditTarget;
  /** Default: the deploy block. Starting later leaves history out, which will not reconcile. */
  fromBlock?: bigint;
  /** Default: the latest block when the audit starts. */
  toBlock?: bigint;
  pageSize?: bigint;
  stateFile?: string;
  onProgress?: (progress: ScanProgress) => void;
}

export interface AuditResult {
  target: AuditTarget;
  scan: Omit<ScanResult, "events" | "timestamps">;
  eventCount: number;
  ledger: Ledger;
  chain: ChainState;
  mismatches: Mismatch[];
  /** Tokens held beyond the liabilities: reported, not a mismatch. */
  surplus: Surplus;
  /** Time of the audited block (unix seconds). */
  blockTimestamp: number;
  startedAt: Date;
  elapsedMs: number;
}

export async function runAudit(options: AuditOptions): Promise<AuditResult> {
  const { client, target } = options;
  const startedAt = new Date();
  const { scanned, toBlock, blockTimestamp } = await scanRange(options);
  const ledger = rebuild(scanned.events, target);
  const chain = await readChainState(client, target, ledger, toBlock);
  const mismatches = [...checkEvents(ledger), ...checkFlows(ledger, target), ...checkChain(ledger, chain, target)];
  const { events, timestamps: _timestamps, ...scanInfo } = scanned;
  return {
    target,
    scan: scanInfo,
    eventCount: events.length,
    ledger,
    chain,
    mismatches,
    surplus: surplusOf(ledger, chain, target),
    blockTimestamp,
    startedAt,
    elapsedMs: Date.now() - startedAt.getTime(),
  };
}

/**
 * The scan alone, for the merchant reports and the credit record: every event up to `toBlock`
 * (default latest) and that block's time. Nothing is reconciled.
 */
export async function scanChain(
  options: AuditOptions,
): Promise<{ events: ScanResult["events"]; toBlock: bigint; blockTimestamp: number }> {
  const { scanned, toBlock, blockTimestamp } = await scanRange(options);
  return { events: scanned.events, toBlock, blockTimestamp };
}

/** Scans the options' block range (checked against the chain's head) and reads its last block's time. */
async function scanRange(
  options: AuditOptions,
): Promise<{ scanned: ScanResult; toBlock: bigint; blockTimestamp: number }> {
  const { client, target } = options;
  const latest = await preflight(client, target);
  const fromBlock = options.fromBlock ?? target.deployBlock;
  const toBlock = options.toBlock ?? latest;
  if (toBlock > latest) throw new UsageError(`--to-block ${toBlock} is beyond the chain's latest block ${latest}`);
  if (toBlock < fromBlock) throw new UsageError(`--to-block ${toBlock} is before the first scanned block ${fromBlock}`);
  const scanned = await scan({
    client,
    target,
    fromBlock,
    toBlock,
    pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    stateFile: options.stateFile,
    onProgress: options.onProgress,
  });
  const block = await client.getBlock({ blockNumber: toBlock, includeTransactions: false }).catch((e: unknown) => {
    throw new ConnectionError(`eth_getBlockByNumber(${toBlock}) failed: ${(e as Error).message.split("\n")[0]}`, e);
  });
  return { scanned, toBlock, blockTimestamp: Number(block.timestamp) };
}

/** The RPC answers, is on the recorded chain, and has code at the escrow. Returns the latest block. */
export async function preflight(client: PublicClient, target: AuditTarget): Promise<bigint> {
  let chainId: number;
  let latest: bigint;
  try {
    [chainId, latest] = await Promise.all([client.getChainId(), client.getBlockNumber({ cacheTime: 0 })]);
  } catch (e) {
    throw new ConnectionError(`Cannot reach the RPC endpoint: ${(e as Error).message.split("\n")[0]}`, e);
  }
  if (chainId !== target.chainId) {
    throw new DeploymentError(
      `The RPC serves chain ${chainId}, but the deployment of "${target.network}" is on chain ${target.chainId}`,
    );
  }
  const code = await client.getCode({ address: target.escrow }).catch((e: unknown) => {
    throw new ConnectionError(`eth_getCode failed: ${(e as Error).message.split("\n")[0]}`, e);
  });
  if (!code || code === "0x") {
    throw new DeploymentError(
      `No contract at the recorded PaymentEscrow ${target.escrow} on chain ${chainId} (chain reset?)`,
    );
  }
  return latest;
}
