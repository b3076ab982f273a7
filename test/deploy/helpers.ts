/**
 * Helpers of the deployment tests: temporary directories and rejections; the chain, `hardhat …`
 * runs and JSON-RPC come from the local-network harness (src/localnet).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startHardhatNode as startNode, type ChainNode } from "../../src/localnet/chain";
import { jsonRpc } from "../../src/localnet/rpc";

export { PROJECT_ROOT } from "../../src/localnet/paths";

/** A fresh directory under the OS temp dir; remove it with {@link removeDir}. */
export function tempDir(prefix = "stablepay-deploy-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export { freePort } from "../../src/localnet/rpc";
export { sleep } from "../../src/localnet/wait";
export { runHardhat, hardhatEnv as childEnv } from "../../src/localnet/hardhat";
export type { RunResult } from "../../src/localnet/process";
export type { ChainNode as HardhatNode } from "../../src/localnet/chain";

/** A JSON-RPC call; rejects on transport or JSON-RPC errors. */
export const rpc = <T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> =>
  jsonRpc<T>(url, method, params);

/** Starts `hardhat node --port <port>` and waits until it answers eth_chainId (see src/localnet/chain.ts). */
export const startHardhatNode = (port: number, timeoutMs = 45_000): Promise<ChainNode> =>
  startNode({ port, timeoutMs });

/** Awaits `promise`, expecting it to reject with a message containing `expected` (string) or matching it (RegExp). */
export async function expectRejection(promise: Promise<unknown>, expected: string | RegExp): Promise<Error> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (!(error instanceof Error)) throw new Error(`Expected a rejection matching ${String(expected)}, got none`);
  const ok = typeof expected === "string" ? error.message.includes(expected) : expected.test(error.message);
  if (!ok) throw new Error(`Expected a rejection matching ${String(expected)}, got: ${error.message}`);
  return error;
}
