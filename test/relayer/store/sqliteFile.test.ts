/** What only the SQLite store has: its file settings, the migration that rebuilt a table, one writer at a time. */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { PaymentState } from "../../../src/relayer/domain";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { MIGRATIONS } from "../../../src/relayer/store/sqlite/migrations";
import { makePayment, tempStore } from "./helpers";

describe("SQLite store: file, re-clustering migration, serialised transactions", function () {
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

  it("a payer's pending payments are read from the pending index alone, however long the payer's history", async () => {
    const db = (store as unknown as { conn: { db: Database.Database } }).conn.db;
    const seen: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    const payer = makePayment(1).payer.toLowerCase() as `0x${string}`;
    await store.payments.insertAccepted([makePayment(1), makePayment(2)]);
    await store.payments.setState([makePayment(1).id], PaymentState.Escrowed);
    await store.payments.insertAcceptedGuarded([{ record: makePayment(3), ceiling: 10n ** 9n }]);
    expect(await store.payments.pendingAmountOf(payer)).to.equal(makePayment(2).amount + makePayment(3).amount);
    expect((await store.payments.pendingOf(payer)).map((p) => p.id)).to.have.members([
      makePayment(2).id,
      makePayment(3).id,
    ]);
    // A currency's view: the same reads, seeking on (payer, currency).
    const usd = store.forCurrency("USD");
    expect(await usd.payments.pendingAmountOf(payer)).to.equal(makePayment(2).amount + makePayment(3).amount);
    expect(await usd.payments.pendingNoncesOf(payer)).to.deep.equal([2n, 3n]);
    expect(await usd.payments.pendingOneOffAmountOf(payer)).to.equal(0n);
    await usd.payments.insertAcceptedGuarded([{ record: makePayment(4), ceiling: 10n ** 9n }]);
    const pendingReads = [...new Set(seen.filter((sql) => /state IN \(/.test(sql) && sql.includes("payer = ?")))];
    expect(pendingReads.length).to.be.at.least(6);
    expect(pendingReads.filter((sql) => sql.includes("payer = ? AND currency = ?")).length).to.be.at.least(3);
    for (const sql of pendingReads) {
      const plan = (
        prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...sql
            .split("?")
            .slice(1)
            .map(() => null),
        ) as { detail: string }[]
      )
        .map((row) => row.detail)
        .join("; ");
      expect(plan, sql).to.match(/USING (COVERING )?INDEX payments_pending\b/);
      if (sql.includes("currency = ?")) expect(plan, sql).to.match(/\(payer=\? AND currency=\?/);
    }
  });

  it("a currency's view seeks on its currency: listByState, getByBatchId, a merchant's report events", async () => {
    const db = (store as unknown as { conn: { db: Database.Database } }).conn.db;
    const seen: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    const eur = store.forCurrency("EUR");
    await eur.payments.listByState(PaymentState.Accepted, 10);
    await eur.batches.getByBatchId(1n);
    await eur.reportIndex.events(1n, 10n);
    const plans = new Map(
      [
        [/FROM payments WHERE state = \?/, /INDEX payments_state_created \(state=\? AND currency=\?\)/],
        [/FROM batches WHERE batch_id = \?/, /INDEX batches_batch_id \(batch_id=\? AND currency=\?\)/],
        [
          /FROM report_events WHERE merchant_id = \?/,
          /INDEX report_events_merchant_currency \(merchant_id=\? AND currency=\?/,
        ],
      ].map(([query, plan]) => [seen.find((sql) => query.test(sql))!, plan]),
    );
    for (const [sql, expected] of plans) {
      const args = sql
        .split("?")
        .slice(1)
        .map(() => null);
      const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[])
        .map((row) => row.detail)
        .join("; ");
      expect(plan, sql).to.match(expected);
      expect(plan, sql).to.not.match(/TEMP B-TREE/);
    }
  });

  it("migration 2 re-clusters payments by arrival and keeps every row and query", async () => {
    await store.close();
    const v1File = path.join(path.dirname(file), "v1.sqlite");
    const old = new Database(v1File);
    old.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    old.exec(MIGRATIONS[0] as string);
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

  it("opening creates missing directories", async () => {
    await store.close();
    store = await openSqliteStore(path.join(path.dirname(file), "nested", "again.sqlite"));
    expect(fs.existsSync(path.join(path.dirname(file), "nested", "again.sqlite"))).to.equal(true);
  });
});
