/**
 * The FX desk (src/relayer/fx, docs/CURRENCIES.md "Paying across currencies"): on a USD and EUR
 * deployment made by the deploy script, a traveller holding USD pays a merchant who settles in EUR
 * with a quote signed by an FX_QUOTER_ROLE holder, as two linked ordinary payments (payer → desk in
 * USD, desk → merchant in EUR) carrying the quote's digest as orderRef. Every refusal is checked
 * with its status and code, and neither key appears in an answer or a log line.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import type { Hex } from "../../../src/relayer/domain";
import { escrowDomain, ethersTypes, paymentTypes, type Payment, type Quote } from "../../../src/protocol";
import { startDeployedApi, type DeployedApi } from "../helpers/deployment";
import { fxDeployment, PAY, SETTLE, ORDER, type FxDeploymentOptions } from "./fixtures";

describe("relayer FX desk: a USD payer pays an EUR merchant (two linked legs)", function () {
  this.timeout(120_000);
  let api: DeployedApi | null = null;
  afterEach(async () => {
    await api?.close();
    api = null;
  });

  /** The FX deployment of ./fixtures, closed after the test. */
  async function setUp(options: FxDeploymentOptions = {}) {
    const deployment = await fxDeployment(options);
    api = deployment.api;
    return deployment;
  }

  it("quotes, then takes both legs: USD payer → desk, desk → EUR merchant, linked by the quote's digest", async () => {
    const { api, desk, customer, merchantId, logs, askQuote, signLeg, parse, call, escrowOf, quoter } = await setUp();
    const quoted = await askQuote();
    expect(quoted.status).to.equal(201);
    const quote = parse(quoted.body.quote);
    expect(quote.payAmount).to.equal(PAY);
    expect([quote.settleAmount, quote.merchantId, quote.orderRef]).to.deep.equal([SETTLE, merchantId, ORDER]);
    const usd = api.record.currencies.find((c) => c.code === "USD")!;
    expect(quote.payToken).to.equal(usd.token.address.toLowerCase());
    // The leg to sign: to the desk merchant, in the USD escrow's domain, orderRef = the quote's digest.
    const leg = quoted.body.payment;
    expect(leg.domain.verifyingContract).to.equal(escrowOf("USD"));
    expect(leg.message).to.deep.include({
      payer: customer.address.toLowerCase(),
      merchantId: "1",
      amount: PAY.toString(),
      orderRef: quoted.body.legOrderRef,
      nonce: "0",
    });
    const signature = await customer.signTypedData(
      leg.domain,
      { Payment: leg.types.Payment },
      { ...leg.message, hold: BigInt(leg.message.hold) },
    );
    const paid = await call("/v1/fx/payments", {
      quote: quoted.body.quote,
      quoteSignature: quoted.body.quoteSignature,
      payment: { ...leg.message, signature, escrow: escrowOf("USD") },
    });
    expect(paid.status, paid.text).to.equal(201);
    const { pay, settle, orderRef } = paid.body;
    expect(orderRef).to.equal(quoted.body.legOrderRef);
    expect([pay.currency, pay.payer, pay.merchantId, pay.amount, pay.orderRef, pay.state]).to.deep.equal([
      "USD",
      customer.address.toLowerCase(),
      "1",
      PAY.toString(),
      orderRef,
      "accepted",
    ]);
    expect([
      settle.currency,
      settle.payer,
      settle.merchantId,
      settle.amount,
      settle.orderRef,
      settle.hold,
    ]).to.deep.equal(["EUR", desk.address.toLowerCase(), merchantId.toString(), SETTLE.toString(), orderRef, pay.hold]);
    // Both legs are stored in their currencies.
    expect((await api.store.payments.get(pay.id))?.currency).to.equal("USD");
    expect((await api.store.payments.get(settle.id))?.currency).to.equal("EUR");

    // The same quote again (a fresh leg, nonce 1) is refused: a quote pays once.
    const again = await call("/v1/fx/payments", {
      quote: quoted.body.quote,
      quoteSignature: quoted.body.quoteSignature,
      payment: await signLeg(quote, { nonce: 1n }),
    });
    expect([again.status, again.body.error.code]).to.deep.equal([409, "quote_used"]);
    expect(again.body.error.details.paymentId).to.equal(pay.id);

    // Neither key shows in an answer or a log line.
    const everything = [quoted.text, paid.text, again.text, ...logs].join("\n").toLowerCase();
    for (const key of [quoter.privateKey, desk.privateKey]) {
      expect(everything).to.not.include(key.slice(2).toLowerCase());
    }
    expect(logs.length).to.be.greaterThan(0);
  });

  it("refuses a stale, forged, unauthorised or out-of-band quote, and a leg that is not the quote's", async () => {
    const { quoter, askQuote, signLeg, legPayment, signQuote, wire, parse, call, escrowOf } = await setUp();
    const quoted = await askQuote();
    const quote = parse(quoted.body.quote);
    const submit = async (q: Quote, quoteSignature: Hex, leg?: unknown) =>
      call("/v1/fx/payments", { quote: wire(q), quoteSignature, payment: leg ?? (await signLeg(q)) });

    // Expired: signed by the quoter, but its expiresAt has passed.
    const stale = {
      ...quote,
      quoteId: ethers.id("stale") as Hex,
      expiresAt: BigInt(Math.floor(Date.now() / 1000) - 5),
    };
    const expired = await submit(stale, await signQuote(stale));
    expect([expired.status, expired.body.error.code]).to.deep.equal([400, "quote_expired"]);

    // Forged: signed by a key without the role.
    const forged = await submit(quote, await signQuote(quote, new Wallet(Wallet.createRandom().privateKey)));
    expect([forged.status, forged.body.error.code]).to.deep.equal([400, "invalid_quote"]);

    // Tampered: the quoter's signature over other amounts.
    const cheaper = { ...quote, payAmount: quote.payAmount - 1n };
    const tampered = await submit(cheaper, quoted.body.quoteSignature);
    expect([tampered.status, tampered.body.error.code]).to.deep.equal([400, "invalid_quote"]);

    // Out of band: the quoter signed a rate 1% off the reference (band 0.5%).
    const skewed = { ...quote, quoteId: ethers.id("skewed") as Hex, payAmount: (PAY * 99n) / 100n };
    const band = await submit(skewed, await signQuote(skewed));
    expect([band.status, band.body.error.code]).to.deep.equal([400, "quote_out_of_band"]);

    // Legs that are not the quote's: amount, merchant, orderRef, escrow.
    const cases: [string, Partial<Payment>][] = [
      ["amount", { amount: PAY - 1n }],
      ["merchantId", { merchantId: 2n }],
      ["orderRef", { orderRef: ORDER }],
    ];
    for (const [field, overrides] of cases) {
      const res = await submit(quote, quoted.body.quoteSignature, await signLeg(quote, overrides));
      expect([res.status, res.body.error.code, res.body.error.details.field], field).to.deep.equal([
        400,
        "fx_leg_mismatch",
        field,
      ]);
    }
    const noEscrow = { ...(await signLeg(quote)) } as Record<string, unknown>;
    delete noEscrow.escrow;
    const missing = await submit(quote, quoted.body.quoteSignature, noEscrow);
    expect([missing.status, missing.body.error.code, missing.body.error.details.field]).to.deep.equal([
      400,
      "fx_leg_mismatch",
      "escrow",
    ]);

    // A leg 1 intake refuses (signed by another key): nothing submitted, and the quote's claim is
    // released, so the payer may send a right one.
    const wrongSigner = new Wallet(Wallet.createRandom().privateKey);
    const leg = (await signLeg(quote)) as Record<string, unknown>;
    const stolen = await submit(quote, quoted.body.quoteSignature, {
      ...leg,
      signature: await wrongSigner.signTypedData(
        escrowDomain(31337n, escrowOf("USD")),
        ethersTypes(paymentTypes),
        await legPayment(quote),
      ),
    });
    expect([stolen.status, stolen.body.error.code]).to.deep.equal([400, "invalid_signature"]);

    // After all that the genuine quote still pays (nothing was spent by the refusals).
    const ok = await submit(quote, quoted.body.quoteSignature);
    expect(ok.status, ok.text).to.equal(201);
    expect(quoter.address).to.be.a("string");
  });

  it("refuses a quote another instance holds the claim of (the store's lease named by its quoteId)", async () => {
    const { api, askQuote, signLeg, parse, call } = await setUp();
    const quoted = await askQuote();
    const quote = parse(quoted.body.quote);
    const now = Date.now();
    const other = await api.store.leases.acquire(`fx-quote:${quote.quoteId}`, "other-instance", 60_000, now, "test");
    expect(other).to.not.equal(null);
    const body = {
      quote: quoted.body.quote,
      quoteSignature: quoted.body.quoteSignature,
      payment: await signLeg(quote),
    };
    const refused = await call("/v1/fx/payments", body);
    expect([refused.status, refused.body.error.code]).to.deep.equal([409, "quote_used"]);
    // Once the other instance lets it go (its leg 1 was refused), this one pays it.
    await api.store.leases.release(`fx-quote:${quote.quoteId}`, "other-instance", other!.epoch);
    const paid = await call("/v1/fx/payments", body);
    expect(paid.status, paid.text).to.equal(201);
  });

  it("refuses a quote whose signer does not hold FX_QUOTER_ROLE (granted to nobody)", async () => {
    const { askQuote, signLeg, parse, call } = await setUp({ grantQuoter: false });
    const quoted = await askQuote();
    expect(quoted.status).to.equal(201);
    const res = await call("/v1/fx/payments", {
      quote: quoted.body.quote,
      quoteSignature: quoted.body.quoteSignature,
      payment: await signLeg(parse(quoted.body.quote)),
    });
    expect([res.status, res.body.error.code]).to.deep.equal([400, "invalid_quote"]);
  });

  it("refuses before anything is submitted when the desk's EUR balance is short", async () => {
    const { api, customer, askQuote, signLeg, parse, call } = await setUp({ deskEur: SETTLE - 1n });
    const quoted = await askQuote();
    const res = await call("/v1/fx/payments", {
      quote: quoted.body.quote,
      quoteSignature: quoted.body.quoteSignature,
      payment: await signLeg(parse(quoted.body.quote)),
    });
    expect([res.status, res.body.error.code, res.body.error.details.reason]).to.deep.equal([
      409,
      "fx_settle_leg_refused",
      "insufficient_balance",
    ]);
    // Leg 1 was not submitted: the customer has no payment, its USD balance is all available.
    const listed = await api.store.payments.list({ payer: customer.address.toLowerCase() as Hex, limit: 10 });
    expect(listed.items).to.have.length(0);
  });

  it("answers 503 fx_unavailable without a desk, and for a pair it quotes no rate", async () => {
    const { askQuote } = await setUp();
    const reverse = await askQuote({ payCurrency: "EUR", settleCurrency: "USD" });
    expect([reverse.status, reverse.body.error.code]).to.deep.equal([503, "fx_unavailable"]);
    await api!.close();
    api = await startDeployedApi(["USD", "EUR"], { served: ["USD", "EUR"] });
    const res = await fetch(`${api.url}/v1/fx/quotes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        payer: `0x${"11".repeat(20)}`,
        payCurrency: "USD",
        settleCurrency: "EUR",
        merchantId: "1",
        settleAmount: "1",
        orderRef: ORDER,
      }),
    });
    expect(res.status).to.equal(503);
    expect(((await res.json()) as any).error.code).to.equal("fx_unavailable");
  });
});
