/**
 * One payment per payment request (issue 10, item 10): the "already paid" check used to run before
 * the payer's lock and the request was marked paid only after the commit, so concurrent payments,
 * two payments of one request in one batch, and payments by different customers were all accepted
 * (the customer charged several times for one order). Exactly one may be accepted; the rest get
 * 409 request_already_paid.
 */
import { expect } from "chai";
import { buildApp } from "../../../src/relayer/app";
import type { Hex, PaymentRecord } from "../../../src/relayer/domain";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { loadConfig } from "../../../src/relayer/config";
import { CUSTOMER_DEPOSIT, signPayment, usd } from "../../escrow/fixtures";
import { ADMIN_TOKEN, paymentBody, useApi, type ApiHarness } from "../helpers/api";
import { makePayment } from "../store/helpers";

describe("relayer API: payment requests are paid at most once", function () {
  let h: ApiHarness;
  let merchantKey: string;
  useApi((started) => (h = started));

  beforeEach(async function () {
    merchantKey = (await h.issueKey(1n)).key;
  });

  interface Request {
    id: string;
    orderRef: Hex;
    deadline: bigint;
    hold: bigint;
  }

  async function newRequest(amount = usd(25), hold?: number): Promise<Request> {
    const res = await h.request("POST", "/v1/merchant/payment-requests", {
      key: merchantKey,
      body: {
        amount: amount.toString(),
        orderRef: `order-${Math.random()}`,
        expiresIn: 3600,
        ...(hold === undefined ? {} : { hold }),
      },
    });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.typedData.message.hold).to.equal(res.body.hold);
    return {
      id: res.body.id,
      orderRef: res.body.orderRef,
      deadline: BigInt(res.body.typedData.message.deadline),
      hold: BigInt(res.body.hold),
    };
  }

  /** Customer `c`'s signed payment of request `r` with `nonce` (and the request's hold), as the API takes it. */
  async function payRequest(r: Request, c: number, nonce: bigint, hold = r.hold) {
    const payment = {
      payer: h.f.customers[c].address as Hex,
      merchantId: h.f.merchants[0].id,
      amount: usd(25),
      orderRef: r.orderRef,
      nonce,
      validAfter: 0n,
      deadline: r.deadline,
      hold,
    };
    const signature = await signPayment(h.f, h.f.customers[c], payment);
    return paymentBody(payment, signature, { requestId: r.id });
  }

  const paymentsOf = async (requestId: string): Promise<PaymentRecord[]> =>
    (await h.store.payments.list({ limit: 100 })).items.filter((p) => p.requestId === requestId);

  it("a request's hold defaults to the merchant's minHold and is part of the typed data the customer signs", async function () {
    const [, , minHold, maxHold] = await h.f.registry.terms(h.f.merchants[0].id);
    const byDefault = await newRequest();
    expect(byDefault.hold).to.equal(minHold);
    const longest = await newRequest(usd(25), Number(maxHold));
    expect(longest.hold).to.equal(maxHold);
    expect((await h.store.requests.get(longest.id))?.hold).to.equal(maxHold);
    // The customer signs it: a payment of the request with that hold is accepted and stored with it.
    const paid = await h.request("POST", "/v1/payments", { body: await payRequest(longest, 0, 0n) });
    expect(paid.status, paid.text).to.equal(201);
    expect(paid.body.hold).to.equal(Number(maxHold));
    expect((await h.store.payments.get(paid.body.id))?.hold).to.equal(maxHold);
  });

  it("a request is in a currency (default the deployment's first): its view, its payment's view and the payment list name it; an unknown code is refused", async function () {
    const usdEscrow = await h.f.escrow.getAddress();
    const named = await h.request("POST", "/v1/merchant/payment-requests", {
      key: merchantKey,
      body: { amount: usd(25).toString(), orderRef: "order-usd", expiresIn: 3600, currency: "USD" },
    });
    expect(named.status, named.text).to.equal(201);
    expect(named.body.currency).to.equal("USD");
    expect(named.body.typedData.domain.verifyingContract.toLowerCase()).to.equal(usdEscrow.toLowerCase());
    const r = await newRequest();
    expect((await h.store.requests.get(r.id))?.currency).to.equal("USD");
    const paid = await h.request("POST", "/v1/payments", { body: await payRequest(r, 0, 0n) });
    expect(paid.status, paid.text).to.equal(201);
    expect(paid.body.currency).to.equal("USD");
    expect((await h.request("GET", `/v1/payments/${paid.body.id}`)).body.currency).to.equal("USD");
    const listed = await h.request("GET", "/v1/merchant/payments?currency=USD", { key: merchantKey });
    expect(listed.body.items.map((p: { id: string }) => p.id)).to.deep.equal([paid.body.id]);

    // EUR is no currency of this deployment: refused with the codes it has.
    const eur = await h.request("POST", "/v1/merchant/payment-requests", {
      key: merchantKey,
      body: { amount: "1000", orderRef: "order-eur", expiresIn: 3600, currency: "EUR" },
    });
    expect([eur.status, eur.body.error.code]).to.deep.equal([400, "unknown_currency"]);
    expect(eur.body.error.details).to.deep.equal({ currencies: ["USD"] });
    const list = await h.request("GET", "/v1/merchant/payments?currency=EUR", { key: merchantKey });
    expect([list.status, list.body.error.code]).to.deep.equal([400, "unknown_currency"]);
    // Not a code at all (lower case): the schema refuses it.
    const bad = await h.request("GET", "/v1/merchant/payments?currency=usd", { key: merchantKey });
    expect([bad.status, bad.body.error.code]).to.deep.equal([400, "validation_failed"]);
  });

  it("a request's hold outside the merchant's bounds: 400 hold_out_of_range naming the bounds, nothing stored", async function () {
    const [, , minHold, maxHold] = await h.f.registry.terms(h.f.merchants[0].id);
    for (const hold of [Number(minHold) - 1, Number(maxHold) + 1]) {
      const res = await h.request("POST", "/v1/merchant/payment-requests", {
        key: merchantKey,
        body: { amount: "1000", orderRef: `order-${hold}`, expiresIn: 3600, hold },
      });
      expect([res.status, res.body.error.code]).to.deep.equal([400, "hold_out_of_range"]);
      expect(res.body.error.message).to.include(`[${minHold}, ${maxHold}]`);
      expect(res.body.error.details).to.deep.equal({ hold, minHold: Number(minHold), maxHold: Number(maxHold) });
    }
    // Not an integer number of seconds: the schema refuses it.
    const res = await h.request("POST", "/v1/merchant/payment-requests", {
      key: merchantKey,
      body: { amount: "1000", orderRef: "order-x", expiresIn: 3600, hold: "3600" },
    });
    expect([res.status, res.body.error.code]).to.deep.equal([400, "validation_failed"]);
  });

  it("a payment whose hold is not its request's: 400 validation_failed (the request is still payable)", async function () {
    const [, , , maxHold] = await h.f.registry.terms(h.f.merchants[0].id);
    const request = await newRequest();
    const other = await h.request("POST", "/v1/payments", { body: await payRequest(request, 0, 0n, maxHold) });
    expect([other.status, other.body.error.code]).to.deep.equal([400, "validation_failed"]);
    expect(other.body.error.details.hold).to.equal(Number(request.hold));
    const paid = await h.request("POST", "/v1/payments", { body: await payRequest(request, 0, 1n) });
    expect(paid.status, paid.text).to.equal(201);
  });

  it("five concurrent POSTs of one request by one customer (five nonces): one 201, four 409 request_already_paid", async function () {
    const request = await newRequest();
    const bodies = await Promise.all([0n, 1n, 2n, 3n, 4n].map((nonce) => payRequest(request, 0, nonce)));
    const responses = await Promise.all(bodies.map((body) => h.request("POST", "/v1/payments", { body })));
    const outcomes = responses.map((r) => [r.status, r.body.error?.code ?? null]);
    expect(outcomes.filter(([s]) => s === 201)).to.have.length(1);
    expect(outcomes.filter(([s, c]) => s === 409 && c === "request_already_paid")).to.have.length(4);
    const stored = await paymentsOf(request.id);
    expect(stored).to.have.length(1);
    expect((await h.store.requests.get(request.id))?.paymentId).to.equal(stored[0].id);
    // A retry of the accepted payment is still the same payment (200), not a conflict.
    const winner = bodies[outcomes.findIndex(([s]) => s === 201)];
    const retry = await h.request("POST", "/v1/payments", { body: winner });
    expect([retry.status, retry.body.id]).to.deep.equal([200, stored[0].id]);
  });

  it("concurrent payments of one request by four different customers: exactly one accepted", async function () {
    const request = await newRequest();
    const bodies = await Promise.all([0, 1, 2, 3].map((c) => payRequest(request, c, 0n)));
    const responses = await Promise.all(bodies.map((body) => h.request("POST", "/v1/payments", { body })));
    expect(responses.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409]);
    for (const r of responses.filter((x) => x.status === 409))
      expect(r.body.error.code).to.equal("request_already_paid");
    expect(await paymentsOf(request.id)).to.have.length(1);
  });

  it("two payments of one request in one batch (same payer, and another payer): one 201, the rest 409", async function () {
    const request = await newRequest();
    const items = [
      await payRequest(request, 0, 0n),
      await payRequest(request, 0, 1n),
      await payRequest(request, 1, 0n),
    ];
    const res = await h.request("POST", "/v1/payments/batch", { body: { payments: items } });
    expect(res.status).to.equal(200);
    const results = res.body.results as { status: number; error?: { code: string } }[];
    expect(results.filter((r) => r.status === 201)).to.have.length(1);
    expect(results.filter((r) => r.status === 409 && r.error?.code === "request_already_paid")).to.have.length(2);
    expect([res.body.accepted, res.body.failed]).to.deep.equal([1, 2]);
    expect(await paymentsOf(request.id)).to.have.length(1);
  });

  it("single and batch endpoints racing for one request: one accepted across both", async function () {
    const request = await newRequest();
    const single = [await payRequest(request, 0, 0n), await payRequest(request, 1, 0n)];
    const batch = [await payRequest(request, 2, 0n), await payRequest(request, 3, 0n)];
    const [a, b, c] = await Promise.all([
      h.request("POST", "/v1/payments", { body: single[0] }),
      h.request("POST", "/v1/payments/batch", { body: { payments: batch } }),
      h.request("POST", "/v1/payments", { body: single[1] }),
    ]);
    const statuses = [a.status, ...b.body.results.map((r: { status: number }) => r.status), c.status];
    expect(statuses.filter((s) => s === 201)).to.have.length(1);
    expect(statuses.filter((s) => s === 409)).to.have.length(3);
    expect(await paymentsOf(request.id)).to.have.length(1);
  });

  it("a payment refused for its balance releases its claim: the request can still be paid", async function () {
    const request = await newRequest(usd(25));
    // Customer 0 spends almost everything first, so the request's payment fails on balance.
    const drain = {
      payer: h.f.customers[0].address as Hex,
      merchantId: h.f.merchants[0].id,
      amount: CUSTOMER_DEPOSIT - usd(10),
      orderRef: `0x${"ab".repeat(32)}` as Hex,
      nonce: 0n,
      validAfter: 0n,
      deadline: request.deadline,
      hold: request.hold,
    };
    const drainBody = paymentBody(drain, await signPayment(h.f, h.f.customers[0], drain));
    expect((await h.request("POST", "/v1/payments", { body: drainBody })).status).to.equal(201);
    const poor = await h.request("POST", "/v1/payments", { body: await payRequest(request, 0, 1n) });
    expect([poor.status, poor.body.error.code]).to.deep.equal([409, "insufficient_balance"]);
    const paid = await h.request("POST", "/v1/payments", { body: await payRequest(request, 1, 0n) });
    expect(paid.status, paid.text).to.equal(201);
    const again = await h.request("POST", "/v1/payments", { body: await payRequest(request, 2, 0n) });
    expect([again.status, again.body.error.code]).to.deep.equal([409, "request_already_paid"]);
  });

  it("last line of defence: two relayer APIs on one database (separate in-memory claims) still accept one", async function () {
    const request = await newRequest();
    const second = buildApp({
      config: { ...loadConfig({}), adminToken: ADMIN_TOKEN, rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 },
      store: h.store,
      chain: h.chain,
      currencies: h.currencies,
      clock: h.clock,
      logger: false,
      metrics: createMetrics({ defaultMetrics: false }),
    });
    try {
      const bodies = await Promise.all([0, 1, 2, 3].map((c) => payRequest(request, c, 0n)));
      const responses = await Promise.all(
        bodies.map((body, i) =>
          i % 2 === 0
            ? h.request("POST", "/v1/payments", { body }).then((r) => ({ status: r.status, body: r.body }))
            : second
                .inject({ method: "POST", url: "/v1/payments", payload: body })
                .then((r) => ({ status: r.statusCode, body: r.json() })),
        ),
      );
      expect(responses.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409]);
      for (const r of responses.filter((x) => x.status === 409)) {
        expect(r.body.error.code).to.equal("request_already_paid");
      }
      expect(await paymentsOf(request.id)).to.have.length(1);
    } finally {
      await second.close();
    }
  });

  it("the store refuses a second payment claiming one request (unique request claim)", async function () {
    const request = await newRequest();
    const [a, b] = [await payRequest(request, 0, 0n), await payRequest(request, 1, 0n)];
    const record = (body: typeof a, id: Hex): PaymentRecord =>
      makePayment(1, {
        id,
        payer: body.payer.toLowerCase() as Hex,
        merchantId: BigInt(body.merchantId),
        amount: BigInt(body.amount),
        orderRef: body.orderRef,
        nonce: BigInt(body.nonce),
        deadline: BigInt(body.deadline),
        signature: body.signature,
        requestId: request.id,
      });
    const first = `0x${"01".repeat(32)}` as Hex;
    const other = `0x${"02".repeat(32)}` as Hex;
    const inserted = await h.store.payments.insertAccepted([record(a, first), record(b, other)]);
    expect([...inserted]).to.deep.equal([first]);
  });
});
