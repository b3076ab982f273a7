/**
 * Child processes that can be stopped for sure: each runs in its own process group (so a stop
 * reaches whatever it started, e.g. npx → node), its output goes to a log file, a line handler
 * and/or a bounded in-memory tail, and `stop()` signals the whole group, waits for the exit, and
 * kills the group if the exit does not come in time. Also: one-shot commands, and the environment
 * basics a child gets besides the variables it is given.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import path from "node:path";
import { sleep } from "./wait";

/**
 * Colour codes (the Hardhat node colours its per-call log whatever NO_COLOR says): the log files
 * are for reading with less and grep.
 */
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Output still in the pipes after the exit is written within this (it is a few lines at most). */
const DRAIN_TIMEOUT_MS = 2_000;

/** Variables every child inherits from its parent: how to run at all, never what to do. */
const PROCESS_BASICS = ["PATH", "HOME", "USER", "SHELL", "TMPDIR", "LANG", "LC_ALL", "TZ", "TERM", "CI"];
/** Node.js and ts-node's own settings (memory flags, a CA bundle, the compiler options) pass through too. */
const PROCESS_BASIC_PREFIXES = ["NODE_", "TS_NODE_"];

/** The basics of `parent` (PATH, HOME, NODE_OPTIONS, …): the start of every child's environment. */
export function processBasics(parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (PROCESS_BASICS.includes(name) || PROCESS_BASIC_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      env[name] = value;
    }
  }
  return env;
}

/** The last `lines` lines of a log file ("" when there is none), for failure messages. */
export function fileTail(file: string | undefined, lines = 15): string {
  if (!file || !existsSync(file)) return "";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, "");
}

export interface ManagedProcessOptions {
  /** Short name for messages ("chain", "relayer"). */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here (created with its folder if missing). */
  logFile?: string;
  /** "w" starts the log afresh (a new chain), "a" keeps history (the relayer's store outlives runs). */
  logFlags?: "w" | "a";
  /** Every complete, non-empty output line (colour codes removed), stdout and stderr alike. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Keep the last this many characters of output in memory, for {@link ManagedProcess.output}. */
  keepOutput?: number;
  /**
   * Default true. False keeps the child in this process group, so a Ctrl-C at the terminal reaches
   * it too (the tests' relayers); stop() then signals the child alone.
   */
  ownGroup?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string | undefined;
  /** Resolves when the process exits. */
  readonly exited: Promise<ExitInfo>;
  /** Resolves when its output is drained and written to the log file. */
  readonly drained: Promise<void>;
  private readonly ownGroup: boolean;
  private readonly child: ChildProcess;
  private readonly log: WriteStream | undefined;
  private exitInfo: ExitInfo | null = null;
  private stopping: Promise<ExitInfo> | null = null;
  private tail = "";

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.ownGroup = options.ownGroup ?? true;
    if (options.logFile) {
      mkdirSync(path.dirname(options.logFile), { recursive: true });
      this.log = createWriteStream(options.logFile, { flags: options.logFlags ?? "a" });
    }
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      // Own process group: stop() signals -pid, which reaches the child's own children too.
      detached: options.ownGroup ?? true,
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      // A spawn failure (ENOENT) emits "error" and no "exit".
      this.child.once("error", () => {
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
    const flushes: (() => void)[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      let pending = "";
      const emit = (line: string) => {
        const clean = stripAnsi(line);
        this.log?.write(clean + "\n");
        if (options.keepOutput) this.tail = (this.tail + clean + "\n").slice(-options.keepOutput);
        if (options.onLine && clean.trim() !== "") options.onLine(clean, stream);
      };
      // Whole lines only: an escape sequence or a JSON object split across chunks stays intact.
      this.child[stream]?.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) emit(line);
      });
      flushes.push(() => {
        if (pending !== "") emit(pending);
        pending = "";
      });
    }
    // "close" comes after "exit", once the output is drained: then the log file is complete.
    this.drained = new Promise((resolve) => {
      const finish = () => {
        for (const flush of flushes) flush();
        if (this.log) this.log.end(() => resolve());
        else resolve();
      };
      this.child.once("close", finish);
      this.child.once("error", finish);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The kept tail of the output (empty unless `keepOutput` was given). */
  output(): string {
    return this.tail;
  }

  get running(): boolean {
    return this.exitInfo === null && this.child.pid !== undefined;
  }

  /**
   * Sends `signal` to the process group, waits up to `timeoutMs` for the exit, then SIGKILLs the
   * group. Idempotent: a second call waits for the first stop.
   */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo> {
    this.stopping ??= (async () => {
      if (!this.running) return this.exited;
      this.signalGroup(signal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
      const outcome = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      // Past the timeout the group is killed; once the leader is gone, whatever it left behind in
      // its group goes too.
      // A child in this process group has nothing left behind to kill, and once it is reaped its
      // pid may be reused: signal it only while it lives.
      if (this.ownGroup || this.running) this.signalGroup("SIGKILL");
      const exit = outcome === "timeout" ? await this.exited : outcome;
      await Promise.race([this.drained, sleep(DRAIN_TIMEOUT_MS)]);
      return exit;
    })();
    return this.stopping;
  }

  /** Synchronous last resort (process "exit" handler, second Ctrl-C): SIGKILL the whole group. */
  killNow(): void {
    // Only while the leader lives: once it is gone and reaped, its pid (and group id) may be reused.
    if (this.running) this.signalGroup("SIGKILL");
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(this.ownGroup ? -this.child.pid : this.child.pid, signal);
    } catch {
      // ESRCH: the group is already empty.
    }
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for matching messages wherever they were printed. */
  output: string;
}

/** Runs a command to its end and collects its output; rejects only on a spawn failure or the timeout. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} timed out after ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
  });
}
