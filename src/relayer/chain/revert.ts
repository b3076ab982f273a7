/** Revert decoding: the revert data inside whatever error a node or provider threw. */
import { isError } from "ethers";

/**
 * The revert data of a failed call, or null if the error is not a revert (network, timeout...).
 * ethers reports reverts as CALL_EXCEPTION; Hardhat's in-process provider throws its own error
 * carrying the data as a hex string; some nodes nest it under `error` or `info.error`.
 */
export function revertData(error: unknown): string | null {
  if (isError(error, "CALL_EXCEPTION")) return error.data ?? "0x";
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const candidate = current as { data?: unknown; error?: unknown; info?: { error?: unknown } };
    if (typeof candidate.data === "string" && /^0x([0-9a-fA-F]{2})*$/.test(candidate.data)) return candidate.data;
    current = candidate.error ?? candidate.info?.error;
  }
  return null;
}
