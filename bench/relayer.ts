/**
 * `npm run bench:relayer`: the relayer's throughput and latency, end to end on this machine.
 *
 * 1. a `hardhat node` on a free loopback port, StablePay deployed by scripts/deploy.ts;
 * 2. merchants registered (60 s hold), customers funded in the escrow (gasless EIP-3009 deposits
 *    the deployer submits, mined a few hundred per block);
 * 3. every payment pre-signed in worker threads (libsecp256k1; bench/lib/signing.ts says why not on
 *    this thread), written one JSON body per line; then `recoversPerSecondOneCore` measured on the
 *    relayer's own recovery path (bench/lib/recovery.ts) while nothing else of the bench runs;
 * 4. the relayer started as its own process (src/relayer/main.ts, SQLite in a temp dir), or with
 *    `--store postgres --api-instances n` as n `api` processes and one `worker` on a fresh
 *    PostgreSQL database (bench/lib/layout.ts);
 * 5. a separate load process (bench/loadgen.ts) fires the acceptance runs back to back, spread over
 *    the api instances: BENCH_RUNS
 *    runs of POST /v1/payments (fresh payments each), then one run of POST /v1/payments/batch;
 * 6. waits until the relayer reports every payment escrowed, moves the chain's clock past the hold,
 *    waits until every payment is settled, and checks the chain's events: each payment escrowed
 *    exactly once, each (batch, merchant) tranche settled exactly once; and the store's: every
 *    acknowledged payment held exactly once (`lost`, `duplicates`).
 *
 * Flags (after `npm run bench:relayer --`): `--store sqlite|postgres` (default sqlite),
 * `--api-instances n` (default 1; with postgres, default 2), `--node hardhat|anvil` (default hardhat).
 *
 * Prints ONE JSON line on stdout (progress goes to stderr):
 * {"acceptedPerSecond":n,"ackLatencyMs":{"p50":n,"p99":n},"payments":n,"allEscrowedSeconds":n,
 *  "allSettledSeconds":n, ...extras}
 * acceptedPerSecond and the latencies are medians over the single-payment runs; the escrow and
 * settlement times run from the first request of the first phase (the warm-up). Also `store`,
 * `apiInstances`, `node`, `lost`, `duplicates`, `recoversPerSecondOneCore`, `ratios` (accepted
 * per second, single and batch, over it), `cpuMicrosPerPayment` per relayer process (its CPU
 * during the single-payment runs / the payments they accepted) and `cpuRecoveriesPerPayment` (the
 * same in recoveries), `postgresCpuMicrosPerPayment` (the PostgreSQL server's processes, sampled),
 * and `recoversPerSecondAfter` with `referenceDrift`: the reference measured again once everything
 * is settled, and how far it moved. See docs/benchmarks.md.
 *
 * Environment: BENCH_RUNS (5), BENCH_PAYMENTS_PER_RUN (7000), BENCH_BATCH_PAYMENTS (7000; 0 skips
 * the batch run), BENCH_WARMUP_PAYMENTS (2000 single payments before the runs, not in the medians), BENCH_BATCH_SIZE (250 payments per batch request), BENCH_CONCURRENCY (128),
 * BENCH_BATCH_MAX_SIZE (the relayer's BATCH_MAX_SIZE, default 400), BENCH_CPU_PROFILE=<dir> writes a V8
 * CPU profile of the relayer there (on its graceful stop), BENCH_NODE_ARGS='<flags>' adds Node.js flags
 * to the relayer's command line (space-separated, e.g. '--perf-basic-prof' for `perf record`), BENCH_RELAYER_ENV='{"NAME":"value"}'
 * overrides the relayer's environment (e.g. '{"BATCH_MAX_AGE_MS":"600000"}' to measure intake alone;
 * the run then waits for escrow forever, so pair it with BENCH_ACCEPT_ONLY=1), BENCH_NODE_LOG=1 keeps
 * the hardhat node's per-call console log on (off by default: nothing reads it during the bench).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import type { Wallet } from "ethers";
import { Client } from "pg";
import os from "node:os";
import path from "node:path";
import { DEFAULTS, type RelayerEnv } from "../src/relayer/config";
import { escrowEvents } from "../src/localnet/events";
import { startLocalChain, type LocalChain, type Merchant, type SignedPayment } from "../src/localnet/network";
import { createDatabase, dropDatabase, ensurePostgres } from "../src/localnet/postgres";
import { waitFor } from "../src/localnet/wait";
import { assertLayoutSupported, launchLayout, stopLayout, type BenchRelayer } from "./lib/layout";
import { measureRecoversPerSecond } from "./lib/recovery";
import { signInWorkers, type PaymentPlan } from "./lib/signing";
import {
  checkAcknowledged,
  postgresReader,
  postgresWriteStats,
  sqliteReader,
  type StoreReader,
} from "./lib/storeCheck";
import { processCpuSeconds, type LoadgenResult } from "./loadgen";
import { runLoadgen } from "./lib/loadgenProcess";
import { envInt, log, median } from "./lib/knobs";

const env = process.env;

/** `--name value` from the command line, or undefined. */
function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const at = args.indexOf(`--${name}`);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`);
  return value;
}
function choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const value = flag(name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`--${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}
const STORE = choice("store", ["sqlite", "postgres"] as const, "sqlite");
const NODE = choice("node", ["hardhat", "anvil"] as const, "hardhat");
const API_INSTANCES = (() => {
  const raw = flag("api-instances");
  const value = raw === undefined ? (STORE === "postgres" ? 2 : 1) : Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error("--api-instances must be a positive integer");
  return value;
})();
/** api instances and a worker as separate processes (always for PostgreSQL; SQLite only if asked). */
const SPLIT = STORE === "postgres" || API_INSTANCES > 1;

