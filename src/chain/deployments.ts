/**
 * The deployment record: what scripts/deploy.ts writes to deployments/<network>.json and what the
 * operator tasks (tasks/*.ts) and off-chain services read to find the contracts.
 *
 * This module stays free of the Hardhat runtime and of typechain-types so that hardhat.config.ts
 * (through tasks/) can import it before anything is compiled.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Contract, isAddress, isHexString, type Provider } from "ethers";

/** Bumped when the shape of the record changes incompatibly. */
export const DEPLOYMENT_SCHEMA_VERSION = 1;

/** Every contract deployStablePay deploys (or, for SettlementToken, may reuse), in deployment order. */
export const CONTRACT_NAMES = [
  "SettlementToken",
  "MerchantRegistry",
  "CustomerFunds",
  "PaymentLifecycle",
  "Settlement",
  "PaymentEscrow",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

/** A constructor argument as stored in JSON: bigints become decimal strings. */
export type ConstructorArg = string | number | boolean;

export interface ContractDeployment {
  address: string;
  /** Hash of the creation transaction; null for a token that was not deployed by us (EXISTING_TOKEN). */
  txHash: string | null;
  /** Block of the creation transaction; null when txHash is null. */
  blockNumber: number | null;
  /** Constructor arguments in order; bigints as decimal strings. Empty for libraries and external tokens. */
  constructorArgs: ConstructorArg[];
  /** True for a USDC-like token that already existed on the chain (EXISTING_TOKEN). */
  external?: boolean;
  /** Linked libraries, by fully qualified name (PaymentEscrow only). */
  libraries?: Record<string, string>;
}

/** Holders of each role, by contract and role name (the role constant's name in Solidity). */
export interface DeploymentRoles {
  /** Empty when the token is external: its roles are not ours to grant. */
  SettlementToken: Partial<
    Record<"DEFAULT_ADMIN_ROLE" | "MASTER_MINTER_ROLE" | "PAUSER_ROLE" | "BLOCKLISTER_ROLE" | "RESCUER_ROLE", string>
  >;
  MerchantRegistry: Record<"DEFAULT_ADMIN_ROLE" | "REGISTRAR_ROLE", string>;
  PaymentEscrow: Record<"DEFAULT_ADMIN_ROLE" | "ARBITER_ROLE", string>;
}

export interface DeploymentRecord {
  schemaVersion: number;
  /** Hardhat network name the record was written for (also the file name). */
  network: string;
  chainId: number;
  deployer: string;
  /** ISO 8601 time the deployment finished. */
  deployedAt: string;
  /** Deploy block: the block of the first deployment transaction (where indexers start). */
  blockNumber: number;
  /** Receiver of protocol fees (PaymentEscrow.feeRecipient at deployment). */
  feeRecipient: string;
  contracts: Record<ContractName, ContractDeployment>;
  roles: DeploymentRoles;
}

export const DEFAULT_DEPLOYMENTS_DIR = "deployments";

/** deployments/<network>.json (or under `dir`). */
export function deploymentPath(network: string, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(network) || network.startsWith(".")) {
    throw new Error(`Invalid network name "${network}" for a deployment file`);
  }
  return path.join(dir, `${network}.json`);
}

/**
 * Deployments directory from the environment: DEPLOYMENTS_DIR if set, else "deployments";
 * a relative directory is taken from `root` (the Hardhat project root).
 */
export function deploymentsDirFromEnv(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(root, env.DEPLOYMENTS_DIR || DEFAULT_DEPLOYMENTS_DIR);
}

export class DeploymentFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = "DeploymentFileError";
  }
}

/**
 * Reads and validates deployments/<network>.json. Throws {@link DeploymentFileError} naming the
 * file when it is missing, not JSON, not a deployment record, or written for another network.
 */
