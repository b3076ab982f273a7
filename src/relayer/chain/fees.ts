/**
 * EIP-1559 fee choice for the relayer's transactions: the node's suggestion capped by the
 * operator's maximum, and the replacement ("fee bump") rule nodes enforce: a transaction replaces
 * a pending one with the same nonce only if BOTH its max fee and its tip are higher by a minimum
 * percentage (10% in geth and Hardhat).
 */
import type { Fees } from "./client";

/** The lowest bump any EIP-1559 node accepts as a replacement. */
export const MIN_REPLACEMENT_BUMP_PERCENT = 10n;

const ceilPercent = (value: bigint, percent: bigint): bigint => (value * (100n + percent) + 99n) / 100n;

/** The node's suggestion, never above `cap` (the tip never above the max fee). */
export function initialFees(suggested: Fees, cap: bigint): Fees {
  const maxFeePerGas = suggested.maxFeePerGas < cap ? suggested.maxFeePerGas : cap;
  const maxPriorityFeePerGas =
    suggested.maxPriorityFeePerGas < maxFeePerGas ? suggested.maxPriorityFeePerGas : maxFeePerGas;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

export type BumpResult = { ok: true; fees: Fees } | { ok: false; needed: Fees; cap: bigint };

/**
 * Fees for a replacement of a transaction sent with `previous`: both raised by `percent` (at least
 * the 10% nodes require, and at least 1 wei), up to what the node suggests now (a base fee that rose
 * past the old max fee is why transactions get stuck), but never above `cap`. When even the minimal
 * replacement would exceed the cap, it is refused: the caller reports the transaction as stuck.
 */
export function bumpFees(previous: Fees, suggested: Fees, percent: bigint, cap: bigint): BumpResult {
  const pct = percent > MIN_REPLACEMENT_BUMP_PERCENT ? percent : MIN_REPLACEMENT_BUMP_PERCENT;
  const minTip = max(ceilPercent(previous.maxPriorityFeePerGas, pct), previous.maxPriorityFeePerGas + 1n);
  const minMaxFee = max(max(ceilPercent(previous.maxFeePerGas, pct), previous.maxFeePerGas + 1n), minTip);
  const wantedMaxFee = max(minMaxFee, suggested.maxFeePerGas);
  const wantedTip = max(minTip, suggested.maxPriorityFeePerGas);
  if (minMaxFee > cap) return { ok: false, needed: { maxFeePerGas: minMaxFee, maxPriorityFeePerGas: minTip }, cap };
  const maxFeePerGas = min(wantedMaxFee, cap);
  return { ok: true, fees: { maxFeePerGas, maxPriorityFeePerGas: min(wantedTip, maxFeePerGas) } };
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Gas limit headroom over eth_estimateGas (state can change between estimate and inclusion). */
const GAS_LIMIT_PERCENT = 125n;
const GAS_LIMIT_EXTRA = 25_000n;

/** EIP-7825 (Osaka): nodes refuse a transaction whose gas limit is above this. */
export const TX_GAS_LIMIT_CAP = 16_777_216n;

/**
 * A transaction's gas limit from an estimate of its gas: headroom for state that moves meanwhile,
 * never above the per-transaction cap (a limit above it is refused outright, whatever gas the
 * transaction would use).
 */
export const gasLimitFromEstimate = (estimate: bigint): bigint =>
  min((estimate * GAS_LIMIT_PERCENT) / 100n + GAS_LIMIT_EXTRA, max(estimate, TX_GAS_LIMIT_CAP));