const RUNS = Math.max(1, envInt("BENCH_RUNS", 5));
const PER_RUN = Math.max(1, envInt("BENCH_PAYMENTS_PER_RUN", 7_000));
const BATCH_PAYMENTS = envInt("BENCH_BATCH_PAYMENTS", 7_000);
/**
 * Single payments sent before the measured runs and not counted in the headline: the relayer is a
 * long-running service, and its first seconds (V8 compiling the hot paths, the first read of every
 * payer's account) are start-up, not throughput. Printed as `warmup` all the same.
 */
const WARMUP = envInt("BENCH_WARMUP_PAYMENTS", 2_000);
const BATCH_REQUEST_SIZE = Math.max(1, envInt("BENCH_BATCH_SIZE", 250));
const CONCURRENCY = Math.max(1, envInt("BENCH_CONCURRENCY", 128));
const BATCH_MAX_SIZE = envInt("BENCH_BATCH_MAX_SIZE", DEFAULTS.batchMaxSize);
const MERCHANTS = 4;
/** No state change in the store for this long while waiting for escrow fails the run. */
const STALL_MS = 120_000;
const HOLD_SECONDS = 60;
const AMOUNT = 1_000_000n; // 1.00
/** The escrow's nonce window: a payer's pending nonces must all fall in 64 consecutive values. */
const NONCE_WINDOW = 64;
/**
 * Payments per payer per run: few enough that the warm-up, five runs and the batch run fit the
 * window (10 x 5 + 10 + 3 = 63 nonces), enough to reuse cached chain reads.
 */
const PER_PAYER_PER_RUN = 10;

interface Phase {
  name: string;
  mode: "single" | "batch";
  file: string;
  payments: SignedPayment[];
}

/**
 * CPU seconds (user + system) used so far by every process whose process group is `pgid`, by `pid`,
 * or by `server` and its children (a PostgreSQL server: the postmaster and its backends).
 */
function cpuSeconds(filter: { pid?: number; pgid?: number; server?: number }): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const read = (pid: string) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // fields[0] is state (field 3); ppid is field 4, pgrp 5, utime 14, stime 15.
      const ppid = Number(fields[1]);
      const pgrp = Number(fields[2]);
      if (filter.pid !== undefined && Number(pid) !== filter.pid) return;
      if (filter.pgid !== undefined && pgrp !== filter.pgid) return;
      if (filter.server !== undefined && Number(pid) !== filter.server && ppid !== filter.server) return;
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // gone
    }
  };
  if (filter.pid !== undefined) read(String(filter.pid));
  else for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) read(pid);
  return total;
}

