import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import { Gauge } from "prom-client";
import type { FxConfig, RelayerConfig } from "./config";
import { DEFAULTS, validateConfig } from "./config";
import { isApiError } from "./errors";
import { PaymentState, RELAY_STATES } from "./domain";
import { metrics as processMetrics, type RelayerMetrics } from "./runtime/metrics";
import type { RelayerStore } from "./store/types";
import { authenticateAdmin, authenticateMerchant, rateLimitKey } from "./http/auth";
import type { RouteContext, ServedCurrency } from "./http/context";
import { registerErrorHandling, registerJsonParser } from "./http/errors";
import { registerIdempotency } from "./http/idempotency";
import { registerDashboard } from "./http/dashboard";
import { InclusionProver } from "./http/inclusion";
import { loggerOptions, urlSecrets, type LoggerOptions } from "./http/logging";
import { SharedFailureLimiter, SharedTokenBucketLimiter, TokenBucketLimiter } from "./http/rateLimit";
import { RetentionPruner } from "./http/retention";
import { RelayQuota } from "./http/relayQuota";
import { fxDesk } from "./fx/desk";
import { FxMirror } from "./fx/mirror";
import type { ChainView } from "./chain/chainView";
import type { CurrencyAddresses } from "./chain/client";
import type { ChainWriter } from "./chain/chainWriter";
import { EscrowDigester } from "../protocol/digest";
import { GroupCommitWriter, type GroupCommitOptions } from "./intake/groupCommit";
import { Intake } from "./intake/intake";
import { InlineRecovery, type PaymentRecovery } from "./intake/signaturePool";
import { ChainAccounts } from "./ledger/chainAccounts";
import type { PayerAccounts } from "./ledger/payerAccounts";
import { Readiness } from "./runtime/readiness";
import { MerchantReports } from "./http/merchantReports";
import { ROUTES } from "./routes";

/**
 * One currency intake takes payments in (RELAYER_CURRENCIES): its escrow's reads and the parts that
 * judge and relay its payers' signed operations. A payment, withdrawal or deposit goes to the served
 * currency whose escrow its body names (the EIP-712 domain it was signed for); an action on a payment
 * to the payment's currency.
 */
export interface ServedCurrencyDeps {
  /** Its code in the deployment record (ChainAddresses.currencies). */
  code: string;
  /** Reads of its escrow and token (registry and clock reads are the same for every currency). */
  chain: ChainView;
  /** Its payer ledger. Default: fresh reads of `chain` and the currency's store view per request. */
  accounts?: PayerAccounts;
  /** Digest and recovery under its escrow's domain. Default: inline. Closed with the app. */
  recovery?: PaymentRecovery;
  /** Relays its escrow's signed operations; absent → those routes answer 503 for it. */
  writer?: ChainWriter | null;
}

export interface AppDeps {
  config: RelayerConfig;
  store: RelayerStore;
  chain: ChainView;
  /** The deployment's currencies (ChainAddresses.currencies): the first is `chain`'s. */
  currencies: readonly CurrencyAddresses[];
  /** Relays confirm/dispute/refund/deposit/withdraw; without one those routes answer 503. */
  writer?: ChainWriter | null;
  /** Milliseconds since the epoch (validity windows, timestamps). Default Date.now. */
  clock?: () => number;
  /** pino options (level, stream) or false for silence. Default: info to stdout. */
  logger?: LoggerOptions | false;
  /**
   * The currencies intake serves, in RELAYER_CURRENCIES' order, each with its own parts. Default: the
   * deployment's first alone, on `chain`, `accounts`, `recovery` and `writer`. `chain` stays the view
   * for reads every currency shares (registry, chain id and time).
   */
  served?: readonly ServedCurrencyDeps[];
  /** The FX desk's settings; null: no desk. Default: `config.fx` (RELAYER_FX_*, docs/relayer.md "FX desk"). */
  fx?: FxConfig | null;
  /** Default: the process-wide registry the chain jobs also use. */
  metrics?: RelayerMetrics;
  groupCommit?: GroupCommitOptions;
  /**
   * Payer state for intake. Default: fresh reads of the chain and the store per request. A relayer
   * running its chain watcher passes the PayerLedger it feeds (no chain read per payment).
   */
  accounts?: PayerAccounts;
  /** Payment digest and signature recovery. Default: on the HTTP thread. Closed with the app. */
  recovery?: PaymentRecovery;
  /** Conditions the jobs and the store report; GET /ready fails while any holds. Default: none. */
  readiness?: Readiness;
  /**
   * Several instances share the store: rate limits in its shared buckets rather than in memory, and
   * Idempotency-Keys claimed in it before their request runs. Default: on a PostgreSQL store (one
   * SQLite file serves one process).
   */
  multiInstance?: boolean;
  /** The built dashboard's folder. Default: dist/dashboard at the repository root. */
  dashboardDir?: string;
}

