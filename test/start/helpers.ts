/**
 * Helpers of the `npm start` test: runs scripts/start.ts as a person would (npx, its own process
 * group, Ctrl-C sent to the whole group like a terminal does), collects its output, and finds every
 * process it started through /proc, so the test can prove none outlives it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { PROJECT_ROOT } from "../../src/localnet/paths";
import { sleep } from "../../src/localnet/wait";

/** Polling interval while waiting for output or exits. */
const POLL_MS = 200;

export class StartRun {
  private output = "";
  private closed = false;
  readonly child: ChildProcess;
  /** Resolves when the process and everything holding its stdout/stderr is gone. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn("npx", ["ts-node", "--transpile-only", "scripts/start.ts", ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own group: SIGINT to -pid is what Ctrl-C in a terminal does
    });
    this.child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.done = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        this.closed = true;
        resolve({ code, signal });
      }),
    );
  }

  get text(): string {
    return this.output;
  }

  get running(): boolean {
    return !this.closed;
  }

  /** Waits until the output matches `pattern`; fails with the output so far on timeout or exit. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (this.closed) throw new Error(`start.ts exited before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs / 1000} s:\n${this.output}`);
      await sleep(POLL_MS);
    }
  }

  /** Ctrl-C: SIGINT to the whole process group (npx, the shell, start.ts). */
  interrupt(): void {
    if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGINT");
  }

  /** Waits for the exit; on timeout kills the group and throws (the test must not leak processes). */
  async waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timedOut = sleep(timeoutMs).then(() => null);
    const result = await Promise.race([this.done, timedOut]);
    if (result) return result;
    this.kill();
    throw new Error(`start.ts did not exit within ${timeoutMs / 1000} s:\n${this.output}`);
  }

  /** Last resort for cleanup: SIGKILL the group and the given descendants. */
  kill(descendants: number[] = []): void {
    for (const pid of [this.child.pid, ...descendants]) {
      if (pid === undefined) continue;
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
  }
}

/** Parent pid of every process, from /proc/<pid>/stat (Linux). */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  return parents;
}

/** Every live process below `root` (children, grandchildren, ...). */
export function descendants(root: number): number[] {
  const parents = parentPids();
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0: count it as gone.
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}
