/**
 * Paged eth_getLogs. Providers cap both the block range and the number of results of one query, and
 * the caps differ per provider, so a page that is refused for its size is split in half and retried
 * (down to one block); other failures are retried a few times with backoff before giving up with a
 * ConnectionError. Pages come out in block order, each fully fetched, which is what lets a scan
 * resume from "the last fully fetched block".
 */
import type { Log, PublicClient } from "viem";
import { ConnectionError } from "./errors";
import type { Address, Hex } from "./types";

export interface LogQuery {
  addresses: readonly Address[];
  /** Topic filter as eth_getLogs takes it (topic0 may be an array of event signatures). */
  topics?: (Hex | Hex[] | null)[];
  fromBlock: bigint;
  toBlock: bigint;
  /** Blocks per query (before any splitting). */
  pageSize: bigint;
}

export interface LogPage {
  fromBlock: bigint;
  toBlock: bigint;
  logs: Log[];
}

/** Messages with which providers refuse a query for its size rather than for a fault. */
const TOO_LARGE =
  /too many|more than \d+ results|limit exceeded|range (is )?too (large|wide|big)|block range|response size|query timeout|exceed/i;
const RETRIES = 3;

export async function* fetchLogPages(client: PublicClient, query: LogQuery): AsyncGenerator<LogPage> {
  if (query.pageSize < 1n) throw new RangeError("pageSize must be at least 1 block");
  let from = query.fromBlock;
  while (from <= query.toBlock) {
    const to = min(from + query.pageSize - 1n, query.toBlock);
    yield* fetchRange(client, query, from, to);
    from = to + 1n;
  }
}

/** One page, split in halves as often as the provider demands. */
async function* fetchRange(client: PublicClient, query: LogQuery, from: bigint, to: bigint): AsyncGenerator<LogPage> {
  for (let attempt = 1; ; attempt++) {
    try {
      const logs = await getLogs(client, query, from, to);
      yield { fromBlock: from, toBlock: to, logs };
      return;
    } catch (e) {
      const message = errorText(e);
      if (TOO_LARGE.test(message) && to > from) {
        const mid = from + (to - from) / 2n;
        yield* fetchRange(client, query, from, mid);
        yield* fetchRange(client, query, mid + 1n, to);
        return;
      }
      if (attempt >= RETRIES) {
        throw new ConnectionError(`eth_getLogs for blocks ${from}-${to} failed ${attempt} times: ${message}`, e);
      }
      await sleep(250 * 2 ** attempt);
    }
  }
}

async function getLogs(client: PublicClient, query: LogQuery, from: bigint, to: bigint): Promise<Log[]> {
  // The raw request (rather than client.getLogs) lets one query cover several contracts with a raw
  // topic filter; decoding happens per contract in ./decode with that contract's ABI.
  const raw = await client.request({
    method: "eth_getLogs",
    params: [
      {
        address: [...query.addresses],
        topics: query.topics,
        fromBlock: `0x${from.toString(16)}`,
        toBlock: `0x${to.toString(16)}`,
      },
    ],
  });
  return (raw as RpcLog[]).map(formatLog).sort(byPosition);
}

type RpcLog = {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  logIndex: Hex;
  transactionHash: Hex;
  transactionIndex: Hex;
  removed?: boolean;
  blockTimestamp?: Hex;
};

function formatLog(log: RpcLog): Log & { blockTimestamp?: bigint } {
  return {
    address: log.address,
    topics: log.topics as Log["topics"],
    data: log.data,
    blockNumber: BigInt(log.blockNumber),
    blockHash: log.blockHash,
    logIndex: Number(log.logIndex),
    transactionHash: log.transactionHash,
    transactionIndex: Number(log.transactionIndex),
    removed: log.removed ?? false,
    // Some nodes add the block time to each log, which saves a getBlock per block.
    ...(log.blockTimestamp ? { blockTimestamp: BigInt(log.blockTimestamp) } : {}),
  };
}

const byPosition = (a: Log, b: Log): number =>
  a.blockNumber! === b.blockNumber! ? a.logIndex! - b.logIndex! : a.blockNumber! < b.blockNumber! ? -1 : 1;

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const details = (e as { details?: unknown }).details;
    return `${e.message}${typeof details === "string" ? ` (${details})` : ""}`;
  }
  return String(e);
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
