/**
 * ReportIndexer against the in-process chain: a node that refuses wide eth_getLogs ranges (the
 * indexer halves its page and stores the same events and order references), and a restart (a new
 * indexer on the same store reads from after the stored cursor, nothing before it).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Hex } from "../../../src/relayer/domain";
import { ReportIndexer } from "../../../src/relayer/jobs/reportIndexer";
import { deployEscrowFixture, escrowOne, usd } from "../../escrow/fixtures";
import { deploymentOf, TEST_CONFIG } from "../helpers/chain";
import { startReportIndex, type ReportIndexHarness } from "../helpers/reportIndex";

describe("relayer jobs: ReportIndexer", function () {
  this.timeout(120_000);
  const open: ReportIndexHarness[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  async function story() {
    const f = await loadFixture(deployEscrowFixture);
    const paid = [];
    for (let i = 0; i < 3; i++) paid.push(await escrowOne(f, f.customers[i], { amount: usd(5 + i) }));
    await escrowOne(f, f.customers[3], { merchantId: 2n });
    return { f, paid, addresses: await deploymentOf(f, 0n) };
  }

  /** The indexer's eth_getLogs ranges; ranges wider than `maxBlocks` are refused as nodes do. */
  function narrow(h: ReportIndexHarness, maxBlocks: bigint, ranges: [bigint, bigint][]): void {
    const send = h.chain.provider.send.bind(h.chain.provider);
    h.chain.provider.send = async (method: string, params: unknown[] | Record<string, unknown>) => {
      if (method === "eth_getLogs") {
        const { fromBlock, toBlock } = (params as { fromBlock: string; toBlock: string }[])[0];
        ranges.push([BigInt(fromBlock), BigInt(toBlock)]);
        if (BigInt(toBlock) - BigInt(fromBlock) + 1n > maxBlocks) throw new Error("query exceeds max block range");
      }
      return send(method, params);
    };
  }

  it("halves its page when the node refuses a range, and stores the same events and order references", async function () {
    const { paid, addresses } = await story();
    const wide = await startReportIndex({ addresses });
    open.push(wide);
    const at = await wide.through();
    const tight = await startReportIndex({ addresses, pageBlocks: 1_000n });
    open.push(tight);
    const ranges: [bigint, bigint][] = [];
    narrow(tight, 4n, ranges);
    await tight.through(at.blockNumber);
    expect(ranges.filter(([a, b]) => b - a + 1n <= 4n).length).to.be.greaterThan(1);
    for (const m of [1n, 2n]) {
      const expected = await wide.store.reportIndex.events(m, at.blockNumber);
      expect(await tight.store.reportIndex.events(m, at.blockNumber), `merchant ${m}`).to.deep.equal(expected);
    }
    const { events, orderRefs } = await wide.store.reportIndex.events(1n, at.blockNumber);
    expect(events.map((e) => e.kind)).to.deep.equal(["escrowed", "escrowed", "escrowed"]);
    for (const p of paid) expect(orderRefs.get(p.id.toLowerCase() as Hex)).to.equal(p.payment.orderRef.toLowerCase());
  });

  it("a new indexer on the same store resumes after the stored cursor: no block before it is read again", async function () {
    const { f, addresses } = await story();
    const first = await startReportIndex({ addresses });
    open.push(first);
    const at = await first.through();
    const stored = await first.store.reportIndex.events(1n, at.blockNumber);
    await first.indexer.stop();
    // More events, then a fresh indexer (a restarted worker) on the same store.
    await escrowOne(f, f.customers[0], { amount: usd(9) });
    const head = BigInt(await ethers.provider.getBlockNumber());
    const restarted = await startReportIndex({ addresses, store: first.store });
    open.push(restarted);
    const ranges: [bigint, bigint][] = [];
    narrow(restarted, 1_000_000n, ranges);
    await restarted.through(head);
    expect(ranges.length).to.be.greaterThan(0);
    expect(ranges[0][0]).to.equal(at.blockNumber + 1n);
    expect(ranges.every(([from]) => from > at.blockNumber)).to.equal(true);
    const now = await first.store.reportIndex.events(1n, head);
    expect(now.events.slice(0, stored.events.length)).to.deep.equal(stored.events);
    expect(now.events.length).to.equal(stored.events.length + 1);
  });

  it("indexes nothing above the watcher's safe block: its confirmations below the head", async function () {
    const { addresses } = await story();
    const h = await startReportIndex({ addresses });
    open.push(h);
    const indexer = new ReportIndexer({
      store: h.store,
      chain: h.chain,
      config: { ...TEST_CONFIG, confirmations: 3 },
      reorgDepth: 5n,
    });
    expect(indexer.lagBlocks).to.equal(2n);
    await indexer.tick();
    const head = BigInt(await ethers.provider.getBlockNumber());
    expect((await h.store.reportIndex.cursor())!.blockNumber).to.equal(head - 2n);
    expect(indexer.lastTick.final).to.equal(head - 2n);
  });
});
