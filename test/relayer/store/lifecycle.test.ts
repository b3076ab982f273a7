import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { BatchState, PaymentState, SignatureKind } from "../../../src/relayer/domain";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { MIGRATIONS } from "../../../src/relayer/store/sqlite/migrations";
import { makeEndpoint, makePayment, tempStore } from "./helpers";

describe("SQLite store: file, migrations, transactions, outbox", function () {
  this.timeout(60_000);
  let store: SqliteStore;
  let file: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, file, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await store.close(); // the current store: a test may have reopened it
    await cleanup();
  });

  it("opens a real file with WAL, synchronous=FULL, foreign keys and a busy timeout", async () => {
    expect(fs.existsSync(file)).to.equal(true);
    const db = (store as unknown as { conn: { db: Database.Database } }).conn.db;
    expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
    expect(db.pragma("synchronous", { simple: true })).to.equal(2); // FULL
    expect(db.pragma("foreign_keys", { simple: true })).to.equal(1);
    expect(db.pragma("busy_timeout", { simple: true })).to.be.at.least(1000);
  });

  it("keeps data across close and reopen, and reopening applies no migration twice", async () => {
    await store.payments.insertAccepted([makePayment(1, { amount: 2n ** 64n + 1n })]);
    await store.chainCursor.set("escrow", 42n, makePayment(1).id);
    await store.close();

    for (let i = 0; i < 2; i++) {
      const reopened = await openSqliteStore(file);
      expect(reopened.schemaVersion()).to.equal(MIGRATIONS.length);
      expect((await reopened.payments.get(makePayment(1).id))!.amount).to.equal(2n ** 64n + 1n);
      expect((await reopened.chainCursor.get("escrow"))!.blockNumber).to.equal(42n);
      await reopened.close();
    }
    const raw = new Database(file, { readonly: true });
    const versions = raw.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
    raw.close();
    expect(versions).to.deep.equal(MIGRATIONS.map((_, i) => ({ version: i + 1 })));
    store = await openSqliteStore(file); // for afterEach
  });

  it("migration 2 re-clusters payments by arrival and keeps every row and query", async () => {
    await store.close();
    const v1File = path.join(path.dirname(file), "v1.sqlite");
    const old = new Database(v1File);
    old.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    old.exec(MIGRATIONS[0]);
    old.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0)").run();
    const insert = old.prepare(
      `INSERT INTO payments (id, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline, signature,
         state, refunded, created_at, updated_at) VALUES (?, ?, '1', ?, ?, ?, '0', '2000000000', ?, ?, '0', ?, ?)`,
    );
    const rows = [makePayment(3), makePayment(1, { state: PaymentState.Escrowed }), makePayment(2)];
    for (const p of rows) {
      insert.run(
        p.id,
        p.payer.toLowerCase(),
        p.amount.toString(),
        p.orderRef,
        p.nonce.toString(),
        p.signature,
        p.state,
        p.createdAt,
        p.updatedAt,
      );
    }
    old.close();

    store = await openSqliteStore(v1File);
    expect(store.schemaVersion()).to.equal(MIGRATIONS.length);
    for (const p of rows) expect((await store.payments.get(p.id))!.amount).to.equal(p.amount);
    expect((await store.payments.pendingOf(rows[0].payer)).map((p) => p.id).sort()).to.deep.equal(
      [rows[0].id, rows[2].id].sort(),
    );
    const db = (store as unknown as { conn: { db: Database.Database } }).conn.db;
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payments'").all();
    expect(indexes.map((i) => (i as { name: string }).name)).to.include.members([
      "payments_state_created",
      "payments_payer_created",
      "payments_merchant_created",
      "payments_created",
    ]);
    // Clustered by arrival: the oldest payment has the lowest row number.
    const order = db.prepare("SELECT id FROM payments ORDER BY seq").all() as { id: string }[];
    expect(order.map((r) => r.id)).to.deep.equal([rows[1].id, rows[2].id, rows[0].id]);
    // Migration 3: rows from before it do not know how their signature was verified.
    for (const p of rows) expect((await store.payments.get(p.id))!.signatureKind).to.equal(null);
  });

  it("stores how intake verified each signature (migration 3)", async () => {
    const rows = [
      makePayment(1, { signatureKind: SignatureKind.Ecdsa }),
      makePayment(2, { signatureKind: SignatureKind.Contract }),
    ];
    await store.payments.insertAccepted(rows);
    await store.close();
    store = await openSqliteStore(file);
    const stored = await store.payments.getMany(rows.map((r) => r.id));
    expect(rows.map((r) => stored.get(r.id)!.signatureKind)).to.deep.equal([
      SignatureKind.Ecdsa,
      SignatureKind.Contract,
    ]);
  });

  it("refuses a database written by a newer schema", async () => {
    await store.close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)").run(MIGRATIONS.length + 1);
    raw.close();
    let caught: unknown;
    try {
      await openSqliteStore(file);
    } catch (error) {
      caught = error;
    }
    expect(String(caught)).to.match(/newer/);
    // Also: opening creates missing directories.
    store = await openSqliteStore(path.join(path.dirname(file), "nested", "again.sqlite"));
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

  it("calls from outside an open transaction wait for it and never see or join its writes", async () => {
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

  it("concurrent transactions are serialised, not interleaved", async () => {
    const order: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        store.transaction(async () => {
          order.push(`begin${n}`);
          await store.payments.insertAccepted([makePayment(n)]);
          await new Promise((resolve) => setTimeout(resolve, 2));
          order.push(`end${n}`);
        }),
      ),
    );
    expect(order).to.deep.equal(["begin1", "end1", "begin2", "end2", "begin3", "end3"]);
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
      await store.close();
      store = await openSqliteStore(file);
      expect((await store.outbox.due(100, 10)).map((r) => r.eventId)).to.deep.equal(["e1"]);
    });
  });
});
