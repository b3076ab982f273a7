/**
 * A merchant's escrow events read from the chain for its reports and credit record: eth_getLogs of
 * the report events filtered by the merchant's indexed id (three queries: the events index it
 * first, second or third), block times, and each escrowing transaction's calldata for the order
 * references. The same inputs the auditor takes from its scan, normalised by the same module
 * (src/protocol/reports), so both write the same files. Block times and calldata do not change once
 * final and are cached; the logs are read per request (bounded pages).
 */
import { collectOrderRefs, reportEventOf, type ReportEvent } from "../../protocol/reports";
import { REPORT_EVENT_KINDS, type ReportEscrowEventName } from "../../protocol/reports";
import { escrowDomain, type EscrowDomain } from "../../protocol";
import type { Hex } from "../domain";
import { ApiError, isApiError } from "../errors";
import { EscrowEventDecoder } from "./escrowEvents";

/** The one thing read from the node: JSON-RPC (ethers' JsonRpcProvider and Hardhat's provider fit). */
export interface JsonRpcSender {
  send(method: string, params: unknown[]): Promise<any>;
}

export interface MerchantHistoryOptions {
  rpc: JsonRpcSender;
  chainId: bigint;
  escrow: Hex;
  token: Hex;
  /** First block that can hold escrow events (the deploy block). */
  startBlock: bigint;
  /** Blocks per eth_getLogs query. */
  pageBlocks?: bigint;
}

const NAMES = Object.keys(REPORT_EVENT_KINDS) as ReportEscrowEventName[];
/** Where each event indexes the merchant id: topic 1 (payouts), 2 (most), 3 (PaymentEscrowed). */
const MERCHANT_FIRST: ReportEscrowEventName[] = ["MerchantPaid", "PayoutDeferred", "Claimed"];
const MERCHANT_SECOND = NAMES.filter((n) => n !== "PaymentEscrowed" && !MERCHANT_FIRST.includes(n));
const CACHE_LIMIT = 100_000;

interface JsonLog {
  topics: string[];
  data: string;
  blockNumber: string;
  logIndex: string;
  transactionHash: string;
  removed?: boolean;
}

export class MerchantHistory {
  readonly token: Hex;
  private readonly domain: EscrowDomain;
  private readonly decoder = new EscrowEventDecoder(NAMES);
  private readonly first = new EscrowEventDecoder(MERCHANT_FIRST).topics;
  private readonly second = new EscrowEventDecoder(MERCHANT_SECOND).topics;
  private readonly escrowed = new EscrowEventDecoder(["PaymentEscrowed"]).topics;
  private readonly times = new Map<bigint, number>();
  private readonly inputs = new Map<Hex, Hex | null>();

  constructor(private readonly options: MerchantHistoryOptions) {
    this.token = options.token.toLowerCase() as Hex;
    this.domain = escrowDomain(options.chainId, options.escrow);
  }

  /** The latest block and its time: what a credit record is computed at. */
  async head(): Promise<{ blockNumber: bigint; timestamp: number }> {
    const block = (await this.read("eth_getBlockByNumber", ["latest", false])) as {
      number: string;
      timestamp: string;
    };
    return { blockNumber: BigInt(block.number), timestamp: Number(BigInt(block.timestamp)) };
  }

  /** The merchant's report events up to `toBlock`, in chain order. */
  async events(merchantId: bigint, toBlock: bigint): Promise<ReportEvent[]> {
    const id = `0x${merchantId.toString(16).padStart(64, "0")}`;
    let page = this.options.pageBlocks ?? 10_000n;
    const logs: JsonLog[] = [];
    for (let from = this.options.startBlock; from <= toBlock;) {
      const to = from + page - 1n < toBlock ? from + page - 1n : toBlock;
      const range = { address: this.options.escrow, fromBlock: quantity(from), toBlock: quantity(to) };
      let pages: unknown[];
      try {
        pages = await Promise.all([
          this.options.rpc.send("eth_getLogs", [{ ...range, topics: [this.first, id] }]),
          this.options.rpc.send("eth_getLogs", [{ ...range, topics: [this.second, null, id] }]),
          this.options.rpc.send("eth_getLogs", [{ ...range, topics: [this.escrowed, null, null, id] }]),
        ]);
      } catch (error) {
        // Providers cap a query's results or range: halve the page and try again, down to one block.
        if (page > 1n) {
          page /= 2n;
          continue;
        }
        throw unavailable("eth_getLogs", error);
      }
      for (const found of pages) logs.push(...(found as JsonLog[]));
      from = to + 1n;
    }
    const live = logs.filter((log) => !log.removed);
    const blocks = [...new Set(live.map((log) => BigInt(log.blockNumber)))];
    await mapLimit(blocks, READ_CONCURRENCY, (n) => this.blockTime(n));
    const out: ReportEvent[] = [];
    for (const log of live) {
      const decoded = this.decoder.decode(log);
      if (!decoded) continue;
      const { name, ...args } = decoded;
      const blockNumber = BigInt(log.blockNumber);
      const event = reportEventOf(name, args, {
        blockNumber,
        logIndex: Number(BigInt(log.logIndex)),
        txHash: log.transactionHash.toLowerCase() as Hex,
        timestamp: await this.blockTime(blockNumber),
      });
      if (event) out.push(event);
    }
    return out.sort((x, y) =>
      x.blockNumber === y.blockNumber ? x.logIndex - y.logIndex : x.blockNumber < y.blockNumber ? -1 : 1,
    );
  }

  /** payment id → orderRef of the escrowed payments among `events` (from their transactions' calldata). */
  orderRefs(events: readonly ReportEvent[]): Promise<Map<Hex, Hex>> {
    return collectOrderRefs(
      events.map((e) => ({ kind: e.kind, txHash: e.txHash, paymentId: "paymentId" in e ? e.paymentId : undefined })),
      this.domain,
      (hash) => this.input(hash),
    );
  }

  private async blockTime(blockNumber: bigint): Promise<number> {
    const known = this.times.get(blockNumber);
    if (known !== undefined) return known;
    const block = (await this.read("eth_getBlockByNumber", [quantity(blockNumber), false])) as {
      timestamp: string;
    } | null;
    if (!block) throw new ApiError("chain_unavailable", `the node has no block ${blockNumber} (reorg?): try again`);
    const time = Number(BigInt(block.timestamp));
    remember(this.times, blockNumber, time);
    return time;
  }

  private async input(hash: Hex): Promise<Hex | null> {
    if (this.inputs.has(hash)) return this.inputs.get(hash)!;
    const tx = (await this.read("eth_getTransactionByHash", [hash])) as { input: string } | null;
    const input = tx ? (tx.input.toLowerCase() as Hex) : null;
    remember(this.inputs, hash, input);
    return input;
  }

  /** One JSON-RPC read; a failure is 503 chain_unavailable (the node's message, which may name its URL, is not sent). */
  private async read(method: string, params: unknown[]): Promise<unknown> {
    try {
      return await this.options.rpc.send(method, params);
    } catch (error) {
      throw unavailable(method, error);
    }
  }
}

const READ_CONCURRENCY = 16;

const unavailable = (method: string, error: unknown): ApiError =>
  isApiError(error) ? error : new ApiError("chain_unavailable", `${method} failed`, undefined, { cause: error });

async function mapLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

const quantity = (n: bigint): string => `0x${n.toString(16)}`;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