const API_DESCRIPTION = `StablePay relayer: customers submit EIP-712 signed payments, merchants follow them to settlement.
Amounts, ids and nonces are decimal strings. Errors are {"error":{"code","message","details"}} with stable codes.
POSTs that create something honour Idempotency-Key. Merchant routes take Authorization: Bearer <API key>.`;

/**
 * The relayer's HTTP API as a configured fastify instance, not listening (the caller owns
 * `listen()` and the store). Closing the app drains the intake's group commit first, so no
 * verified payment waiting to be committed is dropped on shutdown. Throws ConfigError for a
 * configuration that must not serve the connected chain (see validateConfig).
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const { config, store, chain } = deps;
  validateConfig(config, chain.chainId);
  const clock = deps.clock ?? Date.now;
  const metrics = deps.metrics ?? processMetrics;

  const app = Fastify({
    logger: loggerOptions(
      deps.logger === false
        ? false
        : { ...deps.logger, secrets: [...(deps.logger?.secrets ?? []), ...configSecrets(config)] },
    ),
    bodyLimit: config.bodyLimitBytes,
    // Types are never coerced ("100" is not 100, 100 is not "100") and unknown fields are errors.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    return503OnClosing: true,
  });

  const groupCommit = new GroupCommitWriter(store, metrics, {
    ...deps.groupCommit,
    maxSize: deps.groupCommit?.maxSize ?? DEFAULTS.groupCommitMaxSize,
    maxWaitMs: deps.groupCommit?.maxWaitMs ?? DEFAULTS.groupCommitMaxWaitMs,
    maxInFlight:
      deps.groupCommit?.maxInFlight ?? (store.kind === "postgres" ? DEFAULTS.groupCommitInFlightPostgres : 1),
  });
  const served = servedCurrencies(deps, groupCommit, clock, metrics);
  const readiness = deps.readiness ?? new Readiness(clock);
  store.storage?.onChange((failing) => {
    if (failing) readiness.fail("storage_unavailable", "the database cannot be written (disk full or I/O error)");
    else readiness.clear("storage_unavailable");
  });
  const fxConfig = deps.fx === undefined ? config.fx : deps.fx;
  const desk = fxDesk(fxConfig);
  const ctx: RouteContext = {
    config,
    store,
    chain,
    currencies: deps.currencies,
    served,
    fx: desk,
    reports: new MerchantReports({ store, token: () => chain.tokenAddress() }),
    groupCommit,
    inclusion: new InclusionProver(store),
    metrics,
    readiness,
    clock,
    limits:
      (deps.multiInstance ?? store.kind === "postgres")
        ? {
            requests: new SharedTokenBucketLimiter(
              store.rateLimits,
              "requests",
              config.rateLimitPerSecond,
              config.rateLimitBurst,
              clock,
            ),
            authFailures: new SharedFailureLimiter(
              store.rateLimits,
              "auth_failures",
              config.authFailuresPerMinute / 60,
              config.authFailureBurst,
              clock,
              "too_many_auth_failures",
            ),
            apiKeyCreation: new SharedTokenBucketLimiter(
              store.rateLimits,
              "api_keys",
              config.apiKeysPerHour / 3600,
              config.apiKeysPerHour,
              clock,
              "api_key_rate_limited",
              1,
            ),
          }
        : {
            requests: new TokenBucketLimiter(config.rateLimitPerSecond, config.rateLimitBurst, clock),
            authFailures: new TokenBucketLimiter(
              config.authFailuresPerMinute / 60,
              config.authFailureBurst,
              clock,
              "too_many_auth_failures",
            ),
            apiKeyCreation: new TokenBucketLimiter(
              config.apiKeysPerHour / 3600,
              config.apiKeysPerHour,
              clock,
              "api_key_rate_limited",
            ),
          },
    relayQuota: new RelayQuota(config.relayQuotaPerDay, clock),
  };

  registerErrorHandling(app);
  registerJsonParser(app);
  registerAuthAndRateLimit(app, ctx);
  registerIdempotency(app, store, clock, {
    retentionMs: config.idempotencyRetentionMs,
    claimAcrossInstances: deps.multiInstance ?? store.kind === "postgres",
  });
  const pruner = new RetentionPruner(
    store,
    {
      idempotencyRetentionMs: config.idempotencyRetentionMs,
      requestRetentionMs: config.requestRetentionMs,
      intervalMs: config.pruneIntervalMs,
    },
    clock,
    app.log,
  );
  app.decorate("retention", pruner);
  app.addHook("onReady", async () => pruner.start());
  // The desk's two legs are kept in step by the process that holds the desk's key.
  const fxMirror = desk ? new FxMirror(desk, ctx, { intervalMs: fxConfig!.mirrorIntervalMs, log: app.log }) : null;
  app.decorate("fxMirror", fxMirror);
  if (fxMirror) app.addHook("onReady", async () => fxMirror.start());
  registerMetrics(app, ctx);

  void app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "StablePay Relayer API", version: "1.0.0", description: API_DESCRIPTION },
      tags: [
        { name: "customers", description: "Payers: payments, confirmations, disputes, deposits, withdrawals" },
        { name: "merchants", description: "Authenticated with the merchant's API key" },
        { name: "operator", description: "Authenticated with the admin token" },
        { name: "operations", description: "Health, readiness, metrics, this document" },
      ],
      components: {
        securitySchemes: {
          merchantKey: { type: "http", scheme: "bearer", description: "Merchant API key (sp_live_…)" },
          adminToken: { type: "apiKey", in: "header", name: "X-Admin-Token" },
        },
      },
    },
  });
  registerDashboard(app, { dir: deps.dashboardDir, idleSeconds: config.dashboardIdleSeconds });
  // Registered after swagger so that its onRoute hook sees every route.
  void app.register(async (instance) => {
    for (const route of ROUTES) route(instance, ctx);
  });

  app.addHook("onClose", async () => {
    await pruner.stop();
    await fxMirror?.stop();
    await groupCommit.close();
    for (const { intake } of served.values()) await intake.close();
  });
  return app;
}

/**
 * Each served currency's parts (AppDeps.served, default the deployment's first on the app's own
 * chain view and parts): its store view, digester, payer accounts and intake over the shared group
 * commit. Throws for a served code the deployment lacks, or served twice.
 */
