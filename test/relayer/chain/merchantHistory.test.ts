/**
 * MerchantHistory against the in-process chain through a node that misbehaves: one that refuses
 * wide eth_getLogs ranges (the reader halves its page and still finds every event), and one that
 * fails (503 chain_unavailable, through the report route too, without the node's message).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MerchantHistory, type JsonRpcSender } from "../../../src/relayer/chain/merchantHistory";
import { ApiError } from "../../../src/relayer/errors";
import type { Hex } from "../../../src/relayer/domain";
import { deployEscrowFixture, escrowOne, usd, type EscrowFixture } from "../../escrow/fixtures";
import { startApi } from "../helpers/api";

async function historyOf(f: EscrowFixture, rpc: JsonRpcSender, pageBlocks?: bigint): Promise<MerchantHistory> {
  return new MerchantHistory({
    rpc,
    chainId: f.chainId,
    escrow: (await f.escrow.getAddress()).toLowerCase() as Hex,
    token: (await f.token.getAddress()).toLowerCase() as Hex,
    startBlock: 0n,
    pageBlocks,
  });
}

/** The chain's provider, except that eth_getLogs over more than `maxBlocks` blocks fails. */
function narrowNode(maxBlocks: bigint, calls: string[]): JsonRpcSender {
  return {
    async send(method, params) {
      calls.push(method);
      if (method === "eth_getLogs") {
        const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
        if (BigInt(toBlock) - BigInt(fromBlock) + 1n > maxBlocks) throw new Error("query exceeds max block range");
      }
      return ethers.provider.send(method, params as unknown[]);
    },
  };
}

const SECRET_URL = "https://rpc.example/secret-token-123";

describe("relayer chain: MerchantHistory", function () {
  this.timeout(120_000);

  it("halves its page when the node refuses a range, and finds the same events and order references", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const paid = [];
    for (let i = 0; i < 3; i++) paid.push(await escrowOne(f, f.customers[i], { amount: usd(5 + i) }));
    await escrowOne(f, f.customers[3], { merchantId: 2n });
    const head = BigInt(await ethers.provider.getBlockNumber());
    const calls: string[] = [];
    const narrow = await (await historyOf(f, narrowNode(4n, calls), 1_000n)).events(1n, head);
    const wide = await (await historyOf(f, ethers.provider)).events(1n, head);
    expect(narrow).to.deep.equal(wide);
    expect(calls.filter((m) => m === "eth_getLogs").length).to.be.greaterThan(3);
    expect(wide.map((e) => e.kind)).to.deep.equal(["escrowed", "escrowed", "escrowed"]);
    expect(wide.every((e) => e.merchantId === 1n)).to.equal(true);
    const refs = await (await historyOf(f, ethers.provider)).orderRefs(wide);
    for (const p of paid) expect(refs.get(p.id.toLowerCase() as Hex)).to.equal(p.payment.orderRef.toLowerCase());
  });

  it("a failing node is 503 chain_unavailable, and the report route says so without the node's message", async function () {
    const failing: JsonRpcSender = {
      async send() {
        throw new Error(`connect ECONNREFUSED ${SECRET_URL}`);
      },
    };
    const f = await loadFixture(deployEscrowFixture);
    const history = await historyOf(f, failing);
    await history.events(1n, 10n).then(
      () => expect.fail("must fail"),
      (e: ApiError) => {
        expect(e).to.be.instanceOf(ApiError);
        expect([e.status, e.code]).to.deep.equal([503, "chain_unavailable"]);
        expect(e.message).to.not.include("secret-token");
      },
    );
    const h = await startApi({ deps: { history } });
    try {
      const key = await h.issueKey(1n);
      const res = await h.request("GET", "/v1/merchant/reports/summary?date=2026-03-01", { key: key.key });
      expect([res.status, res.body.error.code]).to.deep.equal([503, "chain_unavailable"]);
      expect(res.text).to.not.include("secret-token");
      const credit = await h.request("GET", "/v1/merchants/1/credit");
      expect([credit.status, credit.body.error.code]).to.deep.equal([503, "chain_unavailable"]);
      // Without a history reader at all, the routes answer 503 too.
      const none = await startApi();
      try {
        const k = await none.issueKey(1n);
        const r = await none.request("GET", "/v1/merchant/reports/summary?date=2026-03-01", { key: k.key });
        expect([r.status, r.body.error.code]).to.deep.equal([503, "chain_unavailable"]);
      } finally {
        await none.close();
      }
    } finally {
      await h.close();
    }
  });
});
