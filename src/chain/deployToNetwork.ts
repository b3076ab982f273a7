/**
 * Deploys StablePay to a Hardhat network, grants its operator roles and records the deployment in
 * deployments/<network>.json; reuses a recorded deployment while it is live. The command line is
 * scripts/deploy.ts; the local-network harness (src/localnet) calls {@link deploy} in process.
 * Environment variables it reads: {@link DEPLOY_ENV_VARS}.
 */
import { copyFileSync, existsSync } from "node:fs";
import path from "node:path";
import { Contract, isAddress, getAddress, id as keccakId, type ContractTransactionResponse, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { deployStablePay, DEFAULT_ADMIN_DELAY, DEFAULT_DISPUTE_TIMEOUT } from "./deploy";
import {
  CONTRACT_NAMES,
  DEFAULT_DEPLOYMENTS_DIR,
  DEPLOYMENT_SCHEMA_VERSION,
  deploymentPath,
  deploymentStatus,
  describeStatus,
  readDeployment,
  writeDeployment,
  type ConstructorArg,
  type ContractDeployment,
  type ContractName,
  type DeploymentRecord,
  type DeploymentRoles,
} from "./deployments";

/** Operator role holders; any left out goes to the deployer. */
export interface RoleHolders {
  masterMinter: string;
  pauser: string;
  blocklister: string;
  rescuer: string;
  registrar: string;
  arbiter: string;
}

export interface DeployScriptOptions extends Partial<RoleHolders> {
  /** Receiver of protocol fees (default: the deployer). */
  feeRecipient?: string;
  /** Address of a USDC-like token already on the chain, used instead of deploying a SettlementToken. */
  existingToken?: string;
  /** Deploy even when the recorded deployment is live on the connected chain. */
  force?: boolean;
  /** Directory of deployment records (default: <project root>/deployments). Relative paths are from the project root. */
  dir?: string;
  /**
   * Whether to read and write the deployment record. Default: always, except on the in-process
   * `hardhat` network (which vanishes with the process) unless `dir` is given.
   */
  write?: boolean;
  /** Deployer (default: the network's first configured account). Receives DEFAULT_ADMIN_ROLE everywhere. */
  signer?: Signer;
  tokenName?: string;
  tokenSymbol?: string;
  adminDelay?: bigint;
  disputeTimeout?: bigint;
  /** Progress and summary lines (default: console.log). */
  log?: (line: string) => void;
}

export interface DeployResult {
  /** "existing": a live deployment was found and nothing was sent; "deployed": contracts were deployed. */
  status: "existing" | "deployed";
  record: DeploymentRecord;
  /** Record file read or written; null when nothing is persisted (in-process network). */
  file: string | null;
  /** Set when an earlier record was replaced: it was stale (not live) or FORCE_REDEPLOY was given. */
  replaced?: "stale" | "forced";
}

const ROLE_ENV = {
  masterMinter: "MASTER_MINTER",
  pauser: "PAUSER",
  blocklister: "BLOCKLISTER",
  rescuer: "RESCUER",
  registrar: "REGISTRAR",
  arbiter: "ARBITER",
} as const satisfies Record<keyof RoleHolders, string>;

/**
 * Every environment variable {@link optionsFromEnv} reads, and the two that pick Hardhat's network
 * and the localhost node: launchers clear them so a parent's value does not change a child's deploy.
 */
export const DEPLOY_ENV_VARS = [
  ...Object.values(ROLE_ENV),
  "FEE_RECIPIENT",
  "EXISTING_TOKEN",
  "FORCE_REDEPLOY",
  "DEPLOYMENTS_DIR",
  "SAVE_DEPLOYMENT",
  "HARDHAT_NETWORK",
  "LOCAL_RPC_URL",
] as const;

function envAddress(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (!isAddress(value)) throw new Error(`Environment variable ${name}="${value}" is not an address`);
  return getAddress(value);
}

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name]?.trim().toLowerCase();
  if (!value) return undefined;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new Error(`Environment variable ${name}="${env[name]}" must be "true" or "false"`);
}

