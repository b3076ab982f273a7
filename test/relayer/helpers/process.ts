/**
 * The crash and fault tests' view of the local-network harness (src/localnet): a chain with
 * StablePay deployed, relayers as their own processes (killable with SIGKILL), temp stores. The
 * JSON-RPC fault proxy is in ../faults/rpcProxy.ts, scenario helpers in ../crash/scenario.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RelayerEnv } from "../../../src/relayer/config";
import { startRelayer, type RelayerProcess as HarnessRelayer } from "../../../src/localnet/relayer";
import { waitFor } from "../../../src/localnet/wait";

export { PROJECT_ROOT } from "../../../src/localnet/paths";
export { freePort } from "../../../src/localnet/rpc";
export { sleep } from "../../../src/localnet/wait";
export {
  orderRef,
  startLocalChain,
  type LocalChain,
  type Merchant,
  type SignedPayment,
} from "../../../src/localnet/network";

/** Graceful stops come well within this; past it the test fails (a hung shutdown is a bug). */
const STOP_TIMEOUT_MS = 30_000;

/** Polls `check` until it returns a truthy value; fails with `label` (and `detail()`) after `timeoutMs`. */
export function waitUntil<T>(
  label: string,
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 60_000,
  detail?: () => Promise<string> | string,
  intervalMs = 100,
): Promise<T> {
  return waitFor(check, { what: `waiting for ${label}`, timeoutMs, detail, intervalMs });
}

export interface RelayerProcess extends Omit<HarnessRelayer, "stop"> {
  /** SIGTERM and wait for the graceful stop; the exit code (0 expected). */
  stop(): Promise<number | null>;
}

/** Starts the relayer with exactly the variables in `env` and waits for its "started" log line. */
export async function spawnRelayer(
  env: Record<string, string>,
  startTimeoutMs = 90_000,
  /** Node.js flags (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs: string[] = [],
): Promise<RelayerProcess> {
  const relayer = await startRelayer({
    env: { LOG_LEVEL: "info", ...(env as RelayerEnv) },
    nodeArgs,
    startTimeoutMs,
    ownGroup: false,
  });
  return {
    ...relayer,
    async stop() {
      const exit = await relayer.stop(STOP_TIMEOUT_MS);
      if (exit.signal === "SIGKILL") throw new Error("the relayer did not stop within 30 s of SIGTERM");
      return exit.code;
    },
  };
}

/** A temp dir holding one relayer's SQLite file. */
export function relayerDir(): { dir: string; db: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-proc-"));
  return { dir, db: path.join(dir, "relayer.sqlite"), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
