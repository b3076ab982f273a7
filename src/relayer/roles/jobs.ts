/**
 * The chain side of a relayer process, as role `worker` runs it in its main thread and role `all`
 * on its jobs thread (./jobsThreadMain.ts): its own store connection, signers and chain client, one
 * WorkerRole (jobs and signer lanes) and payer ledger per served currency (RELAYER_CURRENCIES, each
 * on its escrow, its store view and the signer keys dealt to it), and the webhook dispatcher.
 */
import fs from "node:fs";
import path from "node:path";
import { defaultCurrency, readDeployment } from "../../chain/deployments";
import { ConfigError, dealSigners, LOCAL_DEV_SIGNER_KEYS, servedCurrencies, type RelayerConfig } from "../config";
import { connectChain, type ChainClient } from "../chain/client";
import { EthersChainView } from "../chain/chainView";
import { withFinalityProfile } from "../chain/finality";
import { openSigners, useSigningThreads, type TxSigner } from "../chain/signers";
import { CURSOR_NAME as WATCHER_CURSOR } from "../jobs/chainWatcher";
import type { LedgerListener } from "../ledger/listener";
import { PayerLedger } from "../ledger/payerLedger";
import { errorMessage, type Logger } from "../runtime/log";
import { runShutdown, type ShutdownStep } from "../runtime/shutdown";
import type { RelayerMetrics } from "../runtime/metrics";
import type { Readiness } from "../runtime/readiness";
import { defaultKeyFile, openSqliteStore } from "../store/sqlite";
import { openStore } from "../store/open";
import type { RelayerStore } from "../store/types";
import { currencyQualified } from "../store/currencyScope";
import { WebhookDispatcher } from "../webhooks/dispatcher";
import { LogThrottle } from "../webhooks/logThrottle";
import { WorkerRole } from "./worker";

/** How long start-up waits for the chain watcher to reach the head before serving anyway. */
export const CATCH_UP_WAIT_MS = 60_000;
const CATCH_UP_POLL_MS = 50;
/** Hardhat's chain id: the only chain a relayer may run on without RELAYER_SECRET_KEY. */
const LOCAL_CHAIN_ID = 31337n;
/** Repeated webhook failure lines: at most one per endpoint and outcome per this interval. */
const WEBHOOK_LOG_INTERVAL_MS = 60_000;

/**
 * Intake judges balances and nonces by what the watcher has applied, so a relayer that starts far
 * behind the chain (a fresh database, a long downtime) would refuse funded payers until it caught
 * up. Start-up runs the watcher to the head first (bounded: an unreachable node must not stop the
 * API from answering, and readiness reports the lag).
 */
async function catchUp(jobs: WorkerRole, ledger: PayerLedger, chain: ChainClient, config: RelayerConfig, log: Logger) {
  const deadline = Date.now() + CATCH_UP_WAIT_MS;
  let head: bigint;
  try {
    head = await chain.blockNumber();
  } catch (error) {
    log.warn({ err: errorMessage(error) }, "chain unreachable at start-up: serving without catching up");
    return;
  }
  const target = head - BigInt(Math.max(1, config.confirmations)) + 1n;
  // In FINALITY=finalized mode the watcher stops at the finalized block, below `target`.
  const reached = () => ledger.appliedBlock >= (jobs.watcher.lastTick.safe ?? target);
  while (!reached() && Date.now() < deadline) {
    await jobs.watcher.tick().catch(() => new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS)));
  }
  if (!reached()) {
    log.warn({ applied: ledger.appliedBlock.toString(), head: head.toString() }, "watcher still behind the chain");
  }
}

/**
 * The store the configuration names: PostgreSQL when DATABASE_URL is set, else the SQLite file. Its
 * default currency is the deployment's (what an upgraded store's rows become, migration 16).
 */