/** Options from environment variables (see the header of this file). Throws on malformed values. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): DeployScriptOptions {
  const options: DeployScriptOptions = {};
  for (const [key, name] of Object.entries(ROLE_ENV) as [keyof RoleHolders, string][]) {
    const value = envAddress(env, name);
    if (value) options[key] = value;
  }
  options.feeRecipient = envAddress(env, "FEE_RECIPIENT");
  options.existingToken = envAddress(env, "EXISTING_TOKEN");
  options.force = envFlag(env, "FORCE_REDEPLOY");
  if (env.DEPLOYMENTS_DIR) options.dir = env.DEPLOYMENTS_DIR;
  const save = envFlag(env, "SAVE_DEPLOYMENT");
  if (save !== undefined) options.write = save;
  return options;
}

/** What role granting needs of the three AccessControl contracts. */
interface AccessControlled {
  hasRole(role: string, account: string): Promise<boolean>;
  grantRole(role: string, account: string): Promise<ContractTransactionResponse>;
}

const TOKEN_CHECK_ABI = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

/** Refuses an EXISTING_TOKEN without code or with other than 6 decimals (amounts are USDC units). */
async function checkExistingToken(hre: HardhatRuntimeEnvironment, address: string): Promise<string> {
  if ((await hre.ethers.provider.getCode(address)) === "0x") {
    throw new Error(`EXISTING_TOKEN ${address} has no code on network "${hre.network.name}"`);
  }
  const token = new Contract(address, TOKEN_CHECK_ABI, hre.ethers.provider);
  let decimals: bigint;
  let symbol = "?";
  try {
    decimals = (await token.decimals()) as bigint;
    symbol = (await token.symbol().catch(() => "?")) as string;
  } catch {
    throw new Error(`EXISTING_TOKEN ${address} does not answer decimals(): not an ERC-20 token`);
  }
  if (decimals !== 6n) {
    throw new Error(`EXISTING_TOKEN ${address} (${symbol}) has ${decimals} decimals; StablePay expects 6 (USDC-like)`);
  }
  return symbol;
}

function serializeArgs(args: readonly unknown[] | undefined): ConstructorArg[] {
  return (args ?? []).map((a) => {
    if (typeof a === "bigint") return a.toString();
    if (typeof a === "string" || typeof a === "number" || typeof a === "boolean") return a;
    throw new Error(`Cannot record constructor argument ${String(a)}`);
  });
}

/**
 * Deploys StablePay on `hre`'s network unless a live deployment is already recorded there.
 *
 * Re-deploy detection: when deployments/<network>.json exists, its escrow is checked on the
 * connected chain (same chain id, code at the address, wired to the recorded token and registry).
 * Live: nothing is sent and the record is returned (status "existing"), unless `force`.
 * Not live (chain reset): reported and replaced. Recorded for another chain id: refused unless
 * `force`, so that a record of a real deployment is not overwritten by pointing at the wrong RPC.
 */
