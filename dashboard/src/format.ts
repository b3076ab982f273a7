/** How the page shows amounts (token units, 6 decimals unless told: bigint arithmetic, never floats) and times. */
export const DECIMALS = 6;

export function tokenAmount(units: string | null | undefined, decimals: number = DECIMALS): string {
  if (units === null || units === undefined || !/^[0-9]+$/.test(units)) return "—";
  const value = BigInt(units);
  if (decimals === 0) return value.toLocaleString("en-US");
  const scale = 10n ** BigInt(decimals);
  const fraction = (value % scale)
    .toString()
    .padStart(decimals, "0")
    .replace(/0{1,4}$/, "");
  return `${(value / scale).toLocaleString("en-US")}.${fraction.padEnd(2, "0")}`;
}

/** "12.5" → "12500000": a decimal the merchant typed, as token units; null when it is not one. */
export function parseAmount(text: string): string | null {
  const match = /^\s*([0-9]{1,30})(?:\.([0-9]{1,6}))?\s*$/.exec(text);
  if (!match) return null;
  const units = BigInt(match[1]) * 10n ** BigInt(DECIMALS) + BigInt((match[2] ?? "").padEnd(DECIMALS, "0"));
  return units > 0n ? units.toString() : null;
}

export const when = (iso: string | null | undefined): string =>
  iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—";

export const short = (hex: string | null | undefined): string =>
  hex ? (hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex) : "—";

export const today = (): string => new Date().toISOString().slice(0, 10);

/** Unix seconds (a decimal string) as a UTC time. */
export const unixTime = (seconds: string | null | undefined): string =>
  seconds && /^[0-9]+$/.test(seconds) ? when(new Date(Number(seconds) * 1000).toISOString()) : "—";

/** Time from now to `seconds` (unix, a decimal string), as "2 d 3 h", "45 min" or "overdue". */
export function timeLeft(seconds: string | null | undefined, nowMs: number = Date.now()): string {
  if (!seconds || !/^[0-9]+$/.test(seconds)) return "—";
  const left = Math.floor(Number(seconds) - nowMs / 1000);
  if (left <= 0) return "overdue";
  const days = Math.floor(left / 86_400);
  const hours = Math.floor((left % 86_400) / 3_600);
  const minutes = Math.floor((left % 3_600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return minutes > 0 ? `${minutes} min` : `${left} s`;
}

/** Token units as a plain decimal the refund form reads back ("2.5"): no grouping, no trailing zeros. */
export function decimalAmount(units: string): string {
  const value = BigInt(units);
  const scale = 10n ** BigInt(DECIMALS);
  const fraction = (value % scale).toString().padStart(DECIMALS, "0").replace(/0+$/, "");
  return fraction ? `${value / scale}.${fraction}` : `${value / scale}`;
}