function servedCurrencies(
  deps: AppDeps,
  groupCommit: GroupCommitWriter,
  clock: () => number,
  metrics: RelayerMetrics,
): Map<string, ServedCurrency> {
  const { config, store, currencies } = deps;
  const list: readonly ServedCurrencyDeps[] = deps.served ?? [
    {
      code: currencies[0].code,
      chain: deps.chain,
      accounts: deps.accounts,
      recovery: deps.recovery,
      writer: deps.writer,
    },
  ];
  const served = new Map<string, ServedCurrency>();
  for (const part of list) {
    const currency = currencies.find((c) => c.code === part.code);
    if (!currency) throw new Error(`served currency ${part.code} is not in the deployment`);
    if (served.has(part.code)) throw new Error(`currency ${part.code} is served twice`);
    if (part.chain.escrow !== currency.escrow.toLowerCase()) {
      throw new Error(`the chain view served for ${part.code} reads another escrow`);
    }
    const view = store.forCurrency(part.code);
    const digester = new EscrowDigester(part.chain.chainId, part.chain.escrow);
    const accounts = part.accounts ?? new ChainAccounts(part.chain, view.payments, clock);
    const intake = new Intake({
      store: view,
      chain: part.chain,
      accounts,
      digester,
      recovery: part.recovery ?? new InlineRecovery(digester),
      writer: groupCommit,
      clock,
      metrics,
      maxNodeCallsPerRequest: config.maxNodeCallsPerRequest,
    });
    served.set(part.code, {
      currency,
      chain: part.chain,
      store: view,
      digester,
      intake,
      accounts,
      writer: part.writer ?? null,
    });
  }
  if (served.size === 0) throw new Error("intake serves no currency");
  return served;
}

