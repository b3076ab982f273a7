import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { loadWebhookSettings, type WebhookSettings } from "./webhooks/settings";
import { CURRENCY_CODE_PATTERN } from "../protocol/schemas/common";
import { parseRateEntry, type Rate } from "../protocol/fx";

/** Retry and timing constants: named, so behaviour is tunable and greppable. */
export const DEFAULTS = {
  port: 8787,
  host: "127.0.0.1",
  dataDir: "data",
  /** Close a batch when it holds this many payments... */
  batchMaxSize: 400,
  /** ...or when its oldest payment has waited this long. */
  batchMaxAgeMs: 2_000,
  /** Per-transaction gas cap (EIP-7825) minus headroom for estimate error. */
  batchGasBudget: 15_000_000n,
  confirmations: 1,
  pollIntervalMs: 500,
  /** Fee bump: replace a pending tx after this long, raising fees by this percentage (>= 10% per EIP-1559 nodes). */
  feeBumpAfterMs: 15_000,
  feeBumpPercent: 20n,
  maxFeePerGasCap: 500_000_000_000n,
  rpcRetry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 },
  settleIntervalMs: 30_000,
  webhook: { attempts: 12, baseDelayMs: 1_000, maxDelayMs: 3_600_000, timeoutMs: 5_000 },
  rateLimit: { perKeyPerSecond: 200, burst: 400 },
  bodyLimitBytes: 1_048_576,
  /** Intake group commit: gather concurrent payments for at most this long before one durable commit. */
  groupCommitMaxWaitMs: 2,
  groupCommitMaxSize: 1_000,
  /** Group commits in flight at once on PostgreSQL (each on its own pooled connection). */
  groupCommitInFlightPostgres: 4,
  /** Failed authentications (bad API key or admin token) per client IP: refill per minute, burst. */
  authFailures: { perMinute: 10, burst: 20 },
  /** API keys per merchant: at most this many live at once, and this many created per hour. */
  apiKeys: { maxLive: 10, perHour: 10 },
  /**
   * Node calls one request may cause for unverified input (code look-ups and ERC-1271 checks of
   * contract payers, merchant terms): items past the budget are refused, not checked.
   */
  maxNodeCallsPerRequest: 32,
  /**
   * Relayed withdrawals and gasless deposits (the relayer pays their gas): the smallest amount it
   * relays (token units; 1.00 of a 6-decimal token) and how many it relays per payer per day.
   */
  relayMinAmount: 1_000_000n,
  relayQuotaPerDay: 10,
  /**
   * Role api queues relayed operations for the workers' signer lanes: how long a request waits for
   * a lane to send it before 503 relay_pending (it stays queued), and how often it looks meanwhile.
   */
  relayWaitMs: 10_000,
  relayPollMs: 100,
  /** How long an an Idempotency-Key answers replays; older records are pruned. */
  idempotencyRetentionMs: 24 * 3_600_000,
  /** How long an expired payment request is kept (a late payment still finds it and is told so). */
  requestRetentionMs: 7 * 24 * 3_600_000,
  /** Period of the retention pruner (idempotency records, expired payment requests). */
  pruneIntervalMs: 600_000,
  /**
   * Leases of the jobs and the signer lanes (see src/relayer/roles): a worker that stops renewing
   * is replaced this long after its last renewal; renewed every third of it.
   */
  leaseTtlMs: 10_000,
  /** Worker threads for payment signature recovery: every core but the one serving HTTP (0 = inline). */
  signatureWorkers: Math.max(0, Math.min(4, os.availableParallelism() - 1)),
  /** The dashboard forgets the merchant's API key after this long without input. */
  dashboardIdleSeconds: 15 * 60,
} as const;

