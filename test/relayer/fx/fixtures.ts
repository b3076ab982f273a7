/**
 * The FX tests' deployment: USD and EUR by the deploy script, an API serving both with an FX desk
 * (merchant 1, owned by the desk key), an EUR merchant (merchant 2), a quoter holding FX_QUOTER_ROLE,
 * a funded traveller, and builders for quotes and the traveller's signed leg.
 */
import { ethers } from "hardhat";
import { Wallet, ZeroHash, type Signer } from "ethers";
import type { Hex } from "../../../src/relayer/domain";
import { Secret } from "../../../src/relayer/config";
import type { FxConfig } from "../../../src/relayer/config";
import {
  FX_QUOTER_ROLE,
  escrowDomain,
  ethersTypes,
  fxDomain,
  paymentTypes,
  quoteOrderRef,
  quoteTypes,
  type Address,
  type Payment,
  type Quote,
} from "../../../src/protocol";
import type { FxQuote } from "../../../src/protocol/schemas";
import { MerchantRegistry__factory, PaymentEscrow__factory, SettlementToken__factory } from "../../../typechain-types";
import { BatchTree, encodeBatch, paymentFields } from "../../../src/protocol";
import { BatchState, PaymentState, type PaymentRecord } from "../../../src/relayer/domain";
import { applyEscrowPage, decodeEscrowLogs } from "../../../src/relayer/jobs/logApplier";
import { NO_LEDGER } from "../../../src/relayer/ledger/listener";
import { paymentBody } from "../helpers/api";
import { escrowLogsSoFar, HUNDRED_ETH, latestTimestamp, rpc } from "../helpers/chain";
import { startDeployedApi, type DeployedApi } from "../helpers/deployment";

export const HOLD = 3_600n;
/** 1087 USD units buy 1000 EUR units (both tokens have 6 decimals). */
export const RATE = { pay: 1087n, settle: 1000n };
export const SETTLE = 10_000_000n; // 10 EUR
export const PAY = 10_870_000n; // 10.87 USD: SETTLE at RATE
export const ORDER = ethers.id("order-42") as Hex;

export interface FxDeploymentOptions {
  /** False: nobody holds FX_QUOTER_ROLE. */
  grantQuoter?: boolean;
  /** The desk's EUR balance (default 5 × SETTLE). */
  deskEur?: bigint;
  /** The app's clock (default Date.now). */
  clock?: () => number;
  /** The mirror's timer (default 0: none). */
  mirrorIntervalMs?: number;
}

export type FxDeployment = Awaited<ReturnType<typeof fxDeployment>>;

export async function fund(api: DeployedApi, code: string, who: Wallet, amount: bigint) {
  const [deployer] = await ethers.getSigners();
  const c = api.record.currencies.find((x) => x.code === code)!;
  const token = SettlementToken__factory.connect(c.token.address, deployer);
  const escrow = PaymentEscrow__factory.connect(c.escrow.address, deployer);
  await (await token.configureMinter(deployer.address, amount)).wait();
  await (await token.mint(who.address, amount)).wait();
  await (await token.connect(who).approve(c.escrow.address, amount)).wait();
  await (await escrow.connect(who).deposit(amount)).wait();
}

/**
 * The deployment; merchant 1 the FX desk (owned by the desk key), merchant 2 the EUR merchant; the
 * quoter holding FX_QUOTER_ROLE unless `grantQuoter` is false; the desk's EUR balance `deskEur`.
 */
