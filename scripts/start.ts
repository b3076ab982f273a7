/**
 * `npm start`: a complete local StablePay network, and a summary of where everything is.
 *
 * 1. chain: a Hardhat node on 127.0.0.1:8545 (its per-call log in data/chain.log), or the chain
 *    already answering there (reused, and left running on exit);
 * 2. contracts: deployed once and recorded in deployments/localhost.json, reused while live; a
 *    record of a chain that is gone is stale and replaced (scripts/deploy.ts). Two currencies, USD
 *    and EUR (CURRENCIES), each a token and an escrow over the one registry;
 * 3. relayer: src/relayer/main.ts as a child process, its SQLite store in data/, serving every
 *    deployed currency (RELAYER_CURRENCIES, unless the shell sets it). It starts after the
 *    deployment because its first signer is, by default, the deployer (account #0): one nonce
 *    sequence, one sender at a time. Each served currency takes a key of its own (the local
 *    default: accounts #0, #1, ...). A store made on another chain (Hardhat's chain lives in
 *    memory, so a node restart is a new chain) is moved aside, see src/localnet/chainIdentity.ts;
 * 4. with --demo, scripts/demo.ts against it.
 *
 * With --postgres, step 3 is the production layout in small: two `api` instances (RELAYER_PORT and
 * the port after it) and one `worker`, all on one PostgreSQL database (DATABASE_URL, else database
 * `stablepay_local` on the server src/localnet/postgres.ts finds or starts; a database made on
 * another chain is renamed aside, like the SQLite file). The summary lists every instance.
 *
 * Ctrl-C stops the relayer, then the chain (only if started here), each as a process group with a
 * timeout. The pieces are the local-network harness's (src/localnet). See docs/LOCAL.md.
 */
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { sharedSecretKey } from "./lib/sharedSecretKey";
import { dealSigners, pickRelayerEnv, type RelayerEnv } from "../src/relayer/config";
import { RelayerCluster } from "../src/localnet/cluster";
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
import { defaultCurrency } from "../src/chain/deployments";
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
  redactDatabaseUrl,
  relayerUrls,
  writeNetworkInfo,
  type InstanceInfo,
  type NetworkInfo,
} from "./lib/networkInfo";
import { LocalPostgres } from "./lib/localPostgres";
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

/** The addresses in a relayer's `signers` field (its "started" line); [] when absent. */
function addresses(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((a): a is string => typeof a === "string") : [];
}

