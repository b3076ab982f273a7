import { expect } from "chai";
import { parse } from "csv-parse/sync";
import {
  creditRecord,
  csvCell,
  localDate,
  replayMerchant,
  reportDay,
  ReportDayError,
  settlementsCsv,
  summaryCsv,
  toCsv,
  transactionsCsv,
  type ReportEvent,
  type ReportInput,
} from "../../../src/protocol/reports";
import type { Hex } from "../../../src/protocol";

const TOKEN = `0x${"7".repeat(40)}` as Hex;
const PAYER = `0x${"a".repeat(40)}` as Hex;
const PAYOUT = `0x${"b".repeat(40)}` as Hex;
const id = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const tx = (n: number) => `0x${(n + 0x1000).toString(16).padStart(64, "0")}` as Hex;
/** 2026-03-01T00:00:00Z */
const DAY1 = 1_772_323_200;

/** Builds events in chain order: one per block unless `sameTx`. */
function history(): ReportEvent[] {
  let block = 10n;
  const at = (t: number, log = 0, txn = Number(block)) => ({
    blockNumber: block++,
    logIndex: log,
    txHash: tx(txn),
    timestamp: t,
    merchantId: 1n,
  });
  const events: ReportEvent[] = [
    { ...at(DAY1 - 3600), kind: "escrowed", paymentId: id(1), payer: PAYER, batchId: 1n, amount: 100_000_000n },
    { ...at(DAY1 + 60), kind: "escrowed", paymentId: id(2), payer: PAYER, batchId: 2n, amount: 50_000_000n },
    { ...at(DAY1 + 61), kind: "escrowed", paymentId: id(3), payer: PAYER, batchId: 2n, amount: 20_000_000n },
    { ...at(DAY1 + 62), kind: "escrowed", paymentId: id(4), payer: PAYER, batchId: 2n, amount: 10_000_000n },
    { ...at(DAY1 + 100), kind: "confirmed", paymentId: id(2), batchId: 2n, released: 49_500_000n, fee: 500_000n },
    {
      ...at(DAY1 + 200),
      kind: "refunded",
      paymentId: id(3),
      payer: PAYER,
      batchId: 2n,
      amount: 5_000_000n,
      totalRefunded: 5_000_000n,
    },
    {
      ...at(DAY1 + 300),
      kind: "disputed",
      paymentId: id(4),
      payer: PAYER,
      batchId: 2n,
      amount: 10_000_000n,
      expiresAt: BigInt(DAY1 + 9999),
    },
    {
      ...at(DAY1 + 400),
      kind: "ruled",
      paymentId: id(4),
      payer: PAYER,
      toPayer: 4_000_000n,
      toMerchant: 5_940_000n,
      fee: 60_000n,
      byTimeout: false,
    },
  ];
  // One settle transaction: two tranches, then the payout.
  const settleTx = Number(block);
  events.push(
    { ...at(DAY1 + 500, 0, settleTx), kind: "settled", batchId: 1n, amount: 100_000_000n, fee: 1_000_000n },
    { ...at(DAY1 + 500, 1, settleTx), kind: "settled", batchId: 2n, amount: 15_000_000n, fee: 150_000n },
  );
  events.push({
    ...at(DAY1 + 500, 2, settleTx),
    kind: "paid",
    payout: PAYOUT,
    amount: 99_000_000n + 14_850_000n + 49_500_000n + 5_940_000n,
  });
  // Blocks of one settle share a number in real life; here each event got its own, which is fine for order.
  return events;
}

const input = (events = history(), orderRefs = new Map<Hex, Hex>()): ReportInput => ({
  merchantId: 1n,
  token: TOKEN,
  events,
  orderRefs,
});
const rows = (csv: string): Record<string, string>[] => parse(csv, { columns: true });

