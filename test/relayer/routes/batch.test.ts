import { expect } from "chai";
import { idOf, signPayment, buildPayment, usd } from "../../escrow/fixtures";
import { batchOutcomes, paymentBody, signedPayment, useApi, type ApiHarness } from "../helpers/api";

describe("relayer API: POST /v1/payments/batch", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const postBatch = (payments: unknown[]) => h.request("POST", "/v1/payments/batch", { body: { payments } });

  it("returns one result per item, in order: accepted, duplicate, and each failure with its own code", async function () {
    const ok1 = await signedPayment(h, 0, { nonce: 0n });
    const ok2 = await signedPayment(h, 1, { nonce: 0n });
    const already = await signedPayment(h, 2, { nonce: 0n });
    expect((await h.request("POST", "/v1/payments", { body: already.body })).status).to.equal(201);
    const foreign = await buildPayment(h.f, h.f.customers[3]);
    const foreignSig = await signPayment(h.f, h.f.customers[0], foreign);
    const expired = await signedPayment(h, 3, { deadline: BigInt(Math.floor(h.clock() / 1000)) - 1n, nonce: 1n });

    const res = await postBatch([
      ok1.body,
      { ...ok2.body, amount: 12 }, // wrong type: fails alone
      paymentBody(foreign, foreignSig),
      already.body,
      ok2.body,
      { ...ok1.body, amount: "0" },
      expired.body,
      { ...ok1.body, merchantId: "77" },
    ]);
    expect(res.status).to.equal(200);
    const summary = batchOutcomes(res.body);
    expect(summary).to.deep.equal([
      [201, null],
      [400, "validation_failed"],
      [400, "invalid_signature"],
      [200, null],
      [201, null],
      [400, "invalid_amount"],
      [400, "expired"],
      [400, "invalid_signature"], // merchantId changed after signing: the signature no longer matches
    ]);
    expect(res.body.results.map((r: { index: number }) => r.index)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([res.body.accepted, res.body.duplicates, res.body.failed]).to.deep.equal([2, 1, 5]);
    expect(res.body.results[0].payment.id).to.equal(await idOf(h.f, ok1.payment));
    expect(await h.store.payments.get(await idOf(h.f, ok2.payment))).to.not.equal(null);
  });

  it("items of one payer are checked against each other: balance and nonces accumulate within the request", async function () {
    const a = await signedPayment(h, 0, { amount: usd(400), nonce: 0n });
    const b = await signedPayment(h, 0, { amount: usd(400), nonce: 1n });
    const c = await signedPayment(h, 0, { amount: usd(400), nonce: 2n }); // would exceed 1,000
    const d = await signedPayment(h, 0, { amount: usd(1), nonce: 1n }); // nonce taken by b
    const res = await postBatch([a.body, b.body, c.body, d.body, a.body]);
    const summary = batchOutcomes(res.body);
    expect(summary).to.deep.equal([
      [201, null],
      [201, null],
      [409, "insufficient_balance"],
      [409, "nonce_unavailable"],
      [200, null], // the same payment twice in one request: once stored, then a duplicate
    ]);
    expect(await h.store.payments.pendingAmountOf(h.f.customers[0].address.toLowerCase() as `0x${string}`)).to.equal(
      usd(800),
    );
  });

  it("commits every accepted item of a request in one group commit", async function () {
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await signedPayment(h, i, { nonce: 0n })).body);
    const calls: number[] = [];
    const original = h.store.payments.insertAcceptedGuarded.bind(h.store.payments);
    h.store.payments.insertAcceptedGuarded = async (items) => {
      calls.push(items.length);
      return original(items);
    };
    const res = await postBatch(bodies);
    expect(res.body.accepted).to.equal(4);
    expect(calls).to.deep.equal([4]);
  });

  it("an empty batch, more than 1,000 items, or a malformed envelope: 400 validation_failed", async function () {
    const { body } = await signedPayment(h, 0);
    for (const payload of [
      { payments: [] },
      { payments: Array(1001).fill(body) },
      { items: [body] },
      [body],
      { payments: body },
    ]) {
      const res = await h.request("POST", "/v1/payments/batch", { body: payload });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("validation_failed");
    }
    expect((await h.store.payments.list({ limit: 10 })).items).to.have.length(0);
  });
});
