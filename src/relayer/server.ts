/**
 * A whole relayer in one process: the SQLite store, the chain connection (typechain bindings over
 * JSON-RPC), the HTTP API, the chain pipeline (batcher → submitter → chain watcher, settler) and the
 * webhook dispatcher, all on one store and one signer. `main.ts` runs it from the environment;
 * tests and the benchmark embed it or spawn main.ts.
 *
 * One process per database: start-up takes the single-instance lease (./store/sqlite/lease.ts)
 * first and refuses to start while another live relayer holds it; a graceful stop releases it.
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
import { computeAddress } from "ethers";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app";
import type { RelayerConfig } from "./config";
import type { Hex } from "./domain";
import { connectChain, type ChainClient } from "./chain/client";
import type { LoggerOptions } from "./http/logging";
import { EthersChainView } from "./chain/chainView";
import { createPipeline, type Pipeline } from "./jobs";
import { CURSOR_NAME as WATCHER_CURSOR } from "./jobs/chainWatcher";
import { PayerLedger } from "./ledger/payerLedger";
import { Readiness } from "./runtime/readiness";
import { WorkerRecovery } from "./intake/signaturePool";
import { SubmitterChainWriter } from "./jobs/relayWriter";
import { errorMessage, type Logger } from "./runtime/log";
import { metrics as processMetrics, type RelayerMetrics } from "./runtime/metrics";
import { defaultKeyFile, openSqliteStore, type SqliteStore } from "./store/sqlite";
import { LEASE_TTL_MS } from "./store/sqlite/lease";
import { WriterThread } from "./store/sqlite/writerThread";
import { WebhookDispatcher } from "./webhooks/dispatcher";
import { LogThrottle } from "./webhooks/logThrottle";

export interface StartOptions {
  /** pino options for the process log (level, stream), or false for silence. Default: info, stdout. */
  logger?: LoggerOptions | false;
  metrics?: RelayerMetrics;
}

export interface RunningRelayer {
  /** Base URL the API listens on (the real port when config.port is 0). */
  url: string;
  app: FastifyInstance;
  store: SqliteStore;
  chain: ChainClient;
  pipeline: Pipeline;
  dispatcher: WebhookDispatcher;
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
      else if (level !== "debug") process.stderr.write(JSON.stringify({ level, time: Date.now(), ...obj, msg }) + "\n");
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
async function catchUp(jobs: Pipeline, ledger: PayerLedger, chain: ChainClient, config: RelayerConfig, log: Logger) {
  const deadline = Date.now() + CATCH_UP_WAIT_MS;
  let head: bigint;
  try {
    head = await chain.blockNumber();
  } catch (error) {
    log.warn({ err: errorMessage(error) }, "chain unreachable at start-up: serving without catching up");
    return;
  }
  const target = head - BigInt(Math.max(1, config.confirmations)) + 1n;
  while (ledger.appliedBlock < target && Date.now() < deadline) {
    await jobs.watcher.tick().catch(() => new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS)));
  }
  if (ledger.appliedBlock < target) {
    log.warn({ applied: ledger.appliedBlock.toString(), head: head.toString() }, "watcher still behind the chain");
  }
}