export async function openConfiguredStore(
  config: RelayerConfig,
): Promise<{ store: RelayerStore; keyFileExisted: boolean }> {
  const file = config.deploymentsFile;
  const currency = defaultCurrency(readDeployment(path.basename(file, ".json"), path.dirname(file))).code;
  if (config.databaseUrl !== null) {
    const opened = await openStore({
      location: config.databaseUrl.reveal(),
      secretKey: config.webhooks.secretKey ?? undefined,
      defaultCurrency: currency,
    });
    return { store: opened.store, keyFileExisted: true };
  }
  fs.mkdirSync(path.dirname(path.resolve(config.databasePath)), { recursive: true });
  const keyFile = defaultKeyFile(config.databasePath);
  const keyFileExisted = fs.existsSync(keyFile);
  const store = await openSqliteStore(config.databasePath, {
    secretKey: config.webhooks.secretKey ?? undefined,
    keyFile,
    defaultCurrency: currency,
  });
  return { store, keyFileExisted };
}

/**
 * The chain's finality profile applied to `config`, and the check that webhook secrets have a key
 * (logged once per process: the caller says whether this one logs it).
 */
export function chainSettings(
  config: RelayerConfig,
  chain: ChainClient,
  keyFileExisted: boolean,
  log: Logger | null,
): RelayerConfig {
  const finality = withFinalityProfile(config, chain.chainId);
  log?.info(
    { chainId: chain.chainId.toString(), ...finality.profile, reorgDepth: finality.profile.reorgDepth.toString() },
    "finality profile",
  );
  if (config.webhooks.secretKey === null) {
    // The key beside the database protects only copies of the database that leave without it.
    if (chain.chainId !== LOCAL_CHAIN_ID) {
      throw new Error("RELAYER_SECRET_KEY is required on any chain but the local one (webhook secrets at rest)");
    }
    // Warned once, when the key is generated; afterwards it is the local set-up working as meant.
    if (log) {
      const keyFile = config.databaseUrl === null ? defaultKeyFile(config.databasePath) : null;
      (keyFileExisted ? log.info : log.warn)(
        { keyFile },
        "RELAYER_SECRET_KEY not set: webhook secrets are encrypted under the key file beside the database",
      );
    }
  }
  return finality.config;
}

/**
 * Hardhat's dev keys are the default signers on the local chain only: anywhere else they are public
 * keys whose nonces anyone can take, so a worker with one refuses to start (the key is not named).
 */
export function refuseDevKeys(config: Pick<RelayerConfig, "signers">, chainId: bigint): void {
  if (chainId === LOCAL_CHAIN_ID || config.signers.kind !== "env") return;
  const dev = new Set<string>(LOCAL_DEV_SIGNER_KEYS.map((key) => key.toLowerCase()));
  const index = config.signers.keys.findIndex((key) => dev.has(key.reveal().toLowerCase()));
  if (index >= 0) {
    throw new ConfigError(
      `signer key #${index + 1} is one of Hardhat's public dev keys (the local default): set RELAYER_PRIVATE_KEY(S), ` +
        `RELAYER_KEYSTORE or RELAYER_REMOTE_SIGNER_URL on chain ${chainId}`,
    );
  }
}

export interface JobsOptions {
  /** Random per process start. */
  holder: string;
  /** "worker" or "all" (operators read it in the leases' info). */
  role: string;
  log: Logger;
  metrics: RelayerMetrics;
  readiness: Readiness;
  /** Whether this thread logs the finality profile and the key-file notice (once per process). */
  logSettings: boolean;
  /** The batcher's simulation reads payers from the ledger rather than the node. Default false. */
  batchAccounts?: boolean;
  /**
   * What each served currency's jobs tell of their commits: its ledger itself, or a listener that
   * also forwards it (role all's HTTP thread mirrors every served currency's ledger).
   */
  listener?: (ledger: PayerLedger, currency: string) => LedgerListener;
}

/** One served currency's chain jobs (./worker.ts), on its escrow, store view and signer lanes. */
export interface CurrencyJobs {
  code: string;
  /** `ChainClient.forCurrency(code)` with the currency's first signer; shares the connection's provider. */
  chain: ChainClient;
  /** The keys dealt to this currency (config.ts dealSigners). */
  signers: TxSigner[];
  worker: WorkerRole;
  ledger: PayerLedger;
}

