/**
 * The failover scenarios of issue #12 (item 6), with real processes, a real PostgreSQL and a real
 * chain (`hardhat node`): run by `npm run chaos:failover` (scripts/chaos-failover.ts) and, smaller,
 * by test/failover/failover.test.ts.
 *
 *  (a) worker-kill:      kill -9 the active worker after its batch transaction was sent, before the receipt;
 *  (b) api-kill:         kill -9 one api instance under load; clients retry with their idempotency key elsewhere;
 *  (c) postgres-restart: the database server goes down under load and comes back;
 *  (d) worker-pause:     SIGSTOP the active worker, a standby takes over, SIGCONT the old one.
 *
 * What counts is read from the chain, not from the relayer: each acknowledged payment (a 2xx from
 * intake) must have exactly one PaymentEscrowed event and its batch one TrancheSettled.
 *
 * Every process runs on this one host, so in (a) the standby sees the killed holder's pid gone and
 * takes its leases at once (the worker role's same-host shortcut); the lease-expiry path a worker
 * on another host depends on is the one (d) measures (SIGSTOP keeps the pid alive).
 * Settlement: the merchant's hold is the registry's minimum (one minute); each scenario moves the
 * chain's clock past it (evm_increaseTime) and waits for the settler's TrancheSettled.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import type { Wallet } from "ethers";
import type { Hex } from "../../src/protocol";
import { RelayerCluster, startOwnPostgres, type OwnPostgres, type RelayerInstance } from "../../src/localnet/cluster";
import { escrowEvents, type EscrowEvents } from "../../src/localnet/events";
import {
  orderRef,
  startLocalChain,
  type LocalChain,
  type Merchant,
  type SignedPayment,
} from "../../src/localnet/network";
import type { RelayerEnv } from "../../src/relayer/config";
import { sleep, waitFor } from "../../src/localnet/wait";

export const SCENARIOS = ["worker-kill", "api-kill", "postgres-restart", "worker-pause"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The line `npm run chaos:failover` prints, one entry per scenario. */
export interface ScenarioResult {
  name: ScenarioName;
  /** Payments intake answered 2xx for. */
  acknowledged: number;
  /** Acknowledged payments with exactly one PaymentEscrowed on chain. */
  escrowedOnce: number;
  /** Acknowledged payments with none. */
  lost: number;
  /** Payments (acknowledged or not) with more than one PaymentEscrowed. */
  duplicates: number;
  /**
   * worker-kill, worker-pause: from the kill/SIGSTOP until a standby holds the signer's lane lease.
   * api-kill: from the kill until a client's retry was acknowledged by another instance.
   * postgres-restart: from the server being back until intake acknowledged again.
   */
  takeoverSeconds: number;
  /** Acknowledged payments whose batch has exactly one TrancheSettled for the merchant. */
  settledOnce: number;
  /** Scenario-specific observations (503 codes seen, transactions of the old worker, ...). */
  details: Record<string, unknown>;
}

/** Hold period of the scenarios' merchant (the registry's minimum is one minute). */
export const HOLD_SECONDS = 60;
const AMOUNT = 1_000_000n;
const DEPOSIT = 1_000_000_000n;
/** What the issue allows a standby for taking over a killed or stalled worker's lane. */
export const TAKEOVER_LIMIT_SECONDS = 15;

export interface FailoverOptions {
  /** Payments per scenario (spread over the payers). */
  payments: number;
  payers: number;
  /** Progress lines (stderr for the chaos script, nothing in tests). */
  log?: (line: string) => void;
  /** Each instance's log goes here (default: a temp dir). */
  logDir?: string;
  leaseTtlMs?: number;
}

/**
 * What the scenarios share, started once: the chain with the merchant and funded payers, a
 * PostgreSQL server of their own (scenario (c) restarts it), one database, and the cluster: two
 * `api` and two `worker` instances on one signer lane. A scenario that kills an instance starts a
 * replacement before it returns, so each begins with the full layout.
 */
export interface FailoverWorld {
  chain: LocalChain;
  merchant: Merchant;
  customers: Wallet[];
  options: Required<Pick<FailoverOptions, "payments" | "payers" | "leaseTtlMs">> & FailoverOptions;
  logRoot: string;
  postgres: OwnPostgres;
  databaseUrl: string;
  cluster: RelayerCluster;
  /** The workers' (single) signer key: the lane `lane:<address>`. */
  signer: Wallet;
  /** What an api instance is started with besides the shared variables. */
  apiEnv: RelayerEnv;
  /** The next free payment nonce of each payer (scenarios share the payers). */
  nextNonce: number;
  stop(): Promise<void>;
}

