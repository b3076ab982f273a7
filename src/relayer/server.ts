/**
 * A relayer process in one of three roles (config.role, RELAYER_ROLE):
 *  - `api`: the HTTP API (intake and reads) only. Payer views come from a PayerLedger kept current
 *    by following the escrow's logs near the head (./jobs/ledgerFollower.ts), not a chain read per
 *    payment; relayed writes answer chain_unavailable (503): they are sent by workers' signer lanes,
 *    and an api instance holds none. Any number of api instances share one store.
 *  - `worker`: the chain jobs (./roles/worker.ts): the singleton jobs under the `jobs` lease, one
 *    submitter per signer lane under its `lane:<address>` lease, and the webhook dispatcher; no API
 *    but GET /health (role and leases held). Any number of workers: the others wait on standby.
 *  - `all` (default, `npm start`): both in one process, sharing the intake ledger in memory and
 *    sending relayed writes through the lanes. On SQLite it also takes the single-instance lease
 *    (./store/sqlite/lease.ts) and refuses to start while another `all` process holds the file.
 * `main.ts` runs it from the environment; tests and the benchmark spawn main.ts.
 *
 * Shutdown order matters for exactly-once: the API closes first (no new payment is acknowledged, and
 * the group commit flushes every payment already verified), then the jobs finish their tick in
 * flight, then the store closes. A kill -9 anywhere skips all of this and is still safe: the store
 * records every step before the chain sees it (see docs/relayer.md, "Exactly once").
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { buildApp } from "./app";
import { type RelayerConfig, type RelayerRole } from "./config";
import type { Hex } from "./domain";
import { connectChain, type ChainClient } from "./chain/client";
import { withFinalityProfile } from "./chain/finality";
import { openSigners, useSigningThreads, type TxSigner } from "./chain/signers";
import type { LoggerOptions } from "./http/logging";
import { EthersChainView } from "./chain/chainView";
import { CURSOR_NAME as WATCHER_CURSOR } from "./jobs/chainWatcher";
import { PayerLedger } from "./ledger/payerLedger";
import { Readiness } from "./runtime/readiness";
import { WorkerRecovery } from "./intake/signaturePool";
import { SubmitterChainWriter } from "./jobs/relayWriter";
import { errorMessage, type Logger } from "./runtime/log";
import { metrics as processMetrics, type RelayerMetrics } from "./runtime/metrics";
import type { RelayerStore } from "./store/types";
import { defaultKeyFile, openSqliteStore, SqliteStore } from "./store/sqlite";
import { openStore } from "./store/open";
import { LEASE_TTL_MS } from "./store/sqlite/lease";
import { WriterThread } from "./store/sqlite/writerThread";
import { WorkerRole } from "./roles/worker";
import { LedgerFollower } from "./jobs/ledgerFollower";
import { WebhookDispatcher } from "./webhooks/dispatcher";
import { LogThrottle } from "./webhooks/logThrottle";

export interface StartOptions {
  /** pino options for the process log (level, stream), or false for silence. Default: info, stdout. */
  logger?: LoggerOptions | false;
  metrics?: RelayerMetrics;
}

export interface RunningRelayer {
  role: RelayerRole;
  /** Base URL the API listens on (the real port when config.port is 0); a worker's serves /health only. */
  url: string;
  app: FastifyInstance;
  store: RelayerStore;
  chain: ChainClient;
  /** The chain jobs and signer lanes (roles worker and all). */
  worker: WorkerRole | null;
  /** Every signer lane's address (none for role api). */
  signers: Hex[];
  /** The leases this process holds now (jobs, lane:<address>). */
  heldLeases(): string[];
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
          JSON.stringify({ level, time: Date.now(), ...obj, msg }, (_k, v: unknown) =>
            typeof v === "bigint" ? v.toString() : v,
          ) + "\n",
        );
    };
  }
}

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

/** The store the configuration names: PostgreSQL when DATABASE_URL is set, else the SQLite file. */
async function openConfiguredStore(config: RelayerConfig): Promise<{ store: RelayerStore; keyFileExisted: boolean }> {
  if (config.databaseUrl !== null) {
    const opened = await openStore({
      location: config.databaseUrl.reveal(),
      secretKey: config.webhooks.secretKey ?? undefined,
    });
    return { store: opened.store, keyFileExisted: true };
  }
  fs.mkdirSync(path.dirname(path.resolve(config.databasePath)), { recursive: true });
  const keyFile = defaultKeyFile(config.databasePath);
  const keyFileExisted = fs.existsSync(keyFile);
  const store = await openSqliteStore(config.databasePath, {
    secretKey: config.webhooks.secretKey ?? undefined,
    keyFile,
  });
  return { store, keyFileExisted };
}

