/**
 * `npm start`: a complete local StablePay network, and a summary of where everything is.
 *
 * 1. chain: a Hardhat node on 127.0.0.1:8545 (its per-call log in data/chain.log), or the chain
 *    already answering there (reused, and left running on exit);
 * 2. contracts: deployed once and recorded in deployments/localhost.json, reused while live; a
 *    record of a chain that is gone is stale and replaced (scripts/deploy.ts);
 * 3. relayer: src/relayer/main.ts as a child process, its SQLite store in data/. It starts after the
 *    deployment because its signer is, by default, the deployer (account #0): one nonce sequence,
 *    one sender at a time. A store made on another chain (Hardhat's chain lives in memory, so a
 *    node restart is a new chain) is moved aside, see src/localnet/chainIdentity.ts;
 * 4. with --demo, scripts/demo.ts against it.
 *
 * Ctrl-C stops the relayer, then the chain (only if started here), each as a process group with a
 * timeout. The pieces are the local-network harness's (src/localnet). See docs/LOCAL.md.
 */
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { pickRelayerEnv } from "../src/relayer/config";
import { startHardhatNode } from "../src/localnet/chain";
import {
  identityMismatch,
  loadChainIdentity,
  moveDatabaseAside,
  readChainIdentity,
  saveChainIdentity,
  type ChainIdentity,
} from "../src/localnet/chainIdentity";
import { deployInProcess } from "../src/localnet/deploy";
import { RELAYER_MAIN } from "../src/localnet/paths";
import type { ManagedProcess } from "../src/localnet/process";
import { startRelayer } from "../src/localnet/relayer";
import { consoleLine, parseRelayerLine } from "../src/localnet/relayerLog";
import { httpStatus, portIsFree, probeChainId } from "../src/localnet/rpc";
import {
  READY_LINE,
  contractAddresses,
  displayPath,
  formatSummary,
  relayerUrls,
  writeNetworkInfo,
  type NetworkInfo,
} from "./lib/networkInfo";
import { USAGE, UsageError, parseStartOptions, type StartOptions } from "./lib/startOptions";

/** Generous: `hardhat node` and ts-node both take a while on a loaded two-core machine. */
const CHAIN_START_TIMEOUT_MS = 120_000;
const RELAYER_START_TIMEOUT_MS = 120_000;
/** The relayer stops gracefully in well under this; past it, SIGKILL is safe (its store records every step first). */
const RELAYER_STOP_TIMEOUT_MS = 15_000;
const CHAIN_STOP_TIMEOUT_MS = 10_000;
/**
 * Ctrl-C under `npm start` can arrive twice at once: the terminal signals the whole foreground
 * group, and npm forwards the signal to its child too (which is this script when the shell execs
 * it). A repeat within this window is that echo; a later one is a person insisting.
 */
const SIGNAL_ECHO_WINDOW_MS = 1_000;

/**
 * The deploy script's detail lines (role grants, the address table): the summary lists the
 * addresses, so the console keeps only what happened (deployed, reused, stale and replaced).
 */
const DEPLOY_DETAIL = /^ {2}|^StablePay on \S+ \(chain \d+\), deploy block \d+:$/;

const show = (file: string): string => displayPath(file);

class LocalNetwork {
  private chain: ManagedProcess | null = null;
  private relayer: ManagedProcess | null = null;
  /** A chain that was already answering: never stopped from here. */
  private reusedChain = false;
  private stopping = false;
  private stopRequestedAt = 0;
  private readonly demoAbort = new AbortController();

  constructor(private readonly options: StartOptions) {}

  get demoSignal(): AbortSignal {
    return this.demoAbort.signal;
  }