/** Starts everything and resolves once the API listens; on a failure, whatever started is stopped. */
export async function startRelayer(config: RelayerConfig, options: StartOptions = {}): Promise<RunningRelayer> {
  const metrics = options.metrics ?? processMetrics;
  const log = new DeferredLogger();
  let store: SqliteStore | null = null;
  let chain: ChainClient | null = null;
  let app: FastifyInstance | null = null;
  let pipeline: Pipeline | null = null;
  let dispatcher: WebhookDispatcher | null = null;
  let intakeWriter: WriterThread | null = null;
  const holder = randomUUID();
  let heartbeat: NodeJS.Timeout | null = null;

  // App first: no new acknowledgements, and its onClose hook drains the group commit into the
  // store. Then the jobs' ticks in flight, the dispatcher's deliveries, the provider, the store.
  const shutdown = async () => {
    const steps: [string, (() => Promise<void> | void) | null][] = [
      ["api", app && (() => app!.close())],
      ["intake writer", intakeWriter && (() => intakeWriter!.close())],
      ["jobs", pipeline && (() => pipeline!.stop())],
      ["lease heartbeat", heartbeat && (() => clearInterval(heartbeat!))],
      ["webhooks", dispatcher && (() => dispatcher!.stop())],
      [
        "chain",
        chain &&
          (async () => {
            await chain!.close();
            chain!.provider.destroy();
          }),
      ],
      ["lease", heartbeat && (() => store!.lease.release(holder))],
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
    fs.mkdirSync(path.dirname(path.resolve(config.databasePath)), { recursive: true });
    const keyFile = defaultKeyFile(config.databasePath);
    const keyFileExisted = fs.existsSync(keyFile);
    store = await openSqliteStore(config.databasePath, { secretKey: config.webhooks.secretKey ?? undefined, keyFile });
    // One relayer per database, before anything reads or sends: a second one refuses to start.
    await store.lease.acquire({
      holder,
      pid: process.pid,
      host: os.hostname(),
      signer: computeAddress(config.signerPrivateKey),
    });
    const leased = store;
    heartbeat = setInterval(() => {
      leased.lease
        .renew(holder)
        .then((held) => {
          if (held) return;
          // Taken over after this process stalled past the lease: the other one sends now.
          log.error({ holder }, "single-instance lease lost to another relayer: stopping the chain jobs");
          void pipeline?.stop();
        })
        .catch((error: unknown) => log.warn({ err: errorMessage(error) }, "lease heartbeat failed"));
    }, LEASE_TTL_MS / 3);
    heartbeat.unref();
    chain = await connectChain({
      rpcUrl: config.rpcUrl,
      deployment: config.deploymentsFile,
      signerKey: config.signerPrivateKey as Hex,
      logger: log,
      onRpcRetry: (label) => metrics.failures.inc({ component: "rpc", reason: label }),
    });
    chain.useSigningThread();
    if (config.webhooks.secretKey === null) {
      // The key beside the database protects only copies of the database that leave without it.
      if (chain.chainId !== LOCAL_CHAIN_ID) {
        throw new Error("RELAYER_SECRET_KEY is required on any chain but the local one (webhook secrets at rest)");
      }
      // Warned once, when the key is generated; afterwards it is the local set-up working as meant.
      (keyFileExisted ? log.info : log.warn)(
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

    // Intake's view of payers, kept current by what the watcher commits: it starts at the watcher's
    // cursor (nothing is applied before the escrow's deployment block).
    const cursor = await store.chainCursor.get(WATCHER_CURSOR);
    const startBlock = chain.addresses.startBlock;
    const ledger = new PayerLedger({
      reader: chainView,
      payments: store.payments,
      block: cursor?.blockNumber ?? startBlock - 1n,
      startBlock,
    });

    // A transaction stuck under the fee cap is logged and counted by the submitter itself.
    const readiness = new Readiness();
    const jobs = createPipeline({
      store,
      chain,
      config,
      logger: log,
      metrics,
      ledger,
      batchAccounts: ledger,
      readiness,
    });
    const writer = new SubmitterChainWriter(jobs.submitter, log);
    const hooks = config.webhooks;
    // One line per endpoint and outcome per interval: a dead endpoint must not flood the log.
    const deliveryLog = new LogThrottle(WEBHOOK_LOG_INTERVAL_MS);
    const webhooks = new WebhookDispatcher({
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

    intakeWriter = new WriterThread(config.databasePath, store.storage);
    store.disableAutoCheckpoint();
    const recovery =
      config.signatureWorkers > 0
        ? new WorkerRecovery(
            { chainId: chainView.chainId.toString(), escrow: chainView.escrow },
            config.signatureWorkers,
          )
        : undefined;
    const api = buildApp({
      config,
      store,
      chain: chainView,
      accounts: ledger,
      recovery,
      groupCommit: {
        insert: (payments) => intakeWriter!.insertAccepted(payments),
        insertGuarded: (items) => intakeWriter!.insertAcceptedGuarded(items),
      },
      writer,
      logger: options.logger,
      metrics,
      readiness,
    });
    app = api;
    log.target = api.log;

    // Reconciles the signer's nonce with the chain (and resolves transactions a crash left pending)
    // before anything is sent.
    await jobs.start();
    pipeline = jobs;
    await catchUp(jobs, ledger, chain, config, log);
    webhooks.start();
    dispatcher = webhooks;

    // Worker threads load their code (ts-node under `npm start`) before the first request needs them.
    await Promise.all([recovery?.ready(), intakeWriter.insertAccepted([])]);
    await api.listen({ host: config.host, port: config.port });
    const address = api.server.address();
    if (!address || typeof address === "string") throw new Error("the API is not listening on TCP");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

    let stopping: Promise<void> | null = null;
    return {
      url: `http://${host}:${address.port}`,
      app: api,
      store,
      chain,
      pipeline: jobs,
      dispatcher: webhooks,
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
