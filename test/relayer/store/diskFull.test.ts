/**
 * A full disk, provoked for real: SQLite's `max_page_count` on the relayer's own connection makes
 * every write that needs a new page fail with SQLITE_FULL, as a full disk does. The API answers 503
 * storage_unavailable with Retry-After (not 500 internal), GET /ready fails with reason
 * storage_unavailable while it lasts, nothing acknowledged is lost, and once there is room again
 * readiness recovers by itself and the client's retry is accepted.
 */
import { expect } from "chai";
import type Database from "better-sqlite3";
import { PaymentState } from "../../../src/relayer/domain";
import { StorageUnavailableError, isStorageFailure } from "../../../src/relayer/store/storageErrors";
import { WriterThread } from "../../../src/relayer/store/sqlite/writerThread";
import { signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { makePayment, tempStore } from "./helpers";

const dbOf = (store: object): Database.Database => (store as { conn: { db: Database.Database } }).conn.db;

/** Caps the file at its current size (or lifts the cap): writes needing a new page get SQLITE_FULL. */
function capPages(db: Database.Database, cap: boolean): void {
  const pages = db.pragma("page_count", { simple: true }) as number;
  db.pragma(`max_page_count = ${cap ? pages : 1_073_741_823}`);
}

describe("SQLite store: disk full", function () {
  let h: ApiHarness;

  afterEach(async () => {
    await h?.close();
  });

  it("recognises SQLite's and the OS's words for it", function () {
    for (const e of [
      Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" }),
      Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_WRITE" }),
      Object.assign(new Error("write failed"), { code: "ENOSPC" }),
      new Error("intake writer: database or disk is full"),
    ]) {
      expect(isStorageFailure(e), e.message).to.equal(true);
    }
    expect(isStorageFailure(new Error("UNIQUE constraint failed: payments.id"))).to.equal(false);
  });

  it("a POST while the disk is full: 503 storage_unavailable with Retry-After, /ready 503; after room is made both recover and the retry is accepted", async function () {
    h = await startApi();
    const before = await signedPayment(h, 0);
    const acknowledged = await h.request("POST", "/v1/payments", { body: before.body });
    expect(acknowledged.status, acknowledged.text).to.equal(201);
    expect((await h.request("GET", "/ready")).status).to.equal(200);

    const db = dbOf(h.store);
    capPages(db, true);
    // Fill what room the pages have left (raw rows on the same connection, not through the store):
    // each of the small b-trees is one page, so once one refuses a row every payment insert needs
    // a new page.
    const junk = db.prepare(
      `INSERT INTO payments (id, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline, signature,
         state, created_at, updated_at) VALUES (?, ?, '1', '1', ?, '0', '0', '0', ?, 'rejected', 0, 0)`,
    );
    for (let i = 0; ; i++) {
      const word = i.toString(16).padStart(64, "f");
      try {
        junk.run(`0x${word}`, `0x${word.slice(24)}`, `0x${word}`, `0x${word}${word}00`);
      } catch (error) {
        expect((error as { code?: string }).code).to.equal("SQLITE_FULL");
        break;
      }
    }
    const retried = await signedPayment(h, 1);
    const full = await h.request("POST", "/v1/payments", { body: retried.body });
    expect(full.status, full.text).to.equal(503);
    expect(full.body.error.code).to.equal("storage_unavailable");
    expect(full.headers.get("retry-after")).to.equal("5");
    expect(full.text).not.to.match(/SQLITE|disk is full|\.sqlite/);

    const notReady = await h.request("GET", "/ready");
    expect(notReady.status).to.equal(503);
    expect(notReady.body.error.code).to.equal("not_ready");
    expect(notReady.body.error.details.reasons).to.deep.equal(["storage_unavailable"]);
    // Still full: the probe fails again, readiness stays failed.
    expect((await h.request("GET", "/ready")).status).to.equal(503);

    // Nothing acknowledged was lost; the refused payment was never stored.
    expect((await h.store.payments.get(acknowledged.body.id))!.state).to.equal(PaymentState.Accepted);
    expect(await h.store.payments.get(full.body.id ?? `0x${"00".repeat(32)}`)).to.equal(null);

    capPages(db, false);
    const ready = await h.request("GET", "/ready");
    expect(ready.status, ready.text).to.equal(200);
    const retry = await h.request("POST", "/v1/payments", { body: retried.body });
    expect(retry.status, retry.text).to.equal(201);
    expect((await h.store.payments.get(retry.body.id))!.state).to.equal(PaymentState.Accepted);
  });

  it("the intake writer thread's SQLITE_FULL reaches its caller as StorageUnavailableError and marks the store failing until a probe succeeds", async function () {
    const { store, file, cleanup } = await tempStore();
    const pages = dbOf(store).pragma("page_count", { simple: true }) as number;
    const writer = new WriterThread(file, store.storage, { maxPageCount: pages });
    try {
      const many = Array.from({ length: 200 }, (_, i) => makePayment(i + 1));
      const failure = await writer.insertAccepted(many).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).to.be.instanceOf(StorageUnavailableError);
      expect(store.storage.failing).to.equal(true);
      expect(await store.payments.get(many[0].id)).to.equal(null);
      // The main connection has room: its probe ends the condition.
      expect(await store.storage.probe()).to.equal(true);
      expect(store.storage.failing).to.equal(false);
    } finally {
      await writer.close();
      await cleanup();
    }
  });
});