export function readDeployment(network: string, dir: string = DEFAULT_DEPLOYMENTS_DIR): DeploymentRecord {
  const file = deploymentPath(network, dir);
  if (!existsSync(file)) {
    throw new DeploymentFileError(
      file,
      `No deployment for network "${network}": ${file} does not exist. ` +
        `Deploy first: npx hardhat run scripts/deploy.ts --network ${network}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DeploymentFileError(file, `Deployment file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const problems = validateDeployment(data);
  if (problems.length > 0) {
    throw new DeploymentFileError(
      file,
      `Deployment file ${file} is not a valid deployment record:\n  - ${problems.join("\n  - ")}`,
    );
  }
  const record = data as DeploymentRecord;
  if (record.network !== network) {
    throw new DeploymentFileError(file, `Deployment file ${file} is for network "${record.network}", not "${network}"`);
  }
  return record;
}

/**
 * Writes deployments/<record.network>.json atomically: the JSON goes to a temporary file in the
 * same directory, which is then renamed over the target, so readers never see half a file.
 * Returns the path written.
 */
export function writeDeployment(record: DeploymentRecord, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  const problems = validateDeployment(record);
  if (problems.length > 0) {
    throw new Error(`Refusing to write an invalid deployment record:\n  - ${problems.join("\n  - ")}`);
  }
  const file = deploymentPath(record.network, dir);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n", { encoding: "utf8", flag: "wx" });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return file;
}

/** Why a record is or is not live on the connected chain. */
export type DeploymentStatus =
  | { live: true }
  | { live: false; reason: "chain-mismatch"; recordedChainId: number; connectedChainId: number }
  | { live: false; reason: "no-code"; address: string }
  | { live: false; reason: "not-this-escrow"; address: string; detail: string };

const ESCROW_WIRING_ABI = ["function token() view returns (address)", "function registry() view returns (address)"];

/**
 * Checks a record against the connected chain: same chain id, code at the recorded escrow address,
 * and that code is an escrow wired to the recorded token and registry (so a contract that merely
 * happens to sit at a reused address after a chain reset does not count).
 */
export async function deploymentStatus(provider: Provider, record: DeploymentRecord): Promise<DeploymentStatus> {
  const connectedChainId = Number((await provider.getNetwork()).chainId);
  if (connectedChainId !== record.chainId) {
    return { live: false, reason: "chain-mismatch", recordedChainId: record.chainId, connectedChainId };
  }
  const address = record.contracts.PaymentEscrow.address;
  const code = await provider.getCode(address);
  if (code === "0x") return { live: false, reason: "no-code", address };
  try {
    const escrow = new Contract(address, ESCROW_WIRING_ABI, provider);
    const [token, registry] = (await Promise.all([escrow.token(), escrow.registry()])) as [string, string];
    const expectedToken = record.contracts.SettlementToken.address;
    const expectedRegistry = record.contracts.MerchantRegistry.address;
    if (
      token.toLowerCase() !== expectedToken.toLowerCase() ||
      registry.toLowerCase() !== expectedRegistry.toLowerCase()
    ) {
      return {
        live: false,
        reason: "not-this-escrow",
        address,
        detail: `its token/registry are ${token}/${registry}, the record says ${expectedToken}/${expectedRegistry}`,
      };
    }
  } catch (e) {
    return { live: false, reason: "not-this-escrow", address, detail: (e as Error).message.split("\n")[0] };
  }
  return { live: true };
}

/** True when the record's escrow is deployed on the connected chain (same chain id, code present). */
export async function hasLiveDeployment(provider: Provider, record: DeploymentRecord): Promise<boolean> {
  return (await deploymentStatus(provider, record)).live;
}

/** One line explaining a non-live status, for logs and errors. */
export function describeStatus(status: DeploymentStatus): string {
  if (status.live) return "live";
  switch (status.reason) {
    case "chain-mismatch":
      return `recorded for chain ${status.recordedChainId}, but the connected chain is ${status.connectedChainId}`;
    case "no-code":
      return `no code at the recorded PaymentEscrow address ${status.address} (chain reset?)`;
    case "not-this-escrow":
      return `the code at ${status.address} is not the recorded PaymentEscrow: ${status.detail}`;
  }
}

// ------------------------------------------------------------------------------------------------
// Validation (hand-written: the record is small and the project has no schema library)
// ------------------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isBlockNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Lists what is wrong with `data` as a {@link DeploymentRecord} (empty when it is valid). */
export function validateDeployment(data: unknown): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  if (!isObject(data)) return ["the top level must be a JSON object"];

  need(data.schemaVersion === DEPLOYMENT_SCHEMA_VERSION, `schemaVersion must be ${DEPLOYMENT_SCHEMA_VERSION}`);
  need(typeof data.network === "string" && data.network.length > 0, "network must be a non-empty string");
  need(
    typeof data.chainId === "number" && Number.isSafeInteger(data.chainId) && data.chainId > 0,
    "chainId must be a positive integer",
  );
  need(typeof data.deployer === "string" && isAddress(data.deployer), "deployer must be an address");
  need(
    typeof data.deployedAt === "string" && !Number.isNaN(Date.parse(data.deployedAt)),
    "deployedAt must be an ISO 8601 date",
  );
  need(isBlockNumber(data.blockNumber), "blockNumber must be a non-negative integer");
  need(typeof data.feeRecipient === "string" && isAddress(data.feeRecipient), "feeRecipient must be an address");

  if (!isObject(data.contracts)) {
    problems.push("contracts must be an object");
  } else {
    for (const name of CONTRACT_NAMES) {
      const c = data.contracts[name];
      const at = `contracts.${name}`;
      if (!isObject(c)) {
        problems.push(`${at} is missing`);
        continue;
      }
      need(typeof c.address === "string" && isAddress(c.address), `${at}.address must be an address`);
      const external = c.external === true;
      need(c.external === undefined || typeof c.external === "boolean", `${at}.external must be a boolean`);
      need(!external || name === "SettlementToken", `${at}.external is only allowed for SettlementToken`);
      if (external) {
        need(c.txHash === null && c.blockNumber === null, `${at}: an external token has null txHash and blockNumber`);
      } else {
        need(typeof c.txHash === "string" && isHexString(c.txHash, 32), `${at}.txHash must be a 32-byte hex hash`);
        need(isBlockNumber(c.blockNumber), `${at}.blockNumber must be a non-negative integer`);
      }
      need(
        Array.isArray(c.constructorArgs) &&
          c.constructorArgs.every((a) => ["string", "number", "boolean"].includes(typeof a)),
        `${at}.constructorArgs must be an array of strings, numbers or booleans`,
      );
      if (c.libraries !== undefined) {
        need(
          isObject(c.libraries) && Object.values(c.libraries).every((a) => typeof a === "string" && isAddress(a)),
          `${at}.libraries must map library names to addresses`,
        );
      }
    }
  }

  if (!isObject(data.roles)) {
    problems.push("roles must be an object");
  } else {
    for (const name of ["SettlementToken", "MerchantRegistry", "PaymentEscrow"] as const) {
      const r = data.roles[name];
      if (!isObject(r)) {
        problems.push(`roles.${name} must be an object`);
        continue;
      }
      for (const [role, holder] of Object.entries(r)) {
        need(typeof holder === "string" && isAddress(holder), `roles.${name}.${role} must be an address`);
      }
    }
  }
  return problems;
}
