/**
 * Opens the relayer's store from one setting: a `postgres://` or `postgresql://` URL selects
 * PostgreSQL (several instances on one database), anything else is the path of a SQLite file (one
 * process, the embedded default).
 */
import { openPostgresStore, type PostgresStore } from "./postgres";
import { openSqliteStore, type SqliteStore } from "./sqlite";

export interface OpenStoreOptions {
  /** A SQLite file path, or a PostgreSQL URL (DATABASE_URL). */
  location: string;
  /** RELAYER_SECRET_KEY: required for PostgreSQL (shared by every instance); optional for SQLite. */
  secretKey?: Buffer;
  /** SQLite only: where the generated key lives when no secret key is configured. */
  keyFile?: string;
  /** PostgreSQL only: connections per process (default 10). */
  poolSize?: number;
  /** The deployment's default currency code (see RelayerStore.defaultCurrency); default "USD". */
  defaultCurrency?: string;
}

export type OpenedStore =
  | { kind: "sqlite"; store: SqliteStore; close: () => Promise<void> }
  | { kind: "postgres"; store: PostgresStore; close: () => Promise<void> };

export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location.trim());

/** The store at `options.location`, migrated and ready. */
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  if (isPostgresUrl(options.location)) {
    if (!options.secretKey) {
      throw new Error(
        "RELAYER_SECRET_KEY is required with a PostgreSQL DATABASE_URL: every instance must encrypt webhook secrets under the same key",
      );
    }
    const store = await openPostgresStore(options.location.trim(), {
      secretKey: options.secretKey,
      max: options.poolSize,
      defaultCurrency: options.defaultCurrency,
    });
    return { kind: "postgres", store, close: () => store.close() };
  }
  const store = await openSqliteStore(options.location, {
    secretKey: options.secretKey,
    keyFile: options.keyFile,
    defaultCurrency: options.defaultCurrency,
  });
  return { kind: "sqlite", store, close: () => store.close() };
}
