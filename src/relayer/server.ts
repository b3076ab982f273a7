/**
 * A relayer process in one of three roles (config.role, RELAYER_ROLE):
 *  - `api`: the HTTP API (intake and reads) only. Payer views come from a PayerLedger per served
 *    currency kept current by following that escrow's logs near the head (./jobs/ledgerFollower.ts),
 *    not a chain read per payment. It holds no signer: relayed writes (confirm, dispute, refund,
 *    deposit, withdraw) are simulated, queued in the store under their currency and sent by a signer
 *    lane of that currency's worker (QueuedChainWriter in ./jobs/relayWriter.ts, ./jobs/relayQueue.ts);
 *    the request waits for the outcome, bounded (RELAY_WAIT_MS, then 503 relay_pending). Any number of
 *    api instances share one store.
 *  - `worker`: the chain jobs (./roles/jobs.ts, ./roles/worker.ts): the singleton jobs under the
 *    `jobs` lease, one submitter per signer lane under its `lane:<address>` lease, and the webhook
 *    dispatcher; no API but GET /health (role and leases held). Any number of workers: the others
 *    wait on standby.
 *  - `all` (default, `npm start`): both in one process, the jobs on a thread of their own
 *    (./roles/jobsThread.ts) with their own store connection, chain client and signers, so that
 *    their synchronous work never stalls HTTP. The HTTP thread runs the API and the intake writer
 *    thread; its intake ledger of each served currency mirrors the jobs thread's, notice by notice
 *    (./ledger/ledgerMirror.ts); a currency's relayed writes go to the lanes of that currency's worker
 *    on the jobs thread; the thread's readiness conditions, metrics and log lines appear on the API
 *    and its stdout. If the jobs thread dies, /ready reports
 *    `jobs_unavailable` and `onJobsExit` is called (main.ts exits non-zero for its supervisor).
 *    On SQLite it also takes the single-instance lease (./store/sqlite/lease.ts) and refuses to
 *    start while another `all` process holds the file.
 * Roles api and all serve the currencies RELAYER_CURRENCIES names (as the jobs do): each has its
 * chain view (escrow, and the token's blocklist followed in memory), payer ledger, signature recovery
 * under its escrow's domain (one pool of threads for all) and writer, given to the app as `served`.
 * `main.ts` runs it from the environment; tests and the benchmark spawn main.ts.
 *
 * Shutdown order matters for exactly-once: the API closes first (no new payment is acknowledged, and
 * the group commit flushes every payment already verified), then the jobs finish their tick in
 * flight and release their leases, then the stores close. A kill -9 anywhere skips all of this and
 * is still safe: the store records every step before the chain sees it (see docs/relayer.md,
 * "Exactly once").
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import { computeAddress, getAddress } from "ethers";
import Fastify, { type FastifyInstance } from "fastify";
import { buildApp, configSecrets, type ServedCurrencyDeps } from "./app";
import { DEFAULTS, servedCurrencies, type RelayerConfig, type RelayerRole, type SignerSettings } from "./config";
import type { Hex } from "./domain";
import { connectChain, type ChainClient } from "./chain/client";
import { loggerOptions, redactUrls, redactingStream, type LoggerOptions } from "./http/logging";
import { EthersChainView } from "./chain/chainView";
import { BlocklistBook } from "./chain/blocklistBook";
import { Readiness } from "./runtime/readiness";
import { SignaturePool } from "./intake/signaturePool";
import { errorMessage, type Logger } from "./runtime/log";
import { runShutdown, type ShutdownStep } from "./runtime/shutdown";
import { metrics as processMetrics, type RelayerMetrics } from "./runtime/metrics";
import type { RelayerStore } from "./store/types";
import { SqliteStore } from "./store/sqlite";
import { LEASE_TTL_MS } from "./store/sqlite/lease";
import { WriterThread } from "./store/sqlite/writerThread";
import type { WorkerRole } from "./roles/worker";
import type { WebhookDispatcher } from "./webhooks/dispatcher";
import { chainSettings, currencyLogger, openConfiguredStore, startJobs, type RunningJobs } from "./roles/jobs";
import { JobsThread } from "./roles/jobsThread";
import { LedgerFollower } from "./jobs/ledgerFollower";
import { QueuedChainWriter } from "./jobs/relayWriter";
import { PayerLedger } from "./ledger/payerLedger";

import { CATCH_UP_WAIT_MS } from "./roles/jobs";
export { CATCH_UP_WAIT_MS };

export interface StartOptions {
  /** pino options (level, stream), or false for silence. Default: info, stdout. */
  logger?: LoggerOptions | false;
  metrics?: RelayerMetrics;
  /**
   * Role all: the jobs thread stopped unexpectedly (after start-up). Readiness reports
   * `jobs_unavailable` whether or not this is given; main.ts exits non-zero.
   */
  onJobsExit?: (error: Error) => void;
}

