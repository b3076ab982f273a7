/**
 * The relayer as its own process (src/relayer/main.ts under ts-node), as operators run it. Its
 * environment is exactly the relayer variables it is given (src/relayer/config.ts lists them) on
 * top of the process basics: nothing of the parent's relayer settings leaks in.
 */
import { existsSync } from "node:fs";
import { RELAYER_ENV_VARS, type RelayerEnv } from "../relayer/config";
import { PROJECT_ROOT, RELAYER_MAIN, TS_NODE_SCRIPT } from "./paths";
import { ManagedProcess, fileTail, processBasics, type ExitInfo } from "./process";
import { parseRelayerLine } from "./relayerLog";
import { httpStatus } from "./rpc";
import { waitFor } from "./wait";

/** Parsed log lines kept for the caller; older ones are dropped (a bench logs a lot). */
const MAX_KEPT_LOGS = 100_000;
/** stderr kept in memory for failure messages. */
const STDERR_TAIL_CHARS = 200_000;

export interface RelayerOptions {
  /** The relayer's variables, and only those: any other name is refused. */
  env: RelayerEnv;
  /** Where PATH, HOME, NODE_OPTIONS and the like come from (default: this process). */
  parentEnv?: NodeJS.ProcessEnv;
  /** Node.js flags (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** Output appended here as well (created with its folder if missing). */
  logFile?: string;
  /** Every output line, for a console (the start script shows warnings and errors). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Also count the relayer as up once GET <url>/health answers 200 (a log level above info hides "started"). */
  healthUrl?: string;
  startTimeoutMs?: number;
  /** Its own process group (default), or this one's, so that a terminal's Ctrl-C reaches it too. */
  ownGroup?: boolean;
  /** Called with the child as soon as it is spawned (to stop it if the caller is interrupted). */
  onSpawn?: (child: ManagedProcess) => void;
}

export interface RelayerProcess {
  url: string;
  /** The signer from the "started" line; null while only /health has answered. */
  readonly signer: string | null;
  /** Every signer lane's address from the "started" line (one currency per key); [] until it came. */
  readonly signers: string[];
  child: ManagedProcess;
  /** JSON log lines so far (stdout), parsed; other lines are kept as { raw }. */
  logs: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<ExitInfo>;
  /** kill -9: no shutdown hook runs. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after `timeoutMs`; the exit (signal "SIGKILL" when the timeout struck). */
  stop(timeoutMs: number): Promise<ExitInfo>;
}

/** The child's whole environment: the basics of `parent` and exactly the relayer variables in `env`. */
export function relayerProcessEnv(env: RelayerEnv, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const known: ReadonlySet<string> = new Set(RELAYER_ENV_VARS);
  const unknown = Object.keys(env).filter((name) => !known.has(name));
  if (unknown.length > 0) throw new Error(`not relayer variables (src/relayer/config.ts): ${unknown.join(", ")}`);
  const basics = processBasics(parent);
  for (const name of RELAYER_ENV_VARS) delete basics[name];
  return { ...basics, ...env };
}

/** Starts the relayer and waits for its "started" line (or /health); on failure it is killed and the error carries its output. */
export async function startRelayer(options: RelayerOptions): Promise<RelayerProcess> {
  if (!existsSync(RELAYER_MAIN)) throw new Error(`${RELAYER_MAIN} is missing: cannot start the relayer`);
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let started: { url: string; signer: string | null; signers: string[] } | undefined;
  const child = new ManagedProcess({
    name: "relayer",
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), TS_NODE_SCRIPT, "--transpile-only", RELAYER_MAIN],
    cwd: PROJECT_ROOT,
    env: relayerProcessEnv(options.env, options.parentEnv),
    logFile: options.logFile,
    logFlags: "a",
    ownGroup: options.ownGroup,
    onLine: (line, stream) => {
      if (stream === "stderr") {
        stderr = (stderr + line + "\n").slice(-STDERR_TAIL_CHARS);
      } else {
        const parsed = parseRelayerLine(line);
        logs.push(parsed ? parsed.fields : { raw: line });
        if (logs.length > MAX_KEPT_LOGS) logs.splice(0, logs.length - MAX_KEPT_LOGS);
        if (parsed?.fields.event === "started" && typeof parsed.fields.url === "string") {
          const { signer, signers } = parsed.fields;
          started = {
            url: parsed.fields.url,
            signer: typeof signer === "string" ? signer : null,
            signers: Array.isArray(signers) ? signers.filter((a): a is string => typeof a === "string") : [],
          };
        }
      }
      options.onLine?.(line, stream);
    },
  });
  options.onSpawn?.(child);
  const recent = () =>
    `${stderr}\n${JSON.stringify(logs.slice(-5))}${options.logFile ? `\n${fileTail(options.logFile)}` : ""}`;
  const up = await waitFor(
    async () => {
      if (started) return started;
      if (options.healthUrl && (await httpStatus(`${options.healthUrl}/health`)) === 200) {
        return { url: options.healthUrl, signer: null, signers: [] };
      }
      return undefined;
    },
    {
      what: "the relayer",
      timeoutMs: options.startTimeoutMs ?? 90_000,
      intervalMs: 50,
      abort: () => (child.running ? undefined : `exited before it started:\n${recent()}`),
      detail: recent,
    },
  ).catch(async (error: unknown) => {
    await child.stop("SIGKILL", 5_000);
    throw error;
  });
  return {
    url: up.url,
    // Read when asked: /health may answer a moment before the "started" line is written.
    get signer() {
      return started?.signer ?? up.signer;
    },
    get signers() {
      return started?.signers ?? up.signers;
    },
    child,
    logs,
    stderr: () => stderr,
    exited: child.exited,
    async kill() {
      // At once, even while a graceful stop is under way.
      child.killNow();
      await child.exited;
    },
    stop: (timeoutMs) => child.stop("SIGTERM", timeoutMs),
  };
}
