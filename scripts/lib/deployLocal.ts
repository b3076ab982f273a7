/**
 * Runs scripts/deploy.ts's `deploy()` in this process against the `localhost` network. Loading
 * Hardhat here instead of spawning `hardhat run` saves a second Node start and ts-node compile
 * (seconds on a small machine) and hands back a typed result: deployed, reused, or replaced stale.
 */
import type { DeployResult } from "../deploy";

export interface LocalDeployOptions {
  rpcUrl: string;
  deploymentsDir: string;
  log: (line: string) => void;
}

export async function deployLocal(options: LocalDeployOptions): Promise<DeployResult> {
  // hardhat.config.ts reads LOCAL_RPC_URL, and the runtime picks its network from HARDHAT_NETWORK,
  // both when it is first loaded: set them before the import.
  process.env.LOCAL_RPC_URL = options.rpcUrl;
  process.env.HARDHAT_NETWORK = "localhost";
  const hre = (await import("hardhat")).default;
  if (hre.network.name !== "localhost") {
    throw new Error(`Hardhat was already loaded for network "${hre.network.name}"; cannot deploy to localhost`);
  }
  const { deploy, optionsFromEnv } = await import("../deploy");
  return deploy(hre, { ...optionsFromEnv(process.env), dir: options.deploymentsDir, log: options.log });
}
