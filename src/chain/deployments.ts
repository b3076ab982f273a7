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
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Contract, type Provider } from "ethers";
import { CURRENCY_CODE_PATTERN } from "../protocol/schemas/common";

/** Bumped when the shape of the record changes incompatibly (2: several currencies over one registry). */
export const DEPLOYMENT_SCHEMA_VERSION = 2;

/** The contracts every currency shares: one registry, and the escrow's linked libraries. */
export const SHARED_CONTRACT_NAMES = ["MerchantRegistry", "CustomerFunds", "PaymentLifecycle", "Settlement"] as const;
export type SharedContractName = (typeof SHARED_CONTRACT_NAMES)[number];

/** A currency's code as records, APIs and logs name it: "USD", "EUR", "USDC" (the protocol's pattern). */
export { CURRENCY_CODE_PATTERN };

const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" });
const TxHash = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const BlockNumber = Type.Integer({ minimum: 0 });
const Roles = Type.Record(Type.String({ pattern: "^[A-Z_]+$" }), Address);

const ContractDeploymentSchema = Type.Object(
  {
    address: Address,
    /** Hash of the creation transaction; null for a token that was not deployed by us (EXISTING_TOKEN). */
    txHash: Type.Union([TxHash, Type.Null()]),
    /** Block of the creation transaction; null when txHash is null. */
    blockNumber: Type.Union([BlockNumber, Type.Null()]),
    /** Constructor arguments in order; bigints as decimal strings. Empty for libraries and external tokens. */
    constructorArgs: Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    /** True for a USDC-like token that already existed on the chain (EXISTING_TOKEN). */
    external: Type.Optional(Type.Boolean()),
    /** Linked libraries, by fully qualified name (escrows only). */
    libraries: Type.Optional(Type.Record(Type.String(), Address)),
  },
  { additionalProperties: false },
);
export type ContractDeployment = Static<typeof ContractDeploymentSchema>;

/** A constructor argument as stored in JSON: bigints become decimal strings. */
export type ConstructorArg = ContractDeployment["constructorArgs"][number];

