/**
 * Settler: pays merchants once their funds are releasable.
 *
 * On a schedule (config.settleIntervalMs) it finds the (merchant, batch) tranches whose hold has
 * ended from the escrowed and released payments in the store, checks each with escrow.tranche()
 * (still unsettled, releaseAt passed by the chain's clock), and sends one `settle` call for all of
 * them, one entry per merchant with its batch ids, through the submitter (same key, same nonce
 * sequence). One SettlementRecord per merchant follows the call; the chain watcher marks the
 * payments settled from the TrancheSettled events, whoever sent the settlement.
 *
 * A settle entry also pays the merchant's released balance. Payments released outside their
 * tranche (by their own order timer, or confirmed while on it) have no tranche left to settle, so a
 * merchant with such payments waiting and a released balance on chain gets an entry of its own,
 * with no batch ids, when none of its tranches is due; the watcher marks those payments settled
 * from the call's MerchantPaid (or PayoutDeferred).
 */
import { PaymentState, type Hex } from "../domain";
import type { RelayerConfig } from "../config";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import { encodeSettle, type MerchantSettlementEntry } from "../chain/calldata";
import { classifyRpcError } from "../chain/rpcErrors";
import { parsePurpose } from "./batchOutcome";
import { settleKeys, settlePurpose, settlementHandler } from "./settlementOutcome";
import type { SubmitterPort } from "./submitter";
import type { Clock } from "../runtime/clock";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { Job, type JobMetrics } from "./job";

/** Tranches per settle call at most (keeps the call far under the gas cap). */
export const MAX_TRANCHES_PER_SETTLE = 200;
/** Gas model fallback when the estimate fails: fixed part plus per tranche and per merchant payout. */
const SETTLE_GAS = { base: 60_000n, perTranche: 12_000n, perMerchant: 45_000n } as const;
/** MerchantRegistry.MerchantStatus: settle skips suspended (and unknown) merchants. */
const SETTLEABLE_STATUS = new Set([1n, 3n]);

export interface SettlerOptions {
  store: RelayerStore;
  chain: ChainClient;
  submitter: SubmitterPort;
  config: Pick<RelayerConfig, "settleIntervalMs">;
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  maxTranches?: number;
}

export class Settler extends Job {
  private readonly store: RelayerStore;
  private readonly chain: ChainClient;
  private readonly submitter: SubmitterPort;
  private readonly maxTranches: number;
  /** The last settle call sent (for logs and tests). */
  lastSent: { keys: number[]; entries: MerchantSettlementEntry[]; txHash: Hex } | null = null;

