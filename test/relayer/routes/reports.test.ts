/**
 * Merchant reports and the credit record end to end: the in-process Hardhat chain, the relayer's
 * API over real HTTP reading the report index (src/relayer/jobs/reportIndexer.ts) on its store,
 * payments escrowed by payBatch, then confirmed, refunded, disputed and ruled, and settled after
 * the hold. The relayer's files and credit record must equal, byte for byte, what the auditor
 * rebuilds from its own scan of the chain up to the indexed block (src/auditor/report/merchant.ts);
 * serving them costs the node nothing per request, events not yet safe are not served yet, and a
 * reorg rewinds the index.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { parse } from "csv-parse/sync";
import type { Hex } from "../../../src/relayer/domain";
import { JsonRpcProvider } from "ethers";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import type { ReportIndexCursor } from "../../../src/relayer/store/types";
import { deploymentOf, MemoryLogger, mine } from "../helpers/chain";
import { loadConfig } from "../../../src/relayer/config";
import { ReportIndexer } from "../../../src/relayer/jobs/reportIndexer";
import { buildApp } from "../../../src/relayer/app";
import { startReportIndex, type ReportIndexHarness } from "../helpers/reportIndex";
import { localDate, REPORT_KINDS, reportCsv, reportDay } from "../../../src/protocol/reports";
import { scanChain } from "../../../src/auditor/audit";
import { creditOf, orderRefsFromChain, reportEventsOf } from "../../../src/auditor/report/merchant";
import type { AuditTarget } from "../../../src/auditor/types";
import { hardhatClient } from "../../auditor/helpers";
import { HOLD_PERIOD, signConfirmation, signDispute, signRefund, usd } from "../../escrow/fixtures";
import { escrowInStore, perTest, signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { createCustomerClient, createMerchantClient } from "../../../src/sdk";

const ref = (text: string) => ethers.keccak256(ethers.toUtf8Bytes(text)) as Hex;

describe("relayer API: merchant reports and credit record (agree with the auditor)", function () {
  this.timeout(120_000);
  let h: ApiHarness;
  let index: ReportIndexHarness;
  perTest(
    async () => {
      const api = await startApi();
      // The worker's indexer, on the api's store (one SQLite file, as role `all` runs them).
      const reports = await startReportIndex({ addresses: await deploymentOf(api.f, 0n), store: api.store });
      return { api, reports };
    },
    async (started) => {
      await started.reports.close();
      await started.api.close();
    },
    (started) => ({ api: h, reports: index } = started),
  );

  const nowSec = async () => BigInt(await time.latest());

  async function target(): Promise<AuditTarget> {
    return {
      network: "hardhat",
      chainId: Number(h.f.chainId),
      currency: "USD",
      deployBlock: 0n,
      token: (await h.f.token.getAddress()) as Hex,
      registry: (await h.f.registry.getAddress()) as Hex,
      escrow: (await h.f.escrow.getAddress()) as Hex,
      externalToken: false,
    };
  }

  /** Four payments of merchant 1 through the API, one batch; then each path of the lifecycle; then settle. */
  async function history() {
    const paid = [];
    for (let i = 0; i < 4; i++) {
      const p = await signedPayment(h, i, { nonce: 0n, amount: usd(10 + i), orderRef: ref(`order-${i}`) });
      const res = await h.request("POST", "/v1/payments", { body: p.body });
      expect(res.status, res.text).to.equal(201);
      paid.push({ ...p, id: res.body.id as Hex });
    }
    const { batchId } = await escrowInStore(
      h,
      paid.map((p) => p.id),
    );
    const deadline = (await nowSec()) + 3600n;
    const key = await h.issueKey(1n);
    // Payment 0: confirmed early by its buyer.
    const confirm = await signConfirmation(h.f, h.f.customers[0], paid[0].id, deadline);
    expect(
      (
        await h.request("POST", `/v1/payments/${paid[0].id}/confirm`, {
          body: { deadline: `${deadline}`, signature: confirm },
        })
      ).status,
    ).to.equal(202);
    // Payment 1: partly refunded by the merchant.
    const refund = await signRefund(h.f, h.f.merchants[0].owner, paid[1].id, usd(4), deadline);
    const refunded = await h.request("POST", `/v1/merchant/payments/${paid[1].id}/refunds`, {
      key: key.key,
      body: { totalRefund: usd(4).toString(), deadline: `${deadline}`, signature: refund },
    });
    expect(refunded.status, refunded.text).to.equal(202);
    // Payment 2: disputed by its buyer, split by the arbiter.
    const dispute = await signDispute(h.f, h.f.customers[2], paid[2].id, deadline);
    expect(
      (
        await h.request("POST", `/v1/payments/${paid[2].id}/dispute`, {
          body: { deadline: `${deadline}`, signature: dispute },
        })
      ).status,
    ).to.equal(202);
    await (await h.f.escrow.connect(h.f.arbiter).resolveDispute(paid[2].payment, usd(5))).wait();
    // Payment 3 stays held until the tranche settles after the hold.
    await time.increase(HOLD_PERIOD + 1n);
    await (await h.f.escrow.connect(h.f.stranger).settle([{ merchantId: 1n, batchIds: [batchId] }])).wait();
    return { paid, key, batchId };
  }

  /** What the auditor rebuilds from its own scan of the chain, up to the block the index holds. */
  async function audited(at: ReportIndexCursor) {
    const t = await target();
    const client = hardhatClient();
    const scanned = await scanChain({ client, target: t, toBlock: at.blockNumber });
    const events = reportEventsOf(scanned.events).filter((e) => e.merchantId === 1n);
    const orderRefs = await orderRefsFromChain(client, t, events);
    return { t, scanned, events, orderRefs };
  }

  it("each file of the day, in UTC and in Asia/Shanghai, equals the auditor's byte for byte", async function () {
    const { paid, key } = await history();
    const a = await audited(await index.through());
    const date = localDate(Number((await ethers.provider.getBlock("latest"))!.timestamp), "UTC");
    const escrowDate = localDate(a.events[0].timestamp, "UTC");
    const days = [...new Set([escrowDate, date])].sort();
    for (const d of days) {
      for (const tz of ["UTC", "Asia/Shanghai"]) {
        const day = reportDay(d, tz);
        for (const kind of REPORT_KINDS) {
          const res = await h.request("GET", `/v1/merchant/reports/${kind}?date=${d}&tz=${encodeURIComponent(tz)}`, {
            key: key.key,
          });
          expect(res.status, res.text).to.equal(200);
          expect(res.headers.get("content-type")).to.match(/^text\/csv/);
          const rebuilt = reportCsv(
            kind,
            { merchantId: 1n, token: a.t.token.toLowerCase() as Hex, events: a.events, orderRefs: a.orderRefs },
            day,
          );
          expect(res.text, `${kind} ${d} ${tz}`).to.equal(rebuilt);
        }
      }
    }
    // The SDK downloads the same text.
    const sdk = createMerchantClient({ baseUrl: h.url, apiKey: key.key });
    const viaSdk = await sdk.downloadReport("settlements", { date, tz: "Asia/Shanghai" });
    expect(viaSdk).to.equal(
      reportCsv(
        "settlements",
        { merchantId: 1n, token: a.t.token.toLowerCase() as Hex, events: a.events, orderRefs: a.orderRefs },
        reportDay(date, "Asia/Shanghai"),
      ),
    );
    await sdk.downloadReport("summary", { date: "2026-02-30" }).then(
      () => expect.fail("a bad date must be refused"),
      (e: { code?: string; status?: number }) => expect([e.status, e.code]).to.deep.equal([400, "invalid_date"]),
    );
    // The files hold what happened: every kind of event, the order references from the calldata.
    const all = days.flatMap(
      (d) =>
        parse(
          reportCsv(
            "transactions",
            { merchantId: 1n, token: a.t.token.toLowerCase() as Hex, events: a.events, orderRefs: a.orderRefs },
            reportDay(d),
          ),
          {
            columns: true,
          },
        ) as Record<string, string>[],
    );
    expect(new Set(all.map((r) => r.event))).to.deep.equal(
      new Set(["escrowed", "confirmed", "refunded", "disputed", "ruled", "settled", "paid"]),
    );
    const escrowed = all.filter((r) => r.event === "escrowed");
    expect(escrowed.map((r) => r.order_ref)).to.deep.equal(paid.map((_, i) => ref(`order-${i}`)));
    expect(all.at(-1)!.balance_held_after).to.equal("0");
    const [released] = await h.f.escrow.merchantBalances(1n);
    expect(released).to.equal(0n);
  });

  it("the credit record served publicly equals the auditor's", async function () {
    await history();
    const at = await index.through();
    const a = await audited(at);
    const res = await h.request("GET", "/v1/merchants/1/credit");
    expect(res.status, res.text).to.equal(200);
    const expected = creditOf(1n, a.t, a.events, {
      blockNumber: a.scanned.toBlock,
      timestamp: a.scanned.blockTimestamp,
    });
    expect(res.body).to.deep.equal(JSON.parse(JSON.stringify(expected)));
    // Computed at the indexed block and its time, which the auditor scanned to.
    expect([res.body.asOfBlock, a.scanned.toBlock, a.scanned.blockTimestamp]).to.deep.equal([
      at.blockNumber.toString(),
      at.blockNumber,
      at.timestamp,
    ]);
    expect(res.body).to.deep.include({
      payments: 4,
      refundedPayments: 1,
      refundRateBps: 2500,
      disputedPayments: 1,
      confirmedEarly: 1,
      earlyConfirmShareBps: 2500,
    });
    expect(res.body.disputes).to.deep.equal({ open: 0, forMerchant: 0, forPayer: 0, split: 1, expired: 0 });
    expect(res.body.timeToSettle.paidPayments).to.equal(4);
    expect(await createCustomerClient({ baseUrl: h.url }).getCreditRecord(1n)).to.deep.equal(res.body);
  });

  it("failures: bad date 400 invalid_date, bad zone 400 invalid_time_zone, unknown file 400, no key 401, unknown merchant 404, index not caught up 503", async function () {
    const key = await h.issueKey(1n);
    const get = (q: string, k: string | undefined = key.key) =>
      h.request("GET", `/v1/merchant/reports/${q}`, { key: k });
    // Before the index's first safe block: 503 reports_not_indexed with Retry-After, for both routes.
    const early = await get("summary?date=2026-03-01");
    expect([early.status, early.body.error.code]).to.deep.equal([503, "reports_not_indexed"]);
    expect(early.headers.get("retry-after")).to.equal("30");
    const earlyCredit = await h.request("GET", "/v1/merchants/1/credit");
    expect([earlyCredit.status, earlyCredit.body.error.code]).to.deep.equal([503, "reports_not_indexed"]);
    await index.through();
    expect((await get("summary?date=2026-03-01")).status).to.equal(200);
    for (const date of ["2026-02-30", "yesterday", "", "2026-1-01"]) {
      const res = await get(`transactions?date=${date}`);
      expect([res.status, res.body.error.code], date).to.deep.equal([400, "invalid_date"]);
    }
    const tz = await get("summary?date=2026-03-01&tz=Mars%2FOlympus");
    expect([tz.status, tz.body.error.code]).to.deep.equal([400, "invalid_time_zone"]);
    const missing = await get("summary");
    expect([missing.status, missing.body.error.code]).to.deep.equal([400, "validation_failed"]);
    const kind = await get("ledger?date=2026-03-01");
    expect([kind.status, kind.body.error.code]).to.deep.equal([400, "validation_failed"]);
    const anonymous = await get("summary?date=2026-03-01", "");
    expect([anonymous.status, anonymous.body.error.code]).to.deep.equal([401, "unauthorized"]);
    const wrong = await get("summary?date=2026-03-01", "sk_not_a_key");
    expect([wrong.status, wrong.body.error.code]).to.deep.equal([401, "unauthorized"]);
    // Merchant ids past the registry's count, 0, and past uint64 are unknown; 1 and 2 exist.
    for (const id of ["999", "0", "18446744073709551616", "99999999999999999999"]) {
      const unknown = await h.request("GET", `/v1/merchants/${id}/credit`);
      expect([unknown.status, unknown.body.error.code], id).to.deep.equal([404, "unknown_merchant"]);
    }
    expect((await h.request("GET", "/v1/merchants/2/credit")).status).to.equal(200);
    const notId = await h.request("GET", "/v1/merchants/abc/credit");
    expect([notId.status, notId.body.error.code]).to.deep.equal([400, "validation_failed"]);
  });

  it("a node that fails the registry read is 503 chain_unavailable on the credit route, without the node's URL; reports need no node", async function () {
    await index.through();
    const dead = new JsonRpcProvider("http://127.0.0.1:1/secret-token-123", h.f.chainId, { staticNetwork: true });
    const chain = await EthersChainView.connect({
      provider: dead,
      escrow: await h.f.escrow.getAddress(),
      registry: await h.f.registry.getAddress(),
      token: await h.f.token.getAddress(),
      chainId: h.f.chainId,
      callTimeoutMs: 1_000,
    });
    const app = buildApp({ config: loadConfig({}), store: h.store, chain, currencies: h.currencies, logger: false });
    try {
      const credit = await app.inject({ method: "GET", url: "/v1/merchants/1/credit" });
      expect([credit.statusCode, credit.json().error.code]).to.deep.equal([503, "chain_unavailable"]);
      expect(credit.body).to.not.include("secret-token");
      const key = await h.issueKey(1n);
      const report = await app.inject({
        method: "GET",
        url: "/v1/merchant/reports/summary?date=2026-03-01",
        headers: { authorization: `Bearer ${key.key}` },
      });
      // The token's address is given here: the report is the index's alone.
      expect(report.statusCode, report.body).to.equal(200);
    } finally {
      await app.close();
      dead.destroy();
    }
  });

  it("N report and credit requests cost the node no log, block or transaction read, and the credit record one store read", async function () {
    const { key } = await history();
    const at = await index.through();
    const calls: string[] = [];
    // Every JSON-RPC call into the in-process node (ethers' provider sends, the bridge requests).
    const provider = hre.network.provider as unknown as {
      request: (a: { method: string }) => Promise<unknown>;
      send: (method: string, params?: unknown[]) => Promise<unknown>;
    };
    const { request, send } = provider;
    const reads: bigint[] = [];
    const reportIndex = h.store.reportIndex;
    const events = reportIndex.events;
    reportIndex.events = (merchantId, toBlock) => {
      reads.push(toBlock);
      return events.call(reportIndex, merchantId, toBlock);
    };
    provider.request = function (this: unknown, args: { method: string }) {
      calls.push(args.method);
      return request.call(this, args);
    };
    provider.send = function (this: unknown, method: string, params?: unknown[]) {
      calls.push(method);
      return send.call(this, method, params);
    };
    const N = 25;
    let credit: unknown;
    try {
      for (let i = 0; i < N; i++) {
        const c = await h.request("GET", "/v1/merchants/1/credit");
        expect(c.status).to.equal(200);
        credit ??= c.body;
        expect(c.body).to.deep.equal(credit);
        const r = await h.request("GET", `/v1/merchant/reports/transactions?date=2026-03-01`, { key: key.key });
        expect(r.status).to.equal(200);
      }
    } finally {
      Object.assign(provider, { request, send });
      reportIndex.events = events;
    }
    const count = (m: string) => calls.filter((c) => c === m).length;
    for (const m of ["eth_getLogs", "eth_getBlockByNumber", "eth_getTransactionByHash", "eth_getTransactionReceipt"]) {
      expect(count(m), `${m} over ${N} + ${N} requests`).to.equal(0);
    }
    // The counter sees the API's node calls: the registry's merchant count (uncached in this harness).
    expect(count("eth_call")).to.be.greaterThan(0);
    // Every report reads the index once; the credit record was read once and then served from memory.
    expect(reads.filter((b) => b === at.blockNumber).length).to.equal(N + 1);
  });

  it("events in blocks not yet CONFIRMATIONS deep are not served: the record and files stay at the safe block until it passes them", async function () {
    // The watcher's finality with three confirmations: the index stops two blocks below the head.
    const indexer = new ReportIndexer({
      store: h.store,
      chain: index.chain,
      config: { confirmations: 3, pollIntervalMs: 25 },
      reorgDepth: 2n,
    });
    expect(indexer.lagBlocks).to.equal(2n);
    await mine(3);
    await indexer.tick();
    const before = await h.request("GET", "/v1/merchants/1/credit");
    expect(before.body.payments).to.equal(0);
    const p = await signedPayment(h, 0, { nonce: 0n, amount: usd(10), orderRef: ref("late") });
    const res = await h.request("POST", "/v1/payments", { body: p.body });
    expect(res.status, res.text).to.equal(201);
    await escrowInStore(h, [res.body.id as Hex]);
    const { txHash } = (await h.store.payments.get(res.body.id as Hex))!;
    const escrowBlock = BigInt((await ethers.provider.getTransactionReceipt(txHash!))!.blockNumber);
    const head = BigInt(await ethers.provider.getBlockNumber());
    expect(head, "the escrow's block is the head").to.equal(escrowBlock);
    await indexer.tick();
    const cursor = (await h.store.reportIndex.cursor())!;
    expect(cursor.blockNumber).to.equal(escrowBlock - 2n);
    const inside = await h.request("GET", "/v1/merchants/1/credit");
    expect([inside.status, inside.body.payments, inside.body.asOfBlock]).to.deep.equal([
      200,
      0,
      cursor.blockNumber.toString(),
    ]);
    const key = await h.issueKey(1n);
    const day = localDate(Number((await ethers.provider.getBlock(escrowBlock))!.timestamp), "UTC");
    const file = await h.request("GET", `/v1/merchant/reports/transactions?date=${day}`, { key: key.key });
    expect(file.text).to.not.include(res.body.id.slice(2));
    // One block short: still not.
    await mine(1);
    await indexer.tick();
    expect((await h.request("GET", "/v1/merchants/1/credit")).body.payments).to.equal(0);
    await mine(1);
    await indexer.tick();
    const passed = await h.request("GET", "/v1/merchants/1/credit");
    expect([passed.body.payments, passed.body.asOfBlock]).to.deep.equal([1, escrowBlock.toString()]);
    const served = await h.request("GET", `/v1/merchant/reports/transactions?date=${day}`, { key: key.key });
    expect(served.text).to.include(res.body.id.slice(2));
    expect(served.text).to.include(ref("late"));
  });

  /** Escrows a payment after a snapshot and indexes it; the snapshot and the block it was taken at. */
  async function indexedThenReplaced(label: string): Promise<{ forkBlock: bigint; replaced: ReportIndexCursor }> {
    await index.through();
    const forkBlock = BigInt(await ethers.provider.getBlockNumber());
    const snapshot = await hre.network.provider.request({ method: "evm_snapshot", params: [] });
    const p = await signedPayment(h, 0, { nonce: 0n, amount: usd(10), orderRef: ref(label) });
    const res = await h.request("POST", "/v1/payments", { body: p.body });
    expect(res.status, res.text).to.equal(201);
    await escrowInStore(h, [res.body.id as Hex]);
    await index.through();
    expect((await h.request("GET", "/v1/merchants/1/credit")).body.payments).to.equal(1);
    const replaced = (await h.store.reportIndex.cursor())!;
    // Another chain from the fork block, longer than the one the index followed.
    await hre.network.provider.request({ method: "evm_revert", params: [snapshot] });
    await mine(Number(replaced.blockNumber - forkBlock) + 5);
    return { forkBlock, replaced };
  }

  it("a reorg that replaces the index's last block rewinds it by the reorg window and re-reads: the dropped events are gone (a warning, not an error)", async function () {
    const { forkBlock, replaced } = await indexedThenReplaced("reorged");
    const reorgDepth = replaced.blockNumber - forkBlock + 1n;
    const log = new MemoryLogger();
    const indexer = new ReportIndexer({
      store: h.store,
      chain: index.chain,
      config: { confirmations: 1, pollIntervalMs: 25 },
      reorgDepth,
      logger: log,
    });
    await indexer.tick();
    const reorg = log.lines.find((l) => (l.obj as { event?: string }).event === "reorg");
    expect(reorg?.level).to.equal("warn");
    expect(reorg?.obj).to.deep.include({
      reason: "report_index",
      cursorBlock: replaced.blockNumber.toString(),
      rewindTo: (replaced.blockNumber - reorgDepth).toString(),
    });
    expect(log.lines.some((l) => l.level === "error")).to.equal(false);
    const cursor = (await h.store.reportIndex.cursor())!;
    expect(cursor.blockNumber).to.equal(BigInt(await ethers.provider.getBlockNumber()));
    expect(cursor.blockHash).to.equal((await ethers.provider.getBlock(Number(cursor.blockNumber)))!.hash);
    const after = await h.request("GET", "/v1/merchants/1/credit");
    expect([after.status, after.body.payments]).to.deep.equal([200, 0]);
  });

  it("finalized mode: a replaced block the index counted final is a deep reorg, reported, and the index rebuilt without the dropped events", async function () {
    const { replaced } = await indexedThenReplaced("dropped");
    const log = new MemoryLogger();
    const indexer = new ReportIndexer({
      store: h.store,
      chain: index.chain,
      config: {
        confirmations: 1,
        pollIntervalMs: 25,
        finality: { confirmations: 1, reorgDepth: 2n, mode: "finalized" },
      },
      logger: log,
    });
    await indexer.tick();
    const deep = log.lines.find((l) => l.level === "error" && (l.obj as { event?: string }).event === "deep_reorg");
    expect(deep?.obj).to.deep.include({ reason: "report_index", cursorBlock: replaced.blockNumber.toString() });
    const cursor = (await h.store.reportIndex.cursor())!;
    expect(cursor.blockHash).to.equal((await ethers.provider.getBlock(Number(cursor.blockNumber)))!.hash);
    const after = await h.request("GET", "/v1/merchants/1/credit");
    expect([after.status, after.body.payments]).to.deep.equal([200, 0]);
  });

  it("another merchant's key reads only its own files: none of merchant 1's payments appear", async function () {
    const { paid } = await history();
    await index.through();
    const other = await h.issueKey(2n);
    const date = localDate(Number((await ethers.provider.getBlock("latest"))!.timestamp), "UTC");
    for (const d of [date, localDate(Number((await ethers.provider.getBlock(1))!.timestamp), "UTC")]) {
      for (const kind of REPORT_KINDS) {
        const res = await h.request("GET", `/v1/merchant/reports/${kind}?date=${d}`, { key: other.key });
        expect(res.status).to.equal(200);
        for (const p of paid) expect(res.text).to.not.include(p.id.slice(2));
        const rows = parse(res.text, { columns: true }) as Record<string, string>[];
        expect(rows.every((r) => r.merchant_id === "2")).to.equal(true);
      }
    }
  });
});
