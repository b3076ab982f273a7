/** What the SQLite and PostgreSQL migration lists are made of. */

/** What a migration may depend on: the store's open options. */
export interface MigrationOptions {
  /** The currency rows stored before migration 16 belong to (the deployment's default). */
  defaultCurrency: string;
}

/** SQL text, or a function of the open options giving it (migration 16 backfills a currency). */
export type Migration = string | ((options: MigrationOptions) => string);

/** The SQL text of `migration` for a store opened with `options`. */
export const migrationSql = (migration: Migration, options: MigrationOptions): string =>
  typeof migration === "string" ? migration : migration(options);
