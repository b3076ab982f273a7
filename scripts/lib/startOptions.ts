/**
 * What `npm start` runs where: command-line flags and environment variables, with the local
 * defaults. Relative paths are taken from the project root, whatever the current directory.
 */
import path from "node:path";
import { CURRENCY_CODE_PATTERN, DEFAULT_DEPLOYMENTS_DIR } from "../../src/chain/deployments";
import { PROJECT_ROOT } from "../../src/localnet/paths";
import { DEFAULTS as RELAYER_DEFAULTS, LOCAL_ADMIN_TOKEN } from "../../src/relayer/config";

export { LOCAL_ADMIN_TOKEN, PROJECT_ROOT };

/** Hardhat's `hardhat node` defaults. */
export const DEFAULT_RPC_HOST = "127.0.0.1";
export const DEFAULT_RPC_PORT = 8545;
/**
 * The local relayer settles every 2 s instead of every 30 s: settling is free on the local chain and
 * a newcomer watching the demo should not wait half a minute for the payout.
 */
export const LOCAL_SETTLE_INTERVAL_MS = 2_000;

/** The local network pays in two currencies, so that the demo shows payments side by side in each. */
export const LOCAL_CURRENCIES = ["USD", "EUR"];

export interface StartOptions {
  demo: boolean;
  rpcHost: string;
  rpcPort: number;
  rpcUrl: string;
  relayerHost: string;
  relayerPort: number;
  /** data/: the relayer's SQLite store, the logs, chain.json, network.json, demo.json. */
  dataDir: string;
  databasePath: string;
  deploymentsDir: string;
  deploymentsFile: string;
  adminToken: string;
  /** Whether the admin token is the local default (then the summary may print it). */
  defaultAdminToken: boolean;
  settleIntervalMs: number;
  /** The currencies deployed (CURRENCIES, comma-separated; default USD and EUR), the first the default. */
  currencies: string[];
  /**
   * --postgres: the relayer as two `api` instances (ports relayerPort and relayerPort + 1) and one
   * `worker` on PostgreSQL instead of one all-in-one process on SQLite.
   */
  postgres: boolean;
  /** DATABASE_URL when given (used as is); otherwise the local server and database `stablepay_local`. */
  databaseUrl: string | null;
}

export const USAGE = `Usage: npm start [-- [--demo] [--postgres] [--data-dir <dir>]]

Starts a local StablePay network: a Hardhat chain, the contracts, the relayer.
  --demo             also run the demo (scripts/demo.ts) once the network is up
  --postgres         the relayer on PostgreSQL as two api instances and one worker (the production
                     layout; DATABASE_URL, or the server on 127.0.0.1:5432, or an embedded one)
  --data-dir <dir>   relayer store, logs and state files (default: data/, or RELAYER_DATA_DIR)

Environment: LOCAL_RPC_HOST, LOCAL_RPC_PORT (chain, default 127.0.0.1:8545), RELAYER_HOST,
RELAYER_PORT (relayer, default 127.0.0.1:8787), RELAYER_DATA_DIR, RELAYER_DB, DEPLOYMENTS_DIR,
RELAYER_ADMIN_TOKEN, RELAYER_PRIVATE_KEY(S), SETTLE_INTERVAL_MS, CURRENCIES (deployed, default
USD,EUR), RELAYER_CURRENCIES (served, default every deployed one). See docs/LOCAL.md.`;

export class UsageError extends Error {}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new UsageError(`${name}="${raw}" is not a TCP port (1-65535)`);
  }
  return value;
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`${name}="${raw}" must be a positive integer`);
  return value;
}

function currencyList(name: string, raw: string | undefined, fallback: readonly string[]): string[] {
  if (raw === undefined || raw.trim() === "") return [...fallback];
  const codes = raw.split(",").map((code) => code.trim());
  const pattern = new RegExp(CURRENCY_CODE_PATTERN);
  for (const code of codes) {
    if (!pattern.test(code)) throw new UsageError(`${name}: "${code}" is not a currency code (e.g. USD)`);
  }
  if (new Set(codes).size !== codes.length) throw new UsageError(`${name} names a currency twice`);
  return codes;
}

interface Flags {
  demo: boolean;
  postgres: boolean;
  help: boolean;
  dataDir?: string;
}

function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = { demo: false, postgres: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--demo") flags.demo = true;
    else if (arg === "--postgres") flags.postgres = true;
    else if (arg === "--help" || arg === "-h") flags.help = true;
    else if (arg === "--data-dir") {
      const value = argv[++i];
      if (!value) throw new UsageError("--data-dir needs a directory");
      flags.dataDir = value;
    } else if (arg.startsWith("--data-dir=")) flags.dataDir = arg.slice("--data-dir=".length);
    else throw new UsageError(`unknown argument "${arg}"`);
  }
  return flags;
}

/** Options from the arguments after `--` and the environment; throws UsageError on bad input. */
export function parseStartOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): StartOptions | "help" {
  const flags = parseFlags(argv);
  if (flags.help) return "help";
  const rpcHost = env.LOCAL_RPC_HOST || DEFAULT_RPC_HOST;
  const rpcPort = port("LOCAL_RPC_PORT", env.LOCAL_RPC_PORT, DEFAULT_RPC_PORT);
  const dataDir = path.resolve(PROJECT_ROOT, flags.dataDir ?? (env.RELAYER_DATA_DIR || RELAYER_DEFAULTS.dataDir));
  const deploymentsDir = path.resolve(PROJECT_ROOT, env.DEPLOYMENTS_DIR || DEFAULT_DEPLOYMENTS_DIR);
  const adminToken = env.RELAYER_ADMIN_TOKEN || LOCAL_ADMIN_TOKEN;
  const relayerPort = port("RELAYER_PORT", env.RELAYER_PORT, RELAYER_DEFAULTS.port);
  if (flags.postgres && relayerPort === 65_535) {
    throw new UsageError("RELAYER_PORT=65535 leaves no port for the second api instance of --postgres");
  }
  return {
    demo: flags.demo,
    rpcHost,
    rpcPort,
    rpcUrl: `http://${rpcHost}:${rpcPort}`,
    relayerHost: env.RELAYER_HOST || RELAYER_DEFAULTS.host,
    relayerPort,
    dataDir,
    databasePath: path.resolve(PROJECT_ROOT, env.RELAYER_DB || path.join(dataDir, "relayer.sqlite")),
    deploymentsDir,
    deploymentsFile: path.join(deploymentsDir, "localhost.json"),
    adminToken,
    defaultAdminToken: adminToken === LOCAL_ADMIN_TOKEN,
    settleIntervalMs: positiveInt("SETTLE_INTERVAL_MS", env.SETTLE_INTERVAL_MS, LOCAL_SETTLE_INTERVAL_MS),
    currencies: currencyList("CURRENCIES", env.CURRENCIES, LOCAL_CURRENCIES),
    postgres: flags.postgres,
    databaseUrl: env.DATABASE_URL || null,
  };
}
