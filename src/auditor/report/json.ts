/**
 * audit.json: the full rebuilt state, the on-chain reads it was reconciled with, and every
 * mismatch. Amounts are exact decimal strings of token units (6 decimals): JSON numbers would lose
 * precision past 2^53, and money is never a float.
 */
import type { AuditResult } from "../audit";
import { sumBuckets } from "../types";
import { DECIMALS } from "../util";

export const AUDIT_JSON_VERSION = 1;

/** Converts bigints to decimal strings and Maps to objects (keyed by String(key)), recursively. */
export function plain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (value instanceof Set) return [...value].map(plain);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export function auditJson(result: AuditResult): string {
  const { ledger, chain, target } = result;
  const document = {
    version: AUDIT_JSON_VERSION,
    generatedAt: result.startedAt,
    decimals: DECIMALS,
    clean: result.mismatches.length === 0,
    target,
    blocks: { from: result.scan.fromBlock, to: result.scan.toBlock, toTimestamp: result.blockTimestamp },
    scan: { ...result.scan, events: result.eventCount },
    summary: {
      liabilities: { rebuilt: ledger.totals, onChain: chain.liabilities },
      owed: { rebuilt: sumBuckets(ledger.totals), onChain: sumBuckets(chain.liabilities) },
      escrowTokenBalance: {
        byTransfers: ledger.token.balances.get(target.escrow) ?? 0n,
        onChain: chain.escrowTokenBalance,
      },
      surplus: result.surplus,
      token: {
        minted: ledger.token.minted,
        burned: ledger.token.burned,
        supplyByEvents: ledger.token.minted - ledger.token.burned,
        totalSupplyOnChain: chain.totalSupply,
        holders: ledger.token.balances.size,
      },
      feesAccrued: ledger.feesAccrued,
      counts: {
        customers: ledger.customers.size,
        merchants: ledger.merchants.size,
        batches: ledger.batches.size,
        payments: ledger.payments.size,
        rejected: ledger.rejections.length,
        settlements: ledger.settlements.length,
        events: ledger.eventCounts,
      },
    },
    mismatches: result.mismatches,
    ledger: {
      customers: ledger.customers,
      merchants: ledger.merchants,
      batches: ledger.batches,
      tranches: ledger.tranches,
      payments: ledger.payments,
      rejections: ledger.rejections,
      settlements: ledger.settlements,
      claims: ledger.claims,
      feeCollections: ledger.feeCollections,
      token: ledger.token,
      escrowTransfers: ledger.escrowTransfers,
      escrowAnnouncements: ledger.escrowAnnouncements,
      timeline: ledger.timeline,
    },
    onChain: chain,
  };
  return JSON.stringify(plain(document), null, 2) + "\n";
}
