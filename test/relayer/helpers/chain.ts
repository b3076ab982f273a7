/**
 * Chain-side fixtures for the relayer pipeline tests.
 *
 * The relayer talks JSON-RPC over HTTP in production, so the tests do too: `startRpcBridge` serves
 * Hardhat's in-process network on 127.0.0.1 (real HTTP, real JSON-RPC error objects), and can be
 * told to fail or stall requests (an unreliable node). `pipelineFixture` deploys StablePay, gives
 * the relayer a fresh funded key, opens a real SQLite file and connects a ChainClient through the
 * bridge; `accept` signs payments with the fixture's customers and stores them as intake would.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import hre, { ethers } from "hardhat";
import { Wallet, type Signer } from "ethers";
import { deployEscrowFixture, signPayment, usd, type EscrowFixture } from "../../escrow/fixtures";
import { paymentId } from "../../../src/protocol";
import { escrowDomain, type Address, type Payment } from "../../../src/protocol";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { BatchState, PaymentState, SignatureKind, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { makePayment } from "../store/helpers";
import { connectChain, type ChainAddresses, type ChainClient } from "../../../src/relayer/chain/client";
import type { RetryOptions } from "../../../src/relayer/chain/rpcErrors";
import { createPipeline, type Pipeline, type PipelineConfig, type PipelineOptions } from "../../../src/relayer/jobs";
import type { Clock } from "../../../src/relayer/runtime/clock";
import type { Logger } from "../../../src/relayer/runtime/log";
import { toRawLogs, type JsonRpcLog, type RawLog } from "../../../src/relayer/chain/rawTypes";

// ------------------------------------------------------------------ JSON-RPC over HTTP

interface Fault {
  kind: "status" | "stall";
  status?: number;
  ms?: number;
  /** Only requests carrying this JSON-RPC method (else the next request, whatever it is). */
  method?: string;
}

export interface RpcBridge {
  url: string;
  /** HTTP requests served so far (a JSON-RPC batch counts once). */
  requests: number;
  /** JSON-RPC methods called, in order. */
  calls: string[];
  /** The next `count` HTTP requests get `status` (default 503) without reaching the chain. */
  failNext(count: number, status?: number): void;
  /** The next `count` HTTP requests that call `method` get a 503. */
  failMethod(method: string, count: number): void;
  /** Drops every fault not yet used. */
  heal(): void;
  /** The next `count` HTTP requests hang for `ms` and then get a 504. */
  stallNext(count: number, ms: number): void;
  close(): Promise<void>;
}

type JsonRpcCall = { jsonrpc: "2.0"; id: number | string; method: string; params?: unknown[] };

