/** Token amounts for people: bigint base units in, "12.50 spUSD" out (never through a float). */

export const TOKEN_DECIMALS = 6;

/** Parses "12.5" into base units (6 decimals). */
export function units(amount: string, decimals = TOKEN_DECIMALS): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match || (match[2]?.length ?? 0) > decimals)
    throw new Error(`"${amount}" is not an amount with ${decimals} decimals`);
  return BigInt(match[1]) * 10n ** BigInt(decimals) + BigInt((match[2] ?? "").padEnd(decimals, "0"));
}

/** Base units as a decimal with at least two decimals: 12500000n → "12.50". */
export function formatUnits(amount: bigint, decimals = TOKEN_DECIMALS): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const scale = 10n ** BigInt(decimals);
  let fraction = (abs % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  fraction = fraction.padEnd(2, "0");
  return `${negative ? "-" : ""}${abs / scale}.${fraction}`;
}

export function formatToken(amount: bigint, symbol: string, decimals = TOKEN_DECIMALS): string {
  return `${formatUnits(amount, decimals)} ${symbol}`;
}

/** Basis points as a percentage: 250 → "2.50%". */
export function formatBps(bps: bigint): string {
  return `${formatUnits(bps, 2)}%`;
}
