import { expect } from "chai";
import { BatchState, PaymentState, SignatureKind } from "../../../src/relayer/domain";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../../../src/relayer/store/sqlite/migrations";
import { MIGRATIONS as PG_MIGRATIONS } from "../../../src/relayer/store/postgres/migrations";
import { makeEndpoint, makePayment } from "./helpers";
import { describeEachStoreWithFixture, type AnyStore } from "./stores";

describeEachStoreWithFixture("store: migrations, transactions, outbox", (ctx) => {
  let store: AnyStore;
  beforeEach(() => {
    store = ctx.f.store;
  });
  const migrations = () => (ctx.kind === "sqlite" ? SQLITE_MIGRATIONS : PG_MIGRATIONS);
  /** Closes the store and opens another on the same database (a restart). */
  const restart = async (): Promise<AnyStore> => {
    await store.close();
    store = await ctx.f.reopen();
    return store;
  };

  it("keeps data across close and reopen, and reopening applies no migration twice", async () => {
    await store.payments.insertAccepted([makePayment(1, { amount: 2n ** 64n + 1n })]);
    await store.chainCursor.set("escrow", 42n, makePayment(1).id);
    await store.close();

    for (let i = 0; i < 2; i++) {
      const reopened = await ctx.f.reopen();
      expect(await reopened.schemaVersion()).to.equal(migrations().length);
      expect((await reopened.payments.get(makePayment(1).id))!.amount).to.equal(2n ** 64n + 1n);
      expect((await reopened.chainCursor.get("escrow"))!.blockNumber).to.equal(42n);
      await reopened.close();
    }
    const versions = await ctx.f.sql("SELECT version FROM schema_migrations ORDER BY version");
    expect(versions).to.deep.equal(migrations().map((_, i) => ({ version: i + 1 })));
  });

  it("stores how intake verified each signature", async () => {
    const rows = [
      makePayment(1, { signatureKind: SignatureKind.Ecdsa }),
      makePayment(2, { signatureKind: SignatureKind.Contract }),
    ];
    await store.payments.insertAccepted(rows);
    await restart();
    const stored = await store.payments.getMany(rows.map((r) => r.id));
    expect(rows.map((r) => stored.get(r.id)!.signatureKind)).to.deep.equal([
      SignatureKind.Ecdsa,
      SignatureKind.Contract,
    ]);
  });

  it("refuses a database written by a newer schema", async () => {
    await store.close();
    await ctx.f.sql(
      ctx.kind === "sqlite"
        ? "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)"
        : "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)",
      [migrations().length + 1],
    );
    let caught: unknown;
    try {
      await ctx.f.reopen();
    } catch (error) {
      caught = error;
    }
    expect(String(caught)).to.match(/newer/);
  });

  it("transaction commits all writes together", async () => {
    const result = await store.transaction(async () => {
      await store.payments.insertAccepted([makePayment(1)]);
      await new Promise((resolve) => setImmediate(resolve));
      await store.payments.setState([makePayment(1).id], PaymentState.Batched);
      return "done";
    });
    expect(result).to.equal("done");
    expect((await store.payments.get(makePayment(1).id))!.state).to.equal(PaymentState.Batched);
  });

  it("transaction rolls back everything when work throws, across awaits", async () => {
    await store.payments.insertAccepted([makePayment(1)]);
    let caught: unknown;
    try {
      await store.transaction(async () => {
        await store.payments.insertAccepted([makePayment(2)]);
        await store.batches.create([makePayment(1).id]);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.idempotency.put({
          scope: "s",
          key: "k",
          requestHash: "0x00",
          status: 200,
          body: "{}",
          createdAt: 1,
        });
        throw new Error("boom");
      });
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).to.equal("boom");
    expect(await store.payments.get(makePayment(2).id)).to.equal(null);
    expect((await store.payments.get(makePayment(1).id))!.state).to.equal(PaymentState.Accepted);
    expect(await store.batches.listByState(Object.values(BatchState))).to.deep.equal([]);
    expect(await store.idempotency.get("s", "k")).to.equal(null);
    // The connection is usable afterwards.
    await store.payments.insertAccepted([makePayment(3)]);
    expect(await store.payments.get(makePayment(3).id)).to.not.equal(null);
  });

  it("a nested transaction that throws rolls back only itself", async () => {
    await store.transaction(async () => {
      await store.payments.insertAccepted([makePayment(1)]);
      await store
        .transaction(async () => {
          await store.payments.insertAccepted([makePayment(2)]);
          throw new Error("inner");
        })
        .catch(() => undefined);
    });
    expect(await store.payments.get(makePayment(1).id)).to.not.equal(null);
    expect(await store.payments.get(makePayment(2).id)).to.equal(null);
  });

  it("calls from outside an open transaction never see or join its writes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const tx = store
      .transaction(async () => {
        await store.payments.insertAccepted([makePayment(1)]);
        entered();
        await gate;
        throw new Error("rollback");
      })
      .catch((error: Error) => error.message);
    await inside;
    const outsideRead = store.payments.get(makePayment(1).id);
    const outsideWrite = store.payments.insertAccepted([makePayment(2)]);
    release();
    expect(await tx).to.equal("rollback");
    expect(await outsideRead, "outside read ran after the rollback").to.equal(null);
    expect([...(await outsideWrite)]).to.deep.equal([makePayment(2).id]);
    expect(await store.payments.get(makePayment(2).id), "outside write was not rolled back").to.not.equal(null);
  });

  describe("outbox", () => {
    const endpoint = (id: string, merchantId = 1n) => makeEndpoint(id, { merchantId, url: `http://127.0.0.1:1/${id}` });
    const event = (eventId: string, now: number) => ({
      eventId,
      merchantId: 1n,
      eventType: "payment.accepted",
      payload: `{"id":"${eventId}"}`,
      now,
    });

    it("enqueue fans out to the merchant's active endpoints only, once per event", async () => {
      await store.webhooks.create(endpoint("we_a"));
      await store.webhooks.create(endpoint("we_b"));
      await store.webhooks.create(endpoint("we_c"));
      await store.webhooks.create(endpoint("we_other", 2n));
      await store.webhooks.disable("we_c", 5);
      expect(await store.outbox.enqueue(event("evt_1", 100))).to.equal(2);
      expect(await store.outbox.enqueue(event("evt_1", 101)), "re-enqueue is a no-op").to.equal(0);
      const due = await store.outbox.due(100, 10);
      expect(due.map((r) => [r.eventId, r.endpointId])).to.deep.equal([
        ["evt_1", "we_a"],
        ["evt_1", "we_b"],
      ]);
      expect(due[0]).to.deep.include({
        merchantId: 1n,
        attempts: 0,
        nextAttemptAt: 100,
        deliveredAt: null,
        lastError: null,
        deadAt: null,
      });
      expect(await store.outbox.pendingCount()).to.equal(2);
    });

    it("due / markFailed / markDelivered / markDead ordering", async () => {
      await store.webhooks.create(endpoint("we_a"));
      await store.outbox.enqueue(event("e1", 100));
      await store.outbox.enqueue(event("e2", 110));
      await store.outbox.enqueue(event("e3", 120));
      const [r1, r2, r3] = await store.outbox.due(1000, 10);
      expect([r1.eventId, r2.eventId, r3.eventId]).to.deep.equal(["e1", "e2", "e3"]);
      expect(
        (await store.outbox.due(105, 10)).map((r) => r.eventId),
        "not yet due",
      ).to.deep.equal(["e1"]);
      expect((await store.outbox.due(1000, 2)).length).to.equal(2);

      await store.outbox.markFailed(r1.id, "HTTP 500", 2000);
      expect((await store.outbox.due(1000, 10)).map((r) => r.eventId)).to.deep.equal(["e2", "e3"]);
      await store.outbox.markDelivered(r2.id, 1001);
      expect((await store.outbox.due(1000, 10)).map((r) => r.eventId)).to.deep.equal(["e3"]);
      // Retried e1 comes back when due, ahead of nothing newer that was scheduled later.
      await store.outbox.markFailed(r3.id, "timeout", 2500);
      const later = await store.outbox.due(3000, 10);
      expect(later.map((r) => [r.eventId, r.attempts, r.lastError])).to.deep.equal([
        ["e1", 1, "HTTP 500"],
        ["e3", 1, "timeout"],
      ]);
      expect(await store.outbox.pendingCount()).to.equal(2);

      await store.outbox.markDead(r1.id, "gave up", 3000);
      expect((await store.outbox.due(1e15, 10)).map((r) => r.eventId)).to.deep.equal(["e3"]);
      expect(await store.outbox.deadCount()).to.equal(1);
      expect(await store.outbox.pendingCount()).to.equal(1);

      // A delivered row is final: a late failure report does not resurrect it.
      await store.outbox.markFailed(r2.id, "late", 5000);
      await store.outbox.markDelivered(r3.id, 4000);
      expect(await store.outbox.pendingCount()).to.equal(0);
      expect(await store.outbox.due(1e15, 10)).to.deep.equal([]);
    });
    it("rows survive a reopen", async () => {
      await store.webhooks.create(endpoint("we_a"));
      await store.outbox.enqueue(event("e1", 100));
      await restart();
      expect((await store.outbox.due(100, 10)).map((r) => r.eventId)).to.deep.equal(["e1"]);
    });
  });
});
