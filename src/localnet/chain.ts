/** A local chain as a child process: `hardhat node` on a loopback port, up once it answers eth_chainId. */
import { HARDHAT_BIN, PROJECT_ROOT } from "./paths";
import { ManagedProcess, fileTail } from "./process";
import { hardhatEnv } from "./hardhat";
import { probeChainId } from "./rpc";
import { waitFor } from "./wait";

/** Output kept in memory for failure messages when no log file is asked for. */
const OUTPUT_TAIL_CHARS = 1_000_000;

export interface ChainNodeOptions {
  port: number;
  host?: string;
  /** The node's per-call log; without one, the output's tail stays in memory ({@link ChainNode.log}). */
  logFile?: string;
  logFlags?: "w" | "a";
  timeoutMs?: number;
  /** Default: the parent's, without deploy variables. */
  env?: NodeJS.ProcessEnv;
  /** Called with the child as soon as it is spawned (to stop it if the caller is interrupted). */
  onSpawn?: (child: ManagedProcess) => void;
}

export interface ChainNode {
  url: string;
  port: number;
  chainId: number;
  process: ManagedProcess;
  /** What the node printed so far (its tail), for failure messages. */
  log(): string;
  /** SIGTERM to its process group, SIGKILL after `timeoutMs`; resolves once it exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts `hardhat node`; on a timeout or an early exit it is stopped and the error carries its output. */
export async function startHardhatNode(options: ChainNodeOptions): Promise<ChainNode> {
  const host = options.host ?? "127.0.0.1";
  const url = `http://${host}:${options.port}`;
  const timeoutMs = options.timeoutMs ?? 45_000;
  const child = new ManagedProcess({
    name: "chain",
    command: HARDHAT_BIN,
    args: ["node", "--hostname", host, "--port", String(options.port)],
    cwd: PROJECT_ROOT,
    env: options.env ?? hardhatEnv(),
    logFile: options.logFile,
    logFlags: options.logFlags,
    keepOutput: options.logFile ? undefined : OUTPUT_TAIL_CHARS,
  });
  options.onSpawn?.(child);
  const log = () => (options.logFile ? fileTail(options.logFile) : child.output());
  const stop = async (stopTimeoutMs = 10_000) => {
    await child.stop("SIGTERM", stopTimeoutMs);
  };
  try {
    const chainId = await waitFor(() => probeChainId(url), {
      what: `hardhat node on ${url}`,
      timeoutMs,
      abort: () => (child.running ? undefined : `exited before answering JSON-RPC:\n${log()}`),
      detail: log,
    });
    return { url, port: options.port, chainId, process: child, log, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
