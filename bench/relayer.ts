/**
 * `npm run bench:relayer`: the relayer's throughput and latency, end to end on this machine.
 *
 * 1. a `hardhat node` on a free loopback port, StablePay deployed by scripts/deploy.ts;
 * 2. merchants registered (60 s hold), customers funded in the escrow (gasless EIP-3009 deposits
 *    the deployer submits, mined a few hundred per block);
 * 3. every payment pre-signed here (libsecp256k1), written one JSON body per line;
 * 4. the relayer started as its own process (src/relayer/main.ts, SQLite in a temp dir);
 * 5. a separate load process (bench/loadgen.ts) fires the acceptance runs back to back: BENCH_RUNS
 *    runs of POST /v1/payments (fresh payments each), then one run of POST /v1/payments/batch;
 * 6. waits until the relayer reports every payment escrowed, moves the chain's clock past the hold,
 *    waits until every payment is settled, and checks the chain's events: each payment escrowed
 *    exactly once, each (batch, merchant) tranche settled exactly once.
 *
 * Prints ONE JSON line on stdout (progress goes to stderr):
 * {"acceptedPerSecond":n,"ackLatencyMs":{"p50":n,"p99":n},"payments":n,"allEscrowedSeconds":n,
 *  "allSettledSeconds":n, ...extras}
 * acceptedPerSecond and the latencies are medians over the single-payment runs; the escrow and
 * settlement times run from the first request of the first phase (the warm-up). See docs/benchmarks.md.
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
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import type { Wallet } from "ethers";
import os from "node:os";
import path from "node:path";
import { DEFAULTS, type RelayerEnv } from "../src/relayer/config";
import { escrowEvents } from "../src/localnet/events";
import { orderRef, startLocalChain, type LocalChain, type Merchant, type SignedPayment } from "../src/localnet/network";
import { PROJECT_ROOT } from "../src/localnet/paths";
import { startRelayer, type RelayerProcess } from "../src/localnet/relayer";
import { waitFor } from "../src/localnet/wait";
import type { LoadgenConfig, LoadgenResult } from "./loadgen";

const env = process.env;
const int = (name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
};

const RUNS = Math.max(1, int("BENCH_RUNS", 5));
const PER_RUN = Math.max(1, int("BENCH_PAYMENTS_PER_RUN", 7_000));
const BATCH_PAYMENTS = int("BENCH_BATCH_PAYMENTS", 7_000);
/**
 * Single payments sent before the measured runs and not counted in the headline: the relayer is a
 * long-running service, and its first seconds (V8 compiling the hot paths, the first read of every
 * payer's account) are start-up, not throughput. Printed as `warmup` all the same.
 */
const WARMUP = int("BENCH_WARMUP_PAYMENTS", 2_000);
const BATCH_REQUEST_SIZE = Math.max(1, int("BENCH_BATCH_SIZE", 250));
const CONCURRENCY = Math.max(1, int("BENCH_CONCURRENCY", 128));
const BATCH_MAX_SIZE = int("BENCH_BATCH_MAX_SIZE", DEFAULTS.batchMaxSize);
const MERCHANTS = 4;
const HOLD_SECONDS = 60;
const AMOUNT = 1_000_000n; // 1.00
/** The escrow's nonce window: a payer's pending nonces must all fall in 64 consecutive values. */
const NONCE_WINDOW = 64;
/**
 * Payments per payer per run: few enough that the warm-up, five runs and the batch run fit the
 * window (10 x 5 + 10 + 3 = 63 nonces), enough to reuse cached chain reads.
 */
const PER_PAYER_PER_RUN = 10;

