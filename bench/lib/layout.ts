/**
 * The relayer processes a bench run measures: one `all` process (the SQLite default), or the
 * PostgreSQL layout of several `api` instances and one `worker` (RELAYER_ROLE), each
 * src/relayer/main.ts as its own child with exactly the relayer variables it is given.
 */
import { RELAYER_ENV_VARS, type RelayerEnv } from "../../src/relayer/config";
import { PROJECT_ROOT, RELAYER_MAIN, TS_NODE_SCRIPT } from "../../src/localnet/paths";
import { ManagedProcess } from "../../src/localnet/process";
import { relayerProcessEnv } from "../../src/localnet/relayer";
import { parseRelayerLine } from "../../src/localnet/relayerLog";
import { waitFor } from "../../src/localnet/wait";

export type Role = "all" | "api" | "worker";

export interface BenchRelayer {
  /** "all", "api-1", "api-2", "worker". */
  name: string;
  role: Role;
  /** HTTP URL (null for a worker, which serves no intake). */
  url: string | null;
  pid: number;
  child: ManagedProcess;
  stderr(): string;
}

const STDERR_TAIL_CHARS = 50_000;

/** Variables the split layout needs from the relayer's configuration (src/relayer/config.ts). */
const SPLIT_LAYOUT_VARS = ["RELAYER_ROLE", "DATABASE_URL"];

/** Refuses a layout the relayer cannot run, naming what is missing, before anything starts. */
export function assertLayoutSupported(split: boolean): void {
  if (!split) return;
  const known: readonly string[] = RELAYER_ENV_VARS;
  const missing = SPLIT_LAYOUT_VARS.filter((name) => !known.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `the api/worker layout needs the relayer to read ${missing.join(" and ")} (roles: branch h-roles; ` +
        `PostgreSQL store: branch h-pg); this relayer's config.ts does not`,
    );
  }
}

/** Starts one relayer process and waits for its "started" line (with a URL unless it is a worker). */
export async function launchRelayer(options: {
  name: string;
  role: Role;
  env: RelayerEnv;
  nodeArgs?: string[];
  startTimeoutMs?: number;
}): Promise<BenchRelayer> {
  let stderr = "";
  let started: Record<string, unknown> | null = null;
  const env = options.role === "all" ? options.env : ({ ...options.env, RELAYER_ROLE: options.role } as RelayerEnv);
  const child = new ManagedProcess({
    name: options.name,
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), TS_NODE_SCRIPT, "--transpile-only", RELAYER_MAIN],
    cwd: PROJECT_ROOT,
    env: relayerProcessEnv(env),
    // Its own group would hide it from a terminal's Ctrl-C; the bench stops it in `finally`.
    ownGroup: false,
    onLine: (line, stream) => {
      if (stream === "stderr") {
        stderr = (stderr + line + "\n").slice(-STDERR_TAIL_CHARS);
        return;
      }
      const parsed = parseRelayerLine(line);
      if (parsed?.fields.event === "started") started = parsed.fields;
    },
  });
  const ready = await waitFor(
    () => {
      const s = started as Record<string, unknown> | null;
      if (!s) return undefined;
      if (options.role === "worker") return { url: null };
      return typeof s.url === "string" ? { url: s.url } : undefined;
    },
    {
      what: `relayer ${options.name}`,
      timeoutMs: options.startTimeoutMs ?? 120_000,
      intervalMs: 50,
      abort: () => (child.running ? undefined : `exited before it started:\n${stderr.slice(-4_000)}`),
      detail: () => stderr.slice(-4_000),
    },
  ).catch(async (error: unknown) => {
    await child.stop("SIGKILL", 5_000);
    throw error;
  });
  return { name: options.name, role: options.role, url: ready.url, pid: child.pid!, child, stderr: () => stderr };
}

/** The processes of one layout: `all` alone, or `apiInstances` api instances and one worker. */
export async function launchLayout(options: {
  split: boolean;
  apiInstances: number;
  env: RelayerEnv;
  nodeArgs?: string[];
  onStarted?: (relayer: BenchRelayer) => void;
}): Promise<BenchRelayer[]> {
  const launched: BenchRelayer[] = [];
  const start = async (name: string, role: Role) => {
    const relayer = await launchRelayer({ name, role, env: options.env, nodeArgs: options.nodeArgs });
    launched.push(relayer);
    options.onStarted?.(relayer);
  };
  try {
    if (!options.split) {
      await start("all", "all");
    } else {
      // The worker first: it migrates nothing the api instances need, but holds the leases before intake starts.
      await start("worker", "worker");
      for (let i = 1; i <= options.apiInstances; i++) await start(`api-${i}`, "api");
    }
    return launched;
  } catch (error) {
    await stopLayout(launched);
    throw error;
  }
}

export async function stopLayout(relayers: BenchRelayer[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(relayers.map((r) => r.child.stop("SIGTERM", timeoutMs)));
}