export async function startFailoverWorld(options: FailoverOptions): Promise<FailoverWorld> {
  const log = options.log ?? (() => undefined);
  const settings = { leaseTtlMs: 10_000, ...options };
  log("starting hardhat node and deploying StablePay; starting PostgreSQL");
  const [chain, postgres] = await Promise.all([startLocalChain(), startOwnPostgres()]);
  let cluster: RelayerCluster | undefined;
  try {
    const merchant = await chain.registerMerchant(HOLD_SECONDS);
    const customers = await chain.fundCustomers(options.payers, DEPOSIT);
    const logRoot = options.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "stablepay-failover-"));
    fs.mkdirSync(logRoot, { recursive: true });
    await adminQuery(postgres.baseUrl, "CREATE DATABASE stablepay_failover");
    const databaseUrl = `${postgres.baseUrl}/stablepay_failover`;
    const signer = await chain.fundedKey();
    // An api instance opens no signer (relayed customer actions are queued for the workers' lanes):
    // the key it is given is never used.
    const relayKey = await chain.fundedKey();
    cluster = new RelayerCluster({
      env: {
        RPC_URL: chain.url,
        DEPLOYMENTS_FILE: chain.deploymentsFile,
        DATABASE_URL: databaseUrl,
        RELAYER_DATA_DIR: logRoot,
        // One key for every instance: any of them may decrypt what another stored.
        RELAYER_SECRET_KEY: crypto.randomBytes(32).toString("hex"),
        POLL_INTERVAL_MS: "100",
        BATCH_MAX_AGE_MS: "200",
        SETTLE_INTERVAL_MS: "500",
        CONFIRMATIONS: "1",
        RATE_LIMIT_PER_SECOND: "100000",
        RATE_LIMIT_BURST: "100000",
        LEASE_TTL_MS: String(settings.leaseTtlMs),
      } as RelayerEnv,
      logDir: logRoot,
    });
    const world: FailoverWorld = {
      chain,
      merchant,
      customers,
      options: settings,
      logRoot,
      postgres,
      databaseUrl,
      cluster,
      signer,
      apiEnv: { RELAYER_PRIVATE_KEY: relayKey.privateKey },
      nextNonce: 0,
      async stop() {
        for (const i of cluster!.instances) if (i.paused) i.resume();
        cluster!.killAll();
        await Promise.all(cluster!.instances.map((i) => i.exited));
        await chain.stop();
        postgres.destroy();
      },
    };
    log("starting 2 api and 2 worker instances");
    await cluster.startAll([
      { role: "api", env: world.apiEnv },
      { role: "api", env: world.apiEnv },
      { role: "worker", env: { RELAYER_PRIVATE_KEY: signer.privateKey } },
      { role: "worker", env: { RELAYER_PRIVATE_KEY: signer.privateKey } },
    ]);
    return world;
  } catch (error) {
    cluster?.killAll();
    await chain.stop();
    postgres.destroy();
    throw error;
  }
}

// --- PostgreSQL databases ------------------------------------------------------------------------

