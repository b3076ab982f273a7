/**
 * Which deployment to audit: deployments/<network>.json (or an explicit file) turned into the
 * addresses and deploy block the scan needs. The record is the only thing taken from outside the
 * chain, and the chain is then asked to confirm it (chain id, code at the escrow).
 */
import { existsSync, readFileSync } from "node:fs";
import { getAddress } from "viem";
import {
  DeploymentFileError,
  defaultCurrency,
  readDeployment,
  validateDeployment,
  type CurrencyDeployment,
  type DeploymentRecord,
} from "../chain/deployments";
import { DeploymentError } from "./errors";
import type { Address, AuditTarget } from "./types";

/** Reads `file` (when given) or deployments/<network>.json under `dir`. */
export function loadDeployment(options: { network?: string; file?: string; dir?: string }): DeploymentRecord {
  try {
    if (options.file) return readDeploymentFile(options.file, options.network);
    if (!options.network) throw new DeploymentError("Give --network <name> or --deployments <file>");
    return readDeployment(options.network, options.dir);
  } catch (e) {
    if (e instanceof DeploymentFileError) throw new DeploymentError(e.message, e);
    throw e;
  }
}

function readDeploymentFile(file: string, network: string | undefined): DeploymentRecord {
  if (!existsSync(file)) throw new DeploymentError(`Deployment file ${file} does not exist`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DeploymentError(`Deployment file ${file} is not valid JSON: ${(e as Error).message}`, e);
  }
  const problems = validateDeployment(data);
  if (problems.length > 0) {
    throw new DeploymentError(
      `Deployment file ${file} is not a valid deployment record:\n  - ${problems.join("\n  - ")}`,
    );
  }
  const record = data as DeploymentRecord;
  // An explicit --network that disagrees with the file is almost surely the wrong file.
  if (network && record.network !== network) {
    throw new DeploymentError(`Deployment file ${file} is for network "${record.network}", not "${network}"`);
  }
  return record;
}

/** What the audit reads: the shared registry and one currency's escrow and token (by default the first). */
export function targetOf(
  record: DeploymentRecord,
  currency: CurrencyDeployment = defaultCurrency(record),
): AuditTarget {
  return {
    network: record.network,
    chainId: record.chainId,
    currency: currency.code,
    deployBlock: BigInt(record.blockNumber),
    token: getAddress(currency.token.address) as Address,
    registry: getAddress(record.contracts.MerchantRegistry.address) as Address,
    escrow: getAddress(currency.escrow.address) as Address,
    externalToken: currency.token.external === true,
  };
}
