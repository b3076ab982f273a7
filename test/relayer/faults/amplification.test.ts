/**
 * Unauthenticated amplification (issue 10, item 14): a batch whose items carry foreign signatures
 * made the relayer ask the node for each payer's code, one eth_getCode per item (20 requests →
 * 20,000 node calls). Now the node calls a request's unverified items may cause are bounded (items
 * past the bound: 429 node_call_budget_exceeded), code look-ups are cached, and a batch counts
 * against the caller's rate limit per item. Node calls are counted at a JSON-RPC proxy.
 */
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import type { RelayerConfig } from "../../../src/relayer/config";
import type { Hex } from "../../../src/relayer/domain";
import { buildPayment, deployEscrowFixture, signPayment } from "../../escrow/fixtures";
import { paymentBody, signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { startRpcBridge, type RpcBridge } from "../helpers/chain";
import { startRpcProxy, type RpcProxy } from "./rpcProxy";

const BUDGET = 8;

describe("relayer API: node calls per request are bounded", function () {
  let h: ApiHarness;
  let bridge: RpcBridge;
  let proxy: RpcProxy;
  let provider: JsonRpcProvider;

  async function start(config: Partial<RelayerConfig> = {}): Promise<void> {
    bridge = await startRpcBridge();
    proxy = await startRpcProxy(bridge.url);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    provider = new JsonRpcProvider(proxy.url, chainId, { staticNetwork: true, batchMaxCount: 1 });
    const f = await loadFixture(deployEscrowFixture);
    const chain = await EthersChainView.connect({
      provider,
      escrow: (await f.escrow.getAddress()) as Hex,
      chainId,
      accountCacheMs: 0,
    });
    h = await startApi({ config: { maxNodeCallsPerRequest: BUDGET, ...config }, deps: { chain } });
  }

  afterEach(async function () {
    await h?.close();
    provider?.destroy();
    await proxy?.close();
    await bridge?.close();
  });

  /** `n` payments from fresh addresses, each signed by a key that is not the payer's. */
  async function foreignItems(n: number) {
    const signer = Wallet.createRandom();
    return Promise.all(
      Array.from({ length: n }, async () => {
        const payment = await buildPayment(h.f, { address: Wallet.createRandom().address });
        return paymentBody(payment, await signPayment(h.f, signer as never, payment));
      }),
    );
  }

  const nodeCalls = (method: string) => proxy.stats.methods.get(method) ?? 0;

  it("a batch of 100 foreign-signed items costs at most the budget in node calls; the rest get 429 node_call_budget_exceeded", async function () {
    await start();
    const items = await foreignItems(100);
    const before = { code: nodeCalls("eth_getCode"), all: proxy.stats.requests };
    const res = await h.request("POST", "/v1/payments/batch", { body: { payments: items } });
    expect(res.status).to.equal(200);
    const codes = (res.body.results as { status: number; error: { code: string } }[]).map(
      (r) => `${r.status} ${r.error.code}`,
    );
    expect(codes.filter((c) => c === "400 invalid_signature")).to.have.length(BUDGET);
    expect(codes.filter((c) => c === "429 node_call_budget_exceeded")).to.have.length(100 - BUDGET);
    expect(nodeCalls("eth_getCode") - before.code).to.equal(BUDGET);
    expect(proxy.stats.requests - before.all).to.be.at.most(BUDGET);

    // Resubmitted, the same payers' code is cached: no node call at all.
    const again = await h.request("POST", "/v1/payments/batch", { body: { payments: items.slice(0, BUDGET) } });
    expect(again.body.results.every((r: { error: { code: string } }) => r.error.code === "invalid_signature")).to.equal(
      true,
    );
    expect(nodeCalls("eth_getCode") - before.code).to.equal(BUDGET);
  });

  it("honest ECDSA items are not limited by the budget: 40 payments to one merchant in one batch", async function () {
    await start();
    const bodies = [];
    for (let c = 0; c < 4; c++) {
      for (let n = 0n; n < 10n; n++) bodies.push((await signedPayment(h, c, { nonce: n, amount: 1_000_000n })).body);
    }
    const res = await h.request("POST", "/v1/payments/batch", { body: { payments: bodies } });
    expect([res.status, res.body.accepted, res.body.failed]).to.deep.equal([200, 40, 0]);
    expect(nodeCalls("eth_getCode")).to.equal(0);
  });

  it("a batch is charged per item against the caller's rate limit: 429 rate_limited with Retry-After after it", async function () {
    await start({ rateLimitPerSecond: 1, rateLimitBurst: 10 });
    const items = await foreignItems(8);
    const res = await h.request("POST", "/v1/payments/batch", { body: { payments: items } });
    expect(res.status).to.equal(200);
    // 10 tokens - 8 items = 2 left: one more single request passes, then the bucket is empty.
    expect((await h.request("POST", "/v1/payments", { body: items[0] })).status).to.equal(400);
    expect((await h.request("POST", "/v1/payments", { body: items[0] })).status).to.equal(400);
    const limited = await h.request("POST", "/v1/payments", { body: items[0] });
    expect([limited.status, limited.body.error.code]).to.deep.equal([429, "rate_limited"]);
    expect(Number(limited.headers.get("retry-after"))).to.be.at.least(1);
    // A batch larger than the burst is let in when the bucket has a token, and leaves it in debt.
    const big = await foreignItems(30);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await h.request("POST", "/v1/payments/batch", { body: { payments: big } })).status).to.equal(200);
    const after = await h.request("GET", `/v1/payments/0x${"00".repeat(32)}`);
    expect([after.status, after.body.error.code]).to.deep.equal([429, "rate_limited"]);
    expect(Number(after.headers.get("retry-after"))).to.be.at.least(20);
  });
});