const CurrencyDeploymentSchema = Type.Object(
  {
    code: Type.String({ pattern: CURRENCY_CODE_PATTERN }),
    /** The token's own symbol (spUSD, USDC). */
    symbol: Type.String({ minLength: 1 }),
    decimals: Type.Integer({ minimum: 0, maximum: 36 }),
    token: ContractDeploymentSchema,
    escrow: ContractDeploymentSchema,
    /** Holders of each role, by role name; the token's is empty when the token is external. */
    roles: Type.Object({ token: Roles, escrow: Roles }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
/** One currency: its token and the escrow that holds it (docs/CURRENCIES.md). */
export type CurrencyDeployment = Static<typeof CurrencyDeploymentSchema>;

const DeploymentRecordSchema = Type.Object(
  {
    schemaVersion: Type.Literal(DEPLOYMENT_SCHEMA_VERSION),
    /** Hardhat network name the record was written for (also the file name). */
    network: Type.String({ minLength: 1 }),
    chainId: Type.Integer({ minimum: 1 }),
    deployer: Address,
    /** ISO 8601 time the deployment finished. */
    deployedAt: Type.String({ minLength: 1 }),
    /** Deploy block: the block of the first deployment transaction (where indexers start). */
    blockNumber: BlockNumber,
    /** Receiver of protocol fees (every escrow's feeRecipient at deployment). */
    feeRecipient: Address,
    /** The contracts every currency shares. */
    contracts: Type.Object(
      Object.fromEntries(SHARED_CONTRACT_NAMES.map((n) => [n, ContractDeploymentSchema])) as Record<
        SharedContractName,
        typeof ContractDeploymentSchema
      >,
      { additionalProperties: false },
    ),
    /** The currencies, at least one; the first is the default of services that serve one. */
    currencies: Type.Array(CurrencyDeploymentSchema, { minItems: 1 }),
    roles: Type.Object({ MerchantRegistry: Roles }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type DeploymentRecord = Static<typeof DeploymentRecordSchema>;

/** The currency services that serve one currency use: the record's first. */
export function defaultCurrency(record: DeploymentRecord): CurrencyDeployment {
  return record.currencies[0];
}

/** The currency with `code`; throws naming the codes the record has. */
export function currencyOf(record: DeploymentRecord, code: string): CurrencyDeployment {
  const found = record.currencies.find((c) => c.code === code);
  if (!found) {
    throw new Error(
      `No currency "${code}" in the deployment on ${record.network}: it has ${record.currencies.map((c) => c.code).join(", ")}`,
    );
  }
  return found;
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
  | { live: false; reason: "no-code"; address: string; currency: string }
  | { live: false; reason: "not-this-escrow"; address: string; currency: string; detail: string };

const ESCROW_WIRING_ABI = ["function token() view returns (address)", "function registry() view returns (address)"];

/**
 * Checks a record against the connected chain: same chain id, and for every currency code at the
 * recorded escrow address, that code being an escrow wired to the recorded token and registry (so a
 * contract that merely happens to sit at a reused address after a chain reset does not count).
 */
export async function deploymentStatus(provider: Provider, record: DeploymentRecord): Promise<DeploymentStatus> {
  const connectedChainId = Number((await provider.getNetwork()).chainId);
  if (connectedChainId !== record.chainId) {
    return { live: false, reason: "chain-mismatch", recordedChainId: record.chainId, connectedChainId };
  }
  for (const currency of record.currencies) {
    const status = await escrowStatus(provider, currency, record.contracts.MerchantRegistry.address);
    if (!status.live) return status;
  }
  return { live: true };
}

async function escrowStatus(
  provider: Provider,
  currency: CurrencyDeployment,
  expectedRegistry: string,
): Promise<DeploymentStatus> {
  const address = currency.escrow.address;
  const code = await provider.getCode(address);
  if (code === "0x") return { live: false, reason: "no-code", address, currency: currency.code };
  try {
    const escrow = new Contract(address, ESCROW_WIRING_ABI, provider);
    const [token, registry] = (await Promise.all([escrow.token(), escrow.registry()])) as [string, string];
    const expectedToken = currency.token.address;
    if (
      token.toLowerCase() !== expectedToken.toLowerCase() ||
      registry.toLowerCase() !== expectedRegistry.toLowerCase()
    ) {
      return {
        live: false,
        reason: "not-this-escrow",
        address,
        currency: currency.code,
        detail: `its token/registry are ${token}/${registry}, the record says ${expectedToken}/${expectedRegistry}`,
      };
    }
  } catch (e) {
    return {
      live: false,
      reason: "not-this-escrow",
      address,
      currency: currency.code,
      detail: (e as Error).message.split("\n")[0],
    };
  }
  return { live: true };
}

/** True when every escrow of the record is deployed on the connected chain (same chain id, wired code). */
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
      return `no code at the recorded ${status.currency} PaymentEscrow address ${status.address} (chain reset?)`;
    case "not-this-escrow":
      return `the code at ${status.address} is not the recorded ${status.currency} PaymentEscrow: ${status.detail}`;
  }
}

const recordChecker = TypeCompiler.Compile(DeploymentRecordSchema);

/** Lists what is wrong with `data` as a {@link DeploymentRecord} (empty when it is valid). */
export function validateDeployment(data: unknown): string[] {
  if (!recordChecker.Check(data)) {
    return [...recordChecker.Errors(data)].map(
      (e) => `${e.path.slice(1).replaceAll("/", ".") || "(top level)"}: ${e.message}`,
    );
  }
  const problems: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  need(!Number.isNaN(Date.parse(data.deployedAt)), "deployedAt must be an ISO 8601 date");
  const contracts: [string, ContractDeployment][] = Object.entries(data.contracts).map(([name, c]) => [
    `contracts.${name}`,
    c,
  ]);
  data.currencies.forEach((c, i) => {
    contracts.push([`currencies.${i}.token`, c.token], [`currencies.${i}.escrow`, c.escrow]);
    need(c.escrow.libraries !== undefined, `currencies.${i}.escrow.libraries: an escrow names its linked libraries`);
  });
  for (const [at, c] of contracts) {
    if (c.external) {
      need(at.endsWith(".token"), `${at}.external is only allowed for a token`);
      need(c.txHash === null && c.blockNumber === null, `${at}: an external token has null txHash and blockNumber`);
    } else {
      need(
        c.txHash !== null && c.blockNumber !== null,
        `${at}: txHash and blockNumber are set for a contract we deployed`,
      );
    }
  }
  const unique = (values: string[], what: string): void =>
    need(new Set(values).size === values.length, `currencies: two share one ${what}`);
  unique(
    data.currencies.map((c) => c.code),
    "code",
  );
  unique(
    data.currencies.map((c) => c.token.address.toLowerCase()),
    "token",
  );
  unique(
    data.currencies.map((c) => c.escrow.address.toLowerCase()),
    "escrow",
  );
  return problems;
}