/** Configured secrets no log line may carry. */
export function configSecrets(config: RelayerConfig): string[] {
  const secrets = urlSecrets(config.rpcUrl);
  if (config.adminToken.length >= 8) secrets.push(config.adminToken);
  return secrets;
}

/**
 * Authentication and the request limit. Failed authentications are limited per client IP: past the
 * budget every authenticated request from that IP is refused before its credential is even looked
 * at, so guessing keys or the admin token stops at a few per minute.
 */
function registerAuthAndRateLimit(app: FastifyInstance, ctx: RouteContext): void {
  const failures = ctx.limits.authFailures;
  app.decorateRequest("principal", null as never);
  app.addHook("onRequest", async (request: FastifyRequest) => {
    const config = request.routeOptions.config;
    const auth = config.auth ?? "public";
    if (auth === "public") request.principal = { kind: "public", ip: request.ip };
    else {
      const ipKey = `ip:${request.ip}`;
      failures.check(ipKey);
      try {
        request.principal =
          auth === "merchant"
            ? await authenticateMerchant(ctx.store, request)
            : authenticateAdmin(ctx.config.adminToken, request);
      } catch (error) {
        if (isApiError(error) && error.code === "unauthorized") await failures.charge(ipKey, 1);
        throw error;
      }
    }
    if (config.rateLimited === false) return;
    await ctx.limits.requests.take(rateLimitKey(request.principal));
  });
}

function registerMetrics(app: FastifyInstance, ctx: RouteContext): void {
  const { metrics, store, groupCommit, readiness } = ctx;
  const notReady =
    (metrics.registry.getSingleMetric("relayer_not_ready") as Gauge<"reason"> | undefined) ??
    new Gauge({
      name: "relayer_not_ready",
      help: "1 while a condition makes the relayer not ready (signer_unfunded, storage_unavailable, jobs_unavailable)",
      labelNames: ["reason"],
      registers: [metrics.registry],
    });
  metrics.setGaugeSource("readiness", () => {
    notReady.reset();
    for (const c of readiness.conditions()) notReady.set({ reason: c.reason }, 1);
  });
  metrics.setGaugeSource("intake", () => metrics.intakeQueueDepth.set(groupCommit.depth));
  // Per currency of the deployment (served or not: rows may predate RELAYER_CURRENCIES' change).
  const views = ctx.currencies.map((c) => ({ currency: c.code, store: store.forCurrency(c.code) }));
  metrics.setGaugeSource("payments", async () => {
    const counts = await Promise.all(views.map(async (v) => ({ ...v, counts: await v.store.payments.countByState() })));
    for (const { currency, counts: byState } of counts) {
      for (const state of Object.values(PaymentState)) {
        metrics.paymentsByState.set({ state, currency }, byState[state] ?? 0);
      }
    }
  });
  metrics.setGaugeSource("relay queue", async () => {
    const counts = await Promise.all(
      views.map(async (v) => ({ ...v, counts: await v.store.relayRequests.countByState() })),
    );
    for (const { currency, counts: byState } of counts) {
      for (const state of RELAY_STATES) metrics.relayRequests.set({ state, currency }, byState[state] ?? 0);
    }
  });
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