const log = (message: string, fields: Record<string, unknown> = {}) =>
  process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), msg: message, ...fields })}\n`);

interface Phase {
  name: string;
  mode: "single" | "batch";
  file: string;
  payments: SignedPayment[];
}

/** CPU seconds (user + system) used so far by every process whose process group is `pgid`, or by `pid`. */
function cpuSeconds(filter: { pid?: number; pgid?: number }): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const read = (pid: string) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // fields[0] is state (field 3); pgrp is field 5, utime 14, stime 15.
      const pgrp = Number(fields[2]);
      if (filter.pid !== undefined && Number(pid) !== filter.pid) return;
      if (filter.pgid !== undefined && pgrp !== filter.pgid) return;
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
  relayer: number;
  chain: number;
  loadgen: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Payments by relayer state, from the relayer's Prometheus gauge. */
async function stateCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^relayer_payments\{state="([a-z]+)"\} (\d+)/gm))
    counts[match[1]] = Number(match[2]);
  return counts;
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
  const phases: Phase[] = [];
  let firstNonce = 0;
  for (const { name, mode, count } of plan) {
    const payments: SignedPayment[] = [];
    // Interleaved by payer (nonce-major): concurrent requests come from different payers, as in real traffic.
    for (let n = 0; payments.length < count; n++) {
      for (let i = 0; i < customers.length && payments.length < count; i++) {
        const nonce = BigInt(firstNonce + n);
        payments.push(
          chain.signPayment(customers[i], {
            merchantId: merchants[(i + n) % merchants.length].id,
            amount: AMOUNT,
            orderRef: orderRef(`bench-${name}-${i}-${nonce}`),
            nonce,
            validAfter: 0n,
            deadline,
          }),
        );
      }
    }
    firstNonce += Math.ceil(count / customers.length);
    const file = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(file, payments.map((p) => JSON.stringify(p.body)).join("\n") + "\n");
    phases.push({ name, mode, file, payments });
  }
  if (firstNonce > NONCE_WINDOW)
    throw new Error(`payers need ${firstNonce} nonces each; the window holds ${NONCE_WINDOW}`);
  return phases;
}

function runLoadgen(
  config: LoadgenConfig,
  onResult: (result: LoadgenResult) => void,
  onSpawn: (pid: number) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        require.resolve("ts-node/dist/bin.js"),
        "--transpile-only",
        path.join(PROJECT_ROOT, "bench", "loadgen.ts"),
        JSON.stringify(config),
      ],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    onSpawn(child.pid!);
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) onResult(JSON.parse(line) as LoadgenResult);
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(child.pid!) : reject(new Error(`loadgen exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-relayer-"));
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-proc-"));
  log("starting a hardhat node and deploying");
  const chain = await startLocalChain();
  // `hardhat node` prints every call it serves; nobody reads that here, and it shares the cores.
  if (env.BENCH_NODE_LOG !== "1") await chain.rpc("hardhat_setLoggingEnabled", [false]);
  if (env.BENCH_CHAIN_NICE) execFileSync("renice", ["-n", env.BENCH_CHAIN_NICE, "-g", String(chain.node.process.pid)]);
  let relayer: RelayerProcess | null = null;
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

    const key = await chain.fundedKey();
    const relayerEnv: RelayerEnv = {
      RPC_URL: chain.url,
      DEPLOYMENTS_FILE: chain.deploymentsFile,
      RELAYER_DB: path.join(dbDir, "relayer.sqlite"),
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
    Object.assign(relayerEnv, JSON.parse(env.BENCH_RELAYER_ENV ?? "{}") as RelayerEnv);
    const nodeArgs = env.BENCH_CPU_PROFILE
      ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(env.BENCH_CPU_PROFILE)}`]
      : [];
    if (env.BENCH_NODE_ARGS) nodeArgs.push(...env.BENCH_NODE_ARGS.split(" ").filter(Boolean));
    relayer = await startRelayer({ env: relayerEnv, nodeArgs, startTimeoutMs: 90_000, ownGroup: false });
    const relayerPid = relayer.child.pid!;
    const chainPgid = chain.node.process.pid!;
    log("relayer started", { url: relayer.url });

    // CPU of each process, sampled through the runs (to tell who is the bottleneck).
    const samples: CpuSample[] = [];
    let loadgenPid = 0;
    const sample = () =>
      samples.push({
        at: Date.now(),
        relayer: cpuSeconds({ pid: relayerPid }),
        chain: cpuSeconds({ pgid: chainPgid }),
        loadgen: loadgenPid ? cpuSeconds({ pid: loadgenPid }) : 0,
      });
    const sampler = setInterval(sample, 200);

    const cpuDuring = (r: LoadgenResult) => {
      const within = samples.filter((s) => s.at >= r.startedAt && s.at <= r.startedAt + r.durationMs);
      if (within.length < 2) return null;
      const [a, b] = [within[0], within[within.length - 1]];
      const seconds = (b.at - a.at) / 1000;
      const pct = (x: number, y: number) => Math.round(((y - x) / seconds) * 100);
      return { relayer: pct(a.relayer, b.relayer), chain: pct(a.chain, b.chain), loadgen: pct(a.loadgen, b.loadgen) };
    };
    const results: (LoadgenResult & { phase: string })[] = [];
    await runLoadgen(
      {
        url: relayer.url,
        concurrency: CONCURRENCY,
        phases: phases.map((p) => ({ file: p.file, mode: p.mode, batchSize: BATCH_REQUEST_SIZE })),
      },
      (result) => {
        const phase = phases[results.length];
        results.push({ ...result, phase: phase.name });
        log("acceptance run", { phase: phase.name, ...result });
      },
      (pid) => (loadgenPid = pid),
    );
    const accepted = results.reduce((n, r) => n + r.accepted, 0);
    const firstRequest = results[0].startedAt;
    if (env.BENCH_ACCEPT_ONLY === "1") {
      clearInterval(sampler);
      const cpu = results.map((r) => ({ phase: r.phase, cpu: cpuDuring(r) }));
      process.stdout.write(JSON.stringify({ acceptOnly: true, results, cpu }) + "\n");
      return;
    }

    const counts = async () => stateCounts(relayer!.url);
    const escrowedAt = await waitFor(
      async () => {
        const c = await counts();
        return (c.escrowed ?? 0) + (c.settled ?? 0) >= accepted ? Date.now() : null;
      },
      {
        what: `${accepted} payments escrowed`,
        timeoutMs: 900_000,
        detail: async () => JSON.stringify(await counts()),
      },
    );
    log("all escrowed", { seconds: (escrowedAt - firstRequest) / 1000 });
    await chain.increaseTime(HOLD_SECONDS + 1);
    const settledAt = await waitFor(async () => ((await counts()).settled ?? 0) >= accepted && Date.now(), {
      what: `${accepted} payments settled`,
      timeoutMs: 600_000,
      detail: async () => JSON.stringify(await counts()),
    });
    clearInterval(sampler);
    log("all settled", { seconds: (settledAt - firstRequest) / 1000 });

    // The chain's word: every payment escrowed exactly once, every tranche settled exactly once.
    const events = await escrowEvents(chain);
    const all = phases.flatMap((p) => p.payments);
    const escrowedOnce = all.filter((p) => events.escrowed.get(p.id)?.count === 1).length;
    const tranches = new Set(all.map((p) => `${events.escrowed.get(p.id)?.batchId}:${p.payment.merchantId}`));
    const settledOnce = [...tranches].filter((t) => events.settled.get(t) === 1).length;
    const verified = escrowedOnce === all.length && settledOnce === tranches.size && events.rejected.size === 0;

    const single = results.filter((r) => r.phase.startsWith("run-"));
    const batch = results.find((r) => r.phase === "batch");
    const warmup = results.find((r) => r.phase === "warmup");
    const output = {
      acceptedPerSecond: Math.round(median(single.map((r) => r.acceptedPerSecond))),
      ackLatencyMs: {
        p50: median(single.map((r) => r.latencyMs.p50)),
        p99: median(single.map((r) => r.latencyMs.p99)),
      },
      payments: all.length,
      allEscrowedSeconds: Math.round((escrowedAt - firstRequest) / 100) / 10,
      allSettledSeconds: Math.round((settledAt - firstRequest) / 100) / 10,
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
      verifiedOnChain: verified,
      escrowedOnce,
      rejectedOnChain: events.rejected.size,
      tranchesSettled: settledOnce,
      concurrency: CONCURRENCY,
      customers: customers.length,
      merchants: MERCHANTS,
      relayerBatchMaxSize: BATCH_MAX_SIZE,
      cores: os.cpus().length,
      loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
      loadAverageAfter: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };
    process.stdout.write(JSON.stringify(output) + "\n");
    if (!verified) process.exitCode = 1;
  } catch (error) {
    log("chain node output (tail)", { tail: chain.node.log().slice(-2_000) });
    throw error;
  } finally {
    if (relayer) await relayer.stop(30_000);
    await chain.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log("benchmark failed", { err: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
