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
import {
  deployStablePay,
  DEFAULT_ADMIN_DELAY,
  DEFAULT_CURRENCIES,
  DEFAULT_DISPUTE_TIMEOUT,
  type CurrencyOptions,
} from "./deploy";
import {
  CURRENCY_CODE_PATTERN,
  DEFAULT_DEPLOYMENTS_DIR,
  DEPLOYMENT_SCHEMA_VERSION,
  defaultCurrency,
  deploymentPath,
  deploymentStatus,
  describeStatus,
  readDeployment,
  writeDeployment,
  type ConstructorArg,
  type ContractDeployment,
  type CurrencyDeployment,
  type DeploymentRecord,
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
  /**
   * The currencies by code, each a SettlementToken of our own (default: USD alone; env CURRENCIES,
   * comma-separated). An existing token, if given, comes first.
   */
  currencies?: string[];
  /** Address of a USDC-like token already on the chain, deployed over as the first currency (env EXISTING_TOKEN). */
  existingToken?: string;
  /** Its currency code (env EXISTING_TOKEN_CODE; default: its symbol, upper-cased). */
  existingTokenCode?: string;
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
  "EXISTING_TOKEN_CODE",
  "CURRENCIES",
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
  if (env.EXISTING_TOKEN_CODE?.trim()) options.existingTokenCode = currencyCode(env.EXISTING_TOKEN_CODE.trim());
  if (env.CURRENCIES?.trim()) options.currencies = env.CURRENCIES.split(",").map((c) => currencyCode(c.trim()));
  options.force = envFlag(env, "FORCE_REDEPLOY");
  if (env.DEPLOYMENTS_DIR) options.dir = env.DEPLOYMENTS_DIR;
  const save = envFlag(env, "SAVE_DEPLOYMENT");
  if (save !== undefined) options.write = save;
  return options;
}

const CODE = new RegExp(CURRENCY_CODE_PATTERN);