/** A worker's only HTTP: GET /health with its role and the leases it holds (supervisors, tests). */
function healthApp(role: RelayerRole, leases: () => string[], signers: Hex[]): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/health", async () => ({ status: "ok", role, leases: leases(), signers }));
  return app;
}

/** Starts the role's parts and resolves once they run; on a failure, whatever started is stopped. */
export async function startRelayer(config: RelayerConfig, options: StartOptions = {}): Promise<RunningRelayer> {
  const metrics = options.metrics ?? processMetrics;
  const log = new DeferredLogger();
  const role = config.role;
  const runsApi = role !== "worker";
  const runsJobs = role !== "api";
  let store: RelayerStore | null = null;
  let chain: ChainClient | null = null;
  let signers: TxSigner[] = [];
  let app: FastifyInstance | null = null;
  let worker: WorkerRole | null = null;
  let dispatcher: WebhookDispatcher | null = null;
  let intakeWriter: WriterThread | null = null;
  let follower: LedgerFollower | null = null;
  const holder = randomUUID();
  let heartbeat: NodeJS.Timeout | null = null;
  const sqlite = () => (store instanceof SqliteStore ? store : null);

  // App first: no new acknowledgements, and its onClose hook drains the group commit into the
  // store. Then the jobs' ticks in flight (their leases released for a standby), the dispatcher's
  // deliveries, the signers and the provider, the store.
  const shutdown = async () => {
    const steps: [string, (() => Promise<void> | void) | null][] = [
      ["api", app && (() => app!.close())],
      ["intake writer", intakeWriter && (() => intakeWriter!.close())],
      ["jobs", worker && (() => worker!.stop())],
      ["ledger follower", follower && (() => follower!.stop())],
      ["lease heartbeat", heartbeat && (() => clearInterval(heartbeat!))],
      ["webhooks", dispatcher && (() => dispatcher!.stop())],
      [
        "chain",
        chain &&
          (async () => {
            for (const signer of signers) await signer.close();
            await chain!.close();
            chain!.provider.destroy();
          }),
      ],
      ["lease", heartbeat && (() => sqlite()!.lease.release(holder))],
      ["store", store && (() => store!.close())],
    ];
    for (const [name, step] of steps) {
      if (!step) continue;
      try {
        await step();
      } catch (error) {
        log.error({ step: name, err: errorMessage(error) }, "shutdown step failed");
      }
    }
  };

  try {
    const opened = await openConfiguredStore(config);
    store = opened.store;
    // An api instance sends nothing: it opens no signer (no key, no keystore password used).
    signers = runsJobs ? await openSigners(config.signers) : [];
    const single = sqlite();
    if (role === "all" && single) {
      // The embedded layout: one `all` process per SQLite file, before anything reads or sends.
      await single.lease.acquire({ holder, pid: process.pid, host: os.hostname(), signer: signers[0].address });
      heartbeat = setInterval(() => {
        single.lease
          .renew(holder)
          .then((held) => {
            if (held) return;
            // Taken over after this process stalled past the lease: the other one works now.
            log.error({ holder }, "single-instance lease lost to another relayer: stopping the chain jobs");
            void worker?.stop();
          })
          .catch((error: unknown) => log.warn({ err: errorMessage(error) }, "lease heartbeat failed"));
      }, LEASE_TTL_MS / 3);
      heartbeat.unref();
    }
    chain = await connectChain({
      rpcUrl: config.rpcUrl,
      deployment: config.deploymentsFile,
      signer: signers[0] ?? null,
      logger: log,
      onRpcRetry: (label) => metrics.failures.inc({ component: "rpc", reason: label }),
    });
    useSigningThreads(signers);
    const keyFile = single ? defaultKeyFile(config.databasePath) : null;
    // Confirmations and reorg window per network (chain/finality.ts), now that the chain id is known.
    const finality = withFinalityProfile(config, chain.chainId);
    config = finality.config;
    log.info(
      { chainId: chain.chainId.toString(), ...finality.profile, reorgDepth: finality.profile.reorgDepth.toString() },
      "finality profile",
    );
    if (config.webhooks.secretKey === null) {
      // The key beside the database protects only copies of the database that leave without it.
      if (chain.chainId !== LOCAL_CHAIN_ID) {
        throw new Error("RELAYER_SECRET_KEY is required on any chain but the local one (webhook secrets at rest)");
      }
      // Warned once, when the key is generated; afterwards it is the local set-up working as meant.
      (opened.keyFileExisted ? log.info : log.warn)(
        { keyFile },
        "RELAYER_SECRET_KEY not set: webhook secrets are encrypted under the key file beside the database",
      );
    }
    // Intake reads through the same provider: ethers batches concurrent reads into one HTTP request.
    const chainView = await EthersChainView.connect({
      provider: chain.provider,
      escrow: chain.addresses.escrow,
      registry: chain.addresses.registry,
      chainId: chain.chainId,
    });

    // The payer ledger, kept current by what the watcher commits, when the jobs run here: intake's
    // view (role all) and the batcher's pre-send simulation. It starts at the watcher's cursor.
    let ledger: PayerLedger | null = null;
    if (runsJobs) {
      const cursor = await store.chainCursor.get(WATCHER_CURSOR);
      const startBlock = chain.addresses.startBlock;
      ledger = new PayerLedger({
        reader: chainView,
        payments: store.payments,
        block: cursor?.blockNumber ?? startBlock - 1n,
        startBlock,
      });
    } else {
      // Role api: the same ledger, fed by a follower of the escrow's logs (from the head at start).
      const startBlock = chain.addresses.startBlock;
      ledger = new PayerLedger({ reader: chainView, payments: store.payments, block: startBlock - 1n, startBlock });
      follower = new LedgerFollower({
        chain,
        ledger,
        payments: store.payments,
        pollIntervalMs: config.pollIntervalMs,
        logger: log,
        metrics,
      });
    }

    // A transaction stuck under the fee cap is logged and counted by the submitter itself.
    const readiness = new Readiness();
    if (runsJobs) {
      worker = new WorkerRole({
        store,
        chain,
        signers,
        config,
        holder,
        role,
        logger: log,
        metrics,
        ledger: ledger!,
        // Only an `all` process's ledger knows the pending payments (its own intake's); a lone worker
        // simulates batches against the node's pending state instead.
        batchAccounts: role === "all" ? ledger! : undefined,
        readiness,
      });
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
    }

    let recovery: WorkerRecovery | undefined;
    if (runsApi) {
      if (single) {
        intakeWriter = new WriterThread(config.databasePath, single.storage);
        single.disableAutoCheckpoint();
      }
      recovery =
        config.signatureWorkers > 0
          ? new WorkerRecovery(
              { chainId: chainView.chainId.toString(), escrow: chainView.escrow },
              config.signatureWorkers,
            )
          : undefined;
      const writerThread = intakeWriter;
      app = buildApp({
        config,
        store,
        chain: chainView,
        accounts: ledger ?? undefined,
        recovery,
        groupCommit: writerThread
          ? {
              insert: (payments) => writerThread.insertAccepted(payments),
              insertGuarded: (items) => writerThread.insertAcceptedGuarded(items),
            }
          : undefined,
        writer: worker ? new SubmitterChainWriter(worker.lanes, log) : null,
        logger: options.logger,
        metrics,
        readiness,
      });
      log.target = app.log;
    } else {
      const w = worker!;
      app = healthApp(role, () => w.heldLeases(), w.signers);
    }

    if (worker) {
      // Takes the leases it can; each lane reconciles its signer's nonce (and resolves transactions
      // a crash left pending) before anything is sent.
      await worker.start();
      if (worker.jobsLease.isHeld) await catchUp(worker, ledger!, chain, config, log);
      dispatcher!.start();
    }
    // Its first poll sets the block the ledger reads payers at: before the API takes a payment.
    await follower?.begin();

    // Worker threads load their code (ts-node under `npm start`) before the first request needs them.
    await Promise.all([recovery?.ready(), intakeWriter?.insertAccepted([])]);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    if (!address || typeof address === "string") throw new Error("the API is not listening on TCP");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

    let stopping: Promise<void> | null = null;
    const running = worker;
    return {
      role,
      url: `http://${host}:${address.port}`,
      app,
      store,
      chain,
      worker,
      signers: signers.map((s) => s.address),
      heldLeases: () => running?.heldLeases() ?? [],
      dispatcher,
      log,
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