interface CpuSample {
  at: number;
  /** All relayer processes together. */
  relayer: number;
  relayers: Record<string, number>;
  chain: number;
  loadgen: number;
  /** The PostgreSQL server (0 with SQLite). */
  postgres: number;
}

async function signPhases(
  chain: LocalChain,
  merchants: Merchant[],
  customers: Wallet[],
  dir: string,
): Promise<Phase[]> {
  const deadline = (await chain.chainTime()) + 30n * 86_400n;
  const plan: { name: string; mode: "single" | "batch"; count: number }[] = [
    ...(WARMUP > 0 ? [{ name: "warmup", mode: "single" as const, count: WARMUP }] : []),
    ...Array.from({ length: RUNS }, (_, i) => ({ name: `run-${i + 1}`, mode: "single" as const, count: PER_RUN })),
    ...(BATCH_PAYMENTS > 0 ? [{ name: "batch", mode: "batch" as const, count: BATCH_PAYMENTS }] : []),
  ];
  const items: PaymentPlan[] = [];
  const bounds: { name: string; mode: "single" | "batch"; from: number; to: number }[] = [];
  let firstNonce = 0;
  for (const { name, mode, count } of plan) {
    const from = items.length;
    // Interleaved by payer (nonce-major): concurrent requests come from different payers, as in real traffic.
    for (let n = 0; items.length - from < count; n++) {
      for (let i = 0; i < customers.length && items.length - from < count; i++) {
        const nonce = BigInt(firstNonce + n);
        items.push({
          payer: i,
          merchantId: merchants[(i + n) % merchants.length].id,
          nonce,
          hold: BigInt(HOLD_SECONDS),
          orderLabel: `bench-${name}-${i}-${nonce}`,
        });
      }
    }
    firstNonce += Math.ceil(count / customers.length);
    bounds.push({ name, mode, from, to: items.length });
  }
  if (firstNonce > NONCE_WINDOW)
    throw new Error(`payers need ${firstNonce} nonces each; the window holds ${NONCE_WINDOW}`);
  const signed = await signInWorkers(
    { chainId: chain.chainId, escrow: chain.escrowAddress },
    customers,
    AMOUNT,
    deadline,
    items,
  );
  return bounds.map(({ name, mode, from, to }) => {
    const payments = signed.slice(from, to);
    const file = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(file, payments.map((p) => JSON.stringify(p.body)).join("\n") + "\n");
    return { name, mode, file, payments };
  });
}

/** The local chain the run uses: `hardhat node` (automining) or Anvil (a block per transaction). */
async function startChain(): Promise<LocalChain> {
  return startLocalChain({ node: NODE });
}

/** A fresh PostgreSQL database for the run (src/localnet/postgres.ts): its URL, and how to drop it afterwards. */
async function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = await ensurePostgres();
  const name = `bench_e_${process.pid}_${Date.now()}`;
  const url = await createDatabase(server.url, name);
  return {
    url,
    async drop() {
      await dropDatabase(server.url, name);
      await server.stop();
    },
  };
}

