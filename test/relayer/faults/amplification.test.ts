/**
 * Unauthenticated amplification (issue 10, item 14): a batch whose items carry foreign signatures
 * made the relayer ask the node for each payer's code, one eth_getCode per item (20 requests →
 * 20,000 node calls). Now the node calls a request's unverified items may cause are bounded (items
 * past the bound: 429 node_call_budget_exceeded), code look-ups are cached, and a batch counts
 * against the caller's rate limit per item. Node calls are counted at a JSON-RPC proxy.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import type { RelayerConfig } from "../../../src/relayer/config";
import { buildPayment, signPayment } from "../../escrow/fixtures";
import { paymentBody, signedPayment, type ApiHarness } from "../helpers/api";
import { startProxiedApi, type ProxiedApi } from "./proxiedApi";
import type { RpcProxy } from "./rpcProxy";

const BUDGET = 8;

describe("relayer API: node calls per request are bounded", function () {
  let h: ApiHarness;
  let proxy: RpcProxy;
  let api: ProxiedApi | undefined;

  async function start(config: Partial<RelayerConfig> = {}): Promise<void> {
    api = await startProxiedApi({
      view: { accountCacheMs: 0 },
      config: () => ({ maxNodeCallsPerRequest: BUDGET, ...config }),
    });
    ({ h, proxy } = api);
  }

  afterEach(async function () {
    await api?.close();
    api = undefined;
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