/** A currency code as given, or an error naming the rule. */
export function currencyCode(code: string): string {
  if (!CODE.test(code)) {
    throw new Error(`"${code}" is not a currency code: 2 to 12 capital letters or digits, starting with a letter`);
  }
  return code;
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
      const wanted = options.existingToken ? undefined : options.currencies;
      const recordedCodes = previous.currencies.map((c) => c.code);
      if (status.live && !options.force && wanted && wanted.join(",") !== recordedCodes.join(",")) {
        throw new Error(
          `The live deployment in ${file} has the currencies ${recordedCodes.join(", ")}, not ${wanted.join(", ")}. ` +
            `Set FORCE_REDEPLOY=true (or another DEPLOYMENTS_DIR) to deploy a new set with these currencies.`,
        );
      }
      if (status.live && !options.force) {
        log(
          `StablePay is already deployed on ${network} (chain ${chainId}): PaymentEscrow ` +
            `${defaultCurrency(previous).escrow.address} is live (record ${file}, deploy block ${previous.blockNumber}).`,
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
  const currencies: CurrencyOptions[] = (options.currencies ?? DEFAULT_CURRENCIES.map((c) => c.code)).map((code) => ({
    code: currencyCode(code),
  }));
  const existingToken = options.existingToken ? getAddress(options.existingToken) : undefined;
  if (existingToken) {
    const symbol = await checkExistingToken(hre, existingToken);
    const code = currencyCode(options.existingTokenCode ?? symbol.toUpperCase());
    log(`Using existing token ${existingToken} (${symbol}) as currency ${code}`);
    // An existing token replaces our own token of the same code, and comes first.
    const others = options.currencies ? currencies.filter((c) => c.code !== code) : [];
    currencies.splice(0, currencies.length, { code, existingToken }, ...others);
  }

  log(
    `Deploying StablePay to ${network} (chain ${chainId}) from ${deployer}: ${currencies.map((c) => c.code).join(", ")}`,
  );
  const deployed = await deployStablePay(signer, {
    admin: deployer,
    feeRecipient,
    currencies,
    adminDelay: options.adminDelay ?? DEFAULT_ADMIN_DELAY,
    disputeTimeout: options.disputeTimeout ?? DEFAULT_DISPUTE_TIMEOUT,
  });
  const { registry } = deployed;

  // Operator roles. The deployer holds DEFAULT_ADMIN_ROLE on every contract (it can grant); it
  // keeps admin, to be handed over later with the two-step, delayed default-admin transfer.
  const grants: [AccessControlled, string, string, string][] = [
    [registry, "MerchantRegistry", "REGISTRAR_ROLE", holders.registrar],
  ];
  for (const c of deployed.currencies) {
    if (!c.external) {
      grants.push(
        [c.token, `${c.code} SettlementToken`, "MASTER_MINTER_ROLE", holders.masterMinter],
        [c.token, `${c.code} SettlementToken`, "PAUSER_ROLE", holders.pauser],
        [c.token, `${c.code} SettlementToken`, "BLOCKLISTER_ROLE", holders.blocklister],
        [c.token, `${c.code} SettlementToken`, "RESCUER_ROLE", holders.rescuer],
      );
    }
    grants.push([c.escrow, `${c.code} PaymentEscrow`, "ARBITER_ROLE", holders.arbiter]);
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
  const deployedAt = async (
    address: string,
    txHash: string,
    args: readonly unknown[] = [],
  ): Promise<ContractDeployment> => ({
    address: getAddress(address),
    txHash,
    blockNumber: await receiptBlock(txHash),
    constructorArgs: serializeArgs(args),
  });
  const contracts: DeploymentRecord["contracts"] = {
    MerchantRegistry: await deployedAt(
      await registry.getAddress(),
      deployed.transactions.MerchantRegistry,
      deployed.constructorArgs.MerchantRegistry,
    ),
    CustomerFunds: await deployedAt(deployed.libraries.customerFunds, deployed.transactions.CustomerFunds),
    PaymentLifecycle: await deployedAt(deployed.libraries.paymentLifecycle, deployed.transactions.PaymentLifecycle),
    Settlement: await deployedAt(deployed.libraries.settlement, deployed.transactions.Settlement),
  };
  const libraries = {
    "contracts/libraries/CustomerFunds.sol:CustomerFunds": contracts.CustomerFunds.address,
    "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle": contracts.PaymentLifecycle.address,
    "contracts/libraries/Settlement.sol:Settlement": contracts.Settlement.address,
  };
  const recorded: CurrencyDeployment[] = [];
  for (const c of deployed.currencies) {
    const tokenAddress = getAddress(await c.token.getAddress());
    const [symbol, decimals] = await Promise.all([c.token.symbol(), c.token.decimals()]);
    recorded.push({
      code: c.code,
      symbol,
      decimals: Number(decimals),
      token: c.transactions.token
        ? await deployedAt(tokenAddress, c.transactions.token, c.constructorArgs.token)
        : { address: tokenAddress, txHash: null, blockNumber: null, constructorArgs: [], external: true },
      escrow: {
        ...(await deployedAt(await c.escrow.getAddress(), c.transactions.escrow, c.constructorArgs.escrow)),
        libraries,
      },
      roles: {
        token: c.external
          ? {}
          : {
              DEFAULT_ADMIN_ROLE: deployer,
              MASTER_MINTER_ROLE: getAddress(holders.masterMinter),
              PAUSER_ROLE: getAddress(holders.pauser),
              BLOCKLISTER_ROLE: getAddress(holders.blocklister),
              RESCUER_ROLE: getAddress(holders.rescuer),
            },
        escrow: { DEFAULT_ADMIN_ROLE: deployer, ARBITER_ROLE: getAddress(holders.arbiter) },
      },
    });
  }

  const blocks = [...Object.values(contracts), ...recorded.flatMap((c) => [c.token, c.escrow])]
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
    currencies: recorded,
    roles: { MerchantRegistry: { DEFAULT_ADMIN_ROLE: deployer, REGISTRAR_ROLE: getAddress(holders.registrar) } },
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
  log(`  MerchantRegistry  ${c.MerchantRegistry.address}`);
  for (const currency of record.currencies) {
    const external = currency.token.external ? ", existing token" : "";
    log(`  ${currency.code.padEnd(17)} PaymentEscrow ${currency.escrow.address}`);
    log(`  ${"".padEnd(17)} token ${currency.token.address} (${currency.symbol}${external})`);
  }
  log(`  libraries         CustomerFunds ${c.CustomerFunds.address}`);
  log(`                    PaymentLifecycle ${c.PaymentLifecycle.address}`);
  log(`                    Settlement ${c.Settlement.address}`);
  log(`  admin             ${record.deployer}`);
  log(`  fee recipient     ${record.feeRecipient}`);
  if (file) log(`  record            ${file}`);
}
