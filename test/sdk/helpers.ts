/**
 * A whole relayer for SDK tests, with nothing mocked: the HTTP API on 127.0.0.1 (the relayer API
 * harness: in-process Hardhat chain, temp SQLite file), the chain pipeline (batcher → submitter →
 * watcher → settler) on the same store talking JSON-RPC over HTTP to the same chain, and the
 * webhook dispatcher delivering that store's outbox to a real HTTP receiver. Tests drive the jobs
 * with `tick()` so nothing runs behind their back.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { connectChain, type ChainClient } from "../../src/relayer/chain/client";
import { createPipeline, type Pipeline } from "../../src/relayer/jobs";
import { WebhookDispatcher } from "../../src/relayer/webhooks/dispatcher";
import type { PaymentState } from "../../src/relayer/domain";
import { RelayerApiError, RelayerClient, escrowDomain, type Address, type EscrowDomain, type Hex } from "../../src/sdk";
import { ADMIN_TOKEN, perTest, startApi, type ApiHarness, type HarnessOptions } from "../relayer/helpers/api";
import { FAST_RETRY, TEST_CONFIG, oneCurrency, rpc, startRpcBridge, type RpcBridge } from "../relayer/helpers/chain";
import { Receiver } from "../relayer/webhooks/receiver";

/** Rejects with a RelayerApiError, returned for inspection. */
export async function apiError(promise: Promise<unknown>): Promise<RelayerApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(RelayerApiError);
    return error as RelayerApiError;
  }
  expect.fail("expected a RelayerApiError");
}

export interface SdkHarness extends ApiHarness {
  domain: EscrowDomain;
  escrowAddress: Address;
  /** No credentials: the customer's view. */
  client: RelayerClient;
  /** With the operator's admin token. */
  admin: RelayerClient;
  bridge: RpcBridge;
  chainClient: ChainClient;
  pipeline: Pipeline;
  dispatcher: WebhookDispatcher;
  receiver: Receiver;
  /** Ticks the pipeline until every payment in `ids` is in one of `states` (bounded). */
  tickUntil(ids: Hex[], states: PaymentState[], maxTicks?: number): Promise<void>;
  /** Unix seconds on the chain (the relayer's clock follows it). */
  nowSec(): bigint;
  cleanup(): Promise<void>;
}

/** A suite on a fresh whole relayer per test: registers start and cleanup once, hands each to `use`. */
export function useSdkHarness(use: (s: SdkHarness) => void, options: HarnessOptions = {}): void {
  perTest(
    () => startSdkHarness(options),
    (s) => s.cleanup(),
    use,
  );
}

export async function startSdkHarness(options: HarnessOptions = {}): Promise<SdkHarness> {
  const h = await startApi(options);
  const escrowAddress = (await h.f.escrow.getAddress()) as Address;
  const relayerKey = Wallet.createRandom();
  await rpc("hardhat_setBalance", [relayerKey.address, "0x56BC75E2D63100000"]); // 100 ETH
  const bridge = await startRpcBridge();
  const chainClient = await connectChain({
    rpcUrl: bridge.url,
    deployment: oneCurrency({
      chainId: h.f.chainId,
      escrow: escrowAddress,
      registry: await h.f.registry.getAddress(),
      token: await h.f.token.getAddress(),
      startBlock: BigInt(await ethers.provider.getBlockNumber()) + 1n,
    }),
    signerKey: relayerKey.privateKey as Hex,
    retry: FAST_RETRY,
    timeoutMs: 5_000,
  });
  const clock = { now: h.clock };
  const pipeline = createPipeline({ store: h.store, chain: chainClient, config: TEST_CONFIG, clock });
  const receiver = await new Receiver().start();
  const dispatcher = new WebhookDispatcher({
    store: h.store,
    now: h.clock,
    baseDelayMs: 10,
    maxDelayMs: 50,
    urlPolicy: { allowLoopback: true, allowPrivate: false },
  });

  return {
    ...h,
    domain: escrowDomain(h.f.chainId, escrowAddress),
    escrowAddress,
    client: new RelayerClient({ baseUrl: h.url }),
    admin: new RelayerClient({ baseUrl: h.url, adminToken: ADMIN_TOKEN }),
    bridge,
    chainClient,
    pipeline,
    dispatcher,
    receiver,
    nowSec: () => BigInt(Math.floor(h.clock() / 1000)),
    async tickUntil(ids, states, maxTicks = 40) {
      for (let i = 0; i < maxTicks; i++) {
        await pipeline.tick();
        const records = await Promise.all(ids.map((id) => h.store.payments.get(id)));
        if (records.every((r) => r !== null && states.includes(r.state))) return;
      }
      const now = await Promise.all(ids.map(async (id) => (await h.store.payments.get(id))?.state));
      throw new Error(`payments did not reach ${states.join("|")}: ${now.join(", ")}`);
    },
    async cleanup() {
      await pipeline.stop();
      await receiver.stop();
      chainClient.provider.destroy();
      await bridge.close();
      await h.close();
    },
  };
}
