/**
 * Group writes, on both stores: the chain jobs' state changes of many payments at once
 * (payments.updateMany), the intake's guarded insert of a whole group, and the outbox events of a
 * group queued in one call.
 */
import { expect } from "chai";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { paymentEventType, paymentOutboxEvent } from "../../../src/relayer/webhooks/events";
import { ADDRESS_B, hex32, makeEndpoint, makePayment } from "./helpers";
import { describeEachStoreWithFixture, type AnyStore } from "./stores";

const lower = (id: Hex) => id.toLowerCase() as Hex;

describeEachStoreWithFixture("store: group writes", (ctx) => {
  let store: AnyStore;
  beforeEach(() => {
    store = ctx.f.store;
  });

  describe("payments.updateMany", () => {
    it("writes each payment's own state and values across mixed states and field sets; unknown ids are skipped", async () => {
      await store.payments.insertAccepted([1, 2, 3, 4, 5].map((n) => makePayment(n)));
      await store.payments.setState([makePayment(3).id], PaymentState.Batched, {
        batchKey: 7,
        txHash: hex32(7, "fe"),
      });
      await store.payments.setState([makePayment(4).id], PaymentState.Escrowed, { batchId: 9n });
      const before = Date.now();
      const unknown = hex32(99, "ab");
      const written = await store.payments.updateMany([
        {
          id: makePayment(1).id,
          state: PaymentState.Escrowed,
          fields: {
            batchId: 2n ** 64n,
            leafIndex: 0,
            txHash: `0x${"EE".repeat(32)}` as Hex,
            releaseAt: 123n,
            rejectReason: null,
            updatedAt: 1_800_000_000_000,
          },
        },
        // Same fields as the first, other values; the id in upper case.
        {
          id: makePayment(2).id.toUpperCase().replace("0X", "0x") as Hex,
          state: PaymentState.Escrowed,
          fields: { batchId: 5n, leafIndex: 1, txHash: hex32(2, "fe"), releaseAt: 456n, rejectReason: null },
        },
        // Back to the queue: columns set to null.
        { id: makePayment(3).id, state: PaymentState.Accepted, fields: { batchKey: null, txHash: null } },
        // Fields only: the state stays.
        { id: makePayment(4).id, fields: { refunded: 5n } },
        { id: unknown, state: PaymentState.Escrowed, fields: { leafIndex: 3 } },
      ]);
      expect([...written].sort()).to.deep.equal([1, 2, 3, 4].map((n) => lower(makePayment(n).id)).sort());
      expect(await store.payments.get(unknown), "nothing created for an unknown id").to.equal(null);

      const [p1, p2, p3, p4, p5] = await Promise.all([1, 2, 3, 4, 5].map((n) => store.payments.get(makePayment(n).id)));
      expect([p1!.state, p1!.batchId, p1!.leafIndex, p1!.txHash, p1!.releaseAt, p1!.updatedAt]).to.deep.equal([
        PaymentState.Escrowed,
        2n ** 64n,
        0,
        `0x${"ee".repeat(32)}`,
        123n,
        1_800_000_000_000,
      ]);
      expect([p2!.state, p2!.batchId, p2!.leafIndex, p2!.txHash, p2!.releaseAt]).to.deep.equal([
        PaymentState.Escrowed,
        5n,
        1,
        hex32(2, "fe"),
        456n,
      ]);
      expect(p2!.updatedAt).to.be.at.least(before);
      expect([p3!.state, p3!.batchKey, p3!.txHash]).to.deep.equal([PaymentState.Accepted, null, null]);
      expect([p4!.state, p4!.batchId, p4!.refunded]).to.deep.equal([PaymentState.Escrowed, 9n, 5n]);
      expect(p4!.updatedAt).to.be.at.least(before);
      // Fields a change does not name keep their values.
      expect([p1!.amount, p1!.nonce, p1!.createdAt]).to.deep.equal([
        makePayment(1).amount,
        makePayment(1).nonce,
        makePayment(1).createdAt,
      ]);
      expect(p5).to.deep.equal({ ...makePayment(5), id: lower(makePayment(5).id), payer: lower(makePayment(5).payer) });
    });

    it("applies an id's updates in order, ignores id and createdAt, and an empty group writes nothing", async () => {
      await store.payments.insertAccepted([makePayment(1), makePayment(2)]);
      const written = await store.payments.updateMany([
        { id: makePayment(1).id, state: PaymentState.Escrowed, fields: { leafIndex: 3, txHash: hex32(1, "fe") } },
        { id: makePayment(2).id, state: PaymentState.Rejected, fields: { rejectReason: "expired" } },
        {
          id: makePayment(1).id,
          state: PaymentState.Released,
          fields: { txHash: hex32(2, "fe"), updatedAt: 1_900_000_000_000, createdAt: 5, id: hex32(3, "ab") },
        },
      ]);
      expect(written.size).to.equal(2);
      const p1 = (await store.payments.get(makePayment(1).id))!;
      expect([p1.state, p1.leafIndex, p1.txHash, p1.updatedAt, p1.createdAt]).to.deep.equal([
        PaymentState.Released,
        3,
        hex32(2, "fe"),
        1_900_000_000_000,
        makePayment(1).createdAt,
      ]);
      expect(await store.payments.get(hex32(3, "ab"))).to.equal(null);
      const p2 = (await store.payments.get(makePayment(2).id))!;
      expect([p2.state, p2.rejectReason]).to.deep.equal([PaymentState.Rejected, "expired"]);
      expect((await store.payments.updateMany([])).size).to.equal(0);
    });

    it("throws before writing anything on a field it cannot update, and joins the caller's transaction", async () => {
      await store.payments.insertAccepted([makePayment(1), makePayment(2)]);
      let caught: unknown;
      try {
        await store.payments.updateMany([
          { id: makePayment(1).id, state: PaymentState.Escrowed, fields: { leafIndex: 9 } },
          { id: makePayment(2).id, fields: { signatureKind: "erc1271" } as never },
        ]);
      } catch (error) {
        caught = error;
      }
      expect(String(caught)).to.match(/signatureKind/);
      expect((await store.payments.get(makePayment(1).id))!.state).to.equal(PaymentState.Accepted);

      await store
        .transaction(async () => {
          await store.payments.updateMany([{ id: makePayment(1).id, state: PaymentState.Escrowed, fields: {} }]);
          throw new Error("job failed after the write");
        })
        .catch(() => undefined);
      expect((await store.payments.get(makePayment(1).id))!.state, "rolled back with the caller").to.equal(
        PaymentState.Accepted,
      );
    });
  });

  describe("payments.insertAcceptedGuarded (one group)", () => {
    it("judges a group in order: a stored id in a later state, a repeated id, a nonce taken within the group, a second payment of one request", async () => {
      await store.payments.insertAccepted([makePayment(1, { amount: 10n })]);
      await store.payments.setState([makePayment(1).id], PaymentState.Settled);
      const other = (n: number, overrides = {}) => makePayment(n, { payer: ADDRESS_B, ...overrides });
      const outcomes = await store.payments.insertAcceptedGuarded([
        // Stored and no longer pending: its nonce and amount are free, the id is not.
        { record: makePayment(1, { amount: 10n }), ceiling: 0n },
        { record: makePayment(2, { amount: 30n, requestId: "req_1" }), ceiling: 100n },
        // Another payment of the same request: the first one is the result.
        { record: makePayment(3, { amount: 30n, requestId: "req_1" }), ceiling: 100n },
        { record: makePayment(2, { amount: 30n, requestId: "req_1" }), ceiling: 100n },
        { record: makePayment(4, { amount: 30n, nonce: 2n }), ceiling: 100n },
        // 30 + 70: the refused second payment of req_1 reserved nothing.
        { record: makePayment(5, { amount: 70n }), ceiling: 100n },
        // Another payer: judged against its own (empty) pending set.
        { record: other(6, { amount: 100n, nonce: 2n }), ceiling: 100n },
        { record: other(7, { amount: 1n }), ceiling: 100n },
      ]);
      expect(Object.fromEntries([...outcomes].map(([id, o]) => [id.slice(-1), o]))).to.deep.equal({
        "1": "duplicate",
        "2": "inserted",
        "3": "duplicate",
        "4": "nonce_unavailable",
        "5": "inserted",
        "6": "inserted",
        "7": "insufficient_balance",
      });
      expect(await store.payments.get(makePayment(3).id)).to.equal(null);
      expect((await store.payments.get(makePayment(1).id))!.state).to.equal(PaymentState.Settled);
      expect(await store.payments.pendingAmountOf(makePayment(1).payer)).to.equal(100n);
      expect(await store.payments.pendingAmountOf(ADDRESS_B)).to.equal(100n);
      // A later group sees the first one's payments as pending.
      const next = await store.payments.insertAcceptedGuarded([
        { record: makePayment(8, { amount: 1n, nonce: 2n }), ceiling: 1_000n },
        { record: makePayment(9, { amount: 1n }), ceiling: 100n },
        { record: makePayment(10, { amount: 1n, requestId: "req_1" }), ceiling: 1_000n },
        { record: makePayment(11, { amount: 1n, requestId: "req_2" }), ceiling: 1_000n },
      ]);
      expect([...next.values()]).to.deep.equal(["nonce_unavailable", "insufficient_balance", "duplicate", "inserted"]);
    });

    it("queues payment.accepted for the inserted payments of listening merchants only", async () => {
      await store.webhooks.create(makeEndpoint("we_1"));
      await store.webhooks.create(makeEndpoint("we_3", { merchantId: 3n }));
      await store.payments.insertAcceptedGuarded([
        { record: makePayment(1, { amount: 10n }), ceiling: 100n },
        { record: makePayment(2, { amount: 10n, merchantId: 2n }), ceiling: 100n },
        { record: makePayment(3, { amount: 500n }), ceiling: 100n },
        { record: makePayment(4, { amount: 10n, merchantId: 3n }), ceiling: 100n },
      ]);
      const due = await store.outbox.due(Number.MAX_SAFE_INTEGER, 100);
      expect(
        due.map((r) => {
          const body = JSON.parse(r.payload) as { type: string; sequence: number; data: { id: string } };
          return [r.endpointId, body.type, body.sequence, body.data.id];
        }),
      ).to.deep.equal([
        ["we_1", "payment.accepted", 1, lower(makePayment(1).id)],
        ["we_3", "payment.accepted", 1, lower(makePayment(4).id)],
      ]);
    });
  });

  describe("outbox.enqueueMany (one call for a group)", () => {
    it("numbers each payment's events in order, fans out in order, skips events queued before or repeated", async () => {
      await store.webhooks.create(makeEndpoint("we_1", { createdAt: 1 }));
      await store.webhooks.create(makeEndpoint("we_2", { createdAt: 2 }));
      await store.webhooks.create(makeEndpoint("we_off", { createdAt: 3 }));
      await store.webhooks.disable("we_off", 10);
      const p = makePayment(1);
      const q = makePayment(2);
      await store.payments.insertAccepted([p, q]); // payment.accepted #1 of each
      const at = (payment: typeof p, state: PaymentState, dt: number) =>
        paymentOutboxEvent(
          { ...payment, state, updatedAt: payment.updatedAt + dt },
          paymentEventType(state),
          1_000 + dt,
        );
      const silent = paymentOutboxEvent(
        makePayment(3, { merchantId: 2n, state: PaymentState.Batched }),
        "payment.batched",
        1_000,
      );
      const queued = await store.outbox.enqueueMany([
        at(p, PaymentState.Batched, 1),
        at(q, PaymentState.Batched, 1),
        silent,
        at(p, PaymentState.Submitted, 2),
        at(p, PaymentState.Batched, 1), // the same event again
        { eventId: "evt_plain", merchantId: 1n, eventType: "test.plain", payload: '{"sequence":0}', now: 1_000 },
      ]);
      expect(queued).to.equal(8);
      // A re-run queues only what is new; it continues the payment's numbering.
      expect(
        await store.outbox.enqueueMany([at(p, PaymentState.Submitted, 2), at(p, PaymentState.Escrowed, 3)]),
      ).to.equal(2);
      // In the order queued (due() orders by next attempt first).
      const due = (await store.outbox.due(Number.MAX_SAFE_INTEGER, 100)).sort((a, b) => a.id - b.id);
      const rows = due.map((r) => {
        const body = JSON.parse(r.payload) as { type?: string; sequence: number; data?: { id: string } };
        return [r.endpointId, r.eventType, body.sequence, body.data?.id.slice(-1) ?? "-"];
      });
      expect(rows).to.deep.equal([
        ["we_1", "payment.accepted", 1, "1"],
        ["we_2", "payment.accepted", 1, "1"],
        ["we_1", "payment.accepted", 1, "2"],
        ["we_2", "payment.accepted", 1, "2"],
        ["we_1", "payment.batched", 2, "1"],
        ["we_2", "payment.batched", 2, "1"],
        ["we_1", "payment.batched", 2, "2"],
        ["we_2", "payment.batched", 2, "2"],
        ["we_1", "payment.submitted", 3, "1"],
        ["we_2", "payment.submitted", 3, "1"],
        ["we_1", "test.plain", 0, "-"],
        ["we_2", "test.plain", 0, "-"],
        ["we_1", "payment.escrowed", 4, "1"],
        ["we_2", "payment.escrowed", 4, "1"],
      ]);
    });
  });
});