async function main(): Promise<void> {
  assertLayoutSupported(SPLIT);
  const loadBefore = os.loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-relayer-"));
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-proc-"));
  log("starting the chain and deploying", { node: NODE, store: STORE, apiInstances: SPLIT ? API_INSTANCES : 1 });
  const chain = await startChain();
  // `hardhat node` prints every call it serves; nobody reads that here, and it shares the cores.
  if (NODE === "hardhat" && env.BENCH_NODE_LOG !== "1") await chain.rpc("hardhat_setLoggingEnabled", [false]);
  if (env.BENCH_CHAIN_NICE) execFileSync("renice", ["-n", env.BENCH_CHAIN_NICE, "-g", String(chain.node.process.pid)]);
  let relayers: BenchRelayer[] = [];
  let database: { url: string; drop(): Promise<void> } | null = null;
  let reader: StoreReader | null = null;
  try {
    const merchants: Merchant[] = [];
    for (let i = 0; i < MERCHANTS; i++) merchants.push(await chain.registerMerchant(HOLD_SECONDS));
    const phasesPlanned = RUNS + (BATCH_PAYMENTS > 0 ? 1 : 0) + (WARMUP > 0 ? 1 : 0);
    const largest = Math.max(PER_RUN, BATCH_PAYMENTS);
    const customerCount = Math.ceil(largest / PER_PAYER_PER_RUN);
    const noncesPerPayer =
      Math.ceil(PER_RUN / customerCount) * RUNS +
      Math.ceil(BATCH_PAYMENTS / customerCount) +
      Math.ceil(WARMUP / customerCount);
    log("funding customers", { customers: customerCount, phases: phasesPlanned, noncesPerPayer });
    let started = Date.now();
    // Twice what they spend: intake counts a payment both in the chain balance it reads and as
    // pending until the watcher has seen it escrowed, so exact funding would refuse the last ones.
    const customers = await chain.fundCustomers(customerCount, 2n * AMOUNT * BigInt(noncesPerPayer));
    log("customers funded", { seconds: (Date.now() - started) / 1000 });

    started = Date.now();
    const phases = await signPhases(chain, merchants, customers, work);
    const total = phases.reduce((n, p) => n + p.payments.length, 0);
    log("payments signed", { payments: total, seconds: (Date.now() - started) / 1000 });

    // Before any relayer runs: the machine's speed at the one step intake cannot skip.
    const recovery = await measureRecoversPerSecond(phases[0].payments);
    log("recoveries per second on one core", recovery);

    const key = await chain.fundedKey();
    const relayerEnv: RelayerEnv = {
      RPC_URL: chain.url,
      DEPLOYMENTS_FILE: chain.deploymentsFile,
      RELAYER_PORT: "0",
      RELAYER_PRIVATE_KEY: key.privateKey,
      // One client IP sends everything: the per-IP limit (a production default) would answer 429.
      RATE_LIMIT_PER_SECOND: "10000000",
      RATE_LIMIT_BURST: "10000000",
      BATCH_MAX_SIZE: String(BATCH_MAX_SIZE),
      // The settler's default (30 s) would only add waiting after the hold; the rest are defaults.
      SETTLE_INTERVAL_MS: "1000",
      LOG_LEVEL: "warn",
    };
    const sqliteFile = path.join(dbDir, "relayer.sqlite");
    if (STORE === "postgres") {
      database = await createBenchDatabase();
      relayerEnv.DATABASE_URL = database.url;
      // Every instance encrypts webhook secrets under one shared key (required with PostgreSQL).
      relayerEnv.RELAYER_SECRET_KEY = randomBytes(32).toString("hex");
    } else {
      relayerEnv.RELAYER_DB = sqliteFile;
    }
    Object.assign(relayerEnv, JSON.parse(env.BENCH_RELAYER_ENV ?? "{}") as RelayerEnv);
    const nodeArgs = env.BENCH_CPU_PROFILE
      ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(env.BENCH_CPU_PROFILE)}`]
      : [];
    if (env.BENCH_NODE_ARGS) nodeArgs.push(...env.BENCH_NODE_ARGS.split(" ").filter(Boolean));
    relayers = await launchLayout({
      split: SPLIT,
      apiInstances: API_INSTANCES,
      env: relayerEnv,
      nodeArgs,
      onStarted: (r) => log("relayer started", { name: r.name, role: r.role, url: r.url, pid: r.pid }),
    });
    reader = database ? await postgresReader(database.url) : sqliteReader(sqliteFile);
    const apiUrls = relayers.filter((r) => r.url !== null).map((r) => r.url!);
    const chainPgid = chain.node.process.pid!;

    // The PostgreSQL server's own CPU counts too: it shares the cores (its postmaster is the parent
    // of the backend that answers this query).
    const postmaster = database ? await postmasterPid(database.url) : 0;
    // CPU of each process, sampled through the runs (to tell who is the bottleneck).
    const samples: CpuSample[] = [];
    let loadgenPid = 0;
    const sample = () => {
      const relayerCpu: Record<string, number> = {};
      for (const r of relayers) relayerCpu[r.name] = processCpuSeconds(r.pid);
      samples.push({
        at: Date.now(),
        relayer: Object.values(relayerCpu).reduce((a, b) => a + b, 0),
        relayers: relayerCpu,
        chain: cpuSeconds({ pgid: chainPgid }),
        loadgen: loadgenPid ? cpuSeconds({ pid: loadgenPid }) : 0,
        postgres: postmaster ? cpuSeconds({ server: postmaster }) : 0,
      });
    };
    const sampler = setInterval(sample, 200);

    /** The PostgreSQL server's CPU during `runs` (from the samples) per payment they accepted. */
    const serverMicros = (runs: LoadgenResult[]) => {
      let seconds = 0;
      for (const r of runs) {
        const within = samples.filter((s) => s.at >= r.startedAt && s.at <= r.startedAt + r.durationMs);
        if (within.length >= 2) seconds += within[within.length - 1].postgres - within[0].postgres;
      }
      const accepted = runs.reduce((n, r) => n + r.accepted, 0);
      return accepted > 0 ? Math.round((seconds / accepted) * 1e6) : 0;
    };
    const cpuDuring = (r: LoadgenResult) => {
      const within = samples.filter((s) => s.at >= r.startedAt && s.at <= r.startedAt + r.durationMs);
      if (within.length < 2) return null;
      const [a, b] = [within[0], within[within.length - 1]];
      const seconds = (b.at - a.at) / 1000;
      const pct = (x: number, y: number) => Math.round(((y - x) / seconds) * 100);
      return {
        relayer: pct(a.relayer, b.relayer),
        ...(relayers.length > 1
          ? Object.fromEntries(relayers.map((p) => [p.name, pct(a.relayers[p.name], b.relayers[p.name])]))
          : {}),
        chain: pct(a.chain, b.chain),
        loadgen: pct(a.loadgen, b.loadgen),
        ...(postmaster ? { postgres: pct(a.postgres, b.postgres) } : {}),
      };
    };
    const results: (LoadgenResult & { phase: string })[] = [];
    await runLoadgen(
      {
        url: apiUrls[0],
        urls: apiUrls,
        concurrency: CONCURRENCY,
        cpuPids: Object.fromEntries(relayers.map((r) => [r.name, r.pid])),
        phases: phases.map((p) => ({ file: p.file, mode: p.mode, batchSize: BATCH_REQUEST_SIZE })),
      },
      (result) => {
        const phase = phases[results.length];
        results.push({ ...result, phase: phase.name });
        const { unacknowledged, ...shown } = result;
        log("acceptance run", { phase: phase.name, ...shown, unacknowledged: unacknowledged.length });
      },
      (pid) => (loadgenPid = pid),
    );
    const accepted = results.reduce((n, r) => n + r.accepted, 0);
    const firstRequest = results[0].startedAt;
    // Acknowledged: a 201 or 200 came back for it (the loadgen lists the lines that got neither).
    const acknowledged = phases.flatMap((phase, i) => {
      const missed = new Set(results[i].unacknowledged);
      return phase.payments.filter((_, line) => !missed.has(line));
    });
    if (env.BENCH_ACCEPT_ONLY === "1") {
      clearInterval(sampler);
      const cpu = results.map((r) => ({ phase: r.phase, cpu: cpuDuring(r) }));
      const check = await checkAcknowledged(reader, acknowledged.map(ackKey));
      process.stdout.write(
        JSON.stringify({
          acceptOnly: true,
          store: STORE,
          apiInstances: apiUrls.length,
          node: NODE,
          recoversPerSecondOneCore: recovery.recoversPerSecond,
          lost: check.lost,
          duplicates: check.duplicates,
          results: results.map(({ unacknowledged, ...r }) => ({ ...r, unacknowledged: unacknowledged.length })),
          cpuMicrosPerPayment: cpuMicros(results.filter((r) => r.phase.startsWith("run-"))),
          cpu,
        }) + "\n",
      );
      return;
    }

    const counts = () => reader!.countByState();
    // A pipeline that stops moving (e.g. no submitter can send) fails the run with its counts
    // instead of waiting out the whole timeout.
    let progress = { key: "", at: Date.now() };
    const escrowedAt = await waitFor(
      async () => {
        const c = await counts();
        if ((c.escrowed ?? 0) + (c.settled ?? 0) >= accepted) return Date.now();
        const key = JSON.stringify(c);
        if (key !== progress.key) progress = { key, at: Date.now() };
        else if (Date.now() - progress.at > STALL_MS)
          throw new Error(`no payment changed state for ${STALL_MS / 1000} s: ${key}`);
        return null;
      },
      {
        what: `${accepted} payments escrowed`,
        timeoutMs: 900_000,
        intervalMs: 250,
        detail: async () => JSON.stringify(await counts()),
      },
    );
    log("all escrowed", { seconds: (escrowedAt - firstRequest) / 1000 });
    await chain.increaseTime(HOLD_SECONDS + 1);
    const settledAt = await waitFor(async () => ((await counts()).settled ?? 0) >= accepted && Date.now(), {
      what: `${accepted} payments settled`,
      timeoutMs: 600_000,
      intervalMs: 250,
      detail: async () => JSON.stringify(await counts()),
    });
    clearInterval(sampler);
    log("all settled", { seconds: (settledAt - firstRequest) / 1000 });
    // Once more with the relayer idle: these machines' speed drifts within minutes, and a run whose
    // reference moved this much is read as noise, not as a change of the relayer.
    const recoveryAfter = await measureRecoversPerSecond(phases[0].payments);
    log("recoveries per second on one core, after the runs", recoveryAfter);

    // The chain's word: every payment escrowed exactly once, every tranche settled exactly once.
    const events = await escrowEvents(chain);
    const all = phases.flatMap((p) => p.payments);
    const escrowedOnce = all.filter((p) => events.escrowed.get(p.id)?.count === 1).length;
    const tranches = new Set(all.map((p) => `${events.escrowed.get(p.id)?.batchId}:${p.payment.merchantId}`));
    const settledOnce = [...tranches].filter((t) => events.settled.get(t) === 1).length;
    const verified = escrowedOnce === all.length && settledOnce === tranches.size && events.rejected.size === 0;

    // The store's word on what was acknowledged, and the chain's: lost if missing from either,
    // duplicated if held or escrowed more than once.
    const check = await checkAcknowledged(reader, acknowledged.map(ackKey));
    const notEscrowed = acknowledged.filter((p) => (events.escrowed.get(p.id)?.count ?? 0) === 0).length;
    const escrowedTwice = acknowledged.reduce(
      (n, p) => n + Math.max(0, (events.escrowed.get(p.id)?.count ?? 0) - 1),
      0,
    );
    const lost = Math.max(check.lost, notEscrowed);
    const duplicates = check.duplicates + escrowedTwice;

    // PostgreSQL's load per payment, for docs/capacity.md: whole run (intake to settlement).
    let postgres: { rowWritesPerPayment: number; commitsPerPayment: number } | null = null;
    if (database) {
      await reader.close();
      reader = null;
      await stopLayout(relayers);
      const stats = await postgresWriteStats(database.url);
      postgres = {
        rowWritesPerPayment: Math.round((stats.rowWrites / all.length) * 100) / 100,
        commitsPerPayment: Math.round((stats.commits / all.length) * 100) / 100,
      };
    }

    const single = results.filter((r) => r.phase.startsWith("run-"));
    const batch = results.find((r) => r.phase === "batch");
    const warmup = results.find((r) => r.phase === "warmup");
    const acceptedPerSecond = Math.round(median(single.map((r) => r.acceptedPerSecond)));
    const ratio = (perSecond: number) => Math.round((perSecond / recovery.recoversPerSecond) * 1000) / 1000;
    const output = {
      acceptedPerSecond,
      ackLatencyMs: {
        p50: median(single.map((r) => r.latencyMs.p50)),
        p99: median(single.map((r) => r.latencyMs.p99)),
      },
      payments: all.length,
      allEscrowedSeconds: Math.round((escrowedAt - firstRequest) / 100) / 10,
      allSettledSeconds: Math.round((settledAt - firstRequest) / 100) / 10,
      store: STORE,
      apiInstances: apiUrls.length,
      node: NODE,
      lost,
      duplicates,
      recoversPerSecondOneCore: recovery.recoversPerSecond,
      microsPerRecover: recovery.microsPerRecover,
      recoversPerCpuSecond: recovery.recoversPerCpuSecond,
      recoversPerSecondAfter: recoveryAfter.recoversPerSecond,
      referenceDrift: Math.round((recoveryAfter.recoversPerSecond / recovery.recoversPerSecond - 1) * 1000) / 1000,
      // The bars: these figures as a share of what one core recovers per second.
      ratios: {
        acceptedPerSecond: ratio(acceptedPerSecond),
        ...(batch ? { batchAcceptedPerSecond: ratio(batch.acceptedPerSecond) } : {}),
      },
      cpuMicrosPerPayment: cpuMicros(single),
      ...(postmaster ? { postgresCpuMicrosPerPayment: serverMicros(single) } : {}),
      // The same CPU in recoveries (microsPerRecover): comparable across machines and drift.
      cpuRecoveriesPerPayment: inRecoveries(cpuMicros(single), recovery.microsPerRecover),
      ...(postgres ? { postgres } : {}),
      ...(batch ? { batchCpuMicrosPerPayment: cpuMicros([batch]) } : {}),
      runs: single.map((r) => ({
        payments: r.payments,
        accepted: r.accepted,
        failed: r.failed,
        errors: r.errors,
        acceptedPerSecond: r.acceptedPerSecond,
        latencyMs: r.latencyMs,
        cpuPercent: cpuDuring(r),
      })),
      ...(warmup
        ? {
            warmup: {
              payments: warmup.payments,
              acceptedPerSecond: warmup.acceptedPerSecond,
              latencyMs: warmup.latencyMs,
              cpuPercent: cpuDuring(warmup),
            },
          }
        : {}),
      ...(batch
        ? {
            batchAcceptedPerSecond: batch.acceptedPerSecond,
            batchRequestLatencyMs: batch.latencyMs,
            batchPaymentsPerRequest: BATCH_REQUEST_SIZE,
            batchCpuPercent: cpuDuring(batch),
          }
        : {}),
      accepted,
      acknowledged: acknowledged.length,
      verifiedOnChain: verified,
      escrowedOnce,
      rejectedOnChain: events.rejected.size,
      tranchesSettled: settledOnce,
      concurrency: CONCURRENCY,
      customers: customers.length,
      merchants: MERCHANTS,
      relayerBatchMaxSize: BATCH_MAX_SIZE,
      recoverRounds: recovery.rounds,
      cores: os.cpus().length,
      loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
      loadAverageAfter: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };
    process.stdout.write(JSON.stringify(output) + "\n");
    if (!verified || lost > 0 || duplicates > 0) process.exitCode = 1;
  } catch (error) {
    log("chain node output (tail)", { tail: chain.node.log().slice(-2_000) });
    for (const r of relayers) log("relayer stderr (tail)", { name: r.name, tail: r.stderr().slice(-2_000) });
    throw error;
  } finally {
    await reader?.close();
    await stopLayout(relayers);
    await chain.stop();
    await database?.drop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

const ackKey = (p: SignedPayment) => ({ id: p.id, payer: p.payment.payer, nonce: p.payment.nonce });

/** µs of CPU per accepted payment of each relayer process over `runs` (from the loadgen's /proc reads). */
function cpuMicros(runs: LoadgenResult[]): Record<string, number> {
  const acceptedInRuns = runs.reduce((n, r) => n + r.accepted, 0);
  const out: Record<string, number> = {};
  if (acceptedInRuns === 0) return out;
  for (const name of Object.keys(runs[0]?.cpuSeconds ?? {})) {
    const seconds = runs.reduce((n, r) => n + (r.cpuSeconds[name] ?? 0), 0);
    out[name] = Math.round((seconds / acceptedInRuns) * 1e6);
  }
  if (Object.keys(out).length > 1) out.total = Object.values(out).reduce((a, b) => a + b, 0);
  return out;
}

/** The PostgreSQL server's process, as the parent of a backend. */
async function postmasterPid(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const stat = fs.readFileSync(`/proc/${rows[0].pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } finally {
    await client.end();
  }
}

/** CPU microseconds per payment as multiples of one recovery's time, to one decimal. */
function inRecoveries(micros: Record<string, number>, microsPerRecover: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(micros).map(([name, us]) => [name, Math.round((us / microsPerRecover) * 10) / 10]),
  );
}

main().catch((error: unknown) => {
  log("benchmark failed", { err: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
