/**
 * A running relayer API for tests: the escrow deployed on Hardhat's in-process chain (merchants
 * registered, customers funded, as test/escrow/fixtures.ts), a real SQLite file in a temp dir, the
 * app listening on 127.0.0.1 port 0, and `fetch` helpers. Also stands in for the chain jobs where
 * a test needs a payment escrowed: it sends payBatch and records the outcome in the store the way
 * the watcher does.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { FastifyInstance } from "fastify";
import { buildApp, type AppDeps } from "../../../src/relayer/app";
import { loadConfig, type RelayerConfig } from "../../../src/relayer/config";
import { BatchState, PaymentState, type Hex } from "../../../src/relayer/domain";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import type { CurrencyAddresses } from "../../../src/relayer/chain/client";
import { DirectChainWriter } from "./directChainWriter";
import { deploymentOf } from "./chain";
import type { Payment } from "../../../src/protocol";
import { BatchTree, encodeBatch } from "../../../src/protocol";
import { paymentBody as wirePaymentBody } from "../../../src/sdk/wire";
import { buildPayment, deployEscrowFixture, signPayment, type EscrowFixture } from "../../escrow/fixtures";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed JSON and oversize bodies). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  key?: string;
  idempotencyKey?: string;
}

export interface ApiHarness {
  f: EscrowFixture;
  app: FastifyInstance;
  store: SqliteStore;
  chain: EthersChainView;
  /** What the app lists at GET /v1/currencies: the fixture's one currency. */
  currencies: readonly CurrencyAddresses[];
  url: string;
  dbPath: string;
  dir: string;
  logs: string[];
  /** The relayer's clock: wall time shifted to the chain's block time. */
  clock: () => number;
  request<T = any>(method: string, route: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Issues an API key for `merchantId` through the admin route. */
  issueKey(merchantId: bigint): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: Partial<RelayerConfig>;
  deps?: Partial<AppDeps>;
  accountCacheMs?: number;
}