  constructor(private readonly options: SettlerOptions) {
    super("settler", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.chain = options.chain;
    this.submitter = options.submitter;
    this.maxTranches = options.maxTranches ?? MAX_TRANCHES_PER_SETTLE;
    this.submitter.registerPurpose(
      "settle",
      settlementHandler({ store: this.store, escrow: this.chain.addresses.escrow }),
    );
  }

  protected intervalMs(): number {
    return this.options.config.settleIntervalMs;
  }

  protected async run(): Promise<void> {
    this.lastSent = null;
    const { busy, merchants } = await this.tranchesInFlight();
    const chainTime = await this.chain.chainTime();
    const due = await this.dueTranches(chainTime, busy);
    const entries = await this.verify(due, chainTime);
    entries.push(...(await this.releasedBalances(entries, merchants)));
    if (entries.length === 0) return;

    const data = encodeSettle(entries);
    let gasLimit: bigint;
    try {
      gasLimit = await this.submitter.gasLimitFor(data, this.modelGas(entries), { strict: true });
    } catch (error) {
      if (classifyRpcError(error) !== "revert") throw error;
      // A revert here (token paused, a hold not over after all) would revert on chain too.
      this.log.warn({ err: errorMessage(error), entries: entries.length }, "settle would revert; not sent");
      this.metrics?.failures.inc({ component: "settler", reason: "estimate_reverted" });
      return;
    }
    const records = await this.store.transaction(async () => {
      const created = [];
      for (const e of entries) created.push(await this.store.settlements.create(e.merchantId, e.batchIds));
      return created;
    });
    const keys = records.map((r) => r.key);
    const submission = await this.submitter.send(settlePurpose(keys), data, gasLimit);
    await this.store.transaction(async () => {
      // Only records still built: the submitter may already have finalised them.
      const built = new Set((await this.store.settlements.listByState(["built"])).map((r) => r.key));
      for (const key of keys) {
        if (built.has(key)) await this.store.settlements.update(key, { state: "submitted", txHash: submission.txHash });
      }
    });
    this.lastSent = { keys, entries, txHash: submission.txHash };
    this.log.info(
      {
        keys,
        merchants: entries.length,
        tranches: entries.reduce((n, e) => n + e.batchIds.length, 0),
        txHash: submission.txHash,
      },
      "settle sent",
    );
  }

  /**
   * Tranches already in a settlement on its way, as "merchant:batch". Records left `built` by a
   * crash before their transaction was recorded are failed here (nothing was sent for them).
   */
  private async tranchesInFlight(): Promise<{ busy: Set<string>; merchants: Set<bigint> }> {
    const open = await this.store.settlements.listByState(["built", "submitted"]);
    const carried = new Set<number>();
    for (const s of await this.store.submissions.listPending()) {
      const { kind, keys } = parsePurpose(s.purpose);
      if (kind === "settle") for (const key of settleKeys(keys)) carried.add(key);
    }
    const busy = new Set<string>();
    const merchants = new Set<bigint>();
    for (const record of open) {
      if (record.state === "built" && !carried.has(record.key)) {
        await this.store.settlements.update(record.key, { state: "failed" });
        continue;
      }
      merchants.add(record.merchantId);
      for (const batchId of record.batchIds) busy.add(`${record.merchantId}:${batchId}`);
    }
    return { busy, merchants };
  }

  /**
   * Entries with no batch ids for merchants whose payments were released outside their tranche and
   * are not paid out yet, when the escrow holds a released balance for them and no entry of this
   * call (which pays it anyway) or settlement on its way already does.
   */
  private async releasedBalances(
    entries: MerchantSettlementEntry[],
    inFlight: Set<bigint>,
  ): Promise<MerchantSettlementEntry[]> {
    const paying = new Set(entries.map((e) => e.merchantId));
    const waiting = new Set((await this.store.payments.listReleasedOffTranche()).map((p) => p.merchantId));
    const out: MerchantSettlementEntry[] = [];
    let budget = this.maxTranches - entries.reduce((n, e) => n + e.batchIds.length, 0);
    for (const merchantId of [...waiting].sort((a, b) => (a < b ? -1 : 1))) {
      if (budget <= 0) break;
      if (paying.has(merchantId) || inFlight.has(merchantId)) continue;
      const [status] = await this.chain.rpc("registry.terms", () => this.chain.registry.terms(merchantId));
      if (!SETTLEABLE_STATUS.has(status)) continue;
      const [released] = await this.chain.rpc("escrow.merchantBalances", () =>
        this.chain.escrow.merchantBalances(merchantId),
      );
      // Zero: paid by a settle the watcher has not applied yet.
      if (released === 0n) continue;
      out.push({ merchantId, batchIds: [] });
      budget -= 1;
    }
    return out;
  }

  /** (merchant → batch ids) whose stored releaseAt has passed, from payments the escrow still holds. */
  private async dueTranches(chainTime: bigint, busy: Set<string>): Promise<Map<bigint, Set<bigint>>> {
    const due = new Map<bigint, Set<bigint>>();
    const tranches = await this.store.payments.releasableTranches(
      [PaymentState.Escrowed, PaymentState.Released],
      chainTime,
    );
    for (const { merchantId, batchId } of tranches) {
      if (busy.has(`${merchantId}:${batchId}`)) continue;
      if (!due.has(merchantId)) due.set(merchantId, new Set());
      due.get(merchantId)!.add(batchId);
    }
    return due;
  }

  /** Keeps the tranches the escrow still holds and releases now; one entry per settleable merchant. */
  private async verify(due: Map<bigint, Set<bigint>>, chainTime: bigint): Promise<MerchantSettlementEntry[]> {
    const entries: MerchantSettlementEntry[] = [];
    let budget = this.maxTranches;
    for (const merchantId of [...due.keys()].sort((a, b) => (a < b ? -1 : 1))) {
      if (budget <= 0) break;
      const [status] = await this.chain.rpc("registry.terms", () => this.chain.registry.terms(merchantId));
      if (!SETTLEABLE_STATUS.has(status)) continue;
      const candidates = [...due.get(merchantId)!].sort((a, b) => (a < b ? -1 : 1)).slice(0, budget);
      const tranches = await Promise.all(
        candidates.map((batchId) =>
          this.chain.rpc("escrow.tranche", () => this.chain.escrow.tranche(batchId, merchantId)),
        ),
      );
      // releaseAt 0: settled already (perhaps by someone else); the watcher catches up from logs.
      const batchIds = candidates.filter((_, i) => tranches[i].releaseAt !== 0n && tranches[i].releaseAt <= chainTime);
      budget -= batchIds.length;
      if (batchIds.length > 0) entries.push({ merchantId, batchIds });
    }
    return entries;
  }

  private modelGas(entries: MerchantSettlementEntry[]): bigint {
    const tranches = entries.reduce((n, e) => n + e.batchIds.length, 0);
    return SETTLE_GAS.base + BigInt(tranches) * SETTLE_GAS.perTranche + BigInt(entries.length) * SETTLE_GAS.perMerchant;
  }
}
