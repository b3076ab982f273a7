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
 */
import fs from "node:fs";
import path from "node:path";
import type { RelayerStore } from "../types";
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

  constructor(
    private readonly conn: Connection,
    box: SecretBox,
  ) {
    this.payments = new SqlitePayments(conn);
    this.batches = new SqliteBatches(conn);
    this.submissions = new SqliteSubmissions(conn);
    this.settlements = new SqliteSettlements(conn);
    this.requests = new SqliteRequests(conn);
    this.apiKeys = new SqliteApiKeys(conn);
    this.webhooks = new SqliteWebhooks(conn, box);
    this.outbox = new SqliteOutbox(conn);
    this.idempotency = new SqliteIdempotency(conn);
    this.chainCursor = new SqliteChainCursors(conn);
    this.reportIndex = new SqliteReportIndex(conn);
    this.rateLimits = new SqliteRateLimits(conn);
    this.relayRequests = new SqliteRelayRequests(conn);
    this.lease = new SqliteLease(conn);
    this.leases = new SqliteLeases(conn);
    this.storage = conn.storage;
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
  const store = new SqliteStore(new Connection(filePath), new SecretBox(key));
  try {
    store.webhooks.sealPlaintextSecrets();
    store.submissions.backfillSigners();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
