/**
 * Load generator for bench/relayer.ts, run as its own process so that it does not share an event
 * loop with the relayer it measures. Fires pre-signed payments (one JSON body per line of a file,
 * already serialised: the generator does no JSON work per request) at the relayer over keep-alive
 * HTTP/1.1 connections, `concurrency` requests in flight, and times each acknowledgement from the
 * first byte written to the last byte of the answer. The client is undici's connection pool: it
 * costs a fraction of node:http's per request, and the generator shares the machine's two cores
 * with what it measures.
 *
 *   ts-node --transpile-only bench/loadgen.ts '{"url":"http://127.0.0.1:8787","concurrency":128,
 *     "phases":[{"file":"run-1.jsonl","mode":"single"},{"file":"run-2.jsonl","mode":"batch","batchSize":200}]}'
 *
 * With `urls` (several api instances behind no load balancer), connection i goes to instance
 * i mod n: the requests are spread evenly, as a round-robin balancer would.
 *
 * Phases run back to back (no process start between them). mode "single": one POST /v1/payments
 * per line; mode "batch": POST /v1/payments/batch with `batchSize` lines per request (latency is
 * then per request, throughput per payment). Prints one JSON line per phase: {"payments",
 * "accepted","duplicates","failed","errors","startedAt","durationMs","acceptedPerSecond",
 * "latencyMs":{"p50","p90","p99","max"},"unacknowledged":[line indices],"cpuSeconds":{name:n}}.
 * `cpuSeconds`: CPU time (user + system, from /proc) each process in `cpuPids` used between the
 * phase's first request and its last answer, read here so the window is exactly the phase's.
 */
import fs from "node:fs";
import { Pool } from "undici";

export interface LoadPhase {
  file: string;
  mode: "single" | "batch";
  batchSize?: number;
}

export interface LoadgenConfig {
  url: string;
  /** Several instances to spread the connections over (default: [url]). */
  urls?: string[];
  /** Processes whose CPU time each phase reports (name → pid). */
  cpuPids?: Record<string, number>;
  concurrency: number;
  phases: LoadPhase[];
  /** Per-request timeout; a timed-out request counts as failed. */
  timeoutMs?: number;
}

export interface LoadgenResult {
  payments: number;
  accepted: number;
  duplicates: number;
  failed: number;
  /** Failures by error code (or "http <status>", "network"). */
  errors: Record<string, number>;
  /** Epoch ms of the first request. */
  startedAt: number;
  durationMs: number;
  acceptedPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Lines of the phase's file whose payment got no 201/200 (the rest are acknowledged). */
  unacknowledged: number[];
  /** CPU seconds of each process of `cpuPids` during the phase. */
  cpuSeconds: Record<string, number>;
}

/** CPU seconds (user + system, all threads) `pid` has used so far; NaN once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** USER_HZ: the unit of /proc's times on Linux. */
const CLOCK_TICKS = 100;

