/**
 * What the report and credit routes read: the report index the worker keeps in the store
 * (src/relayer/jobs/reportIndexer.ts), never the node. A request costs store reads only:
 *  - the index's cursor (the safe block it holds every event up to, and that block's time);
 *  - a report: the merchant's events up to the cursor (one indexed query);
 *  - a credit record: the same, once per (merchant, cursor), then from a bounded in-memory LRU, so
 *    repeated public requests cost the cursor read alone.
 * Several api instances on one PostgreSQL read the same index and each keep their own LRU.
 */
import { creditRecord, type CreditRecord, type ReportEvent } from "../../protocol/reports";
import type { Hex } from "../domain";
import { ApiError } from "../errors";
import type { RelayerStore, ReportIndexCursor } from "../store/types";

/** Credit records kept (one per merchant at the index's current block; older blocks' fall out). */
export const CREDIT_CACHE_ENTRIES = 2_000;

export interface MerchantReportsOptions {
  store: Pick<RelayerStore, "reportIndex">;
  /** The settlement token's address (read once). */
  token: () => Promise<string>;
  creditCacheEntries?: number;
}

export class MerchantReports {
  private readonly credits = new Map<string, Promise<CreditRecord>>();
  private readonly limit: number;
  private token: Promise<Hex> | null = null;

  constructor(private readonly options: MerchantReportsOptions) {
    this.limit = options.creditCacheEntries ?? CREDIT_CACHE_ENTRIES;
  }

  /** The block the index is complete up to; 503 reports_not_indexed before its first page. */
  async indexed(): Promise<ReportIndexCursor> {
    const cursor = await this.options.store.reportIndex.cursor();
    if (!cursor) {
      throw new ApiError("reports_not_indexed", "the report index has not reached a safe block yet; retry later", {
        retryAfterSeconds: 30,
      });
    }
    return cursor;
  }

  /** A merchant's events (and escrowed payments' order references) up to the indexed block. */
  async events(
    merchantId: bigint,
  ): Promise<{ token: Hex; at: ReportIndexCursor; events: ReportEvent[]; orderRefs: Map<Hex, Hex> }> {
    const at = await this.indexed();
    const [token, found] = await Promise.all([
      this.tokenAddress(),
      this.options.store.reportIndex.events(merchantId, at.blockNumber),
    ]);
    return { token, at, ...found };
  }

  /** The merchant's credit record at the indexed block. */
  async credit(merchantId: bigint): Promise<CreditRecord> {
    const at = await this.indexed();
    const key = `${merchantId}:${at.blockNumber}:${at.blockHash}`;
    const hit = this.credits.get(key);
    if (hit) {
      // Most recently used last: the Map's first key is the one evicted.
      this.credits.delete(key);
      this.credits.set(key, hit);
      return hit;
    }
    const load = (async () => {
      const [token, { events }] = await Promise.all([
        this.tokenAddress(),
        this.options.store.reportIndex.events(merchantId, at.blockNumber),
      ]);
      return creditRecord(merchantId, token, events, at);
    })();
    this.credits.set(key, load);
    load.catch(() => {
      if (this.credits.get(key) === load) this.credits.delete(key);
    });
    while (this.credits.size > this.limit) this.credits.delete(this.credits.keys().next().value as string);
    return load;
  }

  private tokenAddress(): Promise<Hex> {
    this.token ??= this.options.token().then(
      (address) => address.toLowerCase() as Hex,
      (error: unknown) => {
        this.token = null;
        throw new ApiError("chain_unavailable", "the settlement token's address could not be read", undefined, {
          cause: error,
        });
      },
    );
    return this.token;
  }
}
