/**
 * Merchant reports and the credit record end to end: the in-process Hardhat chain, the relayer's
 * API over real HTTP, payments escrowed by payBatch, then confirmed, refunded, disputed and ruled,
 * and settled after the hold. The relayer's files and credit record must equal, byte for byte, what
 * the auditor rebuilds from its own scan of the chain (src/auditor/report/merchant.ts).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parse } from "csv-parse/sync";
import type { Hex } from "../../../src/relayer/domain";
import { MerchantHistory } from "../../../src/relayer/chain/merchantHistory";
import { localDate, REPORT_KINDS, reportCsv, reportDay } from "../../../src/protocol/reports";
import { scanChain } from "../../../src/auditor/audit";
import { creditOf, orderRefsFromChain, reportEventsOf } from "../../../src/auditor/report/merchant";
import type { AuditTarget } from "../../../src/auditor/types";
import { hardhatClient } from "../../auditor/helpers";
import {
  deployEscrowFixture,
  HOLD_PERIOD,
  signConfirmation,
  signDispute,
  signRefund,
  usd,
} from "../../escrow/fixtures";
import { escrowInStore, perTest, signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { createCustomerClient, createMerchantClient } from "../../../src/sdk";

const ref = (text: string) => ethers.keccak256(ethers.toUtf8Bytes(text)) as Hex;

describe("relayer API: merchant reports and credit record (agree with the auditor)", function () {
  this.timeout(120_000);
  let h: ApiHarness;
  perTest(
    async () => {
      const f = await loadFixture(deployEscrowFixture);
      const history = new MerchantHistory({
        rpc: ethers.provider,
        chainId: f.chainId,
        escrow: (await f.escrow.getAddress()).toLowerCase() as Hex,
        token: (await f.token.getAddress()).toLowerCase() as Hex,
        startBlock: 0n,
      });
      return startApi({ deps: { history } });
    },
    (started) => started.close(),
    (started) => (h = started),
  );

  const nowSec = async () => BigInt(await time.latest());

  async function target(): Promise<AuditTarget> {
    return {
      network: "hardhat",
      chainId: Number(h.f.chainId),
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

  /** What the auditor rebuilds from its own scan of the chain. */
  async function audited() {
    const t = await target();
    const client = hardhatClient();
    const scanned = await scanChain({ client, target: t });
    const events = reportEventsOf(scanned.events).filter((e) => e.merchantId === 1n);
    const orderRefs = await orderRefsFromChain(client, t, events);
    return { t, scanned, events, orderRefs };
  }

  it("each file of the day, in UTC and in Asia/Shanghai, equals the auditor's byte for byte", async function () {
    const { paid, key } = await history();
    const a = await audited();
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
    const a = await audited();
    const res = await h.request("GET", "/v1/merchants/1/credit");
    expect(res.status, res.text).to.equal(200);
    const expected = creditOf(1n, a.t, a.events, {
      blockNumber: a.scanned.toBlock,
      timestamp: a.scanned.blockTimestamp,
    });
    expect(res.body).to.deep.equal(JSON.parse(JSON.stringify(expected)));
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

  it("failures: bad date 400 invalid_date, bad zone 400 invalid_time_zone, unknown file 400, no key 401, unknown merchant 404", async function () {
    const key = await h.issueKey(1n);
    const get = (q: string, k: string | undefined = key.key) =>
      h.request("GET", `/v1/merchant/reports/${q}`, { key: k });
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
    expect(wrong.status).to.equal(401);
    const unknown = await h.request("GET", "/v1/merchants/999/credit");
    expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "unknown_merchant"]);
    const notId = await h.request("GET", "/v1/merchants/abc/credit");
    expect([notId.status, notId.body.error.code]).to.deep.equal([400, "validation_failed"]);
  });

  it("another merchant's key reads only its own files: none of merchant 1's payments appear", async function () {
    const { paid } = await history();
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
