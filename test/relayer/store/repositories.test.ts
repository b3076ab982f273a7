import { expect } from "chai";
import { ApiError } from "../../../src/relayer/errors";
import { BatchState, PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { hex32, makeEndpoint, makePayment } from "./helpers";
import { describeEachStoreWithFixture, type AnyStore } from "./stores";

const HASH = (n: number): Hex => hex32(n, "ff");

const SIGNER = "0x00000000000000000000000000000000000000AA" as Hex;

describeEachStoreWithFixture("store: batches, submissions, settlements, accounts, cursors", (ctx) => {
  let store: AnyStore;
  beforeEach(() => {
    store = ctx.f.store;
  });

  it("batches.create orders payments, marks them batched atomically; get/getByBatchId/listByState/update", async () => {
    await store.payments.insertAccepted([1, 2, 3].map((n) => makePayment(n)));
    const ids = [makePayment(3).id, makePayment(1).id];
    const batch = await store.batches.create(ids.map((id) => id.toUpperCase().replace("0X", "0x") as Hex));
    expect(batch.state).to.equal(BatchState.Built);
    expect(batch.paymentIds).to.deep.equal(ids);
    expect(batch.batchId).to.equal(null);
    for (const id of ids) {
      const p = (await store.payments.get(id))!;
      expect([p.state, p.batchKey]).to.deep.equal([PaymentState.Batched, batch.key]);
    }
    expect((await store.payments.get(makePayment(2).id))!.state).to.equal(PaymentState.Accepted);

    const second = await store.batches.create([makePayment(2).id]);
    expect(second.key).to.be.greaterThan(batch.key);

    await store.batches.update(batch.key, {
      state: BatchState.Confirmed,
      batchId: 2n ** 64n + 1n,
      root: HASH(1),
      txHash: HASH(2),
      blockNumber: 2n ** 60n,
      blockHash: HASH(3),
      gasUsed: 1_234_567n,
    });
    const confirmed = (await store.batches.getByBatchId(2n ** 64n + 1n))!;
    expect(confirmed).to.deep.include({
      key: batch.key,
      state: BatchState.Confirmed,
      root: HASH(1),
      blockNumber: 2n ** 60n,
      gasUsed: 1_234_567n,
    });
    expect(await store.batches.getByBatchId(5n)).to.equal(null);
    expect(await store.batches.get(9999)).to.equal(null);
    expect((await store.batches.get(second.key))!.paymentIds).to.deep.equal([makePayment(2).id]);
    expect((await store.batches.listByState([BatchState.Built])).map((b) => b.key)).to.deep.equal([second.key]);
    expect((await store.batches.listByState([BatchState.Built, BatchState.Confirmed])).map((b) => b.key)).to.deep.equal(
      [batch.key, second.key],
    );
    expect(await store.batches.listByState([])).to.deep.equal([]);
  });

  it("submissions: record, listPending, listByPurpose, setState, maxNonce", async () => {
    expect(await store.submissions.maxNonce()).to.equal(null);
    const base = {
      purpose: "batch:1",
      signer: SIGNER.toLowerCase() as Hex,
      epoch: 0,
      rawTx: "0x02F8AB" as Hex,
      maxFeePerGas: 2n ** 80n,
      maxPriorityFeePerGas: 2n ** 70n,
      state: SubmissionState.Pending,
      sentAt: 1000,
    };
    const a = await store.submissions.record({ ...base, nonce: 7, txHash: HASH(1) });
    const b = await store.submissions.record({ ...base, nonce: 7, txHash: HASH(2), maxFeePerGas: 2n ** 81n });
    const c = await store.submissions.record({ ...base, purpose: "settle:1", nonce: 8, txHash: HASH(3) });
    expect(a).to.deep.equal({ ...base, id: a.id, nonce: 7, txHash: HASH(1), rawTx: "0x02f8ab", updatedAt: 1000 });
    expect(b.maxFeePerGas).to.equal(2n ** 81n);
    expect(await store.submissions.maxNonce()).to.equal(8);
    expect((await store.submissions.listByPurpose("batch:1")).map((s) => s.id)).to.deep.equal([a.id, b.id]);
    await store.submissions.setState(a.id, SubmissionState.Replaced);
    await store.submissions.setState(b.id, SubmissionState.Mined);
    expect((await store.submissions.listPending()).map((s) => s.id)).to.deep.equal([c.id]);
    expect((await store.submissions.listByPurpose("batch:1")).map((s) => s.state)).to.deep.equal([
      SubmissionState.Replaced,
      SubmissionState.Mined,
    ]);
  });

  it("settlements: create, update, listByState, listByMerchant paginated", async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await store.settlements.create(1n, [BigInt(i), 2n ** 64n + BigInt(i)]));
    const other = await store.settlements.create(2n, [9n]);
    expect(created[0]).to.deep.include({ merchantId: 1n, state: "built", txHash: null, amount: null, fee: null });
    expect(created[1].batchIds).to.deep.equal([1n, 2n ** 64n + 1n]);

    await store.settlements.update(created[0].key, {
      state: "confirmed",
      txHash: HASH(5),
      amount: 2n ** 100n,
      fee: 3n,
      batchIds: [0n],
    });
    expect((await store.settlements.listByState(["confirmed"]))[0]).to.deep.include({
      key: created[0].key,
      amount: 2n ** 100n,
      fee: 3n,
      txHash: HASH(5),
      batchIds: [0n],
    });
    expect((await store.settlements.listByState(["built"])).map((s) => s.key)).to.deep.equal([
      ...created.slice(1).map((s) => s.key),
      other.key,
    ]);

    const keys: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await store.settlements.listByMerchant(1n, 2, cursor);
      keys.push(...page.items.map((s) => s.key));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(keys).to.deep.equal(created.map((s) => s.key).reverse());
    let caught: unknown;
    try {
      await store.settlements.listByMerchant(1n, 2, "garbage");
    } catch (error) {
      caught = error;
    }
    expect((caught as ApiError).code).to.equal("validation_failed");
  });

  it("payment requests: create, get, markPaid", async () => {
    const req = {
      id: "req_abc",
      currency: "USD",
      merchantId: 3n,
      amount: 2n ** 90n,
      orderRef: hex32(1, "AA"),
      orderRefText: `<script>x</script> 订单 #1`,
      // The largest hold (uint32): a request keeps the hold its payment must sign, exactly.
      hold: 2n ** 32n - 1n,
      expiresAt: 1_800_000_000_000,
      paymentId: null,
      createdAt: 1,
    };
    await store.requests.create(req);
    expect(await store.requests.get("req_abc")).to.deep.equal({ ...req, orderRef: req.orderRef.toLowerCase() });
    expect(await store.requests.get("nope")).to.equal(null);
    await store.requests.markPaid("req_abc", hex32(5, "CC"));
    expect((await store.requests.get("req_abc"))!.paymentId).to.equal(hex32(5, "cc"));
    let caught: unknown;
    try {
      await store.requests.create(req);
    } catch (error) {
      caught = error;
    }
    expect(String(caught), "an id is unique").to.match(/unique/i);
  });

  it("payment requests: expired ones are pruned unless paid (a paid one keeps the order reference text)", async () => {
    const base = {
      currency: "USD",
      merchantId: 3n,
      amount: 5n,
      orderRef: hex32(2),
      orderRefText: "A-1",
      hold: 3_600n,
      paymentId: null,
      createdAt: 1,
    };
    await store.requests.create({ ...base, id: "req_unpaid", expiresAt: 10 });
    await store.requests.create({ ...base, id: "req_paid", expiresAt: 10 });
    await store.requests.create({ ...base, id: "req_live", expiresAt: 1_000, orderRefText: null });
    await store.requests.markPaid("req_paid", hex32(7));
    expect(await store.requests.pruneExpiredBefore(100, 10)).to.equal(1);
    expect(await store.requests.get("req_unpaid")).to.equal(null);
    expect((await store.requests.get("req_paid"))!.orderRefText).to.equal("A-1");
    expect((await store.requests.get("req_live"))!.orderRefText).to.equal(null);
  });

  it("payments.list by order reference: only that merchant's payments with that reference", async () => {
    const ref = hex32(9, "0e");
    await store.payments.insertAccepted([
      makePayment(1, { orderRef: ref }),
      makePayment(2, { orderRef: ref, merchantId: 2n }),
      makePayment(3),
    ]);
    const page = await store.payments.list({ merchantId: 1n, orderRef: ref, limit: 10 });
    expect(page.items.map((p) => p.id)).to.deep.equal([makePayment(1).id]);
    expect((await store.payments.list({ merchantId: 1n, orderRef: hex32(8), limit: 10 })).items).to.deep.equal([]);
  });

  it("outbox.recentFor: one endpoint's deliveries newest first, whatever their state", async () => {
    await store.webhooks.create(makeEndpoint("we_1"));
    await store.webhooks.create(makeEndpoint("we_2"));
    for (const n of [1, 2, 3]) {
      await store.outbox.enqueue({
        eventId: `evt_${n}`,
        merchantId: 1n,
        eventType: "payment.escrowed",
        payload: "{}",
        now: n,
      });
    }
    const [newest, middle] = await store.outbox.recentFor("we_1", 2);
    expect([newest.eventId, middle.eventId]).to.deep.equal(["evt_3", "evt_2"]);
    await store.outbox.markDelivered(newest.id, 50);
    const again = await store.outbox.recentFor("we_1", 10);
    expect(again.map((r) => [r.eventId, r.endpointId, r.deliveredAt])).to.deep.equal([
      ["evt_3", "we_1", 50],
      ["evt_2", "we_1", null],
      ["evt_1", "we_1", null],
    ]);
    expect(await store.outbox.recentFor("we_nope", 10)).to.deep.equal([]);
  });

  it("api keys: only the hash is stored; lookup by hash; revoke keeps the first time", async () => {
    const key = { id: "key_1", merchantId: 4n, secretHash: hex32(1, "5E"), createdAt: 10, revokedAt: null };
    await store.apiKeys.create(key);
    await store.apiKeys.create({ ...key, id: "key_2", secretHash: hex32(2), createdAt: 11 });
    expect(await store.apiKeys.findBySecretHash(hex32(1, "5e"))).to.deep.equal({
      ...key,
      secretHash: key.secretHash.toLowerCase(),
    });
    expect(await store.apiKeys.findBySecretHash(hex32(3))).to.equal(null);
    expect((await store.apiKeys.listByMerchant(4n)).map((k) => k.id)).to.deep.equal(["key_1", "key_2"]);
    expect(await store.apiKeys.listByMerchant(5n)).to.deep.equal([]);
    await store.apiKeys.revoke("key_1", 100);
    await store.apiKeys.revoke("key_1", 200);
    expect((await store.apiKeys.findBySecretHash(hex32(1, "5e")))!.revokedAt).to.equal(100);
    const columns = (
      await ctx.f.sql(
        ctx.kind === "sqlite"
          ? "SELECT name FROM pragma_table_info('api_keys')"
          : "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'api_keys' AND table_schema = current_schema() ORDER BY ordinal_position",
      )
    ).map((r) => r.name);
    expect(columns).to.deep.equal(["id", "merchant_id", "secret_hash", "created_at", "revoked_at"]);
    let caught: unknown;
    try {
      await store.apiKeys.create({ ...key, id: "key_3" });
    } catch (error) {
      caught = error;
    }
    expect(String(caught), "a secret hash is unique").to.match(/unique/i);
  });

  it("webhook endpoints: create, get, listByMerchant, disable", async () => {
    const ep = makeEndpoint("we_1", { url: "http://127.0.0.1:1/h", secret: "whsec_x" });
    await store.webhooks.create(ep);
    await store.webhooks.create({ ...ep, id: "we_2", createdAt: 2 });
    expect(await store.webhooks.get("we_1")).to.deep.equal(ep);
    expect(await store.webhooks.get("nope")).to.equal(null);
    await store.webhooks.disable("we_1", 50);
    await store.webhooks.disable("we_1", 60);
    expect((await store.webhooks.get("we_1"))!.disabledAt).to.equal(50);
    expect((await store.webhooks.listByMerchant(1n)).map((e) => e.id)).to.deep.equal(["we_1", "we_2"]);
  });

  it("chain cursor: get null, set, overwrite, bigint above 2^64", async () => {
    expect(await store.chainCursor.get("escrow")).to.equal(null);
    await store.chainCursor.set("escrow", 5n, HASH(1));
    await store.chainCursor.set("escrow", 2n ** 64n + 9n, hex32(2, "AB"));
    expect(await store.chainCursor.get("escrow")).to.deep.equal({
      blockNumber: 2n ** 64n + 9n,
      blockHash: hex32(2, "ab"),
    });
    expect(await store.chainCursor.get("other")).to.equal(null);
  });

  it("idempotency: get, and a put race returns the first record to every caller", async () => {
    expect(await store.idempotency.get("merchant:1", "k")).to.equal(null);
    const record = (n: number) => ({
      scope: "merchant:1",
      key: "k",
      requestHash: hex32(n),
      status: 200 + n,
      body: `{"n":${n}}`,
      createdAt: n,
    });
    const results = await Promise.all([1, 2, 3, 4].map((n) => store.idempotency.put(record(n))));
    for (const r of results) expect(r).to.deep.equal(record(1));
    expect(await store.idempotency.get("merchant:1", "k")).to.deep.equal(record(1));
    // Another connection to the same database (another instance in production) also gets the first record.
    const second = await ctx.f.reopen();
    expect(await second.idempotency.put(record(6))).to.deep.equal(record(1));
    // Same key in another scope is independent.
    expect(await store.idempotency.put({ ...record(5), scope: "merchant:2" })).to.deep.equal({
      ...record(5),
      scope: "merchant:2",
    });
  });
});