export async function deploy(hre: HardhatRuntimeEnvironment, options: DeployScriptOptions = {}): Promise<DeployResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const network = hre.network.name;
  const provider = hre.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const persist = options.write ?? (network !== "hardhat" || options.dir !== undefined);
  const dir = path.resolve(hre.config.paths.root, options.dir ?? DEFAULT_DEPLOYMENTS_DIR);
  const file = persist ? deploymentPath(network, dir) : null;

  let replaced: DeployResult["replaced"];
  if (file && existsSync(file)) {
    // A record replaced by force may be the only copy of a real deployment: keep it next to the new one.
    const keepPrevious = (why: string): void => {
      const backup = path.join(dir, `${network}.previous.json`);
      copyFileSync(file, backup);
      log(`FORCE_REDEPLOY: replacing ${why} ${file} (previous record kept in ${backup})`);
    };
    let previous: DeploymentRecord | undefined;
    try {
      previous = readDeployment(network, dir);
    } catch (e) {
      if (!options.force) {
        throw new Error(`${(e as Error).message}\nFix or remove it, or set FORCE_REDEPLOY=true to replace it.`);
      }
      keepPrevious("the unreadable deployment record");
      replaced = "forced";
    }
    if (previous) {
      const status = await deploymentStatus(provider, previous);
      if (status.live && !options.force) {
        log(
          `StablePay is already deployed on ${network} (chain ${chainId}): PaymentEscrow ` +
            `${previous.contracts.PaymentEscrow.address} is live (record ${file}, deploy block ${previous.blockNumber}).`,
        );
        log("Nothing deployed. Set FORCE_REDEPLOY=true to deploy a new set of contracts.");
        printSummary(previous, file, log);
        return { status: "existing", record: previous, file };
      }
      if (status.live) {
        keepPrevious("the live deployment recorded in");
        replaced = "forced";
      } else if (status.reason === "chain-mismatch") {
        if (!options.force) {
          throw new Error(
            `Deployment record ${file} is ${describeStatus(status)}. Refusing to overwrite it: check the RPC URL, ` +
              `or set FORCE_REDEPLOY=true (or another DEPLOYMENTS_DIR) to deploy anyway.`,
          );
        }
        keepPrevious(`the chain ${status.recordedChainId} deployment recorded in`);
        replaced = "forced";
      } else {
        log(`Stale deployment record ${file}: ${describeStatus(status)}. Deploying anew and replacing it.`);
        replaced = "stale";
      }
    }
  }

  const signer = options.signer ?? (await hre.ethers.getSigners())[0];
  if (!signer) {
    throw new Error(
      `No account is configured for network "${network}"` +
        (network === "testnet" ? ": set DEPLOYER_PRIVATE_KEY" : ": add accounts to its config"),
    );
  }
  const deployer = getAddress(await signer.getAddress());
  const holders: RoleHolders = {
    masterMinter: options.masterMinter ?? deployer,
    pauser: options.pauser ?? deployer,
    blocklister: options.blocklister ?? deployer,
    rescuer: options.rescuer ?? deployer,
    registrar: options.registrar ?? deployer,
    arbiter: options.arbiter ?? deployer,
  };
  const feeRecipient = getAddress(options.feeRecipient ?? deployer);
  const existingToken = options.existingToken ? getAddress(options.existingToken) : undefined;
  if (existingToken) {
    const symbol = await checkExistingToken(hre, existingToken);
    log(`Using existing token ${existingToken} (${symbol}) instead of deploying a SettlementToken`);
  }

  log(`Deploying StablePay to ${network} (chain ${chainId}) from ${deployer}`);
  const deployed = await deployStablePay(signer, {
    admin: deployer,
    feeRecipient,
    existingToken,
    tokenName: options.tokenName,
    tokenSymbol: options.tokenSymbol,
    adminDelay: options.adminDelay ?? DEFAULT_ADMIN_DELAY,
    disputeTimeout: options.disputeTimeout ?? DEFAULT_DISPUTE_TIMEOUT,
  });
  const { token, registry, escrow } = deployed;

  // Operator roles. The deployer holds DEFAULT_ADMIN_ROLE on all three contracts (it can grant);
  // it keeps admin, to be handed over later with the two-step, delayed default-admin transfer.
  const grants: [AccessControlled, string, string, string][] = [
    [registry, "MerchantRegistry", "REGISTRAR_ROLE", holders.registrar],
    [escrow, "PaymentEscrow", "ARBITER_ROLE", holders.arbiter],
  ];
  if (!existingToken) {
    grants.unshift(
      [token, "SettlementToken", "MASTER_MINTER_ROLE", holders.masterMinter],
      [token, "SettlementToken", "PAUSER_ROLE", holders.pauser],
      [token, "SettlementToken", "BLOCKLISTER_ROLE", holders.blocklister],
      [token, "SettlementToken", "RESCUER_ROLE", holders.rescuer],
    );
  }
  for (const [contract, contractName, roleName, holder] of grants) {
    const role = keccakId(roleName);
    if (await contract.hasRole(role, holder)) continue;
    const tx = await contract.grantRole(role, holder);
    await tx.wait();
    log(`  granted ${contractName}.${roleName} to ${holder}`);
  }

  // Receipts give each contract's block; the first one is the deploy block.
  const receiptBlock = async (hash: string): Promise<number> => {
    const receipt = (await provider.getTransactionReceipt(hash)) ?? (await provider.waitForTransaction(hash));
    if (!receipt) throw new Error(`No receipt for deployment transaction ${hash}`);
    return receipt.blockNumber;
  };
  const addresses: Record<ContractName, string> = {
    SettlementToken: await token.getAddress(),
    MerchantRegistry: await registry.getAddress(),
    CustomerFunds: deployed.libraries.customerFunds,
    PaymentLifecycle: deployed.libraries.paymentLifecycle,
    Settlement: deployed.libraries.settlement,
    PaymentEscrow: await escrow.getAddress(),
  };
  const contracts = {} as Record<ContractName, ContractDeployment>;
  for (const name of CONTRACT_NAMES) {
    const address = getAddress(addresses[name]);
    if (name === "SettlementToken" && existingToken) {
      contracts[name] = { address, txHash: null, blockNumber: null, constructorArgs: [], external: true };
      continue;
    }
    const txHash = deployed.transactions[name];
    if (!txHash) throw new Error(`deployStablePay reported no transaction for ${name}`);
    contracts[name] = {
      address,
      txHash,
      blockNumber: await receiptBlock(txHash),
      constructorArgs: serializeArgs(deployed.constructorArgs[name]),
    };
  }
  contracts.PaymentEscrow.libraries = {
    "contracts/libraries/CustomerFunds.sol:CustomerFunds": contracts.CustomerFunds.address,
    "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle": contracts.PaymentLifecycle.address,
    "contracts/libraries/Settlement.sol:Settlement": contracts.Settlement.address,
  };

  const roles: DeploymentRoles = {
    SettlementToken: existingToken
      ? {}
      : {
          DEFAULT_ADMIN_ROLE: deployer,
          MASTER_MINTER_ROLE: getAddress(holders.masterMinter),
          PAUSER_ROLE: getAddress(holders.pauser),
          BLOCKLISTER_ROLE: getAddress(holders.blocklister),
          RESCUER_ROLE: getAddress(holders.rescuer),
        },
    MerchantRegistry: { DEFAULT_ADMIN_ROLE: deployer, REGISTRAR_ROLE: getAddress(holders.registrar) },
    PaymentEscrow: { DEFAULT_ADMIN_ROLE: deployer, ARBITER_ROLE: getAddress(holders.arbiter) },
  };

  const blocks = Object.values(contracts)
    .map((c) => c.blockNumber)
    .filter((b): b is number => b !== null);
  const record: DeploymentRecord = {
    schemaVersion: DEPLOYMENT_SCHEMA_VERSION,
    network,
    chainId,
    deployer,
    deployedAt: new Date().toISOString(),
    blockNumber: Math.min(...blocks),
    feeRecipient,
    contracts,
    roles,
  };

  const written = persist ? writeDeployment(record, dir) : null;
  printSummary(record, written, log);
  if (!written) {
    log(
      `In-process "${network}" network: no deployment record written (it disappears with this process). ` +
        `Set SAVE_DEPLOYMENT=true or DEPLOYMENTS_DIR to write one.`,
    );
  }
  return { status: "deployed", record, file: written, replaced };
}

function printSummary(record: DeploymentRecord, file: string | null, log: (line: string) => void): void {
  const c = record.contracts;
  log(`StablePay on ${record.network} (chain ${record.chainId}), deploy block ${record.blockNumber}:`);
  log(`  SettlementToken   ${c.SettlementToken.address}${c.SettlementToken.external ? " (existing token)" : ""}`);
  log(`  MerchantRegistry  ${c.MerchantRegistry.address}`);
  log(`  PaymentEscrow     ${c.PaymentEscrow.address}`);
  log(`  libraries         CustomerFunds ${c.CustomerFunds.address}`);
  log(`                    PaymentLifecycle ${c.PaymentLifecycle.address}`);
  log(`                    Settlement ${c.Settlement.address}`);
  log(`  admin             ${record.deployer}`);
  log(`  fee recipient     ${record.feeRecipient}`);
  if (file) log(`  record            ${file}`);
}
