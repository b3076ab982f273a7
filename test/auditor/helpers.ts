/**
 * Helpers of the auditor tests: a deployment on the in-process Hardhat chain (through
 * scripts/deploy.ts, so roles are as in production), a viem client on that same chain, the
 * scripted history, and temp directories.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { createPublicClient, custom, type PublicClient } from "viem";
import { deploy } from "../../src/chain/deployToNetwork";
import { writeAuditHistory, type HistoryOptions, type HistorySummary } from "../fixtures/auditHistory";
import type { DeploymentRecord } from "../../src/chain/deployments";

/** A viem client whose transport is the in-process Hardhat chain's own provider: the real chain. */
export function hardhatClient(): PublicClient {
  return createPublicClient({
    transport: custom({ request: ({ method, params }) => hre.network.provider.request({ method, params }) }),
  }) as PublicClient;
}

export interface AuditedChain {
  record: DeploymentRecord;
  history: HistorySummary;
  client: PublicClient;
}

/** Deploys StablePay afresh (writing the record to `dir` when given) and writes the scripted history. */
export async function deployWithHistory(options: HistoryOptions & { dir?: string } = {}): Promise<AuditedChain> {
  const { record } = await deploy(hre, {
    force: true,
    log: () => {},
    ...(options.dir ? { dir: options.dir } : { write: false }),
  });
  const history = await writeAuditHistory(hre, record, options);
  return { record, history, client: hardhatClient() };
}

export function tempDir(prefix = "stablepay-audit-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export { hre };