export interface RunningJobs {
  /** The unscoped store (the dispatcher's); each currency's worker has its view. */
  store: RelayerStore;
  /** The default currency's (see `worker`). */
  chain: ChainClient;
  /** Every signer opened, whatever currency it serves. */
  signers: TxSigner[];
  /**
   * The default currency's worker and ledger: the deployment's default when it is served, else the
   * first served currency (the others are in `currencies`).
   */
  worker: WorkerRole;
  dispatcher: WebhookDispatcher;
  ledger: PayerLedger;
  /** Every served currency's jobs, by code, in the configured order. */
  currencies: Map<string, CurrencyJobs>;
  /** The leases every currency's worker holds now. */
  heldLeases(): string[];
  /** The jobs' leases released, deliveries finished, signers, chain and store closed. Idempotent. */
  stop(): Promise<void>;
}

/** `log` with every line also naming `currency`. */
export function currencyLogger(log: Logger, currency: string): Logger {
  const tagged =
    (fn: Logger["info"]): Logger["info"] =>
    (obj, msg) =>
      fn({ currency, ...obj }, msg);
  return { debug: tagged(log.debug), info: tagged(log.info), warn: tagged(log.warn), error: tagged(log.error) };
}

/**
 * Opens the store, signers and chain, starts one WorkerRole per served currency (RELAYER_CURRENCIES;
 * catching up with the chain) and the webhook dispatcher (one: the outbox is shared).
 */
