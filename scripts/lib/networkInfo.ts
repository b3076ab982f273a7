/**
 * Where everything of a running local network is: printed by `npm start` as its summary and written
 * to data/network.json, from which `npm run demo` (and anyone else) finds the network.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DeploymentRecord, SharedContractName } from "../../src/chain/deployments";

export const NETWORK_INFO_FILE = "network.json";

export interface NetworkInfo {
  chain: {
    rpcUrl: string;
    chainId: number;
    /** Started by this `npm start` (stops with it) or found already running (left running). */
    startedHere: boolean;
    /** The node's per-call log; null when the chain was started elsewhere. */
    logFile: string | null;
  };
  deployment: {
    file: string;
    /** "deployed" now, or "existing" (a live deployment was reused). */
    status: "deployed" | "existing";
    deployBlock: number;
    /** The contracts every currency shares. */
    contracts: Record<SharedContractName, string>;
    /** Each currency's token and escrow, the first being the default. */
    currencies: CurrencyInfo[];
    deployer: string;
  };
  relayer: {
    url: string;
    openApiUrl: string;
    healthUrl: string;
    readyUrl: string;
    metricsUrl: string;
    /** The SQLite file, or the PostgreSQL URL (password redacted). */
    database: string;
    logFile: string;
    /** The relayer's first signer (sends the first currency's batches, relayed actions and settlements). */
    signer: string | null;
    /** The currencies whose payments and chain jobs it serves (RELAYER_CURRENCIES), in its order. */
    currencies: string[];
    /** Per served currency, the signer keys' addresses dealt to it (one currency per key). */
    signers: Record<string, string[]>;
    /** Printed only when it is the local default; otherwise "(from RELAYER_ADMIN_TOKEN)". */
    adminToken: string;
    /** "sqlite": one all-in-one process (the default); "postgres": the instances below. */
    store?: "sqlite" | "postgres";
    /** With --postgres: every relayer process (api instances first, then workers). */
    instances?: InstanceInfo[];
  };
  dataDir: string;
  pid: number;
  startedAt: string;
}

/** One relayer process of a several-instance layout (npm start -- --postgres). */
export interface InstanceInfo {
  name: string;
  role: "api" | "worker" | "all";
  /** Its HTTP URL (api instances); null for a worker. */
  url: string | null;
  pid: number;
  logFile: string;
}

/** A database URL as it may be shown: the password, if any, replaced. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}

export interface CurrencyInfo {
  code: string;
  symbol: string;
  token: string;
  escrow: string;
}

export function contractAddresses(
  record: DeploymentRecord,
): Pick<NetworkInfo["deployment"], "contracts" | "currencies"> {
  return {
    contracts: Object.fromEntries(Object.entries(record.contracts).map(([name, c]) => [name, c.address])) as Record<
      SharedContractName,
      string
    >,
    currencies: record.currencies.map((c) => ({
      code: c.code,
      symbol: c.symbol,
      token: c.token.address,
      escrow: c.escrow.address,
    })),
  };
}

export function relayerUrls(
  url: string,
): Pick<NetworkInfo["relayer"], "url" | "openApiUrl" | "healthUrl" | "readyUrl" | "metricsUrl"> {
  return {
    url,
    openApiUrl: `${url}/v1/openapi.json`,
    healthUrl: `${url}/health`,
    readyUrl: `${url}/ready`,
    metricsUrl: `${url}/metrics`,
  };
}

export function writeNetworkInfo(dataDir: string, info: NetworkInfo): string {
  const file = path.join(dataDir, NETWORK_INFO_FILE);
  writeFileSync(file, JSON.stringify(info, null, 2) + "\n");
  return file;
}

export function readNetworkInfo(dataDir: string): NetworkInfo | null {
  const file = path.join(dataDir, NETWORK_INFO_FILE);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")) as NetworkInfo;
}

/** A path as people read it: relative to the current directory when inside it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

/** The summary `npm start` prints last: one line per place, aligned, nothing else. */
export function formatSummary(info: NetworkInfo, show: (file: string) => string = displayPath): string[] {
  const { chain, deployment, relayer } = info;
  const currencyRows = deployment.currencies.flatMap((c) => [
    [`${c.code} escrow`, c.escrow],
    [`${c.code} token`, `${c.token}  (${c.symbol})`],
  ]);
  const labels = [
    ...Object.keys(deployment.contracts),
    ...currencyRows.map(([label]) => label),
    ...relayer.currencies.map((code) => `${code} signer`),
  ];
  const width = Math.max(...labels.map((name) => name.length)) + 4;
  const row = (label: string, value: string) => `  ${label.padEnd(width)}${value}`;
  const chainNote = chain.startedHere ? "started here, stops with Ctrl-C" : "already running, left running";
  return [
    "",
    "StablePay local network",
    row("chain", `${chain.rpcUrl}  (chain id ${chain.chainId}; ${chainNote})`),
    row(
      "chain log",
      chain.logFile
        ? show(chain.logFile)
        : "(the chain was started elsewhere: its log is wherever that process writes)",
    ),
    row("deployment", `${show(deployment.file)}  (${deployment.status}, deploy block ${deployment.deployBlock})`),
    ...currencyRows.map(([label, value]) => row(`  ${label}`, value)),
    ...Object.entries(deployment.contracts).map(([name, address]) => row(`  ${name}`, address)),
    row("relayer", relayer.instances ? `${relayer.url}  (api-1; every instance below)` : relayer.url),
    row("  dashboard", `${relayer.url}/dashboard/  (sign in with a merchant API key)`),
    row("  OpenAPI", relayer.openApiUrl),
    row("  health", `${relayer.healthUrl}  ${relayer.readyUrl}`),
    row("  metrics", relayer.metricsUrl),
    row("  currencies", `${relayer.currencies.join(", ")}${relayer.instances ? " (every instance)" : ""}`),
    ...relayer.currencies.map((code) => row(`  ${code} signer`, relayer.signers[code]?.join(", ") ?? "?")),
    row("  admin token", relayer.adminToken),
    row("  database", /^postgres(ql)?:/.test(relayer.database) ? relayer.database : show(relayer.database)),
    row("  log", show(relayer.logFile)),
    ...(relayer.instances ?? []).map((i) =>
      row(`  ${i.name}`, `${i.url ?? "(no HTTP: chain jobs)"}  (${i.role}, pid ${i.pid}, log ${show(i.logFile)})`),
    ),
    row("summary", `${show(path.join(info.dataDir, NETWORK_INFO_FILE))} (this, as JSON)`),
  ];
}

/** The last line of the summary: tests and tools wait for it. */
export const READY_LINE = "StablePay local network is running. Ctrl-C stops it.";
