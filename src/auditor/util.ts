/** Small helpers shared by the auditor's modules. */
import { formatUnits } from "viem";

/** Token decimals of StablePay amounts (USDC-like); used for display only, never for arithmetic. */
export const DECIMALS = 6;

/** Exact decimal display of token units ("12.5"), via viem's formatUnits: no floats anywhere. */
export const fmt = (units: bigint): string => formatUnits(units, DECIMALS);

/** Display with thousands separators and at least two decimals ("1,234.50"). */
export function fmtMoney(units: bigint): string {
  const [whole, frac = ""] = fmt(units < 0n ? -units : units).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${units < 0n ? "-" : ""}${grouped}.${frac.padEnd(2, "0")}`;
}

/** Key of a (batch, merchant) tranche in maps. */
export const trancheKey = (batchId: bigint, merchantId: bigint): string => `${batchId}:${merchantId}`;

export const lower = <T extends string>(value: T): T => value.toLowerCase() as T;

/** A short form of a 32-byte id or address for human output ("0x1234…abcd"). */
export const short = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);
