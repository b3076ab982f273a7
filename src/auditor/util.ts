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

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Key of a (batch, merchant) tranche in maps. */
export const trancheKey = (batchId: bigint, merchantId: bigint): string => `${batchId}:${merchantId}`;

export const lower = <T extends string>(value: T): T => value.toLowerCase() as T;

/** A short form of a 32-byte id or address for human output ("0x1234…abcd"). */
export const short = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);