/** FINALITY: head minus confirmations, or the node's `finalized` block tag (chain/finality.ts). */
export type FinalityMode = "depth" | "finalized";
export const FINALITY_MODES: readonly FinalityMode[] = ["depth", "finalized"];
/** CONFIRMATIONS, REORG_DEPTH and FINALITY as set; null: the chain's finality profile decides. */
export interface FinalitySettings {
  confirmations: number | null;
  reorgDepth: bigint | null;
  mode: FinalityMode | null;
}

/**
 * A secret in the configuration (a private key, a password, a database URL with credentials): its
 * value is read with `reveal()` only where it is used; JSON, util.inspect, template strings and
 * object dumps show "[redacted]".
 */
export class Secret<T = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  reveal(): T {
    return this.#value;
  }

  toJSON(): string {
    return "[redacted]";
  }

  toString(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}

/** What a relayer process runs: HTTP intake and reads, the chain jobs, or both (the default). */
export type RelayerRole = "api" | "worker" | "all";
export const RELAYER_ROLES: readonly RelayerRole[] = ["api", "worker", "all"];

/** Where the signer lanes' keys come from (src/relayer/chain/signers). One lane per key. */
export type SignerSettings =
  | { kind: "env"; keys: Secret<`0x${string}`>[] }
  | { kind: "keystore"; files: string[]; password: Secret<string> }
  | { kind: "remote"; url: Secret<string>; addresses: `0x${string}`[] };

export interface RelayerConfig {
  /** The FX desk (RELAYER_FX_*; docs/relayer.md, "FX desk"); null: none. */
  fx: FxConfig | null;
  host: string;
  port: number;
  /** RELAYER_ROLE: api, worker or all. */
  role: RelayerRole;
  /** SQLite file (WAL), when no DATABASE_URL is set. */
  databasePath: string;
  /** DATABASE_URL (postgres://…): PostgreSQL instead of SQLite. May hold a password. */
  databaseUrl: Secret<string> | null;
  rpcUrl: string;
  /** deployments/<network>.json with the escrow, registry and token addresses. */
  deploymentsFile: string;
  /** The signer lanes' keys (submit batches, settlements and relayed writes). */
  signers: SignerSettings;
  /**
   * RELAYER_CURRENCIES: the codes of the deployment's currencies whose chain jobs this relayer runs,
   * in order; null (unset): the record's first (default) currency alone. Checked against the record
   * by {@link servedCurrencies}; the signer keys are dealt to them by {@link dealSigners}.
   */
  currencies: string[] | null;
  /** TTL of the jobs and lane leases (ms). */
  leaseTtlMs: number;
  /** Key that may create merchant API keys (operator bootstrap); never logged. */
  adminToken: string;
  batchMaxSize: number;
  batchMaxAgeMs: number;
  /** CONFIRMATIONS, else 1 until the chain's profile is applied (chain/finality.ts withFinalityProfile). */
  confirmations: number;
  finality: FinalitySettings;
  pollIntervalMs: number;
  feeBumpAfterMs: number;
  maxFeePerGasCap: bigint;
  settleIntervalMs: number;
  bodyLimitBytes: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  signatureWorkers: number;
  webhooks: WebhookSettings;
  idempotencyRetentionMs: number;
  requestRetentionMs: number;
  pruneIntervalMs: number;
  authFailuresPerMinute: number;
  authFailureBurst: number;
  maxLiveApiKeys: number;
  apiKeysPerHour: number;
  maxNodeCallsPerRequest: number;
  /** Smallest amount of a relayed withdrawal or deposit (token units). */
  relayMinAmount: bigint;
  /** Relayed withdrawals and deposits per payer per rolling 24 h. */
  relayQuotaPerDay: number;
  /** Role api: how long a relayed operation waits for a worker's lane before 503 relay_pending (ms). */
  relayWaitMs: number;
  /** DASHBOARD_IDLE_SECONDS: the dashboard page drops the API key after this long without input. */
  dashboardIdleSeconds: number;
}

