/**
 * The default RelayerStore: one SQLite file through better-sqlite3 (synchronous, in-process).
 *
 * Durability: WAL with synchronous=FULL, so a commit is on disk when its promise resolves; an
 * acknowledged payment survives power loss. Intake batches concurrent payments into one
 * `insertAccepted` call (group commit), which is what makes one fsync per commit affordable.
 *
 * Encoding: money, on-chain ids and block numbers are TEXT decimal (exact above 2^64); timestamps
 * (ms), local keys and submitter nonces are INTEGER; hex is lowercased on the way in.
 *
 * Concurrency: one connection per process. `transaction(work)` holds BEGIN IMMEDIATE across the
 * awaits of `work`; store calls made from inside `work` join it, calls from elsewhere wait until
 * it ends (see Connection). Keep `work` short: no network calls while it is open.
 * Schema: versioned migrations in ./migrations.ts, applied on open, idempotent on reopen.
 *
 * Currencies: one file holds every currency's rows (a `currency` column); `forCurrency(code)` is a
 * view whose currency-bound repositories carry the code (../currencyScope.ts), over the same
 * connection and the same currency-free repositories.
 */
import fs from "node:fs";
import path from "node:path";
import type { RelayerStore } from "../types";
import { CurrencyScope, FALLBACK_CURRENCY } from "../currencyScope";
import { loadOrCreateKeyFile, SecretBox } from "../../runtime/secretBox";
import { SqliteApiKeys, SqliteRequests } from "./accounts";
import { SqliteBatches, SqliteSettlements, SqliteSubmissions } from "./batches";
import { Connection } from "./connection";
import { SqliteLease, SqliteLeases } from "./lease";
import type { StorageHealth } from "./storageErrors";
import { SqliteChainCursors, SqliteIdempotency, SqliteOutbox } from "./outbox";
import { SqlitePayments } from "./payments";
import { SqliteReportIndex } from "./reportIndex";
import { SqliteRateLimits } from "./rateLimits";
import { SqliteRelayRequests } from "./relayQueue";
import { SqliteWebhooks } from "./webhooks";

export { PENDING_STATES } from "./payments";

export class SqliteStore implements RelayerStore {
  readonly payments: SqlitePayments;
  readonly batches: SqliteBatches;
  readonly submissions: SqliteSubmissions;
  readonly settlements: SqliteSettlements;
  readonly requests: SqliteRequests;
  readonly apiKeys: SqliteApiKeys;
  readonly webhooks: SqliteWebhooks;
  readonly outbox: SqliteOutbox;
  readonly idempotency: SqliteIdempotency;
  readonly chainCursor: SqliteChainCursors;
  readonly reportIndex: SqliteReportIndex;
  readonly rateLimits: SqliteRateLimits;
  readonly relayRequests: SqliteRelayRequests;
  /** The single-instance lease of role `all` (./lease.ts). */
  readonly lease: SqliteLease;
  /** Named leases with fencing: the jobs and the signer lanes (./lease.ts). */
  readonly leases: SqliteLeases;
  readonly kind = "sqlite" as const;
  readonly storage: StorageHealth;
  readonly defaultCurrency: string;
  /** The unscoped store this is a view of (itself when unscoped), and its views by code. */
  private readonly root: SqliteStore;
  private readonly views = new Map<string, SqliteStore>();
  private readonly scope: CurrencyScope;

  /** `view`: build a view of `view.root` for `view.currency` (forCurrency) instead of a new store. */
  constructor(
    private readonly conn: Connection,
    private readonly box: SecretBox,
    defaultCurrency: string = FALLBACK_CURRENCY,
    view?: { root: SqliteStore; currency: string },
  ) {
    const root = view?.root;
    const scope = root ? root.scope.scopedTo(view.currency) : CurrencyScope.unscoped(defaultCurrency);
    this.scope = scope;
    this.root = root ?? this;
    this.defaultCurrency = scope.forNew;
    this.payments = new SqlitePayments(conn, scope);
    this.batches = new SqliteBatches(conn, scope);
    this.settlements = new SqliteSettlements(conn, scope);
    this.requests = new SqliteRequests(conn, scope);
    this.reportIndex = new SqliteReportIndex(conn, scope);
    this.relayRequests = new SqliteRelayRequests(conn, scope);
    // Currency-free: a view shares its store's.
    this.submissions = root?.submissions ?? new SqliteSubmissions(conn);
    this.apiKeys = root?.apiKeys ?? new SqliteApiKeys(conn);
    this.webhooks = root?.webhooks ?? new SqliteWebhooks(conn, box);
    this.outbox = root?.outbox ?? new SqliteOutbox(conn);
    this.idempotency = root?.idempotency ?? new SqliteIdempotency(conn);
    this.chainCursor = root?.chainCursor ?? new SqliteChainCursors(conn);
    this.rateLimits = root?.rateLimits ?? new SqliteRateLimits(conn);
    this.lease = root?.lease ?? new SqliteLease(conn);
    this.leases = root?.leases ?? new SqliteLeases(conn);
    this.storage = conn.storage;
  }

  forCurrency(code: string): SqliteStore {
    let view = this.root.views.get(code);
    if (!view) {
      view = new SqliteStore(this.conn, this.box, this.root.defaultCurrency, { root: this.root, currency: code });
      this.root.views.set(code, view);
    }
    return view;
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.conn.transaction(work);
  }

  /** Leaves WAL checkpoints to another connection (the writer thread): see Connection. */
  disableAutoCheckpoint(): void {
    this.conn.disableAutoCheckpoint();
  }

  onCommit(callback: () => void): void {
    this.conn.onCommit(callback);
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** Schema version applied to this file (for readiness checks and tests). */
  schemaVersion(): number {
    return (this.conn.db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number }).v;
  }
}

export interface SqliteStoreOptions {
  /**
   * Key (32 bytes) that webhook secrets are encrypted under (RELAYER_SECRET_KEY). Absent: the key
   * in `keyFile`, created on first use.
   */
  secretKey?: Buffer;
  /** Default: the database's path + ".key". */
  keyFile?: string;
  /**
   * The deployment's default currency code: what rows stored before the store knew currencies
   * become (migration 16) and what creating calls without a currency use. Default "USD".
   */
  defaultCurrency?: string;
}

/** The key file used when no secret key is configured. */
export const defaultKeyFile = (filePath: string): string => `${path.resolve(filePath)}.key`;

/**
 * Opens (creating if needed, with its directory) and migrates the store at `filePath`; webhook
 * secrets still stored in clear are encrypted on the way.
 */
export async function openSqliteStore(filePath: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  fs.mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
  const key = options.secretKey ?? loadOrCreateKeyFile(options.keyFile ?? defaultKeyFile(filePath)).key;
  const defaultCurrency = options.defaultCurrency ?? FALLBACK_CURRENCY;
  const store = new SqliteStore(new Connection(filePath, { defaultCurrency }), new SecretBox(key), defaultCurrency);
  try {
    store.webhooks.sealPlaintextSecrets();
    store.submissions.backfillSigners();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
