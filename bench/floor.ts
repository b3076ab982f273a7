/**
 * `npm run bench:floor`: the floor under bench:relayer's acceptance rate. The same pre-signed
 * payments and the same load generator (bench/loadgen.ts: 128 requests in flight over keep-alive
 * HTTP/1.1) against a server that does only what no relayer on this stack can skip: fastify with
 * the relayer's `POST /v1/payments` schemas, intake's parse and checks, and the EIP-712 digest and
 * signature recovery on the relayer's signature pool (bench/lib/floorServer.ts). No store, no chain,
 * no rate limits or idempotency. Nothing else runs on the machine during the runs.
 *
 * Prints one JSON line: `acceptedPerSecond` (median of the runs), `cpuMicrosPerPayment` and
 * `cpuRecoveriesPerPayment` of the server, `recoversPerSecondOneCore` (bench/lib/recovery.ts,
 * measured first) and `ratios.acceptedPerSecond`, the figure bench:relayer's bars are set in.
 *
 * Knobs (environment): BENCH_RUNS (5), BENCH_PAYMENTS_PER_RUN (7000), BENCH_WARMUP_PAYMENTS (2000),
 * BENCH_CONCURRENCY (128), FLOOR_SIGNATURE_WORKERS (the relayer's default).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import type { Hex } from "../src/protocol";
import { DEFAULTS } from "../src/relayer/config";
import { PROJECT_ROOT, TS_NODE_SCRIPT } from "../src/localnet/paths";
import { measureRecoversPerSecond } from "./lib/recovery";
import { signInWorkers, type PaymentPlan } from "./lib/signing";
import { runLoadgen } from "./lib/loadgenProcess";
import type { LoadgenResult } from "./loadgen";
import { envInt, log, median } from "./lib/knobs";

const RUNS = Math.max(1, envInt("BENCH_RUNS", 5));
const PER_RUN = Math.max(1, envInt("BENCH_PAYMENTS_PER_RUN", 7_000));
const WARMUP = envInt("BENCH_WARMUP_PAYMENTS", 2_000);
const CONCURRENCY = Math.max(1, envInt("BENCH_CONCURRENCY", 128));
const WORKERS = envInt("FLOOR_SIGNATURE_WORKERS", DEFAULTS.signatureWorkers);
const PAYERS = 700;
const CHAIN_ID = 31_337n;
const ESCROW: Hex = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/** Starts the floor server; resolves with its process and port once it listens. */
function startFloor(): Promise<{ pid: number; port: number; stop(): void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        TS_NODE_SCRIPT,
        "--transpile-only",
        path.join(PROJECT_ROOT, "bench", "lib", "floorServer.ts"),
        JSON.stringify({ chainId: CHAIN_ID.toString(), escrow: ESCROW, workers: WORKERS }),
      ],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`floor server exited with ${code}`)));
    child.stdout.once("data", (chunk: Buffer) =>
      resolve({ pid: child.pid!, port: Number(chunk.toString().trim()), stop: () => child.kill("SIGTERM") }),
    );
  });
}

async function main(): Promise<void> {
  const loadAverageBefore = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-floor-"));
  try {
    const payers = Array.from({ length: PAYERS }, () => {
      const privateKey = generatePrivateKey();
      return { address: privateKeyToAddress(privateKey).toLowerCase(), privateKey };
    });
    const phases = [
      ...(WARMUP > 0 ? [{ name: "warmup", count: WARMUP }] : []),
      ...Array.from({ length: RUNS }, (_, i) => ({ name: `run-${i + 1}`, count: PER_RUN })),
    ];
    const plan: PaymentPlan[] = [];
    for (const phase of phases) {
      for (let k = 0; k < phase.count; k++) {
        plan.push({
          payer: k % PAYERS,
          merchantId: 1n + BigInt(k % 4),
          nonce: BigInt(plan.length),
          hold: 60n,
          orderLabel: `floor-${phase.name}-${k}`,
        });
      }
    }
    const deadline = BigInt(Math.floor(Date.now() / 1000)) + 86_400n;
    const signed = await signInWorkers({ chainId: CHAIN_ID, escrow: ESCROW }, payers, 1_000_000n, deadline, plan);
    let at = 0;
    const files = phases.map((phase) => {
      const file = path.join(dir, `${phase.name}.jsonl`);
      const slice = signed.slice(at, (at += phase.count));
      fs.writeFileSync(file, slice.map((p) => JSON.stringify(p.body)).join("\n") + "\n");
      return file;
    });
    log("payments signed", { payments: signed.length });

    const recovery = await measureRecoversPerSecond(signed);
    log("recoveries per second on one core", recovery);

    const floor = await startFloor();
    const results: LoadgenResult[] = [];
    try {
      await runLoadgen(
        {
          url: `http://127.0.0.1:${floor.port}`,
          concurrency: CONCURRENCY,
          cpuPids: { floor: floor.pid },
          phases: files.map((file) => ({ file, mode: "single" as const })),
        },
        (result) => {
          const { unacknowledged, ...shown } = result;
          log("run", { phase: phases[results.length].name, ...shown, unacknowledged: unacknowledged.length });
          results.push(result);
        },
        () => undefined,
      );
    } finally {
      floor.stop();
    }
    const runs = results.slice(WARMUP > 0 ? 1 : 0);
    const failed = runs.reduce((n, r) => n + r.failed, 0);
    const acceptedPerSecond = median(runs.map((r) => r.acceptedPerSecond));
    const cpuMicros = median(runs.map((r) => (r.cpuSeconds.floor * 1e6) / Math.max(1, r.accepted)));
    process.stdout.write(
      `${JSON.stringify({
        acceptedPerSecond,
        ackLatencyMs: {
          p50: median(runs.map((r) => r.latencyMs.p50)),
          p99: median(runs.map((r) => r.latencyMs.p99)),
        },
        failed,
        recoversPerSecondOneCore: recovery.recoversPerSecond,
        microsPerRecover: recovery.microsPerRecover,
        ratios: { acceptedPerSecond: Number((acceptedPerSecond / recovery.recoversPerSecond).toFixed(3)) },
        cpuMicrosPerPayment: Math.round(cpuMicros),
        cpuRecoveriesPerPayment: Number((cpuMicros / recovery.microsPerRecover).toFixed(1)),
        signatureWorkers: WORKERS,
        concurrency: CONCURRENCY,
        runs: runs.map((r) => ({
          acceptedPerSecond: r.acceptedPerSecond,
          failed: r.failed,
          cpuMicrosPerPayment: Math.round((r.cpuSeconds.floor * 1e6) / Math.max(1, r.accepted)),
          latencyMs: r.latencyMs,
        })),
        cores: os.availableParallelism(),
        loadAverageBefore: loadAverageBefore.map((l) => Number(l.toFixed(2))),
      })}\n`,
    );
    if (failed > 0) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log("bench failed", { error: error instanceof Error ? error.stack : String(error) });
  process.exit(1);
});