export interface RunningRelayer {
  role: RelayerRole;
  /** Base URL the API listens on (the real port when config.port is 0); a worker's serves /health only. */
  url: string;
  app: FastifyInstance;
  store: RelayerStore;
  chain: ChainClient;
  /** Role worker: the chain jobs and signer lanes (role all runs them on `jobsThread`). */
  worker: WorkerRole | null;
  /** Role all: the thread running the chain jobs, the dispatcher and the signer lanes. */
  jobsThread: JobsThread | null;
  /**
   * Roles api and all: what the API serves each currency with (RELAYER_CURRENCIES' order), as given
   * to buildApp; empty for role worker.
   */
  served: readonly ServedCurrencyDeps[];
  /** Every signer lane's address (none for role api). */
  signers: Hex[];
  /** The leases this process holds now (jobs, lane:<address>). */
  heldLeases(): string[];
  /** Role worker: the webhook dispatcher (role all runs it on `jobsThread`). */
  dispatcher: WebhookDispatcher | null;
  /** The process log (fastify's pino): one JSON object per line. */
  log: Logger;
  /** Graceful stop: API (flushing the group commit), jobs, dispatcher, chain connection, store. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A logger whose target is set later: the chain connection and the jobs are created before the app
 * that owns the process's pino instance. Until then lines go to stderr as JSON.
 */
class DeferredLogger implements Logger {
  target: Logger | null = null;
  debug = this.forward("debug");
  info = this.forward("info");
  warn = this.forward("warn");
  error = this.forward("error");

