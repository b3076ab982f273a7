/**
 * A relayer as operators run it, for the crash, fault and benchmark runs: a `hardhat node` child
 * process with StablePay deployed by scripts/deploy.ts, the relayer started as its own process
 * (src/relayer/main.ts under ts-node, killable with SIGKILL), and a JSON-RPC proxy between the two
 * that can fail or stall requests. Nothing here loads the Hardhat runtime, so bench/ can use it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo, Socket } from "node:net";
import { JsonRpcProvider, Network, Wallet, ZeroHash, id as keccakId, type TransactionRequest } from "ethers";
import secp256k1 from "secp256k1";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { LOCAL_DEV_SIGNER_KEY } from "../../../src/relayer/config";
import { EscrowDigester, toHex } from "../../../src/relayer/intake/digest";
import type { Address, Hex, Payment } from "../../../src/sdk/typedData";
import {
  PROJECT_ROOT,
  childEnv,
  freePort,
  removeDir,
  rpc as rpcCall,
  runHardhat,
  startHardhatNode,
  tempDir,
  type HardhatNode,
} from "../../deploy/helpers";

export { freePort, PROJECT_ROOT };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value; fails with `label` (and `detail()`) after `timeoutMs`. */
export async function waitUntil<T>(
  label: string,
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 60_000,
  detail?: () => Promise<string> | string,
  intervalMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${detail ? `: ${await detail()}` : ""}`);
    await sleep(intervalMs);
  }
}

// ------------------------------------------------------------------ the chain

export interface Merchant {
  id: bigint;
  owner: Wallet;
  payout: Address;
  holdPeriod: number;
}

export interface SignedPayment {
  id: Hex;
  payment: Payment;
  signature: Hex;
  /** The body POST /v1/payments takes. */
  body: Record<string, string>;
}

export interface LocalChain {
  node: HardhatNode;
  url: string;
  dir: string;
  deploymentsFile: string;
  chainId: bigint;
  provider: JsonRpcProvider;
  deployer: Wallet;
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  escrowAddress: Address;
  deployBlock: number;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  mine(blocks?: number): Promise<void>;
  setAutomine(on: boolean): Promise<void>;
  /** Moves the chain's clock forward and mines a block at the new time. */
  increaseTime(seconds: number): Promise<void>;
  chainTime(): Promise<bigint>;
  /** A funded fresh key (100 ETH), e.g. the relayer's signer. */
  fundedKey(): Promise<Wallet>;
  registerMerchant(holdPeriod: number, feeBps?: number): Promise<Merchant>;
  /**
   * `count` fresh customers holding `amount` each in the escrow: minted and deposited by gasless
   * EIP-3009 authorizations the deployer submits, all in a few blocks.
   */
  fundCustomers(count: number, amount: bigint): Promise<Wallet[]>;
  /** Signs with libsecp256k1 (fast enough to pre-sign tens of thousands). */
  signPayment(payer: Wallet, payment: Omit<Payment, "payer">): SignedPayment;
  /** PaymentEscrowed / PaymentRejected / TrancheSettled seen since the deployment. */
  escrowEvents(): Promise<EscrowEvents>;
  stop(): Promise<void>;
}

export interface EscrowEvents {
  /** Payment id → number of PaymentEscrowed events, with the batch of the last. */
  escrowed: Map<Hex, { count: number; batchId: bigint; merchantId: bigint }>;
  rejected: Map<Hex, number>;
  /** "<batchId>:<merchantId>" → number of TrancheSettled events. */
  settled: Map<string, number>;
}

const HUNDRED_ETH = "0x56BC75E2D63100000";
const MINTER_ALLOWANCE = 10n ** 30n;

/** Starts `hardhat node` on a free loopback port and deploys StablePay to it with scripts/deploy.ts. */
export async function startLocalChain(): Promise<LocalChain> {
  const node = await startHardhatNode(await freePort(), 90_000);
  const dir = tempDir("stablepay-relayer-");
  try {
    const deployed = await runHardhat(
      ["run", "scripts/deploy.ts", "--network", "localhost", "--no-compile"],
      childEnv({ LOCAL_RPC_URL: node.url, DEPLOYMENTS_DIR: dir }),
      180_000,
    );
    if (deployed.code !== 0) throw new Error(`deploy failed:\n${deployed.output}`);
    return await connectLocalChain(node, dir);
  } catch (error) {
    await node.stop();
    removeDir(dir);
    throw error;
  }
}

async function connectLocalChain(node: HardhatNode, dir: string): Promise<LocalChain> {
  const deploymentsFile = path.join(dir, "localhost.json");
  const record = JSON.parse(fs.readFileSync(deploymentsFile, "utf8"));
  const chainId = BigInt(record.chainId);
  const provider = new JsonRpcProvider(node.url, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
  const deployer = new Wallet(LOCAL_DEV_SIGNER_KEY, provider);
  const escrowAddress = record.contracts.PaymentEscrow.address as Address;
  const token = SettlementToken__factory.connect(record.contracts.SettlementToken.address, deployer);
  const registry = MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, deployer);
  const escrow = PaymentEscrow__factory.connect(escrowAddress, deployer);
  const rpc = <T = unknown>(method: string, params: unknown[] = []) => rpcCall<T>(node.url, method, params);
  const digester = new EscrowDigester(chainId, escrowAddress.toLowerCase() as Hex);
  const tokenName = await token.name();
  let deployerNonce = await provider.getTransactionCount(deployer.address, "pending");

  // The deployer is master minter (deploy.ts default); it mints for the tests' customers itself.
  await (await token.configureMinter(deployer.address, MINTER_ALLOWANCE, { nonce: deployerNonce++ })).wait();

  /** Sends the deployer's transactions with explicit nonces while the node holds them, then mines them together. */
  async function sendAll(requests: TransactionRequest[]): Promise<void> {
    const fees = await provider.getFeeData();
    await rpc("evm_setAutomine", [false]);
    try {
      const hashes: string[] = [];
      for (let i = 0; i < requests.length; i += 200) {
        const chunk = requests.slice(i, i + 200);
        const raws = await Promise.all(
          chunk.map((request) =>
            deployer.signTransaction({
              ...request,
              chainId,
              nonce: deployerNonce++,
              type: 2,
              maxFeePerGas: (fees.maxFeePerGas ?? 10n ** 10n) * 2n,
              maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? 10n ** 9n,
            }),
          ),
        );
        hashes.push(...(await Promise.all(raws.map((raw) => rpc<string>("eth_sendRawTransaction", [raw])))));
      }
      for (let blocks = 0; ; blocks++) {
        const pending = await provider.getTransactionCount(deployer.address, "latest");
        if (pending >= deployerNonce) break;
        if (blocks > 10_000) throw new Error("funding transactions were not mined");
        await rpc("hardhat_mine", ["0x1"]);
      }
      const failed = await Promise.all(
        hashes.map(async (hash) => (await provider.getTransactionReceipt(hash))?.status),
      );
      if (failed.some((status) => status !== 1)) throw new Error("a funding transaction reverted");
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
  }

  const chain: LocalChain = {
    node,
    url: node.url,
    dir,
    deploymentsFile,
    chainId,
    provider,
    deployer,
    token,
    registry,
    escrow,
    escrowAddress,
    deployBlock: Number(record.blockNumber),
    rpc,
    async mine(blocks = 1) {
      await rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
    },
    async setAutomine(on) {
      await rpc("evm_setAutomine", [on]);
    },
    async increaseTime(seconds) {
      await rpc("evm_increaseTime", [seconds]);
      await rpc("hardhat_mine", ["0x1"]);
    },
    async chainTime() {
      return BigInt((await provider.getBlock("latest"))!.timestamp);
    },
    async fundedKey() {
      const wallet = new Wallet(Wallet.createRandom().privateKey, provider);
      await rpc("hardhat_setBalance", [wallet.address, HUNDRED_ETH]);
      return wallet;
    },
    async registerMerchant(holdPeriod, feeBps = 100) {
      const owner = new Wallet(Wallet.createRandom().privateKey, provider);
      const payout = Wallet.createRandom().address as Address;
      const tx = await registry.registerMerchant(owner.address, payout, feeBps, holdPeriod, ZeroHash, {
        nonce: deployerNonce++,
      });
      await tx.wait();
      return { id: await registry.merchantCount(), owner, payout, holdPeriod };
    },
    async fundCustomers(count, amount) {
      const customers = Array.from({ length: count }, () => new Wallet(Wallet.createRandom().privateKey, provider));
      const domain = { name: tokenName, version: "2", chainId, verifyingContract: await token.getAddress() };
      const types = {
        ReceiveWithAuthorization: [
          { name: "from", type: "address" },
          { name: "to", type: "address" },
          { name: "value", type: "uint256" },
          { name: "validAfter", type: "uint256" },
          { name: "validBefore", type: "uint256" },
          { name: "nonce", type: "bytes32" },
        ],
      };
      const requests: TransactionRequest[] = [];
      const tokenAddress = await token.getAddress();
      for (const customer of customers) {
        const nonce = keccakId(`deposit:${customer.address}`);
        const auth = {
          from: customer.address,
          to: escrowAddress,
          value: amount,
          validAfter: 0n,
          validBefore: 2n ** 40n,
          nonce,
        };
        const signature = await customer.signTypedData(domain, types, auth);
        requests.push({
          to: tokenAddress,
          data: token.interface.encodeFunctionData("mint", [customer.address, amount]),
          gasLimit: 150_000n,
        });
        requests.push({
          to: escrowAddress,
          data: escrow.interface.encodeFunctionData("depositWithAuthorization", [
            customer.address,
            amount,
            auth.validAfter,
            auth.validBefore,
            nonce,
            signature,
          ]),
          gasLimit: 250_000n,
        });
      }
      await sendAll(requests);
      return customers;
    },
    signPayment(payer, fields) {
      const payment: Payment = { ...fields, payer: payer.address.toLowerCase() as Address };
      const digest = digester.payment(payment);
      const { signature, recid } = secp256k1.ecdsaSign(digest, Buffer.from(payer.privateKey.slice(2), "hex"));
      const sig = `${toHex(signature)}${(27 + recid).toString(16)}` as Hex;
      return {
        id: toHex(digest),
        payment,
        signature: sig,
        body: {
          payer: payment.payer,
          merchantId: payment.merchantId.toString(),
          amount: payment.amount.toString(),
          orderRef: payment.orderRef,
          nonce: payment.nonce.toString(),
          validAfter: payment.validAfter.toString(),
          deadline: payment.deadline.toString(),
          signature: sig,
        },
      };
    },
    async escrowEvents() {
      const head = await provider.getBlockNumber();
      const events: EscrowEvents = { escrowed: new Map(), rejected: new Map(), settled: new Map() };
      const STEP = 2_000;
      for (let from = chain.deployBlock; from <= head; from += STEP) {
        const to = Math.min(head, from + STEP - 1);
        for (const log of await escrow.queryFilter(escrow.filters.PaymentEscrowed(), from, to)) {
          const id = log.args.paymentId.toLowerCase() as Hex;
          const seen = events.escrowed.get(id);
          events.escrowed.set(id, {
            count: (seen?.count ?? 0) + 1,
            batchId: log.args.batchId,
            merchantId: log.args.merchantId,
          });
        }
        for (const log of await escrow.queryFilter(escrow.filters.PaymentRejected(), from, to)) {
          const id = log.args.paymentId.toLowerCase() as Hex;
          events.rejected.set(id, (events.rejected.get(id) ?? 0) + 1);
        }
        for (const log of await escrow.queryFilter(escrow.filters.TrancheSettled(), from, to)) {
          const key = `${log.args.batchId}:${log.args.merchantId}`;
          events.settled.set(key, (events.settled.get(key) ?? 0) + 1);
        }
      }
      return events;
    },
    async stop() {
      provider.destroy();
      await node.stop();
      removeDir(dir);
    },
  };
  return chain;
}

/** A fresh order reference (bytes32) from a label. */
export const orderRef = (label: string): Hex => keccakId(label) as Hex;

// ------------------------------------------------------------------ the relayer process

const MAIN = path.join(PROJECT_ROOT, "src", "relayer", "main.ts");
const TS_NODE = require.resolve("ts-node/dist/bin.js");
/** Relayer settings the parent's environment must not leak into a child. */
const RELAYER_ENV = [
  "RELAYER_HOST",
  "RELAYER_PORT",
  "RELAYER_DB",
  "RELAYER_DATA_DIR",
  "RPC_URL",
  "DEPLOYMENTS_FILE",
  "RELAYER_PRIVATE_KEY",
  "RELAYER_ADMIN_TOKEN",
  "BATCH_MAX_SIZE",
  "BATCH_MAX_AGE_MS",
  "CONFIRMATIONS",
  "POLL_INTERVAL_MS",
  "FEE_BUMP_AFTER_MS",
  "MAX_FEE_PER_GAS_CAP",
  "SETTLE_INTERVAL_MS",
  "BODY_LIMIT_BYTES",
  "RATE_LIMIT_PER_SECOND",
  "RATE_LIMIT_BURST",
  "LOG_LEVEL",
];

export interface RelayerProcess {
  url: string;
  child: ChildProcess;
  /** JSON log lines so far (stdout), parsed; unparsable lines are kept as { raw }. */
  logs: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9: no shutdown hook runs. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the graceful stop (exit code 0 expected). */
  stop(): Promise<number | null>;
}

/** Starts `ts-node src/relayer/main.ts` with `env` and waits for its "started" log line. */
export async function spawnRelayer(env: Record<string, string>, startTimeoutMs = 90_000): Promise<RelayerProcess> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of RELAYER_ENV) delete base[name];
  const child = spawn(process.execPath, [TS_NODE, "--transpile-only", MAIN], {
    cwd: PROJECT_ROOT,
    env: { ...base, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let err = "";
  let partial = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));

  const started = await waitUntil(
    "the relayer to start",
    () => {
      if (done) throw new Error(`relayer exited before it started:\n${err}\n${JSON.stringify(logs.slice(-5))}`);
      return logs.find((l) => l.event === "started");
    },
    startTimeoutMs,
    () => `${err}\n${JSON.stringify(logs.slice(-5))}`,
    50,
  ).catch((error) => {
    child.kill("SIGKILL");
    throw error;
  });
  return {
    url: started.url as string,
    child,
    logs,
    stderr: () => err,
    exited,
    async kill() {
      if (!done) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (done) return (await exited).code;
      child.kill("SIGTERM");
      const result = await Promise.race([exited, sleep(30_000).then(() => null)]);
      if (result === null) {
        child.kill("SIGKILL");
        await exited;
        throw new Error("the relayer did not stop within 30 s of SIGTERM");
      }
      return result.code;
    },
  };
}

/** A temp dir holding one relayer's SQLite file. */
export function relayerDir(): { dir: string; db: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-proc-"));
  return { dir, db: path.join(dir, "relayer.sqlite"), remove: () => removeDir(dir) };
}

// ------------------------------------------------------------------ an unreliable node

export type FaultAction = "502" | "reset" | "stall" | "hold-response" | "drop-response";

export interface FaultRule {
  action: FaultAction;
  /** Only HTTP requests carrying one of these JSON-RPC methods (default: every request). */
  methods?: string[];
  /** Let this many matching requests through before the rule applies. */
  skip?: number;
  /** Apply to this many matching requests, then retire (default: until removed). */
  times?: number;
}

export interface RpcProxy {
  url: string;
  /** HTTP requests received, and how many were faulted, by action. */
  stats: { requests: number; faulted: Record<FaultAction, number>; methods: Map<string, number> };
  /** Adds a rule; rules are checked in order and the first that applies wins. */
  fault(rule: FaultRule): void;
  /** Drops every rule and lets stalled requests through (held responses are delivered). */
  heal(): void;
  /** Requests stalled or holding responses right now. */
  held(): number;
  close(): Promise<void>;
}

/**
 * A JSON-RPC proxy on 127.0.0.1 in front of `upstream`. Faults: "502" answers Bad Gateway, "reset"
 * destroys the connection, "stall" holds the request without forwarding it, "hold-response"
 * forwards it (the node acts on it) but holds the answer: the caller cannot know it happened;
 * "drop-response" forwards it and then resets the connection instead of answering.
 */
export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const rules: (FaultRule & { seen: number; applied: number })[] = [];
  const held = new Set<() => void>();
  const sockets = new Set<Socket>();

  const forward = (body: Buffer): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  const methodsOf = (text: string): string[] => {
    try {
      const parsed = JSON.parse(text) as { method?: string } | { method?: string }[];
      return (Array.isArray(parsed) ? parsed : [parsed]).map((c) => String(c.method));
    } catch {
      return [];
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const methods = methodsOf(body.toString("utf8"));
      proxy.stats.requests++;
      for (const m of methods) proxy.stats.methods.set(m, (proxy.stats.methods.get(m) ?? 0) + 1);
      const rule = rules.find((r) => {
        if (r.times !== undefined && r.applied >= r.times) return false;
        if (r.methods && !methods.some((m) => r.methods!.includes(m))) return false;
        r.seen++;
        return r.seen > (r.skip ?? 0);
      });
      if (rule) {
        rule.applied++;
        proxy.stats.faulted[rule.action]++;
      }
      const reply = (answer: { status: number; body: Buffer }) => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      };
      const pass = () =>
        forward(body).then(reply, () => {
          if (!res.writableEnded) res.writeHead(502).end("upstream unavailable");
        });
      switch (rule?.action) {
        case "502":
          res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
          return;
        case "reset":
          req.socket.destroy();
          return;
        case "stall": {
          const release = () => {
            held.delete(release);
            void pass();
          };
          held.add(release);
          res.on("close", () => held.delete(release));
          return;
        }
        case "hold-response": {
          const answer = forward(body);
          const release = () => {
            held.delete(release);
            answer.then(reply, () => res.writeHead(502).end());
          };
          held.add(release);
          res.on("close", () => held.delete(release));
          return;
        }
        case "drop-response":
          forward(body).then(
            () => req.socket.destroy(),
            () => req.socket.destroy(),
          );
          return;
        default:
          void pass();
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: RpcProxy = {
    url: `http://127.0.0.1:${port}`,
    stats: {
      requests: 0,
      faulted: { "502": 0, reset: 0, stall: 0, "hold-response": 0, "drop-response": 0 },
      methods: new Map(),
    },
    fault(rule) {
      rules.push({ ...rule, seen: 0, applied: 0 });
    },
    heal() {
      rules.length = 0;
      for (const release of [...held]) release();
    },
    held: () => held.size,
    async close() {
      rules.length = 0;
      held.clear();
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

// ------------------------------------------------------------------ HTTP

/** POSTs JSON and parses the answer (no retries: the caller decides). */
export async function postJson(url: string, body: unknown, timeoutMs = 30_000): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

export async function getJson(url: string, timeoutMs = 30_000): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

// ------------------------------------------------------------------ scenarios

/** `perPayer` payments of `amount` from each of `customers` to `merchantId`, nonces 0.., interleaved by payer. */
export async function signPayments(
  chain: LocalChain,
  customers: Wallet[],
  options: { merchantId: bigint; perPayer: number; amount: bigint; label: string; firstNonce?: number },
): Promise<SignedPayment[]> {
  const deadline = (await chain.chainTime()) + 30n * 86_400n;
  const payments: SignedPayment[] = [];
  for (let n = 0; n < options.perPayer; n++) {
    for (const [i, customer] of customers.entries()) {
      const nonce = BigInt((options.firstNonce ?? 0) + n);
      payments.push(
        chain.signPayment(customer, {
          merchantId: options.merchantId,
          amount: options.amount,
          orderRef: orderRef(`${options.label}-${i}-${nonce}`),
          nonce,
          validAfter: 0n,
          deadline,
        }),
      );
    }
  }
  return payments;
}

/** The environment of a relayer process on `rpcUrl` with its own key and database (fast test timings). */
export async function relayerEnv(
  chain: LocalChain,
  options: { rpcUrl: string; db: string; signerKey: string },
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    RPC_URL: options.rpcUrl,
    DEPLOYMENTS_FILE: chain.deploymentsFile,
    RELAYER_DB: options.db,
    RELAYER_PORT: String(await freePort()),
    RELAYER_PRIVATE_KEY: options.signerKey,
    POLL_INTERVAL_MS: "50",
    BATCH_MAX_AGE_MS: "100",
    SETTLE_INTERVAL_MS: "200",
    CONFIRMATIONS: "1",
    RATE_LIMIT_PER_SECOND: "100000",
    RATE_LIMIT_BURST: "100000",
    ...extra,
  };
}

/** Relayer states of `payments` by GET /v1/payments/:id ("http <status>" when not found). */
export async function relayerStates(url: string, payments: { id: Hex }[]): Promise<string[]> {
  return Promise.all(
    payments.map(async (p) => {
      const res = await getJson(`${url}/v1/payments/${p.id}`);
      return res.status === 200 ? (res.body.state as string) : `http ${res.status}`;
    }),
  );
}

export function countStates(states: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