export async function startJobs(config: RelayerConfig, options: JobsOptions): Promise<RunningJobs> {
  const { log, metrics, readiness } = options;
  let store: RelayerStore | null = null;
  let chain: ChainClient | null = null;
  let signers: TxSigner[] = [];
  const running = new Map<string, CurrencyJobs>();
  let dispatcher: WebhookDispatcher | null = null;

  const shutdown = async () => {
    const workers = [...running.values()].map((jobs) => jobs.worker);
    const steps: ShutdownStep[] = [
      ["jobs", workers.length > 0 ? () => Promise.all(workers.map((w) => w.stop())).then(() => undefined) : null],
      ["webhooks", dispatcher && (() => dispatcher!.stop())],
      [
        "chain",
        chain || signers.length > 0
          ? async () => {
              // The currencies' clients share this one's provider and these signers.
              for (const signer of signers) await signer.close();
              if (chain) {
                await chain.close();
                chain.provider.destroy();
              }
            }
          : null,
      ],
      ["store", store && (() => store!.close())],
    ];
    await runShutdown(steps, log);
  };

  try {
    const opened = await openConfiguredStore(config);
    store = opened.store;
    signers = await openSigners(config.signers);
    chain = await connectChain({
      rpcUrl: config.rpcUrl,
      deployment: config.deploymentsFile,
      signer: signers[0] ?? null,
      logger: log,
      onRpcRetry: (label) => metrics.failures.inc({ component: "rpc", reason: label }),
    });
    useSigningThreads(signers);
    config = chainSettings(config, chain, opened.keyFileExisted, options.logSettings ? log : null);
    refuseDevKeys(config, chain.chainId);
    const served = servedCurrencies(
      config,
      chain.addresses.currencies.map((c) => c.code),
    );
    // A key listed twice would land in two currencies' lanes: two submitters on one nonce sequence.
    const twice = signers.find(
      (s, i) => signers.findIndex((o) => o.address.toLowerCase() === s.address.toLowerCase()) !== i,
    );
    if (twice) throw new ConfigError(`signer ${twice.address} is configured twice`);
    const dealt = dealSigners(signers, served);
    // The store's default is the deployment's (openConfiguredStore): its jobs keep the unqualified names.
    const defaultCode = store.defaultCurrency;
    const primary = served.includes(defaultCode) ? defaultCode : served[0];
    for (const code of served) {
      const own = dealt.get(code)!;
      const currencyChain = chain.forCurrency(code).withSigner(own[0]);
      const currencyStore = store.forCurrency(code);
      const currencyLog = code === defaultCode ? log : currencyLogger(log, code);
      const chainView = await EthersChainView.connect({
        provider: currencyChain.provider,
        escrow: currencyChain.addresses.escrow,
        registry: currencyChain.addresses.registry,
        chainId: currencyChain.chainId,
      });
      const qualifier = code === defaultCode ? null : code;
      // The payer ledger, kept current by what the watcher commits; it starts at the watcher's cursor.
      const cursor = await store.chainCursor.get(currencyQualified(WATCHER_CURSOR, qualifier));
      const startBlock = currencyChain.addresses.startBlock;
      const ledger = new PayerLedger({
        reader: chainView,
        payments: currencyStore.payments,
        block: cursor?.blockNumber ?? startBlock - 1n,
        startBlock,
      });
      const listener = options.listener ? options.listener(ledger, code) : ledger;
      const worker = new WorkerRole({
        store: currencyStore,
        chain: currencyChain,
        signers: own,
        currency: qualifier,
        config,
        holder: options.holder,
        role: options.role,
        logger: currencyLog,
        metrics,
        ledger: listener,
        // The ledger knows every payment batched or sent (their commits pass through it) and, in role
        // all, the withdrawals relayed: what the batch simulation needs. A lone worker simulates
        // batches against the node's pending state instead.
        batchAccounts: options.batchAccounts ? ledger : undefined,
        // Withdrawals sent from the relay queue are reserved here, as role all's direct ones are.
        outflows: ledger,
        readiness,
      });
      running.set(code, { code, chain: currencyChain, signers: own, worker, ledger });
    }
    const hooks = config.webhooks;
    // One line per endpoint and outcome per interval: a dead endpoint must not flood the log.
    const deliveryLog = new LogThrottle(WEBHOOK_LOG_INTERVAL_MS);
    dispatcher = new WebhookDispatcher({
      store,
      concurrency: hooks.concurrency,
      endpointConcurrency: hooks.endpointConcurrency,
      disablePolicy: { failures: hooks.disableAfterFailures, spanMs: hooks.disableAfterMs },
      urlPolicy: { allowLoopback: hooks.allowLoopback, allowPrivate: hooks.allowPrivate },
      retentionMs: hooks.retentionMs,
      onResult: (outcome, record, error) => {
        if (outcome === "delivered") return;
        metrics.failures.inc({ component: "webhooks", reason: outcome });
        const suppressed = deliveryLog.take(`${record.endpointId}|${outcome}`);
        if (suppressed === null) return;
        log.warn(
          { outbox: record.id, endpoint: record.endpointId, outcome, err: error, suppressed },
          "webhook delivery failed",
        );
      },
      onDisabled: (endpoint, failures, error) =>
        log.warn(
          { endpoint: endpoint.id, merchant: endpoint.merchantId.toString(), failures, err: error },
          "webhook endpoint disabled after repeated failures",
        ),
      onError: (error) => log.error({ err: errorMessage(error) }, "webhook dispatcher tick failed"),
    });
    // Takes the leases it can; each lane reconciles its signer's nonce (and resolves transactions a
    // crash left pending) before anything is sent.
    for (const jobs of running.values()) {
      await jobs.worker.start();
      if (jobs.worker.jobsLease.isHeld) await catchUp(jobs.worker, jobs.ledger, jobs.chain, config, log);
    }
    dispatcher.start();

    const main = running.get(primary)!;
    let stopping: Promise<void> | null = null;
    return {
      store,
      chain: main.chain,
      signers,
      worker: main.worker,
      dispatcher,
      ledger: main.ledger,
      currencies: running,
      heldLeases: () => [...running.values()].flatMap((jobs) => jobs.worker.heldLeases()),
      stop() {
        stopping ??= shutdown();
        return stopping;
      },
    };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
