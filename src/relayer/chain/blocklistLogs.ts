/**
 * The token's blocklist changes as its logs tell them: SettlementToken's Blocklisted /
 * UnBlocklisted and USDC's Blacklisted / UnBlacklisted. One reader for the blocklist sync job (which
 * mirrors changes into the escrow) and intake's blocklist book (which answers from memory).
 */
import { keccakUtf8 as eventTopic } from "../../protocol";
import type { Hex } from "../domain";
import type { ChainClient } from "./client";

const LISTED = [eventTopic("Blocklisted(address)"), eventTopic("Blacklisted(address)")];
const UNLISTED = [eventTopic("UnBlocklisted(address)"), eventTopic("UnBlacklisted(address)")];

/** Token events that change an account's blocklist status (the account is the first indexed topic). */
export const BLOCKLIST_TOPICS = [LISTED[0], UNLISTED[0], LISTED[1], UNLISTED[1]];
/** Blocks per eth_getLogs request (nodes cap the range). */
export const LOG_PAGE_BLOCKS = 10_000n;

/** One change of an account's blocklist status. */
export interface BlocklistEvent {
  account: Hex;
  listed: boolean;
  block: bigint;
}

export type BlocklistLogSource = Pick<ChainClient, "tokenLogs">;

/** The token's blocklist changes in [from, to], in chain order, read in pages of LOG_PAGE_BLOCKS. */
export async function readBlocklistEvents(
  chain: BlocklistLogSource,
  from: bigint,
  to: bigint,
): Promise<BlocklistEvent[]> {
  const events: BlocklistEvent[] = [];
  for (let page = from; page <= to; page += LOG_PAGE_BLOCKS) {
    const last = page + LOG_PAGE_BLOCKS - 1n < to ? page + LOG_PAGE_BLOCKS - 1n : to;
    for (const log of await chain.tokenLogs(page, last, [BLOCKLIST_TOPICS])) {
      if (log.removed || log.topics.length < 2) continue;
      events.push({
        account: `0x${log.topics[1].slice(26)}`.toLowerCase() as Hex,
        listed: LISTED.some((topic) => topic === log.topics[0].toLowerCase()),
        block: log.blockNumber,
      });
    }
  }
  return events;
}
