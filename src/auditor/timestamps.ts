/**
 * Block timestamps of the blocks that hold our events: the charts plot time, and the audit checks
 * each tranche's release time against its block time plus a hold within the merchant's bounds.
 * Fetched once per block (in parallel, bounded) and cached in the scan state, so a resumed scan
 * never refetches.
 */
import pMap from "p-map";
import type { Log, PublicClient } from "viem";
import { ConnectionError } from "./errors";

const CONCURRENCY = 64;

/** Adds to `known` the timestamp of every block of `logs` it lacks. */
export async function fillTimestamps(
  client: PublicClient,
  logs: readonly Log[],
  known: Map<bigint, number>,
): Promise<void> {
  const missing = new Set<bigint>();
  for (const log of logs) {
    const blockNumber = log.blockNumber!;
    if (known.has(blockNumber)) continue;
    const stamped = (log as Log & { blockTimestamp?: bigint }).blockTimestamp;
    if (stamped !== undefined) known.set(blockNumber, Number(stamped));
    else missing.add(blockNumber);
  }
  await pMap(
    [...missing],
    async (blockNumber) => {
      try {
        const block = await client.getBlock({ blockNumber, includeTransactions: false });
        known.set(blockNumber, Number(block.timestamp));
      } catch (e) {
        throw new ConnectionError(`eth_getBlockByNumber(${blockNumber}) failed: ${(e as Error).message}`, e);
      }
    },
    { concurrency: CONCURRENCY },
  );
}
