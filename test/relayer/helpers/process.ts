/**
 * A relayer as operators run it, for the crash, fault and benchmark runs: a `hardhat node` child
 * process with StablePay deployed by scripts/deploy.ts, the relayer started as its own process
 * (src/relayer/main.ts under ts-node, killable with SIGKILL). Nothing here loads the Hardhat
 * runtime, so bench/ can use it. The JSON-RPC fault proxy is in ../faults/rpcProxy.ts, scenario
 * helpers (signing runs of payments, reading states and escrow events) in ../crash/scenario.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
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
import { depositNonce } from "../../../src/sdk/eip3009";
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
  stop(): Promise<void>;
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
        // The escrow takes a salt and checks the authorization's nonce is the deposit nonce of it.
        const salt = keccakId(`deposit:${customer.address}`);
        const auth = {
          from: customer.address,
          to: escrowAddress,
          value: amount,
          validAfter: 0n,
          validBefore: 2n ** 40n,
          nonce: depositNonce(customer.address as Address, amount, salt as Address),
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
            salt,
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
  "AUTH_FAILURES_PER_MINUTE",
  "AUTH_FAILURE_BURST",
  "MAX_LIVE_API_KEYS",
  "API_KEYS_PER_HOUR",
  "MAX_NODE_CALLS_PER_REQUEST",
  "RELAY_MIN_AMOUNT",
  "RELAY_QUOTA_PER_DAY",
  "IDEMPOTENCY_RETENTION_MS",
  "REQUEST_RETENTION_MS",
  "PRUNE_INTERVAL_MS",
  "LOG_LEVEL",
  "RELAYER_SECRET_KEY",
  "WEBHOOK_MAX_ENDPOINTS",
  "WEBHOOK_ALLOW_LOOPBACK",
  "WEBHOOK_ALLOW_PRIVATE",
  "WEBHOOK_CONCURRENCY",
  "WEBHOOK_ENDPOINT_CONCURRENCY",
  "WEBHOOK_DISABLE_AFTER_FAILURES",
  "WEBHOOK_DISABLE_AFTER_MS",
  "WEBHOOK_RETENTION_MS",
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
export async function spawnRelayer(
  env: Record<string, string>,
  startTimeoutMs = 90_000,
  /** Node.js flags (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs: string[] = [],
): Promise<RelayerProcess> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of RELAYER_ENV) delete base[name];
  const child = spawn(process.execPath, [...nodeArgs, TS_NODE, "--transpile-only", MAIN], {
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