/** The admin token when none is configured: only ever acceptable on a local development chain. */
export const LOCAL_ADMIN_TOKEN = "local-admin-token";
/** Chain ids of local development chains (Hardhat, Ganache / geth --dev). */
export const LOCAL_CHAIN_IDS: ReadonlySet<bigint> = new Set([31337n, 1337n]);

/** A configuration that must not run against the chain it is connected to. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Checks that need the chain id: on any chain but a local one the admin token must be set (the
 * default is public, in this repository) and long enough not to be guessed.
 */
export function validateConfig(config: RelayerConfig, chainId: bigint): void {
  if (LOCAL_CHAIN_IDS.has(chainId)) return;
  if (config.adminToken === LOCAL_ADMIN_TOKEN) {
    throw new ConfigError(
      `RELAYER_ADMIN_TOKEN is the local default on chain ${chainId}: set a secret token (e.g. openssl rand -hex 32)`,
    );
  }
  if (config.adminToken.length < 32) {
    throw new ConfigError(`RELAYER_ADMIN_TOKEN is too short for chain ${chainId}: use at least 32 characters`);
  }
}

/** Hardhat's first well-known dev account: only ever a default for the local chain. */
export const LOCAL_DEV_SIGNER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/**
 * The local chain's default signer keys when no key is configured: Hardhat's well-known dev accounts
 * #0 to #3 (public test keys, funded by every Hardhat and anvil node). A relayer serving several
 * currencies takes one per currency (a key serves one currency: {@link dealSigners}), #0 first.
 */
export const LOCAL_DEV_SIGNER_KEYS = [
  LOCAL_DEV_SIGNER_KEY,
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9bdf6dd2fb7ab",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
] as const;

/**
 * Every environment variable the relayer reads: this parser, the webhook settings and main.ts's
 * LOG_LEVEL. The local-network harness passes a child relayer exactly these (and nothing of its
 * parent's); test/relayer/config.test.ts checks the list against what the parser reads.
 */
export const RELAYER_ENV_VARS = [
  "RELAYER_HOST",
  "RELAYER_PORT",
  "RELAYER_DATA_DIR",
  "RELAYER_DB",
  "RPC_URL",
  "DEPLOYMENTS_FILE",
  "RELAYER_CURRENCIES",
  "RELAYER_ROLE",
  "DATABASE_URL",
  "RELAYER_PRIVATE_KEY",
  "RELAYER_PRIVATE_KEYS",
  "RELAYER_KEYSTORE",
  "RELAYER_KEYSTORE_PASSWORD",
  "RELAYER_KEYSTORE_PASSWORD_FILE",
  "RELAYER_REMOTE_SIGNER_URL",
  "RELAYER_REMOTE_SIGNER_ADDRESSES",
  "LEASE_TTL_MS",
  "RELAYER_ADMIN_TOKEN",
  "BATCH_MAX_SIZE",
  "BATCH_MAX_AGE_MS",
  "CONFIRMATIONS",
  "REORG_DEPTH",
  "FINALITY",
  "POLL_INTERVAL_MS",
  "FEE_BUMP_AFTER_MS",
  "MAX_FEE_PER_GAS_CAP",
  "SETTLE_INTERVAL_MS",
  "BODY_LIMIT_BYTES",
  "RATE_LIMIT_PER_SECOND",
  "RATE_LIMIT_BURST",
  "SIGNATURE_WORKERS",
  "IDEMPOTENCY_RETENTION_MS",
  "REQUEST_RETENTION_MS",
  "PRUNE_INTERVAL_MS",
  "AUTH_FAILURES_PER_MINUTE",
  "AUTH_FAILURE_BURST",
  "MAX_LIVE_API_KEYS",
  "API_KEYS_PER_HOUR",
  "MAX_NODE_CALLS_PER_REQUEST",
  "RELAY_MIN_AMOUNT",
  "RELAY_QUOTA_PER_DAY",
  "RELAY_WAIT_MS",
  "RELAYER_SECRET_KEY",
  "WEBHOOK_MAX_ENDPOINTS",
  "WEBHOOK_ALLOW_LOOPBACK",
  "WEBHOOK_ALLOW_PRIVATE",
  "WEBHOOK_CONCURRENCY",
  "WEBHOOK_ENDPOINT_CONCURRENCY",
  "WEBHOOK_DISABLE_AFTER_FAILURES",
  "WEBHOOK_DISABLE_AFTER_MS",
  "WEBHOOK_RETENTION_MS",
  "DASHBOARD_IDLE_SECONDS",
  "RELAYER_FX_QUOTER_KEY",
  "RELAYER_FX_DESK_KEY",
  "RELAYER_FX_DESK_MERCHANT_ID",
  "RELAYER_FX_RATES",
  "RELAYER_FX_MAX_DEVIATION_BPS",
  "RELAYER_FX_QUOTE_TTL_SECONDS",
  "RELAYER_FX_MIRROR_INTERVAL_MS",
  "LOG_LEVEL",
] as const;

