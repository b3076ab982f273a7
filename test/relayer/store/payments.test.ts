import { expect } from "chai";
import { ApiError } from "../../../src/relayer/errors";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { ADDRESS_A, ADDRESS_B, hex32, makePayment } from "./helpers";
import { describeEachStoreWithFixture, type AnyStore } from "./stores";

describeEachStoreWithFixture("store: payments", (ctx) => {
  let store: AnyStore;
  beforeEach(() => {
    store = ctx.f.store;
  });

  it("insertAccepted inserts many in one call and returns exactly the new ids", async () => {
    const first = await store.payments.insertAccepted([makePayment(1), makePayment(2)]);
    expect([...first].sort()).to.deep.equal([makePayment(1).id, makePayment(2).id].sort());

    // A retried payment (same id, other fields changed) is skipped, the first record stays.
    const retry = await store.payments.insertAccepted([makePayment(2, { amount: 5n }), makePayment(3)]);
    expect([...retry]).to.deep.equal([makePayment(3).id]);
    expect((await store.payments.get(makePayment(2).id))!.amount).to.equal(makePayment(2).amount);

    // Duplicates inside one call: the first occurrence wins.
    const dup = await store.payments.insertAccepted([makePayment(4), makePayment(4, { amount: 9n })]);
    expect(dup.size).to.equal(1);
    expect((await store.payments.get(makePayment(4).id))!.amount).to.equal(makePayment(4).amount);
  });

  it("insertAccepted is all-or-nothing: a bad row rolls back the whole group", async () => {
    const bad = makePayment(6, { createdAt: null as unknown as number });
    let caught: unknown;
    try {
      await store.payments.insertAccepted([makePayment(5), bad]);
    } catch (error) {
      caught = error;
    }
    expect(caught, "NOT NULL violation must surface").to.be.instanceOf(Error);
    expect(await store.payments.get(makePayment(5).id)).to.equal(null);
  });

  it("round-trips every field, lowercases hex, and finds ids case-insensitively", async () => {
    const p = makePayment(7, {
      id: `0x${"AB".repeat(32)}` as Hex,
      amount: 2n ** 200n + 12345n,
      nonce: 2n ** 255n + 1n,
      validAfter: 2n ** 64n + 3n,
      deadline: 2n ** 64n + 7n,
      // The largest hold a payment can sign (uint32): the column keeps it exactly.
      hold: 2n ** 32n - 1n,
      merchantId: 2n ** 70n,
      refunded: 2n ** 65n,
      releaseAt: 2n ** 66n,
      batchId: 2n ** 67n,
      batchKey: 3,
      leafIndex: 4,
      txHash: `0x${"CD".repeat(32)}` as Hex,
      rejectReason: null,
      requestId: "req_1",
    });
    await store.payments.insertAccepted([p]);
    const got = (await store.payments.get(`0x${"ab".repeat(32)}` as Hex))!;
    expect(got).to.deep.equal({
      ...p,
      id: p.id.toLowerCase(),
      payer: p.payer.toLowerCase(),
      txHash: p.txHash!.toLowerCase(),
    });
    expect(typeof got.amount).to.equal("bigint");
    expect(await store.payments.get(hex32(999))).to.equal(null);
  });

  it("listByState returns the oldest first, bounded by limit", async () => {
    await store.payments.insertAccepted([makePayment(3), makePayment(1), makePayment(2)]);
    await store.payments.setState([makePayment(2).id], PaymentState.Batched);
    const accepted = await store.payments.listByState(PaymentState.Accepted, 10);
    expect(accepted.map((p) => p.nonce)).to.deep.equal([1n, 3n]);
    expect((await store.payments.listByState(PaymentState.Accepted, 1)).map((p) => p.nonce)).to.deep.equal([1n]);
    expect((await store.payments.listByState(PaymentState.Batched, 10)).map((p) => p.nonce)).to.deep.equal([2n]);
  });

  it("pendingAmountOf / pendingNoncesOf count accepted, batched and submitted only, per payer", async () => {
    const big = 2n ** 70n;
    await store.payments.insertAccepted([
      makePayment(1, { amount: big }),
      makePayment(2, { amount: big }),
      makePayment(3, { amount: 10n }),
      makePayment(4, { amount: 100n }),
      makePayment(5, { amount: 1000n, payer: ADDRESS_B }),
    ]);
    await store.payments.setState([makePayment(2).id], PaymentState.Batched);
    await store.payments.setState([makePayment(3).id], PaymentState.Submitted);
    await store.payments.setState([makePayment(4).id], PaymentState.Escrowed);
    expect(await store.payments.pendingAmountOf(ADDRESS_A)).to.equal(2n * big + 10n);
    expect(await store.payments.pendingAmountOf(ADDRESS_A.toUpperCase().replace("0X", "0x") as Hex)).to.equal(
      2n * big + 10n,
    );
    expect(await store.payments.pendingNoncesOf(ADDRESS_A)).to.deep.equal([1n, 2n, 3n]);
    expect(await store.payments.pendingAmountOf(ADDRESS_B)).to.equal(1000n);
    expect(await store.payments.pendingAmountOf(hex32(0).slice(0, 42) as Hex)).to.equal(0n);
    await store.payments.setState([makePayment(1).id], PaymentState.Rejected, { rejectReason: "insufficient_balance" });
    expect(await store.payments.pendingNoncesOf(ADDRESS_A)).to.deep.equal([2n, 3n]);
  });

  it("setState applies the state and optional fields to every id and stamps updatedAt", async () => {
    await store.payments.insertAccepted([makePayment(1), makePayment(2), makePayment(3)]);
    const before = Date.now();
    await store.payments.setState([makePayment(1).id, makePayment(2).id], PaymentState.Escrowed, {
      batchId: 2n ** 64n,
      txHash: `0x${"EE".repeat(32)}` as Hex,
      releaseAt: 123n,
    });
    for (const n of [1, 2]) {
      const p = (await store.payments.get(makePayment(n).id))!;
      expect(p.state).to.equal(PaymentState.Escrowed);
      expect(p.batchId).to.equal(2n ** 64n);
      expect(p.txHash).to.equal(`0x${"ee".repeat(32)}`);
      expect(p.releaseAt).to.equal(123n);
      expect(p.updatedAt).to.be.at.least(before);
    }
    const untouched = (await store.payments.get(makePayment(3).id))!;
    expect(untouched.state).to.equal(PaymentState.Accepted);
    expect(untouched.updatedAt).to.equal(makePayment(3).updatedAt);
  });

  it("update applies per-payment fields in one commit and rejects unknown fields", async () => {
    await store.payments.insertAccepted([makePayment(1), makePayment(2)]);
    await store.payments.update([
      { id: makePayment(1).id, state: PaymentState.Escrowed, fields: { leafIndex: 0, refunded: 5n } },
      { id: makePayment(2).id, fields: { leafIndex: 1 } },
    ]);
    const p1 = (await store.payments.get(makePayment(1).id))!;
    const p2 = (await store.payments.get(makePayment(2).id))!;
    expect([p1.state, p1.leafIndex, p1.refunded]).to.deep.equal([PaymentState.Escrowed, 0, 5n]);
    expect([p2.state, p2.leafIndex]).to.deep.equal([PaymentState.Accepted, 1]);

    let caught: unknown;
    try {
      await store.payments.update([
        { id: makePayment(1).id, fields: { leafIndex: 9 } },
        { id: makePayment(2).id, fields: { bogus: 1 } as never },
      ]);
    } catch (error) {
      caught = error;
    }
    expect(String(caught)).to.match(/bogus/);
    expect((await store.payments.get(makePayment(1).id))!.leafIndex, "first update rolled back").to.equal(0);
  });

  it("countByState reports every state, zero included", async () => {
    await store.payments.insertAccepted([makePayment(1), makePayment(2), makePayment(3)]);
    await store.payments.setState([makePayment(3).id], PaymentState.Expired);
    const counts = await store.payments.countByState();
    expect(Object.keys(counts).sort()).to.deep.equal(Object.values(PaymentState).sort());
    expect(counts.accepted).to.equal(2);
    expect(counts.expired).to.equal(1);
    expect(counts.settled).to.equal(0);
  });

  describe("list (keyset pagination)", () => {
    beforeEach(async () => {
      // 7 payments of merchant 1 (two share a timestamp to exercise the id tie-break), 2 of merchant 2.
      await store.payments.insertAccepted([
        ...[1, 2, 3, 4, 5, 6].map((n) => makePayment(n)),
        makePayment(7, { createdAt: makePayment(6).createdAt }),
        makePayment(8, { merchantId: 2n, payer: ADDRESS_B }),
        makePayment(9, { merchantId: 2n, payer: ADDRESS_B }),
      ]);
    });

    it("walks 3 pages newest first with no gaps or repeats, stable while rows are added", async () => {
      const seen: Hex[] = [];
      let cursor: string | undefined;
      const pages: number[] = [];
      for (let i = 0; i < 10; i++) {
        const page = await store.payments.list({ merchantId: 1n, limit: 3, cursor });
        pages.push(page.items.length);
        seen.push(...page.items.map((p) => p.id));
        if (i === 0) await store.payments.insertAccepted([makePayment(50, { createdAt: 1_800_000_000_000 })]);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(pages).to.deep.equal([3, 3, 1]);
      expect(seen).to.deep.equal([7, 6, 5, 4, 3, 2, 1].map((n) => makePayment(n).id));
    });

    it("filters by payer, states and created range", async () => {
      const byPayer = await store.payments.list({ payer: ADDRESS_B.toLowerCase() as Hex, limit: 10 });
      expect(byPayer.items.map((p) => p.nonce)).to.deep.equal([9n, 8n]);
      expect(byPayer.nextCursor).to.equal(null);

      await store.payments.setState([makePayment(2).id, makePayment(4).id], PaymentState.Settled);
      const settled = await store.payments.list({ states: [PaymentState.Settled], limit: 10 });
      expect(settled.items.map((p) => p.nonce)).to.deep.equal([4n, 2n]);
      expect((await store.payments.list({ states: [], limit: 10 })).items).to.deep.equal([]);

      const range = await store.payments.list({
        merchantId: 1n,
        from: makePayment(2).createdAt,
        to: makePayment(4).createdAt,
        limit: 10,
      });
      expect(range.items.map((p) => p.nonce)).to.deep.equal([3n, 2n]);
    });

    it("rejects a tampered or foreign cursor with validation_failed", async () => {
      const { nextCursor } = await store.payments.list({ limit: 2 });
      expect(nextCursor).to.be.a("string");
      const decoded = Buffer.from(nextCursor!, "base64url").toString("utf8");
      const forged = Buffer.from(decoded.replace(/^\[\d+/, "[1"), "utf8").toString("base64url");
      for (const cursor of [forged, "not a cursor!", "e30", nextCursor!.slice(0, -3), ""]) {
        let caught: unknown;
        try {
          await store.payments.list({ limit: 2, cursor });
        } catch (error) {
          caught = error;
        }
        expect(caught, cursor).to.be.instanceOf(ApiError);
        expect((caught as ApiError).code).to.equal("validation_failed");
        expect((caught as ApiError).status).to.equal(400);
        expect((caught as ApiError).message).to.match(/cursor/);
      }
    });
  });
});
