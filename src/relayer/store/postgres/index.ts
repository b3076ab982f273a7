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
 * Currencies: one schema holds every currency's rows (a `currency` column); `forCurrency(code)` is
 * a view whose currency-bound repositories carry the code (../currencyScope.ts), over the same pool
 * and the same currency-free repositories.
 *
 * Failures: a refused or lost connection, a server shutting down or starting, or a full disk
 * throw StorageUnavailableError (503 `storage_unavailable`), and `storage.failing` holds until a
 * write probe succeeds; the pool reconnects by itself once the server answers again.
 */
import type { RelayerStore } from "../types";
import { CurrencyScope, FALLBACK_CURRENCY } from "../currencyScope";
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
  readonly defaultCurrency: string;
  /** The unscoped store this is a view of (itself when unscoped), and its views by code. */
  private readonly root: PostgresStore;
  private readonly views = new Map<string, PostgresStore>();
  private readonly scope: CurrencyScope;

  /** `view`: build a view of `view.root` for `view.currency` (forCurrency) instead of a new store. */
  constructor(
    private readonly conn: PgConnection,
    private readonly box: SecretBox,
    defaultCurrency: string = FALLBACK_CURRENCY,
    view?: { root: PostgresStore; currency: string },
  ) {
    const root = view?.root;
    const scope = root ? root.scope.scopedTo(view.currency) : CurrencyScope.unscoped(defaultCurrency);
    this.scope = scope;
    this.root = root ?? this;
    this.defaultCurrency = scope.forNew;
    this.payments = new PgPayments(conn, scope);
    this.batches = new PgBatches(conn, scope);
    this.settlements = new PgSettlements(conn, scope);
    this.requests = new PgRequests(conn, scope);
    this.reportIndex = new PgReportIndex(conn, scope);
    this.relayRequests = new PgRelayRequests(conn, scope);
    // Currency-free: a view shares its store's.
    this.submissions = root?.submissions ?? new PgSubmissions(conn);
    this.apiKeys = root?.apiKeys ?? new PgApiKeys(conn);
    this.webhooks = root?.webhooks ?? new PgWebhooks(conn, box);
    this.outbox = root?.outbox ?? new PgOutbox(conn);
    this.idempotency = root?.idempotency ?? new PgIdempotency(conn);
    this.chainCursor = root?.chainCursor ?? new PgChainCursors(conn);
    this.leases = root?.leases ?? new PgLeases(conn);
    this.rateLimits = root?.rateLimits ?? new PgRateLimits(conn);
    this.storage = conn.storage;
  }

  forCurrency(code: string): PostgresStore {
    let view = this.root.views.get(code);
    if (!view) {
      view = new PostgresStore(this.conn, this.box, this.root.defaultCurrency, { root: this.root, currency: code });
      this.root.views.set(code, view);
    }
    return view;
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
  /**
   * The deployment's default currency code: what rows stored before the store knew currencies
   * become (migration 16) and what creating calls without a currency use. Default "USD".
   */
  defaultCurrency?: string;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Connects to the database at `url` (postgres:// or postgresql://), applies pending migrations
 * (serialised across instances) and encrypts any secret stored in clear. Errors never carry the
 * URL's password.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
  const conn = new PgConnection(url, options);
  const defaultCurrency = options.defaultCurrency ?? FALLBACK_CURRENCY;
  try {
    const client = await conn.pool.connect();
    try {
      await migrate(client, { defaultCurrency });
    } finally {
      client.release();
    }
    const store = new PostgresStore(conn, new SecretBox(options.secretKey), defaultCurrency);
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