export async function startRpcBridge(): Promise<RpcBridge> {
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const answer = async (call: JsonRpcCall) => {
    bridge.calls.push(call.method);
    try {
      const result = await hre.network.provider.request({ method: call.method, params: call.params ?? [] });
      return { jsonrpc: "2.0", id: call.id, result: result ?? null };
    } catch (e) {
      const error = e as { code?: number; message: string; data?: unknown };
      return {
        jsonrpc: "2.0",
        id: call.id,
        error: { code: typeof error.code === "number" ? error.code : -32603, message: error.message, data: error.data },
      };
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bridge.requests++;
      const text = Buffer.concat(chunks).toString("utf8");
      const at = faults.findIndex((f) => !f.method || text.includes(`"${f.method}"`));
      const fault = at < 0 ? undefined : faults.splice(at, 1)[0];
      if (fault?.kind === "status") {
        res.writeHead(fault.status ?? 503).end("unavailable");
        return;
      }
      const serve = async () => {
        const body = JSON.parse(text) as JsonRpcCall | JsonRpcCall[];
        const reply = Array.isArray(body) ? await Promise.all(body.map(answer)) : await answer(body);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
      };
      if (fault?.kind === "stall") {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.writableEnded) res.writeHead(504).end("stalled");
        }, fault.ms);
        timers.add(timer);
        return;
      }
      serve().catch((e) => res.writeHead(500).end(String(e)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const bridge: RpcBridge = {
    url: `http://127.0.0.1:${port}`,
    requests: 0,
    calls: [],
    failNext(count, status = 503) {
      for (let i = 0; i < count; i++) faults.push({ kind: "status", status });
    },
    failMethod(method, count) {
      for (let i = 0; i < count; i++) faults.push({ kind: "status", status: 503, method });
    },
    heal() {
      faults.length = 0;
    },
    stallNext(count, ms) {
      for (let i = 0; i < count; i++) faults.push({ kind: "stall", ms });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return bridge;
}

// ------------------------------------------------------------------ chain controls

/** Every log `address` emitted so far, as the node sends them to the relayer (RawLogs). */
export async function escrowLogsSoFar(address: string): Promise<RawLog[]> {
  return toRawLogs(await rpc<JsonRpcLog[]>("eth_getLogs", [{ address, fromBlock: "0x0", toBlock: "latest" }]));
}

export const rpc = <T = unknown>(method: string, params: unknown[] = []): Promise<T> =>
  hre.network.provider.request({ method, params }) as Promise<T>;

export const mine = (blocks = 1): Promise<unknown> => rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
export const setAutomine = (on: boolean): Promise<unknown> => rpc("evm_setAutomine", [on]);
export const latestTimestamp = async (): Promise<bigint> =>
  BigInt((await ethers.provider.getBlock("latest"))!.timestamp);

/** Moves the chain's clock forward and mines a block at the new time. */
export async function advanceChainTime(seconds: bigint): Promise<void> {
  await rpc("evm_increaseTime", [Number(seconds)]);
  await mine();
}

// ------------------------------------------------------------------ clock, logs, waiting

export class ManualClock implements Clock {
  constructor(private t: number = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A logger that keeps every line (to assert what was reported). */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; msg: string; obj: object }[] = [];
  private push = (level: string) => (obj: object, msg?: string) => void this.lines.push({ level, msg: msg ?? "", obj });
  debug = this.push("debug");
  info = this.push("info");
  warn = this.push("warn");
  error = this.push("error");
  has(level: string, fragment: string): boolean {
    return this.lines.some((l) => l.level === level && l.msg.includes(fragment));
  }
}

/** Polls `check` until it returns a truthy value (bounded; fails with `label`). */
export async function waitFor<T>(
  label: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// ------------------------------------------------------------------ the fixture

export const TEST_CONFIG: PipelineConfig = {
  batchMaxSize: 50,
  batchMaxAgeMs: 0,
  confirmations: 1,
  pollIntervalMs: 25,
  feeBumpAfterMs: 15_000,
  maxFeePerGasCap: 500_000_000_000n,
  settleIntervalMs: 25,
};

/** Retries fast in tests: the policy is the same, only the delays are short. */
export const FAST_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

export interface PipelineFixture extends EscrowFixture {
  bridge: RpcBridge;
  store: SqliteStore;
  storeFile: string;
  chain: ChainClient;
  addresses: ChainAddresses;
  relayerKey: Hex;
  relayerAddress: Hex;
  clock: ManualClock;
  logger: MemoryLogger;
  config: PipelineConfig;
  pipeline(overrides?: Partial<PipelineOptions>): Pipeline;
  /** Signs payments of `spec.payer` and stores them as accepted (oldest first, in order). */
  accept(specs: PaySpec[]): Promise<PaymentRecord[]>;
  /** A second ChainClient on the same key (a restarted relayer). */
  reconnect(): Promise<ChainClient>;
  cleanup(): Promise<void>;
}

/**
 * The shortest hold `merchantId` registered (its minHold): the hold the relayer's payment requests
 * default to, and the one these helpers sign unless told otherwise.
 */
export async function minHoldOf(f: Pick<EscrowFixture, "registry">, merchantId: bigint): Promise<bigint> {
  const [, , minHold] = await f.registry.terms(merchantId);
  return BigInt(minHold);
}

export interface PaySpec {
  payer: Signer & { address: string };
  merchantId?: bigint;
  /** Seconds held (default the merchant's minHold). */
  hold?: bigint;
  amount?: bigint;
  nonce?: bigint;
  validAfter?: bigint;
  deadline?: bigint;
  /** As intake recorded it (default ECDSA: the fixture's payers are EOAs); null = stored before it was recorded. */
  signatureKind?: SignatureKind | null;
}

/** 100 ETH in wei, as hardhat_setBalance takes it. */
export const HUNDRED_ETH = "0x56BC75E2D63100000";

/** The relayer's view of `f`'s deployment, its events read from `startBlock`. */
export async function deploymentOf(f: EscrowFixture, startBlock: bigint): Promise<ChainAddresses> {
  return oneCurrency({
    chainId: f.chainId,
    escrow: await f.escrow.getAddress(),
    registry: await f.registry.getAddress(),
    token: await f.token.getAddress(),
    startBlock,
  });
}

/** The addresses of a deployment of one currency (USD, the fixtures' spUSD token): the default's, listed once more. */
export function oneCurrency(addresses: Omit<ChainAddresses, "currencies">): ChainAddresses {
  const { escrow, token, startBlock, tokenStartBlock } = addresses;
  const usd = { code: "USD", symbol: "spUSD", decimals: 6, token, escrow, startBlock, external: false };
  return { ...addresses, currencies: [tokenStartBlock === undefined ? usd : { ...usd, tokenStartBlock }] };
}

/**
 * A ChainClient through `bridge` on `f`'s deployment (events from `startBlock`), signing with a fresh
 * key funded with 100 ETH; `bridge` and the returned provider are the caller's to close.
 */
export async function connectFreshSigner(
  bridge: RpcBridge,
  f: EscrowFixture,
  startBlock: bigint,
): Promise<{ chain: ChainClient; signer: { address: string } }> {
  const signer = Wallet.createRandom();
  await rpc("hardhat_setBalance", [signer.address, HUNDRED_ETH]);
  const chain = await connectChain({
    rpcUrl: bridge.url,
    deployment: await deploymentOf(f, startBlock),
    signerKey: signer.privateKey as Hex,
    retry: FAST_RETRY,
    timeoutMs: 5_000,
  });
  return { chain, signer };
}

export async function pipelineFixture(config: Partial<PipelineConfig> = {}): Promise<PipelineFixture> {
  const startBlock = BigInt(await ethers.provider.getBlockNumber()) + 1n;
  const f = await deployEscrowFixture();
  const relayer = Wallet.createRandom();
  await rpc("hardhat_setBalance", [relayer.address, HUNDRED_ETH]);
  const bridge = await startRpcBridge();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-pipeline-"));
  const storeFile = path.join(dir, "relayer.sqlite");
  const store = await openSqliteStore(storeFile);
  const addresses = await deploymentOf(f, startBlock);
  const logger = new MemoryLogger();
  const connect = () =>
    connectChain({
      rpcUrl: bridge.url,
      deployment: addresses,
      signerKey: relayer.privateKey as Hex,
      retry: FAST_RETRY,
      logger,
      timeoutMs: 5_000,
    });
  const chain = await connect();
  const clock = new ManualClock();
  const fullConfig = { ...TEST_CONFIG, ...config };
  const nonces = new Map<string, bigint>();
  const domain = escrowDomain(f.chainId, addresses.escrow as Address);
  let created = 0;
  const providers = [chain.provider];

  return {
    ...f,
    bridge,
    store,
    storeFile,
    chain,
    addresses,
    relayerKey: relayer.privateKey as Hex,
    relayerAddress: relayer.address as Hex,
    clock,
    logger,
    config: fullConfig,
    pipeline(overrides = {}) {
      return createPipeline({ store, chain, config: fullConfig, clock, logger, ...overrides });
    },
    async accept(specs) {
      const now = await latestTimestamp();
      const records: PaymentRecord[] = [];
      for (const spec of specs) {
        const payer = spec.payer.address;
        let nonce = spec.nonce;
        if (nonce === undefined) {
          nonce = nonces.get(payer) ?? (await f.escrow.nonceWindow(payer))[0];
          nonces.set(payer, nonce + 1n);
        }
        created++;
        const merchantId = spec.merchantId ?? f.merchants[0].id;
        const payment: Payment = {
          payer: payer as Address,
          merchantId,
          amount: spec.amount ?? usd(10),
          orderRef: ethers.zeroPadValue(ethers.toBeHex(0x5000_0000n + BigInt(created)), 32) as Hex,
          nonce,
          validAfter: spec.validAfter ?? 0n,
          deadline: spec.deadline ?? now + 86_400n,
          hold: spec.hold ?? (await minHoldOf(f, merchantId)),
        };
        const signature = await signPayment(f, spec.payer, payment);
        clock.advance(1);
        const at = clock.now();
        records.push(
          makePayment(created, {
            ...payment,
            id: paymentId(domain, payment).toLowerCase() as Hex,
            payer: payer.toLowerCase() as Hex,
            signature,
            signatureKind: spec.signatureKind === undefined ? SignatureKind.Ecdsa : spec.signatureKind,
            createdAt: at,
            updatedAt: at,
          }),
        );
      }
      await store.payments.insertAccepted(records);
      return records;
    },
    async reconnect() {
      const client = await connect();
      providers.push(client.provider);
      return client;
    },
    async cleanup() {
      for (const p of providers) p.destroy();
      await bridge.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A suite's pipeline fixtures: registers one afterEach that turns automining back on (a test may
 * have paused it) and cleans up the fixture the test made; each test calls the returned setup.
 */
export function usePipelineFixture(): (config?: Partial<PipelineConfig>) => Promise<PipelineFixture> {
  let current: PipelineFixture | undefined;
  afterEach(async () => {
    const fx = current;
    current = undefined;
    await setAutomine(true);
    await fx?.cleanup();
  });
  return async (config = {}) => (current = await pipelineFixture(config));
}

/** `count` fresh payers, each holding `amount` in the escrow (minted, approved, deposited). */
export async function fundedPayers(f: EscrowFixture, count: number, amount: bigint): Promise<Wallet[]> {
  const wallets = Array.from({ length: count }, () => new Wallet(Wallet.createRandom().privateKey, ethers.provider));
  const escrow = await f.escrow.getAddress();
  for (const w of wallets) {
    await rpc("hardhat_setBalance", [w.address, "0x16345785D8A0000"]); // 0.1 ETH
    await f.token.connect(f.admin).mint(w.address, amount);
    await f.token.connect(w).approve(escrow, amount);
    await f.escrow.connect(w).deposit(amount);
  }
  return wallets;
}

/** Current stored states of `payments`, by id. */
export async function statesOf(store: SqliteStore, payments: Pick<PaymentRecord, "id">[]): Promise<PaymentState[]> {
  return Promise.all(payments.map(async (p) => (await store.payments.get(p.id))!.state));
}

/** Ticks `pipeline` until every one of `payments` is escrowed and exactly one batch is confirmed. */
export function tickUntilEscrowedInOneBatch(
  pipeline: Pipeline,
  store: SqliteStore,
  payments: Pick<PaymentRecord, "id">[],
  label: string,
): Promise<void> {
  return tickUntil(
    pipeline,
    label,
    async () =>
      (await statesOf(store, payments)).every((s) => s === PaymentState.Escrowed) &&
      (await store.batches.listByState([BatchState.Confirmed])).length === 1,
  );
}

/** Runs `pipeline.tick()` until `done` holds (bounded). */
export async function tickUntil(
  pipeline: Pipeline,
  label: string,
  done: () => Promise<boolean>,
  maxTicks = 40,
): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    await pipeline.tick();
    if (await done()) return;
  }
  throw new Error(`pipeline did not reach: ${label} (after ${maxTicks} ticks)`);
}