export type RelayerEnvVar = (typeof RELAYER_ENV_VARS)[number];
/** A relayer's environment: the variables it reads, each optional. */
export type RelayerEnv = Partial<Record<RelayerEnvVar, string>>;

/** The relayer's variables out of `env` (e.g. the shell's, for `npm start`), nothing else. */
export function pickRelayerEnv(env: NodeJS.ProcessEnv): RelayerEnv {
  const picked: RelayerEnv = {};
  for (const name of RELAYER_ENV_VARS) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/** Reads configuration from the environment, with defaults for the local network (`npm start`). */
export function loadConfig(processEnv: NodeJS.ProcessEnv = process.env): RelayerConfig {
  // Typed by the list: a variable read here but missing from RELAYER_ENV_VARS does not compile.
  const env = processEnv as RelayerEnv;
  const dataDir = env.RELAYER_DATA_DIR ?? DEFAULTS.dataDir;
  const int = (name: RelayerEnvVar, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
    return value;
  };
  const set = (name: RelayerEnvVar) => env[name] !== undefined && env[name] !== "";
  if (set("FINALITY") && !(FINALITY_MODES as readonly string[]).includes(env.FINALITY!)) {
    throw new Error(`FINALITY must be one of ${FINALITY_MODES.join(", ")}, got "${env.FINALITY}"`);
  }
  if (set("REORG_DEPTH") && int("REORG_DEPTH", 0) < 1) throw new Error("REORG_DEPTH must be at least 1");
  const role = (env.RELAYER_ROLE || "all") as RelayerRole;
  if (!RELAYER_ROLES.includes(role)) {
    throw new ConfigError(`RELAYER_ROLE must be one of ${RELAYER_ROLES.join(", ")}, got "${env.RELAYER_ROLE}"`);
  }
  const databaseUrl = env.DATABASE_URL ?? "";
  if (databaseUrl !== "" && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  const leaseTtlMs = int("LEASE_TTL_MS", DEFAULTS.leaseTtlMs);
  if (leaseTtlMs < 300) throw new ConfigError("LEASE_TTL_MS must be at least 300");
  const dashboardIdleSeconds = int("DASHBOARD_IDLE_SECONDS", DEFAULTS.dashboardIdleSeconds);
  if (dashboardIdleSeconds < 1) throw new ConfigError("DASHBOARD_IDLE_SECONDS must be at least 1");
  const currencies = loadCurrencies(env);
  return {
    fx: loadFxConfig(env),
    host: env.RELAYER_HOST ?? DEFAULTS.host,
    port: int("RELAYER_PORT", DEFAULTS.port),
    role,
    databasePath: env.RELAYER_DB ?? path.join(dataDir, "relayer.sqlite"),
    databaseUrl: databaseUrl === "" ? null : new Secret(databaseUrl),
    rpcUrl: env.RPC_URL ?? "http://127.0.0.1:8545",
    deploymentsFile: env.DEPLOYMENTS_FILE ?? path.join("deployments", "localhost.json"),
    signers: loadSignerSettings(env, currencies?.length ?? 1),
    currencies,
    leaseTtlMs,
    adminToken: env.RELAYER_ADMIN_TOKEN ?? LOCAL_ADMIN_TOKEN,
    batchMaxSize: int("BATCH_MAX_SIZE", DEFAULTS.batchMaxSize),
    batchMaxAgeMs: int("BATCH_MAX_AGE_MS", DEFAULTS.batchMaxAgeMs),
    confirmations: int("CONFIRMATIONS", DEFAULTS.confirmations),
    finality: {
      confirmations: set("CONFIRMATIONS") ? int("CONFIRMATIONS", DEFAULTS.confirmations) : null,
      reorgDepth: set("REORG_DEPTH") ? BigInt(int("REORG_DEPTH", 1)) : null,
      mode: set("FINALITY") ? (env.FINALITY as FinalityMode) : null,
    },
    pollIntervalMs: int("POLL_INTERVAL_MS", DEFAULTS.pollIntervalMs),
    feeBumpAfterMs: int("FEE_BUMP_AFTER_MS", DEFAULTS.feeBumpAfterMs),
    maxFeePerGasCap: env.MAX_FEE_PER_GAS_CAP ? BigInt(env.MAX_FEE_PER_GAS_CAP) : DEFAULTS.maxFeePerGasCap,
    settleIntervalMs: int("SETTLE_INTERVAL_MS", DEFAULTS.settleIntervalMs),
    bodyLimitBytes: int("BODY_LIMIT_BYTES", DEFAULTS.bodyLimitBytes),
    rateLimitPerSecond: int("RATE_LIMIT_PER_SECOND", DEFAULTS.rateLimit.perKeyPerSecond),
    rateLimitBurst: int("RATE_LIMIT_BURST", DEFAULTS.rateLimit.burst),
    signatureWorkers: int("SIGNATURE_WORKERS", DEFAULTS.signatureWorkers),
    webhooks: loadWebhookSettings(processEnv, (name, fallback) => int(name as RelayerEnvVar, fallback)),
    idempotencyRetentionMs: int("IDEMPOTENCY_RETENTION_MS", DEFAULTS.idempotencyRetentionMs),
    requestRetentionMs: int("REQUEST_RETENTION_MS", DEFAULTS.requestRetentionMs),
    pruneIntervalMs: int("PRUNE_INTERVAL_MS", DEFAULTS.pruneIntervalMs),
    authFailuresPerMinute: int("AUTH_FAILURES_PER_MINUTE", DEFAULTS.authFailures.perMinute),
    authFailureBurst: int("AUTH_FAILURE_BURST", DEFAULTS.authFailures.burst),
    maxLiveApiKeys: int("MAX_LIVE_API_KEYS", DEFAULTS.apiKeys.maxLive),
    apiKeysPerHour: int("API_KEYS_PER_HOUR", DEFAULTS.apiKeys.perHour),
    maxNodeCallsPerRequest: int("MAX_NODE_CALLS_PER_REQUEST", DEFAULTS.maxNodeCallsPerRequest),
    relayMinAmount: env.RELAY_MIN_AMOUNT ? BigInt(env.RELAY_MIN_AMOUNT) : DEFAULTS.relayMinAmount,
    relayQuotaPerDay: int("RELAY_QUOTA_PER_DAY", DEFAULTS.relayQuotaPerDay),
    relayWaitMs: int("RELAY_WAIT_MS", DEFAULTS.relayWaitMs),
    dashboardIdleSeconds,
  };
}

const list = (raw: string | undefined): string[] =>
  (raw ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/**
 * One source of signer keys: a remote signer, keystores, or keys in the environment (the local
 * default: Hardhat's first account). Two sources at once are refused rather than guessed between.
 * Every variable is read whatever is set (RELAYER_ENV_VARS is checked against what is read).
 */
function loadSignerSettings(env: RelayerEnv, servedCount: number): SignerSettings {
  const single = env.RELAYER_PRIVATE_KEY ?? "";
  const keys = list(env.RELAYER_PRIVATE_KEYS);
  const keystores = list(env.RELAYER_KEYSTORE);
  const password = env.RELAYER_KEYSTORE_PASSWORD;
  const passwordFile = env.RELAYER_KEYSTORE_PASSWORD_FILE ?? "";
  const remoteUrl = env.RELAYER_REMOTE_SIGNER_URL ?? "";
  const remoteAddresses = list(env.RELAYER_REMOTE_SIGNER_ADDRESSES);
  const envKeys = single !== "" || keys.length > 0;
  const sources = [envKeys, keystores.length > 0, remoteUrl !== ""].filter(Boolean).length;
  if (sources > 1) {
    throw new ConfigError(
      "set one source of signer keys: RELAYER_PRIVATE_KEY(S), RELAYER_KEYSTORE or RELAYER_REMOTE_SIGNER_URL",
    );
  }
  if (remoteUrl !== "") {
    if (!/^https?:\/\//.test(remoteUrl)) throw new ConfigError("RELAYER_REMOTE_SIGNER_URL must be an http(s) URL");
    if (remoteAddresses.length === 0) {
      throw new ConfigError("RELAYER_REMOTE_SIGNER_ADDRESSES must name the signer's addresses (comma-separated)");
    }
    for (const address of remoteAddresses) {
      if (!ADDRESS.test(address))
        throw new ConfigError(`RELAYER_REMOTE_SIGNER_ADDRESSES: "${address}" is not an address`);
    }
    return { kind: "remote", url: new Secret(remoteUrl), addresses: remoteAddresses as `0x${string}`[] };
  }
  if (keystores.length > 0) {
    let secret: string;
    if (passwordFile !== "") {
      try {
        secret = fs.readFileSync(passwordFile, "utf8").replace(/\r?\n$/, "");
      } catch (error) {
        throw new ConfigError(
          `RELAYER_KEYSTORE_PASSWORD_FILE ${passwordFile}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
    } else if (password !== undefined) {
      secret = password;
    } else {
      throw new ConfigError("RELAYER_KEYSTORE needs RELAYER_KEYSTORE_PASSWORD or RELAYER_KEYSTORE_PASSWORD_FILE");
    }
    return { kind: "keystore", files: keystores, password: new Secret(secret) };
  }
  const all = [...(single !== "" ? [single] : []), ...keys];
  // The position, never the value: a malformed key may still be most of a real one.
  all.forEach((key, i) => {
    if (!KEY.test(key)) throw new ConfigError(`signer key #${i + 1} (RELAYER_PRIVATE_KEY(S)) is not 32 bytes of hex`);
  });
  if (all.length === 0 && servedCount > LOCAL_DEV_SIGNER_KEYS.length) {
    throw new ConfigError(
      `RELAYER_CURRENCIES names ${servedCount} currencies: set RELAYER_PRIVATE_KEYS (one key per currency at least); ` +
        `the local default has ${LOCAL_DEV_SIGNER_KEYS.length} dev keys`,
    );
  }
  const normalised = (all.length > 0 ? all : LOCAL_DEV_SIGNER_KEYS.slice(0, servedCount)).map(
    (key) => new Secret((key.startsWith("0x") ? key : `0x${key}`) as `0x${string}`),
  );
  return { kind: "env", keys: normalised };
}

/** A currency code as deployment records and the API name them. */
const CURRENCY = new RegExp(CURRENCY_CODE_PATTERN);

/** RELAYER_CURRENCIES: codes, in order, each once; null when unset. */
function loadCurrencies(env: RelayerEnv): string[] | null {
  const codes = list(env.RELAYER_CURRENCIES);
  if (codes.length === 0) return null;
  const seen = new Set<string>();
  for (const code of codes) {
    if (!CURRENCY.test(code)) {
      throw new ConfigError(`RELAYER_CURRENCIES: "${code}" is not a currency code (2-12 of A-Z and 0-9, e.g. USD)`);
    }
    if (seen.has(code)) throw new ConfigError(`RELAYER_CURRENCIES names ${code} twice`);
    seen.add(code);
  }
  return codes;
}

/**
 * The currencies whose chain jobs run here, in the configured order: RELAYER_CURRENCIES checked
 * against `known` (the deployment record's codes, default first), or the default alone when unset.
 */
export function servedCurrencies(config: Pick<RelayerConfig, "currencies">, known: readonly string[]): string[] {
  if (known.length === 0) throw new ConfigError("the deployment record has no currency");
  if (config.currencies === null) return [known[0]];
  for (const code of config.currencies) {
    if (!known.includes(code)) {
      throw new ConfigError(`RELAYER_CURRENCIES: the deployment has no currency ${code} (it has ${known.join(", ")})`);
    }
  }
  return [...config.currencies];
}

/**
 * The signer lanes dealt to the served currencies: a key's nonces are used by one submitter at a
 * time, so each key serves one currency. The keys, in their configured order, go to the currencies
 * in turn (key 1 to the first, key 2 to the second, ..., then the first again): workers with the
 * same key list deal alike, so a lane's lease always stands for the same currency.
 */
export function dealSigners<T>(signers: readonly T[], currencies: readonly string[]): Map<string, T[]> {
  if (signers.length < currencies.length) {
    throw new ConfigError(
      `${currencies.length} currencies served (${currencies.join(", ")}) need at least ${currencies.length} ` +
        `signer keys, one per currency; ${signers.length} configured`,
    );
  }
  const dealt = new Map<string, T[]>(currencies.map((code) => [code, []]));
  signers.forEach((signer, i) => dealt.get(currencies[i % currencies.length])!.push(signer));
  return dealt;
}

/**
 * The FX desk's settings (docs/relayer.md, "FX desk"). All optional: with none set the desk is off
 * and its routes answer 503 fx_unavailable. The two keys are Secrets: logs and dumps show "[redacted]".
 */
export interface FxConfig {
  /** Signs quotes; its address must hold the registry's FX_QUOTER_ROLE. */
  quoterKey: Secret<`0x${string}`>;
  /** The desk's liquidity account: signs the settle legs from its balance in each escrow. */
  deskKey: Secret<`0x${string}`>;
  /** The desk's merchant id: the payer's leg pays it. */
  deskMerchantId: bigint;
  /** Reference rates by "PAY/SETTLE" currency pair, in token units (each token's decimals included). */
  rates: Map<string, Rate>;
  /** How far (basis points) a quote's rate may lie from the reference. */
  maxDeviationBps: bigint;
  /** Seconds a quote stays valid. */
  quoteTtlSeconds: bigint;
  /** Period (ms) of the mirror that keeps the two legs in step (src/relayer/fx/mirror.ts); 0: no timer. */
  mirrorIntervalMs: number;
}

const FX_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

const fxKey = (name: string, value: string): Secret<`0x${string}`> => {
  // Never echo the value: a malformed key may still be most of a real one.
  if (!FX_KEY.test(value)) throw new ConfigError(`${name} is not 32 bytes of hex`);
  return new Secret((value.startsWith("0x") ? value : `0x${value}`) as `0x${string}`);
};

const fxUint = (name: string, value: string | undefined, fallback: bigint): bigint => {
  if (value === undefined || value === "") return fallback;
  if (!/^[0-9]+$/.test(value)) throw new ConfigError(`${name} must be a non-negative integer, got "${value}"`);
  return BigInt(value);
};

/**
 * RELAYER_FX_QUOTER_KEY, RELAYER_FX_DESK_KEY, RELAYER_FX_DESK_MERCHANT_ID and RELAYER_FX_RATES
 * ("USD/EUR=1087:1000,EUR/USD=1000:1087": pay units : settle units) turn the desk on together;
 * RELAYER_FX_MAX_DEVIATION_BPS (default 50), RELAYER_FX_QUOTE_TTL_SECONDS (default 120) and
 * RELAYER_FX_MIRROR_INTERVAL_MS (default 5000; 0 runs no mirror timer) tune it.
 * Null when none of the four is set; a partial set is a ConfigError.
 */
export function loadFxConfig(env: RelayerEnv): FxConfig | null {
  const required = [
    "RELAYER_FX_QUOTER_KEY",
    "RELAYER_FX_DESK_KEY",
    "RELAYER_FX_DESK_MERCHANT_ID",
    "RELAYER_FX_RATES",
  ] as const;
  const set = required.filter((name) => (env[name] ?? "") !== "");
  // Read whatever is set, as every setting is (RELAYER_ENV_VARS is checked against what is read).
  const tuning = [
    env.RELAYER_FX_MAX_DEVIATION_BPS,
    env.RELAYER_FX_QUOTE_TTL_SECONDS,
    env.RELAYER_FX_MIRROR_INTERVAL_MS,
  ];
  if (set.length === 0) {
    if (tuning.some((v) => (v ?? "") !== "")) {
      throw new ConfigError(`RELAYER_FX_* tuning is set but the FX desk is not: it needs ${required.join(", ")}`);
    }
    return null;
  }
  if (set.length < required.length) {
    throw new ConfigError(
      `the FX desk needs ${required.join(", ")}; missing ${required.filter((n) => !set.includes(n)).join(", ")}`,
    );
  }
  const rates = new Map<string, Rate>();
  for (const entry of env
    .RELAYER_FX_RATES!.split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const parsed = parseRateEntry(entry);
    if (!parsed) throw new ConfigError(`RELAYER_FX_RATES: "${entry}" is not PAY/SETTLE=payUnits:settleUnits`);
    rates.set(parsed.pair, parsed.rate);
  }
  const deskMerchantId = fxUint("RELAYER_FX_DESK_MERCHANT_ID", env.RELAYER_FX_DESK_MERCHANT_ID, 0n);
  if (deskMerchantId === 0n) throw new ConfigError("RELAYER_FX_DESK_MERCHANT_ID must be a merchant id (1 or more)");
  const maxDeviationBps = fxUint("RELAYER_FX_MAX_DEVIATION_BPS", env.RELAYER_FX_MAX_DEVIATION_BPS, 50n);
  if (maxDeviationBps > 10_000n) throw new ConfigError("RELAYER_FX_MAX_DEVIATION_BPS is at most 10000");
  const mirrorInterval = fxUint("RELAYER_FX_MIRROR_INTERVAL_MS", env.RELAYER_FX_MIRROR_INTERVAL_MS, 5_000n);
  // A timer's delay is a 32-bit integer; an hour is already far longer than a mirror should wait.
  if (mirrorInterval > 3_600_000n) throw new ConfigError("RELAYER_FX_MIRROR_INTERVAL_MS is at most 3600000");
  const mirrorIntervalMs = Number(mirrorInterval);
  return {
    quoterKey: fxKey("RELAYER_FX_QUOTER_KEY", env.RELAYER_FX_QUOTER_KEY!),
    deskKey: fxKey("RELAYER_FX_DESK_KEY", env.RELAYER_FX_DESK_KEY!),
    deskMerchantId,
    rates,
    maxDeviationBps,
    quoteTtlSeconds: fxUint("RELAYER_FX_QUOTE_TTL_SECONDS", env.RELAYER_FX_QUOTE_TTL_SECONDS, 120n),
    mirrorIntervalMs,
  };
}