  async start(): Promise<NetworkInfo> {
    const o = this.options;
    mkdirSync(o.dataDir, { recursive: true });
    await this.checkRelayerPort();

    const { chainId, startedHere } = await this.startChain();
    const deployment = await deployInProcess({
      rpcUrl: o.rpcUrl,
      deploymentsDir: o.deploymentsDir,
      log: (line) => {
        if (!DEPLOY_DETAIL.test(line)) console.log(`[deploy] ${line}`);
      },
    });
    const record = deployment.record;
    this.prepareStore(await readChainIdentity(o.rpcUrl, record.contracts.PaymentEscrow.address));

    const relayer = await this.startRelayer();
    const info: NetworkInfo = {
      chain: { rpcUrl: o.rpcUrl, chainId, startedHere, logFile: startedHere ? this.chainLogFile : null },
      deployment: {
        file: o.deploymentsFile,
        status: deployment.status,
        deployBlock: record.blockNumber,
        contracts: contractAddresses(record),
        deployer: record.deployer,
      },
      relayer: {
        ...relayerUrls(relayer.url),
        database: o.databasePath,
        logFile: this.relayerLogFile,
        signer: relayer.signer,
        adminToken: o.defaultAdminToken ? o.adminToken : "(from RELAYER_ADMIN_TOKEN)",
      },
      dataDir: o.dataDir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    writeNetworkInfo(o.dataDir, info);
    this.watchChildren();
    return info;
  }

  private get chainLogFile(): string {
    return path.join(this.options.dataDir, "chain.log");
  }

  private get relayerLogFile(): string {
    return path.join(this.options.dataDir, "relayer.log");
  }

  /** Refuses before touching anything (the store above all) when the relayer's port is taken. */
  private async checkRelayerPort(): Promise<void> {
    const { relayerHost, relayerPort } = this.options;
    if (await portIsFree(relayerHost, relayerPort)) return;
    const url = `http://${relayerHost}:${relayerPort}`;
    const what =
      (await httpStatus(`${url}/health`)) === 200
        ? `a relayer already answers on ${url} (another npm start?)`
        : `port ${relayerPort} on ${relayerHost} is in use`;
    throw new Error(`${what}. Stop it, or set RELAYER_PORT to a free port.`);
  }

  private async startChain(): Promise<{ chainId: number; startedHere: boolean }> {
    const { rpcUrl, rpcHost, rpcPort } = this.options;
    const existing = await probeChainId(rpcUrl);
    if (existing !== null) {
      console.log(
        `chain: reusing the chain already answering on ${rpcUrl} (chain id ${existing}); it stays up on exit`,
      );
      this.reusedChain = true;
      return { chainId: existing, startedHere: false };
    }
    if (!(await portIsFree(rpcHost, rpcPort))) {
      throw new Error(`port ${rpcPort} on ${rpcHost} is in use but does not answer JSON-RPC: set LOCAL_RPC_PORT`);
    }
    console.log(`chain: starting a Hardhat node on ${rpcUrl} (log: ${show(this.chainLogFile)})`);
    const node = await startHardhatNode({
      host: rpcHost,
      port: rpcPort,
      // A new node is a new chain: its log starts afresh.
      logFile: this.chainLogFile,
      logFlags: "w",
      timeoutMs: CHAIN_START_TIMEOUT_MS,
      // Held from the spawn on: a Ctrl-C during the start stops it too.
      onSpawn: (child) => (this.chain = child),
    });
    return { chainId: node.chainId, startedHere: true };
  }

  /**
   * Keeps the relayer's store when it was made on this very chain and deployment; otherwise moves
   * it aside (never deletes it) and says why, in one line. Then records the chain for next time.
   */
  private prepareStore(identity: ChainIdentity): void {
    const { databasePath } = this.options;
    const storeDir = path.dirname(databasePath);
    mkdirSync(storeDir, { recursive: true });
    if (existsSync(databasePath)) {
      const mismatch = identityMismatch(loadChainIdentity(storeDir), identity);
      if (mismatch) {
        const moved = moveDatabaseAside(databasePath);
        console.log(
          `relayer store: moved ${show(databasePath)} aside to ${show(moved)}: ${mismatch}; starting with an empty store`,
        );
      } else {
        console.log(`relayer store: reusing ${show(databasePath)} (same chain, same deployment)`);
      }
    }
    saveChainIdentity(storeDir, identity);
  }

  private async startRelayer(): Promise<{ url: string; signer: string | null }> {
    const o = this.options;
    appendFileSync(this.relayerLogFile, `\n# ${new Date().toISOString()} npm start: relayer against ${o.rpcUrl}\n`);
    console.log(`relayer: starting ${show(RELAYER_MAIN)} (log: ${show(this.relayerLogFile)})`);
    const relayer = await startRelayer({
      env: {
        // The shell's relayer settings apply (LOG_LEVEL, RELAYER_PRIVATE_KEY, …); these are the network's.
        ...pickRelayerEnv(process.env),
        RPC_URL: o.rpcUrl,
        DEPLOYMENTS_FILE: o.deploymentsFile,
        RELAYER_DATA_DIR: o.dataDir,
        RELAYER_DB: o.databasePath,
        RELAYER_HOST: o.relayerHost,
        RELAYER_PORT: String(o.relayerPort),
        RELAYER_ADMIN_TOKEN: o.adminToken,
        SETTLE_INTERVAL_MS: String(o.settleIntervalMs),
        // Local development: webhook receivers on this machine are allowed (never in production).
        WEBHOOK_ALLOW_LOOPBACK: process.env.WEBHOOK_ALLOW_LOOPBACK ?? "1",
      },
      logFile: this.relayerLogFile,
      // The "started" log line carries the URL and signer; /health answering is enough too.
      healthUrl: `http://${o.relayerHost}:${o.relayerPort}`,
      startTimeoutMs: RELAYER_START_TIMEOUT_MS,
      onSpawn: (child) => (this.relayer = child),
      onLine: (line, stream) => {
        const parsed = parseRelayerLine(line);
        const text = consoleLine(line);
        if (text !== null)
          (stream === "stderr" || (parsed?.level ?? 0) >= 40 ? console.error : console.log)(`[relayer] ${text}`);
      },
    });
    const ready = await httpStatus(`${relayer.url}/ready`);
    if (ready !== 200)
      console.error(`relayer: ${relayer.url}/ready answers ${ready ?? "nothing"}; see ${show(this.relayerLogFile)}`);
    return { url: relayer.url, signer: relayer.signer };
  }

  /** A child that dies on its own takes the network down: half a network only confuses. */
  private watchChildren(): void {
    for (const child of [this.relayer, this.chain]) {
      void child?.exited.then((exit) => {
        if (this.stopping) return;
        console.error(
          `${child.name} exited unexpectedly (code ${exit.code ?? "none"}, signal ${exit.signal ?? "none"}); ` +
            `see ${child.logFile ? show(child.logFile) : "its output"}. Stopping the network.`,
        );
        void this.shutdown(1);
      });
    }
  }

  /** Relayer first (it may be sending to the chain), then the chain if it was started here. */
  async shutdown(code: number): Promise<void> {
    if (this.stopping) {
      if (Date.now() - this.stopRequestedAt < SIGNAL_ECHO_WINDOW_MS) return;
      // A second Ctrl-C: no more waiting.
      console.log("second interrupt: killing the relayer and the chain now");
      this.killNow();
      process.exit(130);
    }
    this.stopping = true;
    this.stopRequestedAt = Date.now();
    this.demoAbort.abort();
    console.log("\nstopping the local network ...");
    if (this.relayer?.running) {
      const exit = await this.relayer.stop("SIGTERM", RELAYER_STOP_TIMEOUT_MS);
      console.log(
        `relayer stopped (${exit.signal === "SIGKILL" ? "killed after the timeout" : `exit code ${exit.code}`})`,
      );
    }
    if (this.chain?.running) {
      const exit = await this.chain.stop("SIGTERM", CHAIN_STOP_TIMEOUT_MS);
      console.log(`chain stopped (${exit.signal ?? `exit code ${exit.code}`}); its state is gone with it`);
    } else if (this.reusedChain) {
      console.log(`chain on ${this.options.rpcUrl} left running (it was not started here)`);
    }
    process.exit(code);
  }

  /** Synchronous: for the process "exit" event, so that no child outlives this script. */
  killNow(): void {
    this.relayer?.killNow();
    this.chain?.killNow();
  }
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseStartOptions>;
  try {
    options = parseStartOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === "help") {
    console.log(USAGE);
    return;
  }

  const network = new LocalNetwork(options);
  process.on("SIGINT", () => void network.shutdown(0));
  process.on("SIGTERM", () => void network.shutdown(0));
  process.on("exit", () => network.killNow());

  let info: NetworkInfo;
  try {
    info = await network.start();
  } catch (error) {
    console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
    return network.shutdown(1);
  }
  for (const line of formatSummary(info)) console.log(line);
  console.log(READY_LINE);

  if (options.demo) {
    const { runDemo } = await import("./demo");
    try {
      await runDemo({ network: info, adminToken: options.adminToken, signal: network.demoSignal });
      console.log(`\ndemo finished; the network keeps running. ${READY_LINE}`);
    } catch (error) {
      if (network.demoSignal.aborted) return;
      console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
      console.error("the network keeps running; Ctrl-C stops it");
    }
  }
}

void main();
