/**
 * `npm start`: a complete local StablePay network on embedded defaults.
 *
 * 1. a local Hardhat chain (JSON-RPC on 127.0.0.1:8545), or the one already answering there;
 * 2. the contracts, deployed once and recorded in deployments/localhost.json (reused when live);
 * 3. the relayer (when built: src/relayer/main.ts) with its SQLite store in data/.
 *
 * Ctrl-C stops every child process. Hardhat's chain lives in memory: a chain started here is gone
 * when it stops, so the next start deploys again (the deploy script says why it redeploys).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const RPC_HOST = process.env.LOCAL_RPC_HOST ?? "127.0.0.1";
const RPC_PORT = Number(process.env.LOCAL_RPC_PORT ?? 8545);
const RPC_URL = `http://${RPC_HOST}:${RPC_PORT}`;
const CHAIN_READY_TIMEOUT_MS = 60_000;
const HARDHAT_BIN = path.join(ROOT, "node_modules", ".bin", "hardhat");

const children: ChildProcess[] = [];

async function rpcAnswers(): Promise<boolean> {
  try {
    const response = await fetch(RPC_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

async function waitForChain(): Promise<void> {
  const deadline = Date.now() + CHAIN_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await rpcAnswers()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the local chain did not answer on ${RPC_URL} within ${CHAIN_READY_TIMEOUT_MS / 1000} s`);
}

/** Starts a child in its own process group; `echo` false keeps its stdout quiet (the chain logs every call). */
function startChild(name: string, args: string[], env: NodeJS.ProcessEnv = {}, echo = true): ChildProcess {
  const child = spawn(args[0], args.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group, so stop() takes its children too
  });
  const prefix = (line: string) => `[${name}] ${line}`;
  if (echo)
    child.stdout?.on("data", (chunk: Buffer) =>
      process.stdout.write(chunk.toString().split("\n").filter(Boolean).map(prefix).join("\n") + "\n"),
    );
  child.stderr?.on("data", (chunk: Buffer) =>
    process.stderr.write(chunk.toString().split("\n").filter(Boolean).map(prefix).join("\n") + "\n"),
  );
  children.push(child);
  return child;
}

function runToEnd(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = startChild(name, args, env);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited with code ${code}`))));
  });
}

function stop(): void {
  for (const child of children) {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}

async function main(): Promise<void> {
  process.on("SIGINT", () => {
    console.log("\nstopping the local network ...");
    stop();
    process.exit(0);
  });
  process.on("SIGTERM", () => {
    stop();
    process.exit(0);
  });

  if (await rpcAnswers()) {
    console.log(`chain: reusing the chain already answering on ${RPC_URL}`);
  } else {
    console.log(`chain: starting a local Hardhat chain on ${RPC_URL} (state lives in memory)`);
    const node = startChild(
      "chain",
      [HARDHAT_BIN, "node", "--hostname", RPC_HOST, "--port", String(RPC_PORT)],
      {},
      false,
    );
    node.on("exit", (code) => {
      if (code !== null && code !== 0) console.error(`chain exited with code ${code}`);
    });
    await waitForChain();
  }

  await runToEnd("deploy", [HARDHAT_BIN, "run", "scripts/deploy.ts", "--network", "localhost"], {
    LOCAL_RPC_URL: RPC_URL,
  });
  console.log(`contracts: ${path.join(ROOT, "deployments", "localhost.json")}`);

  const relayerMain = path.join(ROOT, "src", "relayer", "main.ts");
  if (existsSync(relayerMain)) {
    startChild("relayer", [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--transpile-only", relayerMain], {
      RPC_URL,
      DEPLOYMENTS_FILE: path.join(ROOT, "deployments", "localhost.json"),
    });
  }
  console.log("local network running; Ctrl-C stops it");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  stop();
  process.exit(1);
});