export async function fxDeployment(options: FxDeploymentOptions = {}) {
  const quoter = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
  const desk = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
  const customer = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
  const logs: string[] = [];
  const fx: FxConfig = {
    quoterKey: new Secret(quoter.privateKey as `0x${string}`),
    deskKey: new Secret(desk.privateKey as `0x${string}`),
    deskMerchantId: 1n,
    rates: new Map([["USD/EUR", RATE]]),
    maxDeviationBps: 50n,
    quoteTtlSeconds: 120n,
    // Unless a test says otherwise, it runs the mirror's passes itself.
    mirrorIntervalMs: options.mirrorIntervalMs ?? 0,
  };
  const api = await startDeployedApi(["USD", "EUR"], {
    served: ["USD", "EUR"],
    fx,
    clock: options.clock,
    logStream: { write: (line: string) => logs.push(line) },
  });
  const [deployer] = await ethers.getSigners();
  const registry = MerchantRegistry__factory.connect(api.record.contracts.MerchantRegistry.address, deployer);
  await (await registry.registerMerchant(desk.address, desk.address, 0, 60n, 86_400n, ZeroHash)).wait();
  const owner = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
  await (await registry.registerMerchant(owner.address, owner.address, 100, HOLD, 86_400n, ZeroHash)).wait();
  const merchantId = 2n;
  if (options.grantQuoter !== false) await (await registry.grantRole(FX_QUOTER_ROLE, quoter.address)).wait();
  for (const w of [desk, customer, owner]) await rpc("hardhat_setBalance", [w.address, HUNDRED_ETH]);
  await fund(api, "USD", customer, PAY * 2n);
  const deskEur = options.deskEur ?? SETTLE * 5n;
  if (deskEur > 0n) await fund(api, "EUR", desk, deskEur);

  const escrowOf = (code: string) =>
    api!.record.currencies.find((c) => c.code === code)!.escrow.address.toLowerCase() as Address;
  const domain = fxDomain(31337n, api.record.contracts.MerchantRegistry.address.toLowerCase() as Address);
  const url = api.url;
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as any };
  };
  const askQuote = (overrides: Record<string, unknown> = {}) =>
    call("/v1/fx/quotes", {
      payer: customer.address,
      payCurrency: "USD",
      settleCurrency: "EUR",
      merchantId: merchantId.toString(),
      settleAmount: SETTLE.toString(),
      orderRef: ORDER,
      ...overrides,
    });
  /** The customer's leg 1 for `quote`, with `overrides`, as POST /v1/fx/payments' `payment`. */
  const legPayment = async (quote: Quote, overrides: Partial<Payment> = {}): Promise<Payment> => ({
    payer: customer.address.toLowerCase() as Address,
    merchantId: 1n,
    amount: quote.payAmount,
    orderRef: quoteOrderRef(domain, quote),
    nonce: 0n,
    validAfter: 0n,
    deadline: quote.expiresAt,
    hold: HOLD,
    ...overrides,
  });
  const signLeg = async (quote: Quote, overrides: Partial<Payment> = {}) => {
    const payment = await legPayment(quote, overrides);
    const signature = (await (customer as Signer).signTypedData(
      escrowDomain(31337n, escrowOf("USD")),
      ethersTypes(paymentTypes),
      payment,
    )) as Hex;
    return paymentBody(payment, signature, { escrow: escrowOf("USD") });
  };
  /** A quote signed by `signer` (default the quoter): what a forger or a stale client sends. */
  const signQuote = async (quote: Quote, signer: Wallet = quoter) =>
    (await signer.signTypedData(domain, ethersTypes(quoteTypes), quote)) as Hex;
  const wire = (q: Quote): FxQuote => ({
    ...q,
    payAmount: q.payAmount.toString(),
    settleAmount: q.settleAmount.toString(),
    merchantId: q.merchantId.toString(),
    expiresAt: q.expiresAt.toString(),
  });
  const parse = (q: FxQuote): Quote => ({
    quoteId: q.quoteId as Hex,
    payToken: q.payToken as Address,
    settleToken: q.settleToken as Address,
    payAmount: BigInt(q.payAmount),
    settleAmount: BigInt(q.settleAmount),
    merchantId: BigInt(q.merchantId),
    orderRef: q.orderRef as Hex,
    expiresAt: BigInt(q.expiresAt),
  });
  return {
    api,
    quoter,
    desk,
    customer,
    owner,
    merchantId,
    logs,
    askQuote,
    signLeg,
    legPayment,
    signQuote,
    wire,
    parse,
    call,
    escrowOf,
  };
}

/**
 * A clock on chain time (the in-process chain may run ahead of the wall clock after earlier tests):
 * signed deadlines and quote expiries the app computes are then the chain's. `advance` moves it on.
 */
