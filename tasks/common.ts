/**
 * Shared plumbing of the operator tasks: the live deployment of the selected network, the signer,
 * input parsing with clear errors, and readable revert reasons.
 *
 * Loaded by hardhat.config.ts (through tasks/index.ts), so it must not import the Hardhat runtime
 * ("hardhat") or typechain-types at module level; the tasks import typechain-types lazily.
 *
 * Each task imports only the typechain factories it uses (not the typechain-types index, which
 * would transpile every contract's bindings), and does so before its first RPC request. Loading
 * blocks the event loop; done between two requests, a pause longer than the node's HTTP
 * keep-alive (5 s on a busy machine) makes the next request go out on a socket the node has just
 * closed ("SocketError: other side closed").
 */
import { HardhatPluginError } from "hardhat/plugins";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { getAddress, id, isAddress, isHexString, keccak256, parseUnits, toUtf8Bytes, ZeroHash } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface, Signer } from "ethers";
import {
  deploymentPath,
  deploymentStatus,
  deploymentsDirFromEnv,
  describeStatus,
  readDeployment,
  currencyOf,
  defaultCurrency,
  type CurrencyDeployment,
  type DeploymentRecord,
} from "../src/chain/deployments";

export const PLUGIN = "stablepay";
/** StablePay amounts are in USDC units: 6 decimals. */
export const TOKEN_DECIMALS = 6;
const MAX_UINT64 = (1n << 64n) - 1n;

/** A task failure: Hardhat prints "Error in plugin stablepay: <message>" and exits with status 1. */
export function fail(message: string): never {
  throw new HardhatPluginError(PLUGIN, message);
}

/** The deployment record of the selected network, after checking it is live on the connected chain. */
export async function liveDeployment(hre: HardhatRuntimeEnvironment): Promise<DeploymentRecord> {
  const network = hre.network.name;
  const dir = deploymentsDirFromEnv(hre.config.paths.root);
  let record: DeploymentRecord;
  try {
    record = readDeployment(network, dir);
  } catch (e) {
    fail((e as Error).message);
  }
  const status = await deploymentStatus(hre.ethers.provider, record);
  if (!status.live) {
    fail(
      `The deployment in ${deploymentPath(network, dir)} is not live on network "${network}": ${describeStatus(status)}. ` +
        `Redeploy with: npx hardhat run scripts/deploy.ts --network ${network}`,
    );
  }
  return record;
}

/** The text of the tasks' `--currency` parameter. */
export const CURRENCY_PARAM = "Currency code of the token/escrow to act on (default: the deployment's first)";

/** The currency `code` names in `record` (its first when absent); a task failure naming the codes otherwise. */
export function selectCurrency(record: DeploymentRecord, code: string | undefined): CurrencyDeployment {
  if (code === undefined) return defaultCurrency(record);
  try {
    return currencyOf(record, code);
  } catch (e) {
    fail((e as Error).message);
  }
}

/** The first configured account of the network: the operator the tasks act as. */
export async function operator(hre: HardhatRuntimeEnvironment): Promise<Signer & { address: string }> {
  const [signer] = await hre.ethers.getSigners();
  if (!signer) {
    fail(
      `No account is configured for network "${hre.network.name}"` +
        (hre.network.name === "testnet" ? ": set DEPLOYER_PRIVATE_KEY" : ""),
    );
  }
  return signer;
}

/** `--name` as a checksummed address, or a clear error. */
export function parseAddress(name: string, value: string): string {
  if (typeof value !== "string" || !isAddress(value.trim())) fail(`--${name} "${value}" is not an address`);
  return getAddress(value.trim());
}

/**
 * A positive token amount in decimal notation ("12.34", "1000", "0.000001") to base units with
 * 6 decimals. Rejects signs, exponents, separators, zero and more than 6 decimals.
 */
export function parseAmount(name: string, value: string): bigint {
  const text = typeof value === "string" ? value.trim() : "";
  if (!/^\d+(\.\d+)?$/.test(text)) {
    fail(`--${name} "${value}" is not a valid amount: use a positive decimal number such as 12.34`);
  }
  const [, fraction = ""] = text.split(".");
  if (fraction.length > TOKEN_DECIMALS) {
    fail(`--${name} "${value}" has more than ${TOKEN_DECIMALS} decimal places`);
  }
  const amount = parseUnits(text, TOKEN_DECIMALS);
  if (amount === 0n) fail(`--${name} must be greater than zero`);
  return amount;
}

/** A non-negative integer no larger than `max`, e.g. a merchant id, fee or hold period. */
export function parseUint(name: string, value: string, max: bigint = MAX_UINT64): bigint {
  const text = typeof value === "string" ? value.trim() : "";
  if (!/^\d+$/.test(text)) fail(`--${name} "${value}" is not a non-negative integer`);
  const n = BigInt(text);
  if (n > max) fail(`--${name} ${text} is too large (at most ${max})`);
  return n;
}

/**
 * Merchant metadata reference: a 0x-prefixed 32-byte hex value is taken as is; any other text is
 * hashed (keccak256 of its UTF-8 bytes), e.g. a URL or a JSON document. Empty: zero.
 */
export function parseMetadata(value: string | undefined): string {
  if (value === undefined || value === "") return ZeroHash;
  if (isHexString(value, 32)) return value.toLowerCase();
  return keccak256(toUtf8Bytes(value));
}

/** Finds revert data (0x…) anywhere in an ethers / provider error. */
function revertData(e: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof e !== "object" || e === null) return undefined;
  const err = e as Record<string, unknown>;
  if (typeof err.data === "string" && isHexString(err.data) && err.data.length >= 10) return err.data;
  for (const key of ["error", "info", "cause", "data"]) {
    const found = revertData(err[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** A readable reason for a failed call: the contract's custom error with its arguments if it can be decoded. */
export function revertReason(e: unknown, ...interfaces: Interface[]): string {
  const data = revertData(e);
  if (data) {
    for (const iface of interfaces) {
      try {
        const parsed = iface.parseError(data);
        if (parsed) return `${parsed.name}(${parsed.args.map((a) => String(a)).join(", ")})`;
      } catch {
        // not this interface's error
      }
    }
  }
  const err = e as { shortMessage?: string; message?: string };
  return err.shortMessage ?? err.message ?? String(e);
}

/** Sends a transaction and waits for it; on failure reports `what` with the decoded revert reason. */
export async function send(
  what: string,
  tx: () => Promise<ContractTransactionResponse>,
  ...interfaces: Interface[]
): Promise<{ response: ContractTransactionResponse; receipt: ContractTransactionReceipt }> {
  let response: ContractTransactionResponse;
  let receipt: ContractTransactionReceipt | null;
  try {
    response = await tx();
    receipt = await response.wait();
  } catch (e) {
    fail(`${what} failed: ${revertReason(e, ...interfaces)}`);
  }
  if (!receipt) fail(`${what}: no receipt`);
  return { response, receipt };
}

/**
 * Fails unless `account` holds `roleName` on `contract`. Contracts without AccessControl (an
 * external USDC-like token) are not checked here: the transaction itself will tell.
 */
export async function requireRole(
  contract: { hasRole(role: string, account: string): Promise<boolean> },
  label: string,
  roleName: string,
  account: string,
): Promise<void> {
  let has: boolean;
  try {
    has = await contract.hasRole(id(roleName), account);
  } catch {
    return;
  }
  if (!has) fail(`The signer ${account} does not hold ${roleName} on ${label}; run the task with an account that does`);
}