/** Chain and relayer for one test: the chain is a Hardhat snapshot, the database a fresh file. */
export async function startApi(options: HarnessOptions = {}): Promise<ApiHarness> {
  const f = await loadFixture(deployEscrowFixture);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-api-"));
  const dbPath = path.join(dir, "relayer.sqlite");
  const store = await openSqliteStore(dbPath);
  const escrow = (await f.escrow.getAddress()) as Hex;
  const chain = await EthersChainView.connect({
    provider: ethers.provider,
    escrow,
    accountCacheMs: options.accountCacheMs ?? 0,
    termsCacheMs: 0,
  });
  const { currencies } = await deploymentOf(f, 0n);
  // The pending block's time, not the latest block's: after loadFixture reverts to a snapshot, the
  // latest block is as old as the snapshot while the next block is stamped with the time since.
  const pending = await ethers.provider.send("eth_getBlockByNumber", ["pending", false]);
  const offset = Number(BigInt(pending.timestamp)) * 1000 - Date.now();
  const clock = () => Date.now() + offset;
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const defaults = loadConfig({});
  const config: RelayerConfig = {
    ...defaults,
    // Tests' webhook receivers listen on 127.0.0.1.
    webhooks: { ...defaults.webhooks, allowLoopback: true },
    adminToken: ADMIN_TOKEN,
    rateLimitPerSecond: 100_000,
    rateLimitBurst: 100_000,
    authFailuresPerMinute: 100_000,
    authFailureBurst: 100_000,
    ...options.config,
  };
  const app = buildApp({
    config,
    store,
    chain,
    currencies,
    writer: new DirectChainWriter(f.relayer, escrow),
    clock,
    logger: { level: "info", stream },
    metrics: createMetrics({ defaultMetrics: false }),
    ...options.deps,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("not listening on TCP");
  const url = `http://127.0.0.1:${address.port}`;

  const request = async <T = any>(method: string, route: string, o: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...o.headers };
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json";
    }
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    if (o.idempotencyKey) headers["idempotency-key"] = o.idempotencyKey;
    const response = await fetch(url + route, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed as T };
  };

  return {
    f,
    app,
    store,
    chain,
    currencies,
    url,
    dbPath,
    dir,
    logs,
    clock,
    request,
    async issueKey(merchantId) {
      const res = await request("POST", `/v1/admin/merchants/${merchantId}/api-keys`, {
        headers: { "x-admin-token": ADMIN_TOKEN },
      });
      if (res.status !== 201) throw new Error(`issuing a key failed: ${res.status} ${res.text}`);
      return { id: res.body.id, key: res.body.key };
    },
    async close() {
      await app.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A suite on a fresh harness per test: registers the start (beforeEach) and the close (afterEach)
 * once and hands each test's harness to `use`.
 */
export function useApi(use: (h: ApiHarness) => void, options: HarnessOptions = {}): void {
  perTest(
    () => startApi(options),
    (h) => h.close(),
    use,
  );
}

/** Registers a per-test resource: started before each test and handed to `use`, stopped after it. */
export function perTest<T>(start: () => Promise<T>, stop: (t: T) => Promise<void>, use: (t: T) => void): void {
  let current: T | undefined;
  beforeEach(async function () {
    current = await start();
    use(current);
  });
  afterEach(async function () {
    if (current !== undefined) await stop(current);
    current = undefined;
  });
}

/** A payment as the API takes it: every number a decimal string, plus the signature. */
export function paymentBody(payment: Payment, signature: Hex, extra: Record<string, unknown> = {}) {
  return { ...wirePaymentBody({ payment, signature }), ...extra };
}

/** Builds and signs a payment of customer `c` (default 10.00 to merchant 1); override any field. */
export async function signedPayment(
  h: ApiHarness,
  customer: number,
  overrides: Partial<Payment> = {},
): Promise<{ payment: Payment; signature: Hex; body: ReturnType<typeof paymentBody> }> {
  const signer = h.f.customers[customer];
  const payment = await buildPayment(h.f, signer, overrides);
  const signature = await signPayment(h.f, signer, payment);
  return { payment, signature, body: paymentBody(payment, signature) };
}

/**
 * Does what the batcher, submitter and watcher do for the given accepted payments: one payBatch
 * transaction, then the batch and each payment recorded as escrowed with its leaf index.
 */
export async function escrowInStore(
  h: ApiHarness,
  ids: Hex[],
): Promise<{ batchId: bigint; batchKey: number; root: Hex }> {
  const records = await Promise.all(ids.map((id) => h.store.payments.get(id)));
  const items = records.map((r) => {
    if (!r) throw new Error("unknown payment");
    const payment: Payment = {
      payer: r.payer,
      merchantId: r.merchantId,
      amount: r.amount,
      orderRef: r.orderRef,
      nonce: r.nonce,
      validAfter: r.validAfter,
      deadline: r.deadline,
      hold: r.hold,
    };
    return { payment, signature: r.signature };
  });
  const batchId = (await h.f.escrow.batchCount()) + 1n;
  const tx = await h.f.escrow.connect(h.f.relayer).payBatch(encodeBatch(items));
  const receipt = await tx.wait();
  const tree = new BatchTree(ids);
  const batch = await h.store.batches.create(ids);
  await h.store.batches.update(batch.key, {
    state: BatchState.Confirmed,
    batchId,
    root: tree.root,
    txHash: tx.hash as Hex,
    blockNumber: BigInt(receipt!.blockNumber),
    blockHash: receipt!.blockHash as Hex,
  });
  await h.store.payments.update(
    ids.map((id, leafIndex) => ({
      id,
      state: PaymentState.Escrowed,
      fields: { batchId, leafIndex, txHash: tx.hash as Hex, batchKey: batch.key },
    })),
  );
  return { batchId, batchKey: batch.key, root: tree.root };
}

/** All files of the SQLite database (main file, WAL, shared memory) concatenated. */
export function databaseBytes(dbPath: string): Buffer {
  const parts = ["", "-wal", "-shm"].map((suffix) => dbPath + suffix).filter((file) => fs.existsSync(file));
  return Buffer.concat(parts.map((file) => fs.readFileSync(file)));
}

export const MAX_UINT128 = (1n << 128n) - 1n;

/** A POST /v1/payments/batch answer's items as [status, error code or null], in order. */
export function batchOutcomes(body: {
  results: { status: number; error?: { code: string } }[];
}): [number, string | null][] {
  return body.results.map((r) => [r.status, r.error?.code ?? null]);
}
