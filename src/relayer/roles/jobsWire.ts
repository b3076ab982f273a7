/**
 * What crosses between the HTTP thread and the jobs thread of role `all` (./jobsThread.ts,
 * ./jobsThreadMain.ts): the configuration in a form structured clone keeps, and the messages.
 */
import os from "node:os";
import { Secret, type RelayerConfig } from "../config";
import type { RelayOperation } from "../domain";
import type { LedgerEvent, LoadedView } from "../ledger/ledgerMirror";
import type { Logger } from "../runtime/log";
import type { MetricsSnapshot } from "../runtime/metrics";
import type { NotReadyReason } from "../runtime/readiness";

/** Where a Secret stood in the configuration (its value travels to the thread, never to a log). */
interface WireSecret {
  $secret: unknown;
}

/** Where a Buffer stood (structured clone turns one into a plain Uint8Array). */
interface WireBuffer {
  $buffer: Uint8Array;
}

/** The configuration as structured clone keeps it: Secret instances (private fields) as tagged objects. */
export type WireConfig = unknown;

export function configToWire(value: unknown): WireConfig {
  if (value instanceof Secret) return { $secret: value.reveal() } satisfies WireSecret;
  if (Buffer.isBuffer(value)) return { $buffer: new Uint8Array(value) } satisfies WireBuffer;
  if (Array.isArray(value)) return value.map(configToWire);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, configToWire(v)]));
  }
  return value;
}

export function configFromWire(value: WireConfig): RelayerConfig {
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v !== null && typeof v === "object") {
      if ("$secret" in v) return new Secret((v as WireSecret).$secret);
      if ("$buffer" in v) return Buffer.from((v as WireBuffer).$buffer);
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, revive(inner)]));
    }
    return v;
  };
  return revive(value) as RelayerConfig;
}

export interface JobsThreadData {
  config: WireConfig;
  holder: string;
  /** pino level name, or false for no log. */
  logLevel: string | false;
}

/** The ChainWriter operations relayed through the jobs thread's lanes. */
export type { RelayOperation };

/**
 * Every served currency has its own ledger, feed and lanes on the thread: what concerns one names
 * its `currency` (a code of RELAYER_CURRENCIES); the thread answers an unserved code with an error.
 */
export type ToJobs =
  /** A fresh load of `payer` from that currency's ledger (LedgerFeed.load). */
  | { t: "load"; id: number; currency: string; payer: `0x${string}` }
  /** A signed operation for that currency's escrow, sent on its lanes. */
  | { t: "relay"; id: number; currency: string; op: RelayOperation; args: unknown[] }
  | { t: "metrics"; id: number }
  /**
   * Intake is about to refuse a payer of that currency: run its chain watcher now (answers whether
   * its cursor moved).
   */
  | { t: "catchUp"; id: number; currency: string }
  /** The single-instance lease was lost: stop the jobs (another process works now). */
  | { t: "stopJobs" }
  /** Graceful stop: jobs, dispatcher, chain, store; then "stopped". */
  | { t: "stop" };

/** An error as it crosses: an ApiError's code, message and details, or only a message. */
export interface WireError {
  message: string;
  api?: { code: string; details?: Record<string, unknown> };
}

export type FromJobs =
  /** A notice of that currency's ledger, numbered in its own sequence (its mirror's). */
  | { t: "ledger"; currency: string; seq: number; event: LedgerEvent }
  | { t: "reply"; id: number; result: LoadedView | { txHash: `0x${string}` } | MetricsSnapshot }
  | { t: "reply"; id: number; error: WireError }
  | { t: "log"; line: string }
  | { t: "readiness"; reason: NotReadyReason; source: string; message: string | null }
  | { t: "leases"; leases: string[] }
  /** `currencies`: the served codes in RELAYER_CURRENCIES' order; `primary` the default's (RunningJobs.worker). */
  | { t: "started"; signers: `0x${string}`[]; leases: string[]; currencies: string[]; primary: string }
  | { t: "startFailed"; message: string }
  | { t: "stopped" };

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
const LEVEL_NAMES: Record<string, number> = { trace: 10, ...LEVELS, fatal: 60, silent: Infinity };

/**
 * A logger writing pino's JSON line format (level number, time, pid, hostname, fields, msg) through
 * `write`: the jobs thread's lines join the HTTP thread's on the same stream and its redaction.
 */
export function jsonLineLogger(level: string | false, write: (line: string) => void): Logger {
  const threshold = level === false ? Infinity : (LEVEL_NAMES[level] ?? LEVELS.info);
  const base = { pid: process.pid, hostname: os.hostname() };
  const at = (name: keyof typeof LEVELS) => (obj: object, msg?: string) => {
    if (LEVELS[name] < threshold) return;
    write(
      JSON.stringify({ level: LEVELS[name], time: Date.now(), ...base, ...obj, msg }, (_k, v: unknown) =>
        typeof v === "bigint" ? v.toString() : v instanceof Error ? v.message : v,
      ) + "\n",
    );
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
