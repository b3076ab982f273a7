/**
 * What a settle transaction's fate means for the settlement records it carries (the submitter's
 * handler for "settle:<key>,<key>,..."; one record per merchant entry of the call).
 */
import type { SettlementRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import { EscrowEventDecoder } from "../chain/escrowEvents";
import type { RawReceipt } from "../chain/rawTypes";
import type { PurposeHandler } from "./batchOutcome";

const settleDecoder = new EscrowEventDecoder(["TrancheSettled", "MerchantPaid", "PayoutDeferred"]);

export const settlePurpose = (keys: number[]): string => `settle:${[...keys].sort((a, b) => a - b).join(",")}`;

export const settleKeys = (keys: string): number[] => (keys === "" ? [] : keys.split(",").map(Number));

interface MerchantOutcome {
  paid: bigint;
  deferred: bigint;
  fee: bigint;
}

/** Per merchant: what the settle call paid (or deferred) and the fees its tranches accrued. */
export function settlementOutcomes(receipt: RawReceipt, escrow: string): Map<bigint, MerchantOutcome> {
  const out = new Map<bigint, MerchantOutcome>();
  const of = (merchantId: bigint) => {
    if (!out.has(merchantId)) out.set(merchantId, { paid: 0n, deferred: 0n, fee: 0n });
    return out.get(merchantId)!;
  };
  const address = escrow.toLowerCase();
  for (const log of receipt.logs) {
    // Token transfers make up half of a settle receipt: skipped on topic0 before anything else.
    if (!settleDecoder.wants(log) || log.address !== address) continue;
    const e = settleDecoder.decode(log)!;
    if (e.name === "TrancheSettled") of(e.merchantId).fee += e.fee;
    else if (e.name === "MerchantPaid") of(e.merchantId).paid += e.amount;
    else of(e.merchantId).deferred += e.amount;
  }
  return out;
}

export function settlementHandler(options: { store: RelayerStore; escrow: string }): PurposeHandler {
  const { store, escrow } = options;
  const records = async (keys: string): Promise<SettlementRecord[]> => {
    const wanted = new Set(settleKeys(keys));
    const open = await store.settlements.listByState(["built", "submitted"]);
    return open.filter((r) => wanted.has(r.key));
  };
  return {
    onMined(keys, receipt) {
      const outcomes = settlementOutcomes(receipt, escrow);
      return async () => {
        for (const record of await records(keys)) {
          if (receipt.status !== 1) {
            await store.settlements.update(record.key, { state: "failed", txHash: receipt.transactionHash });
            continue;
          }
          const o = outcomes.get(record.merchantId) ?? { paid: 0n, deferred: 0n, fee: 0n };
          await store.settlements.update(record.key, {
            state: o.deferred > 0n ? "deferred" : "confirmed",
            txHash: receipt.transactionHash,
            amount: o.paid + o.deferred,
            fee: o.fee,
          });
        }
      };
    },
    async onDropped(keys) {
      for (const record of await records(keys)) await store.settlements.update(record.key, { state: "failed" });
    },
  };
}
