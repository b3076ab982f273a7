/**
 * The pipeline fixture on anvil instead of Hardhat's in-process network: a real node process with
 * interval mining (transactions wait in its pool), EIP-1559 replacement rules and `anvil_reorg`.
 *
 * Set-up (deploy, merchants, funded customers) runs with a block per transaction, which is quick;
 * then the node switches to interval mining for the test. The relayer side is the same as
 * ./chain.ts's `pipelineFixture`: a real SQLite file, a ChainClient over HTTP, `createPipeline`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, Network, Wallet, ZeroHash, id, toBeHex, zeroPadValue } from "ethers";
import { deployStablePay } from "../../../src/chain/deploy";
import { TEST_MNEMONIC, setIntervalMining } from "../../../src/localnet/anvil";
import { startNode, type LocalNode } from "../../../src/localnet/node";
import { freePort, jsonRpc } from "../../../src/localnet/rpc";
import { escrowDomain, ethersTypes, paymentId, paymentTypes, type Address, type Payment } from "../../../src/protocol";
import { connectChain, type ChainAddresses, type ChainClient } from "../../../src/relayer/chain/client";
import { SignatureKind, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { createPipeline, type Pipeline, type PipelineConfig, type PipelineOptions } from "../../../src/relayer/jobs";
import { createMetrics, type RelayerMetrics } from "../../../src/relayer/runtime/metrics";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import type { MerchantRegistry, PaymentEscrow, SettlementToken } from "../../../typechain-types";
import { makePayment } from "../store/helpers";
import { FAST_RETRY, ManualClock, MemoryLogger, TEST_CONFIG, oneCurrency } from "./chain";

const usd = (n: number): bigint => BigInt(n) * 1_000_000n;
export const ANVIL_DEPOSIT = usd(1_000);
/** The merchant's one allowed hold (minHold = maxHold), which its payments ask. */
export const HOLD_PERIOD = 7n * 24n * 3600n;

export interface AnvilFixtureOptions {
  /** Whole seconds between blocks once set up (default 1). */
  blockTime?: number;
  /** `finalized` lags the head by two epochs (default 32 blocks per epoch, as anvil has it). */
  slotsInAnEpoch?: number;
  config?: Partial<PipelineConfig>;
}

export interface AnvilPipelineFixture {
  node: LocalNode;
  url: string;
  provider: JsonRpcProvider;
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  merchantId: bigint;
  customers: Wallet[];
  store: SqliteStore;
  chain: ChainClient;
  addresses: ChainAddresses;
  clock: ManualClock;
  logger: MemoryLogger;
  metrics: RelayerMetrics;
  config: PipelineConfig;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  head(): Promise<bigint>;
  pipeline(overrides?: Partial<PipelineOptions>): Pipeline;
  /** Signs a payment of 10.00 per payer and stores them as accepted (as intake would). */
  accept(payers: Wallet[]): Promise<PaymentRecord[]>;
  cleanup(): Promise<void>;
}