  private forward(level: keyof Logger) {
    return (obj: object, msg?: string) => {
      if (this.target) this.target[level](obj, msg);
      // Job lines carry bigints (block numbers): a throwing log line would fail the tick after its commit.
      else if (level !== "debug")
        process.stderr.write(
          redactUrls(
            JSON.stringify({ level, time: Date.now(), ...obj, msg }, (_k, v: unknown) =>
              typeof v === "bigint" ? v.toString() : v,
            ),
          ) + "\n",
        );
    };
  }
}

/** The first lane's address without opening the signers (the single-instance lease records it). */
function firstSignerAddress(settings: SignerSettings): string {
  switch (settings.kind) {
    case "env":
      try {
        return computeAddress(settings.keys[0].reveal());
      } catch {
        // A bad key is reported by the jobs thread's signers, with a message that never quotes it.
        return "unknown";
      }
    case "keystore":
      try {
        const parsed = JSON.parse(fs.readFileSync(settings.files[0], "utf8")) as { address?: unknown };
        return typeof parsed.address === "string" ? getAddress(parsed.address.replace(/^(0x)?/, "0x")) : "unknown";
      } catch {
        return "unknown";
      }
    case "remote":
      return settings.addresses[0] ?? "unknown";
  }
}

/**
 * A worker's only HTTP: GET /health with its role and the leases it holds (supervisors, tests). Its
 * logger is the worker's log, redacted like the API's (node errors carry the RPC URL).
 */
export function healthApp(
  role: RelayerRole,
  leases: () => string[],
  signers: () => Hex[],
  logger: LoggerOptions | false | undefined,
): FastifyInstance {
  const app = Fastify({ logger: loggerOptions(logger), disableRequestLogging: true });
  app.get("/health", async () => ({ status: "ok", role, leases: leases(), signers: signers() }));
  return app;
}

/** Starts the role's parts and resolves once they run; on a failure, whatever started is stopped. */
export async function startRelayer(config: RelayerConfig, options: StartOptions = {}): Promise<RunningRelayer> {
  const metrics = options.metrics ?? processMetrics;
  const log = new DeferredLogger();
  const role = config.role;
  let store: RelayerStore | null = null;
  let chain: ChainClient | null = null;
  let app: FastifyInstance | null = null;
  let jobs: RunningJobs | null = null;
  let jobsThread: JobsThread | null = null;
  let intakeWriter: WriterThread | null = null;
  // Per served currency (roles api and all): its token's blocklist book and, in role api, the
  // follower of its escrow; the signature pool's threads serve every currency's domain.
  const blocklistBooks: { code: string; book: BlocklistBook }[] = [];
  const followers: { code: string; follower: LedgerFollower }[] = [];
  let signaturePool: SignaturePool | null = null;
  const holder = randomUUID();
  let heartbeat: NodeJS.Timeout | null = null;
  const sqlite = () => (store instanceof SqliteStore ? store : null);

  // App first: no new acknowledgements, and its onClose hook drains the group commit into the
  // store. Then the jobs' ticks in flight (their leases released for a standby), the dispatcher's
  // deliveries, the signers and the provider, the stores.
  const shutdown = async () => {
    const steps: ShutdownStep[] = [
      // The app closes each currency's recovery; the pool's close is idempotent (and covers an app
      // that was never built).
      ["api", app && (() => app!.close())],
      ["signature pool", signaturePool && (() => signaturePool!.close())],
      // A step each: one that fails does not keep the others from stopping.
      ...blocklistBooks.map(({ code, book }): ShutdownStep => [`blocklist book ${code}`, () => book.stop()]),
      ...followers.map(({ code, follower }): ShutdownStep => [`ledger follower ${code}`, () => follower.stop()]),
      ["intake writer", intakeWriter && (() => intakeWriter!.close())],
      ["jobs thread", jobsThread && (() => jobsThread!.stop())],
      ["jobs", jobs && (() => jobs!.stop())],
      ["lease heartbeat", heartbeat && (() => clearInterval(heartbeat!))],
      [
        "chain",
        chain &&
          (async () => {
            await chain!.close();
            chain!.provider.destroy();
          }),
      ],
      ["lease", heartbeat && (() => sqlite()!.lease.release(holder))],
      ["store", store && (() => store!.close())],
    ];
    await runShutdown(steps, log);
  };

  try {
    if (role === "worker") {
      // The chain side alone, on this thread: its store, signers and chain client are its own.
      const readiness = new Readiness();
      const logger = options.logger;
      app = healthApp(
        role,
        () => jobs?.heldLeases() ?? [],
        () => jobs?.signers.map((s) => s.address as Hex) ?? [],
        logger === false ? false : { ...logger, secrets: [...(logger?.secrets ?? []), ...configSecrets(config)] },
      );
      log.target = app.log;
      jobs = await startJobs(config, { holder, role, log, metrics, readiness, logSettings: true });
      const running = jobs;
      return await listening(app, config, role, {
        store: running.store,
        chain: running.chain,
        worker: running.worker,
        jobsThread: null,
        served: [],
        signers: running.signers.map((s) => s.address),
        heldLeases: () => running.heldLeases(),
        dispatcher: running.dispatcher,
        log,
        stop: shutdown,
      });
    }

    const opened = await openConfiguredStore(config);
    store = opened.store;
    const single = sqlite();
    if (role === "all" && single) {
      // The embedded layout: one `all` process per SQLite file, before anything reads or sends.
      const signer = firstSignerAddress(config.signers);
      await single.lease.acquire({ holder, pid: process.pid, host: os.hostname(), signer });
      heartbeat = setInterval(() => {
        single.lease
          .renew(holder)
          .then((held) => {
            if (held) return;
            // Taken over after this process stalled past the lease: the other one works now.
            log.error({ holder }, "single-instance lease lost to another relayer: stopping the chain jobs");
            jobsThread?.stopJobs();
          })
          .catch((error: unknown) => log.warn({ err: errorMessage(error) }, "lease heartbeat failed"));
      }, LEASE_TTL_MS / 3);
      heartbeat.unref();
    }
    // The API sends nothing itself: it opens no signer (role all's are the jobs thread's).
    chain = await connectChain({
      rpcUrl: config.rpcUrl,
      deployment: config.deploymentsFile,
      signer: null,
      logger: log,
      onRpcRetry: (label) => metrics.failures.inc({ component: "rpc", reason: label }),
    });
    const loaded = config;
    config = chainSettings(config, chain, opened.keyFileExisted, log);
    const apiStore = store;
    const apiChain = chain;
    // The same currencies as the jobs serve (./roles/jobs.ts), in the same order.
    const codes = servedCurrencies(
      config,
      chain.addresses.currencies.map((c) => c.code),
    );
    const reorgWindow = config.finality.reorgDepth ?? BigInt(config.confirmations);
    const currencies = await Promise.all(
      codes.map(async (code) => {
        // That currency's escrow and token (and start blocks), on the connection's provider.
        const client = apiChain.forCurrency(code);
        // Lines of a currency but the default name it, as the jobs' do.
        const currencyLog = code === apiStore.defaultCurrency ? log : currencyLogger(log, code);
        // Intake checks payers against the token's blocklist followed in memory (chain/blocklistBook.ts).
        const book = new BlocklistBook({
          chain: client,
          reorgWindow,
          pollIntervalMs: config.pollIntervalMs,
          logger: currencyLog,
          metrics,
        });
        blocklistBooks.push({ code, book });
        // Intake reads through the same provider: ethers batches concurrent reads into one HTTP request.
        const view = await EthersChainView.connect({
          provider: client.provider,
          escrow: client.addresses.escrow,
          registry: client.addresses.registry,
          token: client.addresses.token,
          chainId: client.chainId,
          blocklist: book,
        });
        return { code, client, book, view, currencyLog };
      }),
    );

    const readiness = new Readiness();
    // Role api: a ledger per currency, the same as the jobs', fed by a follower of that escrow's
    // logs (from the head at start) and judging against that currency's payments.
    const apiLedgers = new Map<string, PayerLedger>();
    if (role === "api") {
      for (const { code, client, view, currencyLog } of currencies) {
        const startBlock = client.addresses.startBlock;
        const payments = apiStore.forCurrency(code).payments;
        const ledger = new PayerLedger({ reader: view, payments, block: startBlock - 1n, startBlock });
        const follower = new LedgerFollower({
          chain: client,
          ledger,
          payments,
          pollIntervalMs: config.pollIntervalMs,
          logger: currencyLog,
          metrics,
        });
        ledger.followedBy(follower);
        followers.push({ code, follower });
        apiLedgers.set(code, ledger);
      }
    }
    if (role === "all") {
      const logger = options.logger;
      const sink =
        logger === false
          ? null
          : redactingStream(logger?.stream ?? process.stdout, [...(logger?.secrets ?? []), ...configSecrets(config)]);
      jobsThread = await JobsThread.start({
        config: loaded,
        holder,
        logLevel: logger === false ? false : (logger?.level ?? "info"),
        logLine: (line) => sink?.write(line),
        log,
        metrics,
        readiness,
        onExit: (error) => options.onJobsExit?.(error),
      });
      if (jobsThread.currencies.join() !== codes.join()) {
        // Both resolve RELAYER_CURRENCIES against one record: a difference is a bug, not a setting.
        throw new Error(`the jobs thread serves ${jobsThread.currencies.join()}, the API ${codes.join()}`);
      }
    }

    if (single) {
      intakeWriter = new WriterThread(config.databasePath, single.storage, { defaultCurrency: single.defaultCurrency });
      single.disableAutoCheckpoint();
    }
    // One pool of SIGNATURE_WORKERS threads for every currency: each request names its domain.
    signaturePool = config.signatureWorkers > 0 ? new SignaturePool(config.signatureWorkers) : null;
    const pool = signaturePool;
    const thread = jobsThread;
    const served: ServedCurrencyDeps[] = currencies.map(({ code, client, view }) => ({
      code,
      chain: view,
      // Role all: the jobs thread's ledger of this currency, mirrored; role api: its follower's.
      accounts: thread?.accountsFor(code) ?? apiLedgers.get(code),
      recovery: pool?.forDomain({ chainId: view.chainId.toString(), escrow: view.escrow }),
      // Role all sends on its jobs thread's lanes of this currency; role api queues under the
      // currency (the store view stamps each request with it) for that currency's workers' lanes.
      writer:
        thread?.writerFor(code) ??
        (role === "api"
          ? new QueuedChainWriter({
              store: apiStore.forCurrency(code),
              estimateGas: (data) => client.estimateGas(client.addresses.escrow, data),
              waitMs: config.relayWaitMs,
              pollMs: DEFAULTS.relayPollMs,
            })
          : null),
    }));
    const writerThread = intakeWriter;
    const [first] = served;
    app = buildApp({
      config,
      store,
      chain: first.chain,
      currencies: chain.addresses.currencies,
      served,
      groupCommit: writerThread
        ? {
            insert: (payments) => writerThread.insertAccepted(payments),
            insertGuarded: (items) => writerThread.insertAcceptedGuarded(items),
          }
        : undefined,
      logger: options.logger,
      metrics,
      readiness,
    });
    log.target = app.log;

    // Worker threads load their code (ts-node under `npm start`) before the first request needs them.
    await Promise.all([pool?.ready(), intakeWriter?.insertAccepted([])]);
    // Their first poll sets the block each ledger reads payers at: before the API takes a payment.
    await Promise.all(followers.map(({ follower }) => follower.begin()));
    // Until its first scan completes (bounded wait), intake asks the token per payer instead.
    await Promise.all(
      currencies.map(async ({ code, book }) => {
        if (!(await book.start(CATCH_UP_WAIT_MS))) {
          log.warn({ currency: code }, "blocklist book not caught up at start-up: intake asks the token until it is");
        }
      }),
    );
    return await listening(app, config, role, {
      store,
      chain,
      worker: null,
      jobsThread: thread,
      served,
      signers: thread?.signers ?? [],
      heldLeases: () => thread?.heldLeases() ?? [],
      dispatcher: null,
      log,
      stop: shutdown,
    });
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/** Listens, and the running relayer with its URL; `stop` runs once however often it is called. */
async function listening(
  app: FastifyInstance,
  config: RelayerConfig,
  role: RelayerRole,
  parts: Omit<RunningRelayer, "role" | "url" | "app">,
): Promise<RunningRelayer> {
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("the API is not listening on TCP");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | null = null;
  return {
    ...parts,
    role,
    url: `http://${host}:${address.port}`,
    app,
    stop() {
      stopping ??= parts.stop();
      return stopping;
    },
  };
}