describe("protocol/reports", function () {
  describe("days and time zones", function () {
    it("accepts calendar dates and IANA zones; refuses the rest with the field named", function () {
      expect(reportDay("2026-03-01")).to.deep.equal({ date: "2026-03-01", timeZone: "UTC" });
      expect(reportDay("2026-03-01", "Asia/Shanghai").timeZone).to.equal("Asia/Shanghai");
      for (const bad of ["2026-02-30", "2026-3-1", "20260301", "", "2026-13-01", "1969-12-31"]) {
        expect(() => reportDay(bad), bad)
          .to.throw(ReportDayError)
          .with.property("field", "date");
      }
      for (const bad of ["Mars/Olympus", "UTC+8", "'; DROP"]) {
        expect(() => reportDay("2026-03-01", bad), bad)
          .to.throw(ReportDayError)
          .with.property("field", "tz");
      }
    });

    it("puts an event on its local day: 23:30 UTC is the next day in Shanghai", function () {
      expect(localDate(DAY1 - 1800, "UTC")).to.equal("2026-02-28");
      expect(localDate(DAY1 - 1800, "Asia/Shanghai")).to.equal("2026-03-01");
    });
  });

  describe("CSV", function () {
    it("defuses cells a spreadsheet would run (= + - @ tab CR), leaves integers and plain text alone", function () {
      for (const hostile of ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]) {
        expect(csvCell(hostile)).to.equal(`'${hostile}`);
      }
      expect(csvCell("order-1")).to.equal("order-1");
      expect(csvCell(123n)).to.equal("123");
      expect(csvCell(null)).to.equal("");
      expect(() => csvCell(1.5)).to.throw(TypeError);
    });

    it("quotes by RFC 4180 (CRLF, doubled quotes, commas and line breaks quoted) and round-trips", function () {
      const text = toCsv(["a", "b"], [['x,"y"\nz', "=1+1"]]);
      expect(text).to.equal('a,b\r\n"x,""y""\nz",\'=1+1\r\n');
      expect(parse(text, { columns: true })).to.deep.equal([{ a: 'x,"y"\nz', b: "'=1+1" }]);
      expect(() => toCsv(["a"], [["1", "2"]])).to.throw(RangeError);
    });
  });

  describe("files", function () {
    it("transactions: the day's events only, with amounts, fees, refunds and the balance held after each", function () {
      const refs = new Map<Hex, Hex>([[id(2), `0x${"c".repeat(64)}` as Hex]]);
      const day = rows(transactionsCsv(input(history(), refs), reportDay("2026-03-01")));
      expect(day.map((r) => r.event)).to.deep.equal([
        "escrowed",
        "escrowed",
        "escrowed",
        "confirmed",
        "refunded",
        "disputed",
        "ruled",
        "settled",
        "settled",
        "paid",
      ]);
      expect(day[0]).to.include({
        payment_id: id(2),
        order_ref: `0x${"c".repeat(64)}`,
        amount: "50000000",
        token: TOKEN,
      });
      expect(day[1].order_ref).to.equal("");
      expect(day[3]).to.include({ amount: "50000000", fee: "500000", net: "49500000" });
      expect(day[6]).to.include({ amount: "10000000", fee: "60000", refund: "4000000", net: "5940000" });
      // Payment 1 (100) was escrowed the day before; everything is paid out at the end.
      expect(day[0].balance_held_after).to.equal("150000000");
      expect(day.at(-1)!.balance_held_after).to.equal("0");
      // In Shanghai payment 1's escrow (23:00 UTC the day before) is on 2026-03-01 too.
      const shanghai = rows(transactionsCsv(input(), reportDay("2026-03-01", "Asia/Shanghai")));
      expect(shanghai.length).to.equal(11);
    });

    it("settlements: each payout with its tranches and payments; totals add up to the amount paid", function () {
      const s = rows(settlementsCsv(input(), reportDay("2026-03-01")));
      const payout = s.filter((r) => r.row_type === "payout");
      expect(payout).to.have.length(1);
      const paid = 99_000_000n + 14_850_000n + 49_500_000n + 5_940_000n;
      expect(payout[0]).to.include({ payout_status: "paid", payout_address: PAYOUT, net: paid.toString() });
      expect(BigInt(payout[0].gross) - BigInt(payout[0].refunds) - BigInt(payout[0].fees)).to.equal(paid);
      const payments = s.filter((r) => r.row_type === "payment");
      expect(payments.map((r) => [r.payment_id, r.source])).to.deep.equal([
        [id(1), "tranche"],
        [id(3), "tranche"],
        [id(2), "confirmed"],
        [id(4), "ruled"],
      ]);
      expect(payments[1]).to.include({ gross: "20000000", refunds: "5000000", fees: "", net: "" });
      expect(payments[3]).to.include({ gross: "10000000", refunds: "4000000", fees: "60000", net: "5940000" });
      expect(rows(settlementsCsv(input(), reportDay("2026-02-28")))).to.deep.equal([]);
    });

    it("summary: counts and totals; opening + gross − refunds − fees − paid out = closing", function () {
      const [r] = rows(summaryCsv(input(), reportDay("2026-03-01")));
      expect(r).to.include({
        escrowed_count: "3",
        confirmed_count: "1",
        refunded_count: "1",
        disputed_count: "1",
        ruled_count: "1",
        settled_count: "2",
        payout_count: "1",
        gross: "80000000",
        refunds: "9000000",
        fees: "1710000",
        opening_balance_held: "100000000",
        closing_balance_held: "0",
      });
      const n = (k: string) => BigInt(r[k]);
      expect(n("net")).to.equal(n("gross") - n("refunds") - n("fees"));
      expect(n("opening_balance_held") + n("net") - n("paid_out")).to.equal(n("closing_balance_held"));
      const [quiet] = rows(summaryCsv(input(), reportDay("2026-03-05")));
      expect(quiet).to.include({ escrowed_count: "0", opening_balance_held: "0", closing_balance_held: "0" });
    });

    it("another merchant's events never reach the files", function () {
      const foreign = history().map((e) => ({ ...e, merchantId: 2n }));
      expect(rows(transactionsCsv(input(foreign), reportDay("2026-03-01")))).to.deep.equal([]);
    });

    it("the replay pairs each payout with the payments it paid", function () {
      const { payouts, payments } = replayMerchant(history());
      expect(payouts).to.have.length(1);
      expect([...payments.values()].filter((p) => p.paidAt !== null).map((p) => p.id)).to.have.members([
        id(1),
        id(2),
        id(3),
        id(4),
      ]);
    });
  });

  describe("credit record", function () {
    it("rates in basis points, dispute outcomes, median time to payout; integers only", function () {
      const c = creditRecord(1n, TOKEN, history(), { blockNumber: 1000n, timestamp: DAY1 + 10 * 86400 });
      expect(c).to.deep.include({
        payments: 4,
        volume: "180000000",
        ageDays: 10,
        refundedPayments: 1,
        refundRateBps: 2500,
        disputedPayments: 1,
        disputeRateBps: 2500,
        confirmedEarly: 1,
        earlyConfirmShareBps: 2500,
        disputes: { open: 0, forMerchant: 0, forPayer: 0, split: 1, expired: 0 },
      });
      // Waits: 4100 (payment 1), 440, 439, 438 → median of the middle two (439, 440) rounded down.
      expect(c.timeToSettle).to.deep.equal({ paidPayments: 4, medianSeconds: 439 });
      expect(c.periods[0]).to.deep.include({ payments: 4, volume: "180000000" });
      expect(c.periods[1].payments).to.equal(0);
      const json = JSON.stringify(c);
      expect(json).to.not.match(/\d\.\d/);
      // Before the first escrow's block, nothing.
      const early = creditRecord(1n, TOKEN, history(), { blockNumber: 9n, timestamp: DAY1 - 7200 });
      expect(early).to.deep.include({ payments: 0, ageDays: 0, firstEscrowAt: null, refundRateBps: 0 });
      expect(early.timeToSettle.medianSeconds).to.equal(null);
    });
  });
});