class LocalNetwork {
  private chain: ManagedProcess | null = null;
  private relayer: ManagedProcess | null = null;
  /** With --postgres: the api and worker instances (then `relayer` stays null). */
  private cluster: RelayerCluster | null = null;
  private postgres: LocalPostgres | null = null;
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
      currencies: o.currencies,
      log: (line) => {
        if (!DEPLOY_DETAIL.test(line)) console.log(`[deploy] ${line}`);
      },
    });
    const record = deployment.record;
    const identity = await readChainIdentity(o.rpcUrl, defaultCurrency(record).escrow.address);
    const currencies = this.servedCurrencies(record.currencies.map((c) => c.code));
    let relayer: { url: string; signers: string[]; database: string; instances?: InstanceInfo[] };
    if (o.postgres) {
      const databaseUrl = await this.preparePostgres(identity);
      relayer = { ...(await this.startCluster(databaseUrl, currencies)), database: redactDatabaseUrl(databaseUrl) };
    } else {
      this.prepareStore(identity);
      relayer = { ...(await this.startRelayer(currencies)), database: o.databasePath };
    }
    const info: NetworkInfo = {
      chain: { rpcUrl: o.rpcUrl, chainId, startedHere, logFile: startedHere ? this.chainLogFile : null },
      deployment: {
        file: o.deploymentsFile,
        status: deployment.status,
        deployBlock: record.blockNumber,
        ...contractAddresses(record),
        deployer: record.deployer,
      },
      relayer: {
        ...relayerUrls(relayer.url),
        database: relayer.database,
        logFile: relayer.instances ? relayer.instances[0].logFile : this.relayerLogFile,
        signer: relayer.signers[0] ?? null,
        currencies,
        // The relayer deals its keys to its currencies this way too (one currency per key).
        signers:
          relayer.signers.length >= currencies.length
            ? Object.fromEntries(dealSigners(relayer.signers, currencies))
            : {},
        adminToken: o.defaultAdminToken ? o.adminToken : "(from RELAYER_ADMIN_TOKEN)",
        store: o.postgres ? "postgres" : "sqlite",
        ...(relayer.instances ? { instances: relayer.instances } : {}),
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
    const { relayerPort, postgres } = this.options;
    // --postgres: the second api instance listens on the next port.
    for (const port of postgres ? [relayerPort, relayerPort + 1] : [relayerPort]) await this.checkPort(port);
  }

  private async checkPort(relayerPort: number): Promise<void> {
    const { relayerHost } = this.options;
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

  /**
   * The PostgreSQL database of the --postgres layout: DATABASE_URL as given, or `stablepay_local`
   * on the local server, renamed aside (never dropped) when it was made on another chain.
   */
  private async preparePostgres(identity: ChainIdentity): Promise<string> {
    const o = this.options;
    if (o.databaseUrl) {
      console.log(`relayer store: PostgreSQL at ${redactDatabaseUrl(o.databaseUrl)} (DATABASE_URL, used as is)`);
      return o.databaseUrl;
    }
    this.postgres = await LocalPostgres.open();
    console.log(`relayer store: PostgreSQL ${this.postgres.description}`);
    const storeDir = path.join(o.dataDir, "postgres");
    mkdirSync(storeDir, { recursive: true });
    const mismatch = identityMismatch(loadChainIdentity(storeDir), identity);
    const { url, movedAside } = await this.postgres.prepareDatabase(mismatch !== null);
    if (movedAside) {
      console.log(
        `relayer store: renamed database ${this.postgres.databaseName} to ${movedAside}: ${mismatch}; starting empty`,
      );
    }
    saveChainIdentity(storeDir, identity);
    return url;
  }

  /**
   * The currencies the relayer serves: the shell's RELAYER_CURRENCIES when set (the relayer checks
   * it against the deployment), else every deployed one, so that the demo can pay in each.
   */
  private servedCurrencies(deployed: string[]): string[] {
    const shell = process.env.RELAYER_CURRENCIES?.trim();
    return shell
      ? shell
          .split(",")
          .map((code) => code.trim())
          .filter((code) => code !== "")
      : deployed;
  }

  /** The shell's relayer settings, without those that choose a layout: npm start chooses it. */
  private shellRelayerEnv(): RelayerEnv {
    const env: Record<string, string | undefined> = { ...pickRelayerEnv(process.env) };
    delete env.DATABASE_URL;
    delete env.RELAYER_ROLE;
    return env as RelayerEnv;
  }

  private async startCluster(
    databaseUrl: string,
    currencies: string[],
  ): Promise<{ url: string; signers: string[]; instances: InstanceInfo[] }> {
    const o = this.options;
    for (const name of ["api-1", "api-2", "worker-1"]) {
      appendFileSync(
        path.join(o.dataDir, `relayer-${name}.log`),
        `\n# ${new Date().toISOString()} npm start --postgres: ${name} against ${o.rpcUrl}\n`,
      );
    }
    console.log(
      `relayer: starting 2 api instances and 1 worker (${show(RELAYER_MAIN)}; logs: ${show(o.dataDir)}/relayer-*.log)`,
    );
    const cluster = new RelayerCluster({
      env: {
        ...this.shellRelayerEnv(),
        RPC_URL: o.rpcUrl,
        DEPLOYMENTS_FILE: o.deploymentsFile,
        RELAYER_DATA_DIR: o.dataDir,
        DATABASE_URL: databaseUrl,
        // Every instance alike: the api instances take payments in these, the worker runs their jobs.
        RELAYER_CURRENCIES: currencies.join(","),
        RELAYER_SECRET_KEY: sharedSecretKey(this.options.dataDir, process.env),
        RELAYER_HOST: o.relayerHost,
        RELAYER_ADMIN_TOKEN: o.adminToken,
        SETTLE_INTERVAL_MS: String(o.settleIntervalMs),
        WEBHOOK_ALLOW_LOOPBACK: process.env.WEBHOOK_ALLOW_LOOPBACK ?? "1",
      } as RelayerEnv,
      logDir: o.dataDir,
      startTimeoutMs: RELAYER_START_TIMEOUT_MS,
      onLine: (name, line, stream) => {
        const parsed = parseRelayerLine(line);
        const text = consoleLine(line);
        if (text !== null)
          (stream === "stderr" || (parsed?.level ?? 0) >= 40 ? console.error : console.log)(`[${name}] ${text}`);
      },
    });
    this.cluster = cluster;
    await cluster.startAll([
      { role: "api", name: "api-1", env: { RELAYER_PORT: String(o.relayerPort) } },
      { role: "api", name: "api-2", env: { RELAYER_PORT: String(o.relayerPort + 1) } },
      { role: "worker", name: "worker-1", env: { RELAYER_PORT: "0" } },
    ]);
    const instances: InstanceInfo[] = cluster.instances.map((i) => ({
      name: i.name,
      role: i.role,
      url: i.role === "worker" ? null : i.url,
      pid: i.pid,
      logFile: i.child.logFile ?? "",
    }));
    for (const api of instances.filter((i) => i.url)) {
      const ready = await httpStatus(`${api.url}/ready`);
      if (ready !== 200)
        console.error(`relayer: ${api.url}/ready answers ${ready ?? "nothing"}; see ${show(api.logFile)}`);
    }
    const worker = cluster.byRole("worker")[0];
    return { url: instances[0].url!, signers: addresses(worker.started?.signers), instances };
  }

  private async startRelayer(currencies: string[]): Promise<{ url: string; signers: string[] }> {
    const o = this.options;
    appendFileSync(this.relayerLogFile, `\n# ${new Date().toISOString()} npm start: relayer against ${o.rpcUrl}\n`);
    console.log(`relayer: starting ${show(RELAYER_MAIN)} (log: ${show(this.relayerLogFile)})`);
    const relayer = await startRelayer({
      env: {
        // The shell's relayer settings apply (LOG_LEVEL, RELAYER_PRIVATE_KEY, …); these are the network's.
        ...this.shellRelayerEnv(),
        RPC_URL: o.rpcUrl,
        DEPLOYMENTS_FILE: o.deploymentsFile,
        RELAYER_DATA_DIR: o.dataDir,
        RELAYER_DB: o.databasePath,
        RELAYER_HOST: o.relayerHost,
        RELAYER_PORT: String(o.relayerPort),
        RELAYER_CURRENCIES: currencies.join(","),
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
    return { url: relayer.url, signers: relayer.signers };
  }

  /** A child that dies on its own takes the network down: half a network only confuses. */
  private watchChildren(): void {
    for (const child of [this.relayer, ...(this.cluster?.instances.map((i) => i.child) ?? []), this.chain]) {
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
    if (this.cluster) {
      await this.cluster.stopAll(RELAYER_STOP_TIMEOUT_MS);
      console.log("relayer instances stopped");
    }
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
    await this.postgres?.close();
    process.exit(code);
  }

  /** Synchronous: for the process "exit" event, so that no child outlives this script. */
  killNow(): void {
    this.cluster?.killAll();
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