async function adminQuery(baseUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: `${baseUrl}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Rows of `sql` on `url` (a short-lived connection: the scenario's own reads, never the relayer's pool). */
async function rows<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

export interface LaneLease {
  holder: string;
  epoch: number;
  /** The holder's process id, from the lease's info ({ pid, host, role }). */
  pid: number | null;
}

/** The signer's lane lease as the store holds it (null when no one ever took it). */
export async function laneLease(databaseUrl: string, signer: string): Promise<LaneLease | null> {
  const found = await rows<{ holder: string; epoch: string | number; info: string }>(
    databaseUrl,
    "SELECT holder, epoch, info FROM leases WHERE name = $1",
    [`lane:${signer.toLowerCase()}`],
  ).catch(() => []);
  if (!found[0]) return null;
  let pid: number | null = null;
  try {
    const info = JSON.parse(found[0].info) as { pid?: unknown };
    if (typeof info.pid === "number") pid = info.pid;
  } catch {
    // No process named: matched by holder id only.
  }
  return { holder: found[0].holder, epoch: Number(found[0].epoch), pid };
}

/** The worker instance holding `lease` (the lease's info names its process). */
export function holderInstance(workers: RelayerInstance[], lease: LaneLease | null): RelayerInstance | undefined {
  if (!lease) return undefined;
  return workers.find((w) => lease.pid === w.pid || w.started?.holder === lease.holder);
}

// --- the cluster ---------------------------------------------------------------------------------

/** Waits until a running worker holds the signer's lane lease; returns it with the lease. */
async function activeWorker(
  world: FailoverWorld,
  timeoutMs = 60_000,
): Promise<{ worker: RelayerInstance; lease: LaneLease }> {
  const workers = () => world.cluster.byRole("worker").filter((w) => w.running && !w.paused);
  return waitFor(
    async () => {
      const lease = await laneLease(world.databaseUrl, world.signer.address);
      const worker = holderInstance(workers(), lease);
      return worker && lease ? { worker, lease } : undefined;
    },
    {
      what: `a worker holding lane:${world.signer.address.toLowerCase()}`,
      timeoutMs,
      intervalMs: 100,
      detail: async () =>
        `lease ${JSON.stringify(await laneLease(world.databaseUrl, world.signer.address))}; ` +
        workers()
          .map((w) => w.recent(4))
          .join("\n"),
    },
  );
}

/** Waits until the lane lease has a new holder (a running worker other than `old`); seconds since `from`. */
async function takeover(
  world: FailoverWorld,
  old: RelayerInstance,
  oldEpoch: number,
  from: number,
): Promise<{ worker: RelayerInstance; lease: LaneLease; seconds: number }> {
  const found = await waitFor(
    async () => {
      const lease = await laneLease(world.databaseUrl, world.signer.address);
      if (!lease || lease.epoch <= oldEpoch) return undefined;
      const worker = holderInstance(
        world.cluster.byRole("worker").filter((w) => w !== old && w.running),
        lease,
      );
      return worker ? { worker, lease, at: Date.now() } : undefined;
    },
    {
      what: "a standby taking over the lane",
      timeoutMs: 60_000,
      intervalMs: 100,
      detail: async () => JSON.stringify(await laneLease(world.databaseUrl, world.signer.address)),
    },
  );
  return { worker: found.worker, lease: found.lease, seconds: (found.at - from) / 1000 };
}

/** A replacement for a killed instance, so that the next scenario starts with the full layout. */
function replace(world: FailoverWorld, killed: RelayerInstance): Promise<RelayerInstance> {
  const env = killed.role === "api" ? world.apiEnv : { RELAYER_PRIVATE_KEY: world.signer.privateKey };
  return world.cluster.start({ role: killed.role, env });
}

// --- payments and clients ------------------------------------------------------------------------

/** `count` payments spread over the payers, each with its own idempotency key. */
export async function signRun(world: FailoverWorld, count: number, label: string): Promise<SignedPayment[]> {
  const deadline = (await world.chain.chainTime()) + 30n * 86_400n;
  const payments: SignedPayment[] = [];
  const { customers } = world;
  const rounds = Math.ceil(count / customers.length);
  for (let r = 0; r < rounds; r++) {
    const nonce = BigInt(world.nextNonce + r);
    for (const [i, customer] of customers.entries()) {
      if (payments.length === count) break;
      payments.push(
        world.chain.signPayment(customer, {
          merchantId: world.merchant.id,
          amount: AMOUNT,
          orderRef: orderRef(`${label}-${i}-${nonce}`),
          nonce,
          validAfter: 0n,
          deadline,
          hold: BigInt(HOLD_SECONDS),
        }),
      );
    }
  }
  world.nextNonce += rounds;
  return payments;
}

interface Attempt {
  url: string;
  status: number | null;
  code?: string;
  /** The Retry-After header of a refusal. */
  retryAfter?: string | null;
  at: number;
}

interface Submission {
  payment: SignedPayment;
  key: string;
  attempts: Attempt[];
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

/**
 * A client that submits one payment and retries it, with the same idempotency key, on the next api
 * instance in its list whenever it hears nothing or a 5xx (as a client behind a load balancer
 * does), until it is acknowledged or `deadline` passes.
 */
async function submitUntilAcknowledged(
  urls: () => string[],
  submission: Submission,
  start: number,
  deadline: number,
): Promise<void> {
  for (let i = start; Date.now() < deadline; i++) {
    const live = urls();
    const url = live[i % live.length];
    const attempt: Attempt = { url, status: null, at: Date.now() };
    submission.attempts.push(attempt);
    try {
      const response = await fetch(`${url}/v1/payments`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": submission.key },
        body: JSON.stringify(submission.payment.body),
        signal: AbortSignal.timeout(10_000),
      });
      attempt.status = response.status;
      const body = (await response.json().catch(() => ({}))) as { code?: string; error?: { code?: string } };
      attempt.code = body.code ?? body.error?.code;
      attempt.retryAfter = response.headers.get("retry-after");
      if (response.status === 200 || response.status === 201) {
        submission.acknowledgedAt = Date.now();
        submission.acknowledgedBy = url;
        return;
      }
      // Retryable by contract: overload, and the same key still running (or claimed by an instance
      // that died mid-request, until the claim lapses).
      const retryable = response.status === 429 || attempt.code === "idempotency_in_progress";
      if (response.status < 500 && !retryable) {
        throw new Error(`payment ${submission.payment.id} refused: ${response.status} ${JSON.stringify(body)}`);
      }
    } catch (error) {
      if (
        attempt.status !== null &&
        attempt.status < 500 &&
        attempt.status !== 429 &&
        attempt.code !== "idempotency_in_progress"
      )
        throw error;
      // No answer (connection refused or reset, timeout): retried below.
    }
    await sleep(100);
  }
}

/**
 * `concurrency` clients submit `payments` (each client its share, one at a time) across `urls`;
 * `during(acknowledged)` is called after each acknowledgement (to strike at a given point).
 */
export async function runLoad(
  urls: () => string[],
  payments: SignedPayment[],
  options: { concurrency: number; timeoutMs: number; pacingMs?: number; during?: (acknowledged: number) => void },
): Promise<Submission[]> {
  const submissions: Submission[] = payments.map((payment) => ({
    payment,
    key: `failover-${payment.id}`,
    attempts: [],
    acknowledgedAt: null,
    acknowledgedBy: null,
  }));
  const deadline = Date.now() + options.timeoutMs;
  let next = 0;
  let acknowledged = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, client) => {
      for (let j = next++; j < submissions.length; j = next++) {
        await submitUntilAcknowledged(urls, submissions[j], client + j, deadline);
        if (submissions[j].acknowledgedAt !== null) options.during?.(++acknowledged);
        if (options.pacingMs) await sleep(options.pacingMs);
      }
    }),
  );
  return submissions;
}

// --- what the chain says -------------------------------------------------------------------------

/** Relayer states that never lead to a PaymentEscrowed: waiting longer for those changes nothing. */
const NEVER_ESCROWED = new Set(["rejected", "expired"]);

/** What the relayer says of payments (GET /v1/payments/:id on a live api instance). */
async function relayerViews(
  world: FailoverWorld,
  ids: Hex[],
): Promise<Map<Hex, { state: string; reason: string | null }>> {
  const views = new Map<Hex, { state: string; reason: string | null }>();
  const url = world.cluster.apiUrls()[0];
  if (!url) return views;
  await Promise.all(
    ids.map(async (id) => {
      const response = await fetch(`${url}/v1/payments/${id}`, { signal: AbortSignal.timeout(10_000) }).catch(
        () => null,
      );
      if (response?.status !== 200) return;
      const body = (await response.json()) as { state: string; rejectReason?: string | null };
      views.set(id, { state: body.state, reason: body.rejectReason ?? null });
    }),
  );
  return views;
}

/**
 * Waits until every one of `ids` is escrowed on chain, or the relayer has given up on those that
 * are not (rejected, expired: reported, not waited for), or `timeoutMs` passes.
 */
async function waitEscrowed(world: FailoverWorld, ids: Hex[], timeoutMs: number): Promise<EscrowEvents> {
  let events = await escrowEvents(world.chain);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const missing = ids.filter((id) => !events.escrowed.has(id));
    if (missing.length === 0) break;
    const views = await relayerViews(world, missing);
    if (missing.every((id) => NEVER_ESCROWED.has(views.get(id)?.state ?? ""))) break;
    await sleep(500);
    events = await escrowEvents(world.chain);
  }
  return events;
}

async function waitSettled(world: FailoverWorld, ids: Hex[], timeoutMs: number): Promise<EscrowEvents> {
  const settled = (events: EscrowEvents) =>
    ids.every((id) => {
      // Only what was escrowed can settle (the missing ones are counted as lost, not waited for).
      const e = events.escrowed.get(id);
      return e === undefined || events.settled.has(`${e.batchId}:${world.merchant.id}`);
    });
  let events = await escrowEvents(world.chain);
  const deadline = Date.now() + timeoutMs;
  while (!settled(events) && Date.now() < deadline) {
    await sleep(500);
    events = await escrowEvents(world.chain);
  }
  return events;
}

/** Escrowed, moves the chain past the hold, settled; then counts against the acknowledged ids. */
export async function tally(
  world: FailoverWorld,
  name: ScenarioName,
  submissions: Submission[],
  takeoverSeconds: number,
  details: Record<string, unknown>,
  timeoutMs = 120_000,
): Promise<ScenarioResult> {
  const acknowledged = submissions.filter((s) => s.acknowledgedAt !== null).map((s) => s.payment.id);
  world.options.log?.(`${name}: ${acknowledged.length} acknowledged; waiting for escrow and settlement`);
  await waitEscrowed(world, acknowledged, timeoutMs);
  await world.chain.increaseTime(HOLD_SECONDS + 1);
  const events = await waitSettled(world, acknowledged, timeoutMs);
  const all = submissions.map((s) => s.payment.id);
  const count = (id: Hex) => events.escrowed.get(id)?.count ?? 0;
  const missing = acknowledged.filter((id) => count(id) === 0);
  if (missing.length > 0) {
    // Why they are missing, as the relayer tells it (e.g. dropped by the batcher's simulation).
    details.missing = [...(await relayerViews(world, missing))].map(([id, v]) => ({ id, ...v }));
  }
  const settledOnce = acknowledged.filter((id) => {
    const e = events.escrowed.get(id);
    return e !== undefined && events.settled.get(`${e.batchId}:${world.merchant.id}`) === 1;
  }).length;
  return {
    name,
    acknowledged: acknowledged.length,
    escrowedOnce: acknowledged.filter((id) => count(id) === 1).length,
    lost: acknowledged.filter((id) => count(id) === 0).length,
    duplicates: all.filter((id) => count(id) > 1).length,
    takeoverSeconds: Math.round(takeoverSeconds * 10) / 10,
    settledOnce,
    details,
  };
}

/** The signer's transactions mined in blocks `from`..head: hash, nonce, block. */
async function signerTransactions(
  world: FailoverWorld,
  signer: string,
  fromBlock: number,
): Promise<{ hash: string; nonce: number; block: number }[]> {
  const head = await world.chain.provider.getBlockNumber();
  const found: { hash: string; nonce: number; block: number }[] = [];
  for (let n = fromBlock; n <= head; n++) {
    const block = await world.chain.rpc<{ transactions: { hash: string; from: string; nonce: string }[] }>(
      "eth_getBlockByNumber",
      [`0x${n.toString(16)}`, true],
    );
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() === signer.toLowerCase())
        found.push({ hash: tx.hash, nonce: Number(tx.nonce), block: n });
    }
  }
  return found;
}

/** Pending transactions from `signer` in the node's mempool. */
async function pendingFrom(world: FailoverWorld, signer: string): Promise<string[]> {
  const block = await world.chain.rpc<{ transactions: { hash: string; from: string }[] }>("eth_getBlockByNumber", [
    "pending",
    true,
  ]);
  return block.transactions.filter((tx) => tx.from.toLowerCase() === signer.toLowerCase()).map((tx) => tx.hash);
}

// --- the scenarios -------------------------------------------------------------------------------

type Scenario = (world: FailoverWorld) => Promise<ScenarioResult>;

/** Whatever a scenario leaves behind on failure is undone here: nothing paused, the chain mining. */
async function guarded<T>(world: FailoverWorld, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await world.chain.setAutomine(true).catch(() => undefined);
    for (const i of world.cluster.instances) if (i.paused) i.resume();
  }
}

const apiUrls = (world: FailoverWorld) => () => world.cluster.apiUrls();

/** (a) kill -9 the active worker while its batch transaction waits in the mempool. */
export const workerKill: Scenario = (world) =>
  guarded(world, async () => {
    const { worker: active, lease } = await activeWorker(world);
    const payments = await signRun(world, world.options.payments, "worker-kill");
    // Automine off: a sent transaction waits in the mempool until the scenario mines.
    await world.chain.setAutomine(false);
    const submissions = await runLoad(apiUrls(world), payments, { concurrency: 8, timeoutMs: 120_000 });
    const pending = await waitFor(
      async () => {
        const hashes = await pendingFrom(world, world.signer.address);
        return hashes.length > 0 ? hashes : undefined;
      },
      {
        what: "worker-kill: the active worker's batch transaction in the mempool",
        timeoutMs: 60_000,
        intervalMs: 100,
        detail: () => active.recent(),
      },
    );
    const killedAt = Date.now();
    const exit = await active.kill();
    world.options.log?.(
      `worker-kill: killed ${active.name} (${exit.signal}) with ${pending.length} transaction(s) pending`,
    );
    const next = await takeover(world, active, lease.epoch, killedAt);
    await world.chain.setAutomine(true);
    await world.chain.mine(1);
    const replacement = replace(world, active);
    const result = await tally(world, "worker-kill", submissions, next.seconds, {
      killed: active.name,
      killSignal: exit.signal,
      pendingAtKill: pending.length,
      newHolder: next.worker.name,
      epochs: [lease.epoch, next.lease.epoch],
    });
    await replacement;
    return result;
  });

/** (b) kill -9 one of the api instances under load; clients retry elsewhere with the same key. */
export const apiKill: Scenario = (world) =>
  guarded(world, async () => {
    await activeWorker(world);
    const [victim, survivor] = world.cluster.byRole("api").filter((i) => i.running);
    const payments = await signRun(world, world.options.payments, "api-kill");
    let strikeAt = 0;
    // Both instances stay in every client's list (a load balancer's view before its health check
    // notices): retries reach the dead one too, and move on when it does not answer.
    const urls = [victim.url!, survivor.url!];
    const submissions = await runLoad(() => urls, payments, {
      concurrency: 12,
      timeoutMs: 180_000,
      pacingMs: 5,
      during: (n) => {
        if (n === Math.floor(payments.length / 3) && strikeAt === 0) {
          strikeAt = Date.now();
          victim.child.killNow();
        }
      },
    });
    const exit = await victim.exited;
    const replacement = replace(world, victim);
    // Requests that found the dead instance silent and were then acknowledged by the survivor.
    const failedOver = submissions.filter(
      (s) => s.attempts.some((a) => a.url === victim.url && a.status === null) && s.acknowledgedBy === survivor.url,
    );
    const firstRecovery = Math.min(...failedOver.map((s) => s.acknowledgedAt!).filter((t) => t >= strikeAt));
    // Every request again, with its key, at the survivor: the first result, never a second payment.
    const again = await Promise.all(
      submissions.map(async (s) => {
        const response = await fetch(`${survivor.url}/v1/payments`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": s.key },
          body: JSON.stringify(s.payment.body),
        });
        const body = (await response.json()) as { id?: string };
        return { status: response.status, sameId: body.id?.toLowerCase() === s.payment.id.toLowerCase() };
      }),
    );
    const result = await tally(
      world,
      "api-kill",
      submissions,
      Number.isFinite(firstRecovery) ? (firstRecovery - strikeAt) / 1000 : 0,
      {
        killed: victim.name,
        killSignal: exit.signal,
        failedOver: failedOver.length,
        retriedStatuses: [...new Set(again.map((a) => a.status))],
        retriedSameIds: again.every((a) => a.sameId),
      },
    );
    await replacement;
    return result;
  });

/** (c) the PostgreSQL server stops under load (immediate: as a crash) and starts again. */
export const postgresRestart: Scenario = (world) =>
  guarded(world, async () => {
    await activeWorker(world);
    const payments = await signRun(world, world.options.payments, "postgres-restart");
    let downAt = 0;
    let upAt = 0;
    let outage: Promise<void> = Promise.resolve();
    const urls = world.cluster.apiUrls();
    const submissions = await runLoad(() => urls, payments, {
      concurrency: 6,
      timeoutMs: 180_000,
      pacingMs: 20,
      during: (n) => {
        if (n !== Math.floor(payments.length / 3) || downAt !== 0) return;
        downAt = Date.now();
        world.postgres.stop("immediate");
        world.options.log?.("postgres-restart: server stopped (immediate)");
        outage = sleep(4_000).then(() => {
          world.postgres.start();
          upAt = Date.now();
          world.options.log?.("postgres-restart: server started again");
        });
      },
    });
    await outage;
    const refused = submissions.flatMap((s) => s.attempts.filter((a) => a.status !== null && a.status >= 500));
    const codes = [...new Set(refused.map((a) => `${a.status} ${a.code ?? "?"}`))];
    const recovered = submissions.map((s) => s.acknowledgedAt ?? 0).filter((t) => t >= upAt);
    const result = await tally(
      world,
      "postgres-restart",
      submissions,
      recovered.length ? (Math.min(...recovered) - upAt) / 1000 : 0,
      {
        downSeconds: (upAt - downAt) / 1000,
        refusedWhileDown: refused.length,
        refusalCodes: codes,
        everyRefusalHasRetryAfter: refused.every((a) => a.retryAfter !== null && a.retryAfter !== undefined),
      },
    );
    result.details.readyAfter = await Promise.all(urls.map((u) => fetch(`${u}/ready`).then((r) => r.status)));
    result.details.allAlive = world.cluster.instances.filter((i) => i.running).length === 4;
    return result;
  });

/** (d) SIGSTOP the active worker, a standby takes over, SIGCONT: the old one sends nothing more. */
export const workerPause: Scenario = (world) =>
  guarded(world, async () => {
    const { worker: old, lease } = await activeWorker(world);
    const payments = await signRun(world, world.options.payments, "worker-pause");
    const third = Math.ceil(payments.length / 3);
    const urls = apiUrls(world);
    const before = await runLoad(urls, payments.slice(0, third), { concurrency: 6, timeoutMs: 60_000 });
    // Stopped with work in hand: payments it may already have batched, and new ones arriving.
    const pausedAt = Date.now();
    old.pause();
    const during = await runLoad(urls, payments.slice(third, 2 * third), { concurrency: 6, timeoutMs: 60_000 });
    const next = await takeover(world, old, lease.epoch, pausedAt);
    await waitEscrowed(
      world,
      during.map((s) => s.payment.id),
      60_000,
    );
    const mark = old.logCount;
    const resumedBlock = await world.chain.provider.getBlockNumber();
    const resumedAt = Date.now();
    old.resume();
    const after = await runLoad(urls, payments.slice(2 * third), { concurrency: 6, timeoutMs: 60_000 });
    // Long enough for the old worker's timers to fire and find the lease gone.
    await sleep(Math.max(3_000, world.options.leaseTtlMs / 2));
    const result = await tally(world, "worker-pause", [...before, ...during, ...after], next.seconds, {});
    // Every transaction of the signer mined after the SIGCONT was recorded, before it was sent,
    // under the new holder's epoch: nothing the old process signed, nothing sent unrecorded.
    const mined = await signerTransactions(world, world.signer.address, resumedBlock + 1);
    const recorded = await rows<{ tx_hash: string; epoch: string | number; sent_at: string | number }>(
      world.databaseUrl,
      "SELECT tx_hash, epoch, sent_at FROM submissions",
    );
    const epochOf = new Map(recorded.map((r) => [r.tx_hash.toLowerCase(), Number(r.epoch)]));
    const fromOld = mined.filter((tx) => (epochOf.get(tx.hash.toLowerCase()) ?? -1) < next.lease.epoch);
    const staleRecords = recorded.filter((r) => Number(r.sent_at) >= resumedAt && Number(r.epoch) < next.lease.epoch);
    const nonces = (await signerTransactions(world, world.signer.address, world.chain.deployBlock)).map((t) => t.nonce);
    result.details = {
      paused: old.name,
      newHolder: next.worker.name,
      epochs: [lease.epoch, next.lease.epoch],
      minedAfterResume: mined.length,
      oldProcessTransactions: fromOld.map((t) => t.hash),
      recordsUnderOldEpochAfterResume: staleRecords.length,
      noncesContiguous: nonces.every((n, i) => n === i),
      oldAlive: old.running,
      // What the old process said on waking: that it lost the lease and stops sending.
      oldLeaseLostAfterResume: old.logsSince(mark).some((l) => typeof l.msg === "string" && /lease lost/.test(l.msg)),
    };
    return result;
  });

export const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = {
  "worker-kill": workerKill,
  "api-kill": apiKill,
  "postgres-restart": postgresRestart,
  "worker-pause": workerPause,
};
