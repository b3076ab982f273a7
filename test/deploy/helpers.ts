/**
 * Helpers of the deployment tests: temporary directories, a free TCP port, a `hardhat node` child
 * process and `npx hardhat …` invocations against it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** A fresh directory under the OS temp dir; remove it with {@link removeDir}. */
export function tempDir(prefix = "stablepay-deploy-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A TCP port that was free a moment ago (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Environment variables that change what deploy.ts or the tasks do: never inherited by the children. */
const CONTROLLED_ENV = [
  "HARDHAT_NETWORK",
  "DEPLOYMENTS_DIR",
  "FORCE_REDEPLOY",
  "SAVE_DEPLOYMENT",
  "EXISTING_TOKEN",
  "MASTER_MINTER",
  "PAUSER",
  "BLOCKLISTER",
  "RESCUER",
  "REGISTRAR",
  "ARBITER",
  "FEE_RECIPIENT",
  "LOCAL_RPC_URL",
];

export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONTROLLED_ENV) delete env[name];
  return { ...env, ...extra, NO_COLOR: "1", FORCE_COLOR: "0" };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for matching messages wherever they were printed. */
  output: string;
}

/** Runs `npx hardhat <args>` in the project root and resolves when it exits (never rejects on a non-zero exit). */
export function runHardhat(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["hardhat", ...args], { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npx hardhat ${args.join(" ")} timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
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

/** A JSON-RPC call with fetch; rejects on transport or JSON-RPC errors. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export interface HardhatNode {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the node printed so far (for failure messages). */
  log(): string;
  /** Stops the node (its whole process group) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `npx hardhat node --port <port>` in its own process group and waits until it answers
 * eth_chainId. On timeout the node is stopped and the promise rejects with its output.
 */
export async function startHardhatNode(port: number, timeoutMs = 45_000): Promise<HardhatNode> {
  const child = spawn("npx", ["hardhat", "node", "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: PROJECT_ROOT,
    env: childEnv({}),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const node: HardhatNode = {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    log: () => output,
    stop: async () => {
      if (!running || child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGTERM"); // npx and the node it started
      } catch {
        return; // already gone
      }
      const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!killed) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
        await exited;
      }
    },
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running) throw new Error(`hardhat node exited before answering JSON-RPC:\n${output}`);
    try {
      await rpc(node.url, "eth_chainId");
      return node;
    } catch {
      if (Date.now() > deadline) {
        await node.stop();
        throw new Error(`hardhat node did not answer eth_chainId on port ${port} within ${timeoutMs} ms:\n${output}`);
      }
      await sleep(250);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Awaits `promise`, expecting it to reject with a message containing `expected` (string) or matching it (RegExp). */
export async function expectRejection(promise: Promise<unknown>, expected: string | RegExp): Promise<Error> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (!(error instanceof Error)) throw new Error(`Expected a rejection matching ${String(expected)}, got none`);
  const ok = typeof expected === "string" ? error.message.includes(expected) : expected.test(error.message);
  if (!ok) throw new Error(`Expected a rejection matching ${String(expected)}, got: ${error.message}`);
  return error;
}