export async function chainClock(): Promise<{ now: () => number; advance(ms: number): void }> {
  let offset = Number(await latestTimestamp()) * 1000 - Date.now();
  return { now: () => Date.now() + offset, advance: (ms) => (offset += ms) };
}

/** Quotes SETTLE for merchant 2 and pays it through POST /v1/fx/payments; the two legs' stored ids. */
export async function payAcross(d: FxDeployment): Promise<{ pay: Hex; settle: Hex }> {
  const quoted = await d.askQuote();
  if (quoted.status !== 201) throw new Error(`quote: ${quoted.text}`);
  const paid = await d.call("/v1/fx/payments", {
    quote: quoted.body.quote,
    quoteSignature: quoted.body.quoteSignature,
    payment: await d.signLeg(d.parse(quoted.body.quote), { nonce: BigInt(quoted.body.payment.message.nonce) }),
  });
  if (paid.status !== 201) throw new Error(`pay: ${paid.text}`);
  return { pay: paid.body.pay.id as Hex, settle: paid.body.settle.id as Hex };
}

const currencyOf = (d: FxDeployment, code: string) => d.api.record.currencies.find((c) => c.code === code)!;

/** The escrow of `code`, connected to `runner`. */
export const escrowOn = (d: FxDeployment, code: string, runner: Signer) =>
  PaymentEscrow__factory.connect(currencyOf(d, code).escrow.address, runner);

/**
 * Escrows the stored payments `ids` of currency `code` in one batch on chain and records the batch
 * in that currency's store view, as the batcher, submitter and watcher would.
 */
export async function escrowStored(d: FxDeployment, code: string, ids: Hex[]): Promise<void> {
  const store = d.api.store.forCurrency(code);
  const records = await Promise.all(ids.map(async (id) => (await store.payments.get(id))!));
  const [deployer] = await ethers.getSigners();
  const escrow = escrowOn(d, code, deployer);
  const batchId = (await escrow.batchCount()) + 1n;
  const items = records.map((r) => ({ payment: paymentFields(r), signature: r.signature }));
  const tx = await escrow.payBatch(encodeBatch(items));
  const receipt = (await tx.wait())!;
  const tree = new BatchTree(ids);
  const batch = await store.batches.create(ids);
  await store.batches.update(batch.key, {
    state: BatchState.Confirmed,
    batchId,
    root: tree.root,
    txHash: tx.hash as Hex,
    blockNumber: BigInt(receipt.blockNumber),
    blockHash: receipt.blockHash as Hex,
  });
  // Untouched, a payment is releasable at its tranche's time: the batch block's time plus its hold.
  const blockTime = BigInt((await receipt.getBlock()).timestamp);
  await store.payments.update(
    records.map((r, leafIndex) => ({
      id: r.id,
      state: PaymentState.Escrowed,
      fields: { batchId, leafIndex, txHash: tx.hash as Hex, batchKey: batch.key, releaseAt: blockTime + r.hold },
    })),
  );
  await applyChain(d, code);
}

/** Applies every log of `code`'s escrow so far to its store view, as its chain watcher does. */
export async function applyChain(d: FxDeployment, code: string): Promise<void> {
  const store = d.api.store.forCurrency(code);
  const raw = await escrowLogsSoFar(currencyOf(d, code).escrow.address);
  const [deployer] = await ethers.getSigners();
  await store.transaction(() =>
    applyEscrowPage(store, decodeEscrowLogs(raw), Date.now(), NO_LEDGER, deployer.address.toLowerCase() as Hex),
  );
}

/** The stored payment `id`, with what the escrow call of an action on it takes. */
export async function onChain(
  d: FxDeployment,
  id: Hex,
): Promise<{ record: PaymentRecord; fields: Payment; inclusion: { batchId: bigint; proof: Hex[] } }> {
  const record = (await d.api.store.payments.get(id))!;
  const batch = (await d.api.store.batches.get(record.batchKey!))!;
  const tree = new BatchTree(batch.paymentIds);
  return {
    record,
    fields: paymentFields(record),
    inclusion: { batchId: record.batchId!, proof: tree.proof(record.leafIndex!) },
  };
}