function account(index: number, provider: JsonRpcProvider): Wallet {
  const hd = HDNodeWallet.fromPhrase(TEST_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
  return new Wallet(hd.privateKey, provider);
}

export async function anvilPipelineFixture(options: AnvilFixtureOptions = {}): Promise<AnvilPipelineFixture> {
  const node = await startNode({ kind: "anvil", port: await freePort(), slotsInAnEpoch: options.slotsInAnEpoch });
  const cleanups: (() => Promise<void> | void)[] = [() => node.stop()];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
  };
  try {
    const provider = new JsonRpcProvider(node.url, Network.from(node.chainId), {
      staticNetwork: true,
      cacheTimeout: -1,
    });
    provider.pollingInterval = 50;
    cleanups.push(() => provider.destroy());
    const rpc = <T = unknown>(method: string, params: unknown[] = []) => jsonRpc<T>(node.url, method, params);
    const admin = account(0, provider);
    const merchantOwner = account(1, provider);
    const payout = account(2, provider);
    const customers = [3, 4, 5].map((i) => account(i, provider));
    const startBlock = BigInt(await provider.getBlockNumber()) + 1n;

    const { token, registry, escrow } = await deployStablePay(admin, {
      admin: admin.address,
      feeRecipient: admin.address,
    });
    const escrowAddress = await escrow.getAddress();
    await (await token.grantRole(await token.MASTER_MINTER_ROLE(), admin.address)).wait();
    await (await token.configureMinter(admin.address, usd(1_000_000_000))).wait();
    await (await registry.grantRole(id("REGISTRAR_ROLE"), admin.address)).wait();
    await (
      await registry.registerMerchant(merchantOwner.address, payout.address, 100, HOLD_PERIOD, HOLD_PERIOD, ZeroHash)
    ).wait();
    const merchantId = await registry.merchantCount();
    for (const customer of customers) {
      await (await token.mint(customer.address, ANVIL_DEPOSIT)).wait();
      await (await token.connect(customer).approve(escrowAddress, ANVIL_DEPOSIT)).wait();
      await (await escrow.connect(customer).deposit(ANVIL_DEPOSIT)).wait();
    }

    const relayer = Wallet.createRandom();
    await rpc("anvil_setBalance", [relayer.address, "0x56BC75E2D63100000"]);
    const addresses: ChainAddresses = oneCurrency({
      chainId: BigInt(node.chainId),
      escrow: escrowAddress as Hex,
      registry: (await registry.getAddress()) as Hex,
      token: (await token.getAddress()) as Hex,
      startBlock,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-anvil-"));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const store = await openSqliteStore(path.join(dir, "relayer.sqlite"));
    cleanups.push(() => store.close());
    const logger = new MemoryLogger();
    const chain = await connectChain({
      rpcUrl: node.url,
      deployment: addresses,
      signerKey: relayer.privateKey as Hex,
      retry: FAST_RETRY,
      logger,
      timeoutMs: 5_000,
    });
    cleanups.push(() => chain.provider.destroy());
    const clock = new ManualClock();
    const metrics = createMetrics({ defaultMetrics: false });
    const config: PipelineConfig = { ...TEST_CONFIG, ...options.config };
    const domain = escrowDomain(addresses.chainId, escrowAddress as Address);
    const nonces = new Map<string, bigint>();
    let created = 0;

    // From here on the node mines on its interval, as a real chain does.
    await setIntervalMining(node.url, options.blockTime ?? 1);

    return {
      node,
      url: node.url,
      provider,
      token,
      registry,
      escrow,
      merchantId,
      customers,
      store,
      chain,
      addresses,
      clock,
      logger,
      metrics,
      config,
      rpc,
      head: async () => BigInt(await rpc<string>("eth_blockNumber")),
      pipeline(overrides = {}) {
        return createPipeline({ store, chain, config, clock, logger, metrics, ...overrides });
      },
      async accept(payers) {
        const now = BigInt((await provider.getBlock("latest"))!.timestamp);
        const records: PaymentRecord[] = [];
        for (const payer of payers) {
          const nonce = nonces.get(payer.address) ?? (await escrow.nonceWindow(payer.address))[0];
          nonces.set(payer.address, nonce + 1n);
          created++;
          const payment: Payment = {
            payer: payer.address as Address,
            merchantId,
            amount: usd(10),
            orderRef: zeroPadValue(toBeHex(0x6000_0000n + BigInt(created)), 32) as Hex,
            nonce,
            validAfter: 0n,
            deadline: now + 86_400n,
            hold: HOLD_PERIOD,
          };
          const signature = (await payer.signTypedData(domain, ethersTypes(paymentTypes), payment)) as Hex;
          clock.advance(1);
          records.push(
            makePayment(created, {
              ...payment,
              id: paymentId(domain, payment).toLowerCase() as Hex,
              payer: payer.address.toLowerCase() as Hex,
              signature,
              signatureKind: SignatureKind.Ecdsa,
              createdAt: clock.now(),
              updatedAt: clock.now(),
            }),
          );
        }
        await store.payments.insertAccepted(records);
        return records;
      },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** A suite's anvil fixtures: one afterEach stops the node and removes the store of the test's fixture. */
export function useAnvilPipelineFixture(): (options?: AnvilFixtureOptions) => Promise<AnvilPipelineFixture> {
  let current: AnvilPipelineFixture | undefined;
  afterEach(async () => {
    const fx = current;
    current = undefined;
    await fx?.cleanup();
  });
  return async (options = {}) => (current = await anvilPipelineFixture(options));
}

/** Ticks `pipeline` every `intervalMs` of real time until `done` holds: blocks come on the node's clock. */
export async function tickUntilReal(
  pipeline: Pipeline,
  label: string,
  done: () => Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await pipeline.tick();
    if (await done()) return;
    if (Date.now() > until) throw new Error(`pipeline did not reach: ${label} (within ${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits (real time) until the node's head reaches `height`. */
export async function waitForHead(fx: AnvilPipelineFixture, height: bigint, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await fx.head()) < height) {
    if (Date.now() > until) throw new Error(`head did not reach ${height}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
