/**
 * The resumable scan's state file: the decoded events fetched so far, the last fully fetched block
 * (and its hash, to notice a reorg or a chain reset since), and the block timestamps. Written
 * atomically (temp file + rename) so an interrupted write never leaves half a file behind.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { StateFileError } from "./errors";
import type { Address, AuditEvent, AuditTarget, Hex } from "./types";

export const STATE_FILE_VERSION = 1;

export interface ScanState {
  version: number;
  chainId: number;
  token: Address;
  registry: Address;
  escrow: Address;
  /** First block of the scan. */
  fromBlock: bigint;
  /** Every block up to and including this one is fully fetched. */
  lastBlock: bigint;
  /** Hash of `lastBlock` when it was fetched: a different hash now means the chain changed under us. */
  lastBlockHash: Hex;
  events: AuditEvent[];
  unknownLogs: number;
  timestamps: Map<bigint, number>;
}

/** JSON cannot hold bigint: they are written as {"$bigint": "<decimal>"} and read back exactly. */
const replacer = (_key: string, value: unknown): unknown =>
  typeof value === "bigint" ? { $bigint: value.toString() } : value;

const reviver = (_key: string, value: unknown): unknown => {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$bigint") return BigInt((value as { $bigint: string }).$bigint);
  }
  return value;
};

export function saveState(file: string, state: ScanState): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const body = JSON.stringify({ ...state, timestamps: [...state.timestamps] }, replacer);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, body, "utf8");
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new StateFileError(file, `Cannot write state file ${file}: ${(e as Error).message}`);
  }
}

/** Reads `file`, or returns undefined when it does not exist yet. */
export function loadState(file: string): ScanState | undefined {
  if (!existsSync(file)) return undefined;
  let data: ScanState & { timestamps: [bigint, number][] };
  try {
    data = JSON.parse(readFileSync(file, "utf8"), reviver);
  } catch (e) {
    throw new StateFileError(
      file,
      `State file ${file} is not valid JSON (${(e as Error).message}); delete it to rescan`,
    );
  }
  if (data?.version !== STATE_FILE_VERSION || !Array.isArray(data.events) || typeof data.lastBlock !== "bigint") {
    throw new StateFileError(file, `State file ${file} is not an auditor state file of version ${STATE_FILE_VERSION}`);
  }
  return { ...data, timestamps: new Map(data.timestamps) };
}

/** Throws unless `state` was written for this chain, deployment and starting block. */
export function checkStateMatches(file: string, state: ScanState, target: AuditTarget, fromBlock: bigint): void {
  const problems: string[] = [];
  if (state.chainId !== target.chainId) problems.push(`chain id ${state.chainId}, not ${target.chainId}`);
  for (const name of ["token", "registry", "escrow"] as const) {
    if (state[name].toLowerCase() !== target[name].toLowerCase())
      problems.push(`${name} ${state[name]}, not ${target[name]}`);
  }
  if (state.fromBlock !== fromBlock) problems.push(`scan starting at block ${state.fromBlock}, not ${fromBlock}`);
  if (problems.length > 0) {
    throw new StateFileError(
      file,
      `State file ${file} belongs to another scan (${problems.join("; ")}); delete it or pass another --state-file`,
    );
  }
}
