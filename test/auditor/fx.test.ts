/**
 * The auditor's FX pairing check (src/auditor/fx.ts, src/auditor/reconcile/fx.ts) on legs written
 * to the in-process Hardhat chain (test/fixtures/fxLegs.ts): a clean pair, each `fx.*` finding,
 * what the rules allow (a lone leg refunded in full, a lone leg before its deadline, a mirrored
 * refund rounded up, the grace), and the CLI's FX verdict line, reports and exit code.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { id } from "ethers";
import type { PublicClient } from "viem";
import { runAudit } from "../../src/auditor/audit";
import { main } from "../../src/auditor/cli";
import { runFxAudit, type FxAuditResult } from "../../src/auditor/fx";
import { DEFAULT_FX_GRACE_SECONDS, type FxCheckOptions } from "../../src/auditor/reconcile/fx";
import { plain } from "../../src/auditor/report/json";
import { targetOf } from "../../src/auditor/target";
import type { Mismatch } from "../../src/auditor/types";
import { mirroredRefund, type Hex } from "../../src/protocol";
import { deployFxChain, increaseTime, QUOTE_TTL, units, type FxChain } from "../fixtures/fxLegs";
import { hardhatClient, hre, removeDir, tempDir } from "./helpers";

const PAY = units("10.87");
const SETTLE = units(10);
const RATE = { pay: 1087n, settle: 1000n };
const GRACE = DEFAULT_FX_GRACE_SECONDS;
const ref = (name: string) => id(name) as Hex;

async function fxFixture(): Promise<FxChain> {
  return deployFxChain(hre);
}

describe("auditor: FX pairing check", function () {
  this.timeout(300_000);

  let client: PublicClient;
  let chain: FxChain;
  beforeEach(async function () {
    chain = await loadFixture(fxFixture);
    client = hardhatClient();
  });

  /** Both currencies audited at the latest block (each must reconcile), then the pairing check. */
  async function fxAudit(options: Partial<FxCheckOptions> = {}): Promise<FxAuditResult> {
    const toBlock = await client.getBlockNumber({ cacheTime: 0 });
    const results = [];
    for (const currency of chain.record.currencies) {
      const result = await runAudit({ client, target: targetOf(chain.record, currency), toBlock });
      expect(result.mismatches, `${currency.code} audit`).to.deep.equal([]);
      results.push(result);
    }
    return runFxAudit({ client, results, deskMerchantId: chain.deskId, ...options });
  }

  const checks = (fx: FxAuditResult) => fx.mismatches.map((m) => m.check);

  function only(fx: FxAuditResult, check: string): Mismatch {
    expect(checks(fx), JSON.stringify(plain(fx.mismatches), null, 2)).to.deep.equal([check]);
    return fx.mismatches[0];
  }

  /**
   * The traveller's leg 1 in USD to the desk and the desk's leg 2 in EUR to the merchant; leg 1 in a
   * payBatch, or from the traveller's wallet (`payWithAuthorization`) when `leg1` is "wallet".
   */
  async function pair(orderRef: Hex, amounts = { pay: PAY, settle: SETTLE }, leg1: "batch" | "wallet" = "batch") {
    const pay = await (leg1 === "wallet" ? chain.walletLeg : chain.leg)("USD", {
      payer: chain.traveller,
      merchantId: chain.deskId,
      amount: amounts.pay,
      orderRef,
    });
    const settle = await chain.leg("EUR", {
      payer: chain.desk,
      merchantId: chain.merchantId,
      amount: amounts.settle,
      orderRef,
      deadline: pay.payment.deadline,
    });
    return { pay, settle };
  }

  it("a pair of legs in two currencies is clean, past its deadline and within the band", async function () {
    const { pay, settle } = await pair(ref("clean"));
    await increaseTime(hre, QUOTE_TTL + GRACE + 60n);
    const fx = await fxAudit({ rates: new Map([["USD/EUR", RATE]]), bandBps: 50n });
    expect(fx.mismatches).to.deep.equal([]);
    expect(fx.deskOwners).to.deep.equal([chain.desk.address.toLowerCase()]);
    expect(fx.legs).to.equal(2);
    expect(fx.pairs.map((p) => [p.orderRef, p.pay.payment.id, p.settle.payment.id])).to.deep.equal([
      [ref("clean"), pay.id, settle.id],
    ]);
  });

  it("fx.unpaired-pay-leg: not before its deadline and grace, then flagged; a lone leg 1 refunded in full is clean", async function () {
    const lone = await chain.leg("USD", {
      payer: chain.traveller,
      merchantId: chain.deskId,
      amount: PAY,
      orderRef: ref("lone"),
    });
    expect((await fxAudit()).mismatches, "before its deadline").to.deep.equal([]);
    await increaseTime(hre, QUOTE_TTL + 60n);
    expect((await fxAudit()).mismatches, "past the deadline, within the grace").to.deep.equal([]);
    await increaseTime(hre, GRACE);
    const m = only(await fxAudit(), "fx.unpaired-pay-leg");
    expect(m.subject).to.equal(`USD payment ${lone.id}`);
    expect([m.expected, m.actual]).to.deep.equal([PAY.toString(), "0"]);
    expect(m.events.map((e) => e.event)).to.deep.equal(["escrow.PaymentEscrowed"]);

    // One unit short of the whole leg is still a finding; the whole leg is clean.
    await chain.refund(chain.desk, lone, PAY - 1n);
    const short = only(await fxAudit(), "fx.unpaired-pay-leg");
    expect([short.expected, short.actual]).to.deep.equal([PAY.toString(), (PAY - 1n).toString()]);
    expect(short.events.map((e) => e.event)).to.deep.equal(["escrow.PaymentEscrowed", "escrow.PaymentRefunded"]);
    await chain.refund(chain.desk, lone, 1n);
    expect((await fxAudit()).mismatches).to.deep.equal([]);
  });

  it("fx.unpaired-settle-leg: the desk paid a merchant for an orderRef no traveller paid", async function () {
    const lone = await chain.leg("EUR", {
      payer: chain.desk,
      merchantId: chain.merchantId,
      amount: SETTLE,
      orderRef: ref("desk alone"),
    });
    // Leg 1 may still land in the other escrow until the deadline.
    expect((await fxAudit()).mismatches).to.deep.equal([]);
    await increaseTime(hre, QUOTE_TTL + GRACE + 60n);
    const m = only(await fxAudit(), "fx.unpaired-settle-leg");
    expect(m.subject).to.equal(`EUR payment ${lone.id}`);
    expect([m.expected, m.actual]).to.deep.equal([SETTLE.toString(), "0"]);
    expect(m.message).to.include(`merchant ${chain.merchantId}`);
  });

  it("a leg 2 in the same currency as leg 1 is no partner: both are unpaired", async function () {
    const pay = await chain.leg("USD", {
      payer: chain.traveller,
      merchantId: chain.deskId,
      amount: PAY,
      orderRef: ref("same currency"),
    });
    const settle = await chain.leg("USD", {
      payer: chain.desk,
      merchantId: chain.merchantId,
      amount: units(1),
      orderRef: ref("same currency"),
      deadline: pay.payment.deadline,
    });
    await increaseTime(hre, QUOTE_TTL + GRACE + 60n);
    const fx = await fxAudit();
    expect(fx.pairs).to.deep.equal([]);
    expect(fx.mismatches.map((m) => [m.check, m.subject])).to.deep.equal([
      ["fx.unpaired-pay-leg", `USD payment ${pay.id}`],
      ["fx.unpaired-settle-leg", `USD payment ${settle.id}`],
    ]);
  });

  it("fx.quote-reused: two pay legs, or two settle legs, with one orderRef", async function () {
    const orderRef = ref("twice");
    const first = await pair(orderRef);
    const second = await chain.leg("USD", {
      payer: chain.otherTraveller,
      merchantId: chain.deskId,
      amount: PAY,
      orderRef,
    });
    let m = only(await fxAudit(), "fx.quote-reused");
    expect(m.subject).to.equal(`orderRef ${orderRef}`);
    expect([m.expected, m.actual]).to.deep.equal(["1", "2"]);
    expect(m.message).to.include(`USD payment ${first.pay.id}, USD payment ${second.id}`);
    expect(m.events.map((e) => e.event)).to.deep.equal(["escrow.PaymentEscrowed", "escrow.PaymentEscrowed"]);

    const settles = await pair(ref("settled twice"));
    const again = await chain.leg("EUR", {
      payer: chain.desk,
      merchantId: chain.merchantId,
      amount: SETTLE,
      orderRef: ref("settled twice"),
      deadline: settles.pay.payment.deadline,
    });
    const fx = await fxAudit();
    expect(checks(fx)).to.deep.equal(["fx.quote-reused", "fx.quote-reused"]);
    m = fx.mismatches[1];
    expect(m.subject).to.equal(`orderRef ${ref("settled twice")}`);
    expect(m.message).to.include(`2 settle legs`).and.include(`EUR payment ${again.id}`);
  });

  it("fx.refund-not-mirrored: the rounded-up share is clean, one unit short is flagged once the grace passed", async function () {
    const { pay, settle } = await pair(ref("refunded"));
    const refunded = units("3.333333");
    await chain.refund(chain.owner, settle, refunded);
    const owed = mirroredRefund(refunded, PAY, SETTLE);
    // ceil(3.333333 × 10.87 / 10): the traveller never gets back less than the fraction.
    expect(owed).to.equal(3_623_333n);

    // Nothing mirrored yet, but the desk is within its grace.
    await increaseTime(hre, GRACE - 30n);
    expect((await fxAudit()).mismatches).to.deep.equal([]);
    await increaseTime(hre, 60n);
    let m = only(await fxAudit(), "fx.refund-not-mirrored");
    expect(m.subject).to.equal(`orderRef ${ref("refunded")}`);
    expect([m.expected, m.actual]).to.deep.equal([owed.toString(), "0"]);

    await chain.refund(chain.desk, pay, owed - 1n);
    m = only(await fxAudit(), "fx.refund-not-mirrored");
    expect([m.expected, m.actual]).to.deep.equal([owed.toString(), (owed - 1n).toString()]);
    expect(m.events.map((e) => e.event)).to.deep.equal([
      "escrow.PaymentEscrowed",
      "escrow.PaymentEscrowed",
      "escrow.PaymentRefunded",
      "escrow.PaymentRefunded",
    ]);
    await chain.refund(chain.desk, pay, 1n);
    expect((await fxAudit()).mismatches).to.deep.equal([]);

    // A second refund by the merchant: the cumulative total is mirrored, and its grace starts anew.
    await chain.refund(chain.owner, settle, units(1));
    expect((await fxAudit()).mismatches).to.deep.equal([]);
    await increaseTime(hre, GRACE + 60n);
    m = only(await fxAudit(), "fx.refund-not-mirrored");
    expect([m.expected, m.actual]).to.deep.equal([
      mirroredRefund(refunded + units(1), PAY, SETTLE).toString(),
      owed.toString(),
    ]);
  });

  it("fx.order-ref-unknown: a leg escrowed without a packed batch in its calldata cannot be paired", async function () {
    const { pay } = await pair(ref("wallet-paid"), { pay: PAY, settle: SETTLE }, "wallet");
    // Before the deadline and grace: the unreadable leg is the only finding.
    const m = only(await fxAudit(), "fx.order-ref-unknown");
    expect(m.subject).to.equal(`USD payment ${pay.id.toLowerCase()}`);
    // Past them, the settle leg it would have paired with is unpaired as well.
    await increaseTime(hre, QUOTE_TTL + BigInt(GRACE) + 1n);
    expect(checks(await fxAudit())).to.have.members(["fx.order-ref-unknown", "fx.unpaired-settle-leg"]);
  });

  it("fx.rate-out-of-band: a pair outside the band around the reference rate, only when a rate is given", async function () {
    await pair(ref("dear"), { pay: units(11), settle: SETTLE });
    expect((await fxAudit()).mismatches, "no reference rate").to.deep.equal([]);
    const m = only(await fxAudit({ rates: new Map([["USD/EUR", RATE]]), bandBps: 50n }), "fx.rate-out-of-band");
    expect(m.subject).to.equal(`orderRef ${ref("dear")}`);
    expect([m.expected, m.actual]).to.deep.equal(["1087:1000 ±50 bps", `${units(11)}:${SETTLE}`]);
    // 11 : 10 is 1.2% off 1.087: inside a 150 bps band.
    expect((await fxAudit({ rates: new Map([["USD/EUR", RATE]]), bandBps: 150n })).mismatches).to.deep.equal([]);
  });

  it("fx.leg-terms: a settle leg whose hold differs from the pay leg's", async function () {
    const orderRef = ref("other hold");
    const pay = await chain.leg("USD", { payer: chain.traveller, merchantId: chain.deskId, amount: PAY, orderRef });
    await chain.leg("EUR", {
      payer: chain.desk,
      merchantId: chain.merchantId,
      amount: SETTLE,
      orderRef,
      deadline: pay.payment.deadline,
      hold: 7_200n,
    });
    const m = only(await fxAudit(), "fx.leg-terms");
    expect([m.expected, m.actual]).to.deep.equal([
      `deadline ${pay.payment.deadline}, hold 86400`,
      `deadline ${pay.payment.deadline}, hold 7200`,
    ]);
  });

  describe("CLI --fx-desk", function () {
    let dir: string;
    before(() => {
      dir = tempDir("stablepay-audit-fx-");
    });
    after(() => removeDir(dir));

    async function cli(args: string[]) {
      const file = path.join(dir, "hardhat.json");
      writeFileSync(file, JSON.stringify(chain.record, null, 2));
      const lines: string[] = [];
      const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t), env: {}, client };
      const code = await main(["--deployments", file, "--quiet", "--out", path.join(dir, "out"), ...args], io);
      return { code, text: lines.join("\n") };
    }

    it("prints the FX verdict, writes audit-out/<network>/fx/ and exits 1 on a finding, 0 when clean", async function () {
      await pair(ref("cli pair"));
      const clean = await cli(["--fx-desk", String(chain.deskId), "--fx-rate", "USD/EUR=1087:1000"]);
      expect(clean.code, clean.text).to.equal(0);
      expect(clean.text).to.include("Currencies: USD clean, EUR clean\nFX: clean");

      const lone = await chain.leg("USD", {
        payer: chain.otherTraveller,
        merchantId: chain.deskId,
        amount: PAY,
        orderRef: ref("cli lone"),
      });
      await increaseTime(hre, QUOTE_TTL + GRACE + 60n);
      const flagged = await cli(["--fx-desk", String(chain.deskId), "--fx-grace", "3600"]);
      expect(flagged.code, flagged.text).to.equal(1);
      expect(flagged.text).to.include("Currencies: USD clean, EUR clean\nFX: 1 finding");
      expect(flagged.text).to.include(`[fx.unpaired-pay-leg] USD payment ${lone.id}`);
      const json = JSON.parse(readFileSync(path.join(dir, "out", "fx", "audit.json"), "utf8"));
      expect(json.clean).to.equal(false);
      expect(json.mismatches.map((m: Mismatch) => [m.check, m.subject, m.expected, m.actual])).to.deep.equal([
        ["fx.unpaired-pay-leg", `USD payment ${lone.id}`, PAY.toString(), "0"],
      ]);
      expect(readFileSync(path.join(dir, "out", "fx", "summary.txt"), "utf8")).to.include("RESULT: 1 FX FINDING");
      // A longer grace gives the desk's mirror more time: clean again.
      const patient = await cli(["--fx-desk", String(chain.deskId), "--fx-grace", "86400"]);
      expect(patient.code, patient.text).to.equal(0);
    });

    it("refuses FX options without --fx-desk, with --currency, or a rate of an unknown currency (exit 2)", async function () {
      expect((await cli(["--fx-rate", "USD/EUR=1:1"])).code).to.equal(2);
      const one = await cli(["--fx-desk", "1", "--currency", "USD"]);
      expect([one.code, one.text.includes("drop --currency")]).to.deep.equal([2, true]);
      const jpy = await cli(["--fx-desk", "1", "--fx-rate", "JPY/EUR=150:1"]);
      expect([jpy.code, jpy.text.includes("--fx-rate names JPY")]).to.deep.equal([2, true]);
      const bad = await cli(["--fx-desk", "1", "--fx-rate", "USD/EUR=1.087"]);
      expect([bad.code, bad.text.includes("--fx-rate must be PAY/SETTLE")]).to.deep.equal([2, true]);
    });
  });
});
