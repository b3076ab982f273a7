/**
 * Anvil as a child: a local chain that behaves more like a real one than the Hardhat node. It mines
 * on an interval (transactions wait in a pool with replacement rules), reorganises for real
 * (`anvil_reorg`), and answers the `safe` and `finalized` block tags from its epoch setting.
 * Same accounts (the well-known test mnemonic), same chain id and the same {@link ChainNode} as
 * `hardhat node` (./chain.ts), so the harness and the tests pick either with `node: "hardhat" | "anvil"`.
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./paths";
import { ManagedProcess, fileTail, processBasics } from "./process";
import { jsonRpc, probeChainId } from "./rpc";
import { waitFor } from "./wait";
import type { ChainNode, ChainNodeOptions } from "./chain";

/** Output kept in memory for failure messages when no log file is asked for. */
const OUTPUT_TAIL_CHARS = 200_000;

/** Hardhat's chain id and accounts: a deploy record or a funded key is valid on both nodes. */
export const LOCAL_CHAIN_ID = 31337;
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";
/** Hardhat's twenty accounts (the escrow test fixtures use sixteen of them). */
const ACCOUNTS = 20;

/** The platform package the `@foundry-rs/anvil` wrapper would run (no wrapper process in between). */
function platformPackage(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platform = process.platform === "win32" ? "win32" : process.platform;
  return `@foundry-rs/anvil-${platform}-${arch}`;
}

/** Path of the anvil binary shipped by the npm package; throws a readable error when it is missing. */
export function anvilBinary(): string {
  const pkg = platformPackage();
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  try {
    const dir = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [PROJECT_ROOT] }));
    const bin = path.join(dir, "bin", exe);
    if (fs.existsSync(bin)) return bin;
  } catch {
    // fall through to the error below
  }
  throw new Error(`anvil binary not found: install ${pkg} (a dependency of @foundry-rs/anvil)`);
}

export interface AnvilNodeOptions extends Omit<ChainNodeOptions, "env"> {
  /**
   * Seconds between blocks (interval mining; fractions allowed). Omitted: a block per transaction,
   * as Hardhat does. Deploying and funding run faster that way; {@link setIntervalMining} switches later.
   */
  blockTime?: number;
  /** Blocks per epoch: `safe` is the head minus one epoch, `finalized` minus two (anvil's rule). */
  slotsInAnEpoch?: number;
  /** Base fee of the first block (wei). */
  baseFee?: bigint;
  chainId?: number;
}

/** Starts anvil on `options.port`; on a timeout or an early exit it is stopped and the error carries its output. */
export async function startAnvilNode(options: AnvilNodeOptions): Promise<ChainNode> {
  const host = options.host ?? "127.0.0.1";
  const url = `http://${host}:${options.port}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = [
    "--host",
    host,
    "--port",
    String(options.port),
    "--chain-id",
    String(options.chainId ?? LOCAL_CHAIN_ID),
    "--mnemonic",
    TEST_MNEMONIC,
    "--accounts",
    String(ACCOUNTS),
    // Hardhat gives each account 10,000 ETH too; the deploy and the funding runs expect it.
    "--balance",
    "10000",
    "--slots-in-an-epoch",
    String(options.slotsInAnEpoch ?? 32),
  ];
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  if (options.baseFee !== undefined) args.push("--base-fee", options.baseFee.toString());
  const child = new ManagedProcess({
    name: "anvil",
    command: anvilBinary(),
    args,
    cwd: PROJECT_ROOT,
    // Anvil reads no project variable; only the process basics, and no colour in its log.
    env: { ...processBasics(), NO_COLOR: "1" },
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
      what: `anvil on ${url}`,
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

/**
 * Mines a block every `seconds` from now on (0: back to a block per transaction). Anvil's RPC takes
 * whole seconds only; a fractional block time can only be given at start ({@link AnvilNodeOptions.blockTime}).
 */
export async function setIntervalMining(url: string, seconds: number): Promise<void> {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`interval mining takes whole seconds, got ${seconds}`);
  }
  if (seconds > 0) await jsonRpc(url, "evm_setIntervalMining", [seconds]);
  else await jsonRpc(url, "evm_setAutomine", [true]);
}

/**
 * Replaces the last `depth` blocks with as many new ones (no transactions of the old ones unless
 * given): a genuine reorg, as a node sees it when its fork choice switches branch.
 */
export async function anvilReorg(url: string, depth: number, transactions: [string, number][] = []): Promise<void> {
  await jsonRpc(url, "anvil_reorg", [depth, transactions]);
}
