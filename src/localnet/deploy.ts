/**
 * StablePay onto a local chain, two ways:
 * - in this process ({@link deployInProcess}): loads Hardhat here for `localhost`, which saves a
 *   second Node start and compile, and hands back a typed result (deployed, reused, replaced stale);
 * - as `hardhat run scripts/deploy.ts` ({@link deployInChild}): for callers that must not load the
 *   Hardhat runtime (the benches, the tests running beside the in-process network).
 */
import type { DeployResult } from "../chain/deployToNetwork";
import { hardhatEnv, runHardhat } from "./hardhat";
import { DEPLOY_SCRIPT } from "./paths";

export interface LocalDeployOptions {
  rpcUrl: string;
  deploymentsDir: string;
}

export async function deployInProcess(
  options: LocalDeployOptions & {
    log: (line: string) => void;
    /** The currencies to deploy, the first the default (default: the environment's CURRENCIES, else USD). */
    currencies?: string[];
  },
): Promise<DeployResult> {
  // hardhat.config.ts reads LOCAL_RPC_URL, and the runtime picks its network from HARDHAT_NETWORK,
  // both when it is first loaded: set them before the import.
  process.env.LOCAL_RPC_URL = options.rpcUrl;
  process.env.HARDHAT_NETWORK = "localhost";
  const hre = (await import("hardhat")).default;
  if (hre.network.name !== "localhost") {
    throw new Error(`Hardhat was already loaded for network "${hre.network.name}"; cannot deploy to localhost`);
  }
  const { deploy, optionsFromEnv } = await import("../chain/deployToNetwork");
  return deploy(hre, {
    ...optionsFromEnv(process.env),
    ...(options.currencies ? { currencies: options.currencies } : {}),
    dir: options.deploymentsDir,
    log: options.log,
  });
}

/** Runs the deploy script against `rpcUrl`, its record written to `deploymentsDir`; rejects with its output on failure. */
export async function deployInChild(options: LocalDeployOptions & { timeoutMs?: number }): Promise<void> {
  const result = await runHardhat(
    ["run", DEPLOY_SCRIPT, "--network", "localhost", "--no-compile"],
    hardhatEnv({ LOCAL_RPC_URL: options.rpcUrl, DEPLOYMENTS_DIR: options.deploymentsDir }),
    options.timeoutMs ?? 180_000,
  );
  if (result.code !== 0) throw new Error(`deploy failed:\n${result.output}`);
}
