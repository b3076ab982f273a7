/**
 * RelayerStore on PostgreSQL through node-postgres (`pg`): one schema shared by any number of
 * relayer instances.
 *
 * Durability: `synchronous_commit = on` is set on every connection (./connection.ts), so a commit
 * has returned only once its WAL record is flushed on the server (and, with a synchronous standby
 * configured, on the standby too): an acknowledged payment survives the loss of the server
 * process or, with a standby, of its disk. `off` would acknowledge payments a crash then loses.
 *
 * Encoding: money, on-chain ids and block numbers are NUMERIC(78,0); timestamps (ms), local keys
 * and epochs BIGINT; hex lowercased (./migrations.ts says why).
 *
 * Concurrency: a pool of connections; `transaction(work)` holds one of them for BEGIN … COMMIT
 * and routes the store calls made inside `work` to it (AsyncLocalStorage); other calls run
 * concurrently on other connections and see committed data only. Serialization failures and
 * deadlocks are retried by `transaction`. Whatever must hold across instances is decided by the
 * database: advisory locks per payer for the guarded intake, row locks for leases, token buckets,
 * webhook endpoint and relay request claims (FOR UPDATE SKIP LOCKED), ON CONFLICT for idempotency.
 *
 * Failures: a refused or lost connection, a server shutting down or starting, or a full disk
 * throw StorageUnavailableError (503 `storage_unavailable`), and `storage.failing` holds until a
 * write probe succeeds; the pool reconnects by itself once the server answers again.
 */
import type { RelayerStore } from "../types";
import { SecretBox } from "../../runtime/secretBox";
import { PgApiKeys, PgRequests } from "./accounts";
import { PgBatches, PgSettlements, PgSubmissions } from "./batches";
import { PgConnection, redactUrl, type PoolOptions } from "./connection";
import { PgLeases, PgRateLimits } from "./leases";
import { migrate, MIGRATIONS } from "./migrations";
import { PgChainCursors, PgIdempotency, PgOutbox } from "./outbox";
import { PgPayments } from "./payments";
import { PgReportIndex } from "./reportIndex";
import { PgRelayRequests } from "./relayQueue";
import { PgWebhooks } from "./webhooks";
import type { StorageHealth } from "../storageErrors";

export { PENDING_STATES } from "./payments";
export { redactUrl } from "./connection";

export class PostgresStore implements RelayerStore {
  readonly kind = "postgres" as const;
  readonly payments: PgPayments;
  readonly batches: PgBatches;
  readonly submissions: PgSubmissions;
  readonly settlements: PgSettlements;
  readonly requests: PgRequests;
  readonly apiKeys: PgApiKeys;
  readonly webhooks: PgWebhooks;
  readonly outbox: PgOutbox;
  readonly idempotency: PgIdempotency;
  readonly chainCursor: PgChainCursors;
  readonly reportIndex: PgReportIndex;
  readonly leases: PgLeases;
  readonly rateLimits: PgRateLimits;
  readonly relayRequests: PgRelayRequests;
  readonly storage: StorageHealth;

  constructor(
    private readonly conn: PgConnection,
    box: SecretBox,
  ) {
    this.payments = new PgPayments(conn);
    this.batches = new PgBatches(conn);
    this.submissions = new PgSubmissions(conn);
    this.settlements = new PgSettlements(conn);
    this.requests = new PgRequests(conn);
    this.apiKeys = new PgApiKeys(conn);
    this.webhooks = new PgWebhooks(conn, box);
    this.outbox = new PgOutbox(conn);
    this.idempotency = new PgIdempotency(conn);
    this.chainCursor = new PgChainCursors(conn);
    this.reportIndex = new PgReportIndex(conn);
    this.leases = new PgLeases(conn);
    this.rateLimits = new PgRateLimits(conn);
    this.relayRequests = new PgRelayRequests(conn);
    this.storage = conn.storage;
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.conn.transaction(work);
  }

  onCommit(callback: () => void): void {
    this.conn.onCommit(callback);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** Schema version applied to this database (for readiness checks and tests). */
  async schemaVersion(): Promise<number> {
    const rows = await this.conn.rows<{ v: number }>("SELECT MAX(version) AS v FROM schema_migrations");
    return rows[0].v;
  }

  /** The pool's backend pids (tests end them to simulate a lost server). */
  async backendPid(): Promise<number> {
    const rows = await this.conn.rows<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    return rows[0].pid;
  }
}

export interface PostgresStoreOptions extends PoolOptions {
  /**
   * Key (32 bytes) that webhook secrets are encrypted under (RELAYER_SECRET_KEY): the same for
   * every instance on the database. Required: no file beside a shared database could hold it.
   */
  secretKey: Buffer;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Connects to the database at `url` (postgres:// or postgresql://), applies pending migrations
 * (serialised across instances) and encrypts any secret stored in clear. Errors never carry the
 * URL's password.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
  const conn = new PgConnection(url, options);
  try {
    const client = await conn.pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
    const store = new PostgresStore(conn, new SecretBox(options.secretKey));
    await store.webhooks.sealPlaintextSecrets();
    return store;
  } catch (error) {
    await conn.close().catch(() => undefined);
    const mapped = conn.storage.map(error);
    if (mapped !== error) throw mapped;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open the PostgreSQL store at ${redactUrl(url)}: ${message}`, { cause: error });
  }
}