const cpuOf = (pids: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

async function post(
  pool: Pool,
  path: string,
  body: Buffer,
  timeoutMs: number,
  /** Whether the caller reads the body of an answer with this status (the others are dumped unread). */
  readBody: (status: number) => boolean,
): Promise<{ status: number; text: string }> {
  const response = await pool.request({
    path,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const status = response.statusCode;
  if (readBody(status)) return { status, text: await response.body.text() };
  await response.body.dump();
  return { status, text: "" };
}

function errorCode(text: string, status: number): string {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? `http ${status}`;
  } catch {
    return `http ${status}`;
  }
}

export async function runPhase(config: Omit<LoadgenConfig, "phases">, phase: LoadPhase): Promise<LoadgenResult> {
  const lines = fs.readFileSync(phase.file, "utf8").split("\n").filter(Boolean);
  const origins = (config.urls?.length ? config.urls : [config.url]).map((url) => new URL(url).origin);
  const batchSize = phase.mode === "batch" ? Math.max(1, phase.batchSize ?? 200) : 1;
  const bodies: Buffer[] = [];
  for (let i = 0; i < lines.length; i += batchSize) {
    bodies.push(
      Buffer.from(phase.mode === "batch" ? `{"payments":[${lines.slice(i, i + batchSize).join(",")}]}` : lines[i]),
    );
  }
  const path = phase.mode === "batch" ? "/v1/payments/batch" : "/v1/payments";
  const timeoutMs = config.timeoutMs ?? 60_000;
  const pools = origins.map(
    (origin) => new Pool(origin, { connections: Math.ceil(config.concurrency / origins.length), pipelining: 1 }),
  );
  const latencies = new Float64Array(bodies.length);
  const result: LoadgenResult = {
    payments: lines.length,
    accepted: 0,
    duplicates: 0,
    failed: 0,
    errors: {},
    startedAt: 0,
    durationMs: 0,
    acceptedPerSecond: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    unacknowledged: [],
    cpuSeconds: {},
  };
  const acknowledged = new Uint8Array(lines.length);
  const fail = (code: string, count = 1) => {
    result.failed += count;
    result.errors[code] = (result.errors[code] ?? 0) + count;
  };

  // Warm the connections (TCP handshakes are not what is measured).
  await Promise.all(
    Array.from({ length: Math.min(config.concurrency, bodies.length) }, async (_, slot) => {
      try {
        await (await pools[slot % pools.length].request({ path: "/health", method: "GET" })).body.dump();
      } catch {
        // counted when the run's requests fail
      }
    }),
  );

  // A single payment's 201/200 carries the payment, which the generator does not look at; batch
  // answers and errors are read for their counts and codes.
  const readBody = (status: number) => phase.mode === "batch" || (status !== 201 && status !== 200);
  let next = 0;
  const cpuBefore = cpuOf(config.cpuPids ?? {});
  result.startedAt = Date.now();
  const started = performance.now();
  const worker = async (slot: number) => {
    const pool = pools[slot % pools.length];
    for (;;) {
      const index = next++;
      if (index >= bodies.length) return;
      const sentAt = performance.now();
      let answer: { status: number; text: string };
      try {
        answer = await post(pool, path, bodies[index], timeoutMs, readBody);
      } catch {
        latencies[index] = performance.now() - sentAt;
        fail("network", phase.mode === "batch" ? Math.min(batchSize, lines.length - index * batchSize) : 1);
        continue;
      }
      latencies[index] = performance.now() - sentAt;
      if (phase.mode === "single") {
        if (answer.status === 201) result.accepted++;
        else if (answer.status === 200) result.duplicates++;
        if (answer.status === 201 || answer.status === 200) acknowledged[index] = 1;
        else fail(errorCode(answer.text, answer.status));
        continue;
      }
      if (answer.status !== 200 && answer.status !== 207 && answer.status !== 201) {
        fail(errorCode(answer.text, answer.status), Math.min(batchSize, lines.length - index * batchSize));
        continue;
      }
      const parsed = JSON.parse(answer.text) as {
        accepted: number;
        duplicates: number;
        results: { status: number; error?: { code: string } }[];
      };
      result.accepted += parsed.accepted;
      result.duplicates += parsed.duplicates;
      parsed.results.forEach((item, i) => {
        if (item.error) fail(item.error.code);
        else if (item.status === 201 || item.status === 200) acknowledged[index * batchSize + i] = 1;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, bodies.length) }, (_, slot) => worker(slot)));
  result.durationMs = round(performance.now() - started);
  const cpuAfter = cpuOf(config.cpuPids ?? {});
  for (const name of Object.keys(cpuBefore)) result.cpuSeconds[name] = round(cpuAfter[name] - cpuBefore[name]);
  await Promise.all(pools.map((pool) => pool.close()));
  for (let i = 0; i < lines.length; i++) if (!acknowledged[i]) result.unacknowledged.push(i);

  const sorted = latencies.slice().sort();
  result.acceptedPerSecond = Math.round((result.accepted / result.durationMs) * 1000);
  result.latencyMs = {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
  return result;
}

export async function runLoad(config: LoadgenConfig, report: (result: LoadgenResult) => void): Promise<void> {
  for (const phase of config.phases) report(await runPhase(config, phase));
}

if (require.main === module) {
  const config = JSON.parse(process.argv[2] ?? "{}") as LoadgenConfig;
  runLoad(config, (result) => process.stdout.write(JSON.stringify(result) + "\n")).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
