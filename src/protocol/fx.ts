/**
 * Cross-currency quotes (docs/CURRENCIES.md, "Paying across currencies"): the EIP-712 `Quote` an
 * FX_QUOTER_ROLE holder signs, its domain, digest and the orderRef both legs carry, and the rate
 * band check. Shared by the relayer's FX desk and the auditor; integers only, never floats.
 */
import { hashTypedData } from "viem";
import { keccakUtf8 } from "./hash";
import { typedFields } from "./typedData";
import type { Address, Hex } from "./types";

/**
 * The quote's own EIP-712 domain, bound to the registry (which names the quoters): a quote can
 * never be replayed as an escrow signature, whose domain is "StablePay Escrow".
 */
export const FX_DOMAIN_NAME = "StablePay FX";
export const FX_DOMAIN_VERSION = "1";

export const quoteTypes = {
  Quote: typedFields(
    "bytes32 quoteId,address payToken,address settleToken,uint256 payAmount,uint256 settleAmount,uint64 merchantId,bytes32 orderRef,uint48 expiresAt",
  ),
} as const;

/** keccak256 of the role name, as MerchantRegistry.FX_QUOTER_ROLE. */
export const FX_QUOTER_ROLE: Hex = keccakUtf8("FX_QUOTER_ROLE");

/**
 * A quote: the payer pays `payAmount` of `payToken` (to the desk) and the merchant is paid
 * `settleAmount` of `settleToken` (by the desk) for the merchant's order `orderRef`. Amounts are in
 * each token's own units.
 */
export interface Quote {
  quoteId: Hex;
  payToken: Address;
  settleToken: Address;
  payAmount: bigint;
  settleAmount: bigint;
  merchantId: bigint;
  orderRef: Hex;
  /** Unix seconds after which the quote is stale. */
  expiresAt: bigint;
}

export interface FxDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
}

export function fxDomain(chainId: bigint | number, registry: Address): FxDomain {
  return { name: FX_DOMAIN_NAME, version: FX_DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract: registry };
}

/** The quote as viem's encoder types it (uint48 a number). */
export const quoteMessage = (q: Quote) => ({ ...q, expiresAt: Number(q.expiresAt) });

/** The EIP-712 digest the quoter signs. */
export function quoteDigest(domain: FxDomain, quote: Quote): Hex {
  return hashTypedData({ domain, types: quoteTypes, primaryType: "Quote", message: quoteMessage(quote) });
}

/**
 * The orderRef both legs carry: the quote's digest. It names the quote's every field under its
 * domain, so the auditor can pair the legs and re-check the quote from either one, and a second use
 * of a quote shows as a second payment with the same orderRef to the desk.
 */
export const quoteOrderRef = quoteDigest;

/** A rate as a ratio of integer amounts: `pay` units of the pay token buy `settle` units of the settle token. */
export interface Rate {
  pay: bigint;
  settle: bigint;
}

const RATE_ENTRY = /^([A-Z][A-Z0-9]{1,11})\/([A-Z][A-Z0-9]{1,11})=([1-9][0-9]{0,29}):([1-9][0-9]{0,29})$/;

/**
 * A reference rate as operators write it, `PAY/SETTLE=payUnits:settleUnits` (`USD/EUR=1087:1000`,
 * token units, positive integers): the relayer's RELAYER_FX_RATES and the auditor's --fx-rate. Null
 * when `entry` is not one.
 */
export function parseRateEntry(entry: string): { pair: string; rate: Rate } | null {
  const match = RATE_ENTRY.exec(entry);
  if (!match) return null;
  return { pair: `${match[1]}/${match[2]}`, rate: { pay: BigInt(match[3]), settle: BigInt(match[4]) } };
}

/** `payAmount` for `settleAmount` at `rate`, rounded up: the payer never pays less than the rate. */
export function payAmountFor(settleAmount: bigint, rate: Rate): bigint {
  if (rate.pay <= 0n || rate.settle <= 0n) throw new RangeError("a rate's terms are positive");
  return (settleAmount * rate.pay + rate.settle - 1n) / rate.settle;
}

/**
 * True if `payAmount / settleAmount` lies within `maxDeviationBps` of `reference` (both sides):
 * |pay·ref.settle − ref.pay·settle| · 10000 ≤ maxDeviationBps · ref.pay · settle, in integers.
 */
export function withinBand(payAmount: bigint, settleAmount: bigint, reference: Rate, maxDeviationBps: bigint): boolean {
  if (payAmount <= 0n || settleAmount <= 0n || reference.pay <= 0n || reference.settle <= 0n) return false;
  const quoted = payAmount * reference.settle;
  const expected = reference.pay * settleAmount;
  const deviation = quoted > expected ? quoted - expected : expected - quoted;
  return deviation * 10_000n <= maxDeviationBps * expected;
}

/**
 * What the desk owes back on the payer's leg once the merchant refunded `settleRefunded` of the
 * settle leg: the same fraction of `payAmount`, rounded up (the payer never gets back less than the
 * fraction), so a full refund of the settle leg returns exactly `payAmount`. The relayer's mirror
 * refunds this and the auditor flags a payer's leg refunded less.
 */
export function mirroredRefund(settleRefunded: bigint, payAmount: bigint, settleAmount: bigint): bigint {
  if (settleAmount <= 0n || payAmount <= 0n) throw new RangeError("a leg's amount is positive");
  if (settleRefunded <= 0n) return 0n;
  if (settleRefunded >= settleAmount) return payAmount;
  return (settleRefunded * payAmount + settleAmount - 1n) / settleAmount;
}

/**
 * The settle-leg amount the desk asks the merchant for when the payer asks `payRequested` back on
 * its leg: the same fraction of `settleAmount`, rounded down (the desk never asks the merchant for
 * more than the payer asked), and all of it when the payer asks for all of its leg.
 */
export function mirroredRequest(payRequested: bigint, payAmount: bigint, settleAmount: bigint): bigint {
  if (settleAmount <= 0n || payAmount <= 0n) throw new RangeError("a leg's amount is positive");
  if (payRequested >= payAmount) return settleAmount;
  return (payRequested * settleAmount) / payAmount;
}
