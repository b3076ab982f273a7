import { AsyncLocalStorage } from "node:async_hooks";
import Database from "better-sqlite3";
import { migrationSql, type MigrationOptions } from "../migration";
import { MIGRATIONS } from "./migrations";
import { StorageHealth } from "./storageErrors";

type Statement = Database.Statement<unknown[], unknown>;

/** Page cache per connection (64 MiB). */
const CACHE_KIB = 65_536;

/** FIFO async lock: one store transaction at a time on the single connection. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** True while a holder or a waiter exists. */
  get busy(): boolean {
    return this.waiting > 0;
  }

  acquire(): Promise<() => void> {
    this.waiting++;
    let open!: () => void;
    const next = new Promise<void>((resolve) => (open = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    return previous.then(() => () => {
      this.waiting--;
      open();
    });
  }
}

/**
 * The one better-sqlite3 connection and the rules for using it from async code.
 *
 * better-sqlite3 is synchronous, so a single statement can never interleave with anything. A store
 * `transaction(work)` however spans awaits: it holds BEGIN IMMEDIATE on the shared connection while
 * `work` runs. Two things keep other code out of it:
 *  - transactions are serialised by a FIFO mutex;
 *  - calls made inside `work` are recognised through AsyncLocalStorage and run directly, while a
 *    call from anywhere else waits for the mutex whenever a transaction is open or queued, so it
 *    neither sees uncommitted writes nor gets rolled back with someone else's work.
 * Callers must not start nested transactions concurrently within one `work` (savepoints are a stack).
 */
export class Connection {
  readonly db: Database.Database;
  private readonly mutex = new Mutex();
  private readonly context = new AsyncLocalStorage<{ depth: number; afterCommit: (() => void)[] }>();
  private readonly statements = new Map<string, Statement>();
  private savepoints = 0;
  private closed = false;
  /** Disk full / I/O errors: mapped to StorageUnavailableError by run() and transaction(). */
  readonly storage = new StorageHealth(() => this.probeWrite());

  /** `options`: what the migrations it applies depend on (see ./migrations.ts). */
  constructor(filePath: string, options: MigrationOptions) {
    this.db = new Database(filePath);
    // WAL + FULL: every acknowledged commit is fsynced; intake's group commit amortises the fsync.
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    // Batches of payments dirty thousands of pages: a larger page cache keeps the hot index pages.
    this.db.pragma(`cache_size = -${CACHE_KIB}`);
    const mode = this.db.pragma("journal_mode", { simple: true });
    if (String(mode).toLowerCase() !== "wal") throw new Error(`SQLite refused WAL mode (got ${String(mode)})`);
    migrate(this.db, options);
  }

  /**
   * Stops this connection from checkpointing the WAL when one of its commits crosses SQLite's
   * threshold: that checkpoint (copying megabytes into the database file and an fsync) runs inside
   * the COMMIT, on whichever thread committed. The relayer's writer thread checkpoints instead.
   */
  disableAutoCheckpoint(): void {
    this.db.pragma("wal_autocheckpoint = 0");
  }

  /** Prepared statements are cached by SQL text: each query is compiled once per connection. */
  prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs one synchronous unit of database work, after any open store transaction unless called from inside it. */
  run<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    if (this.context.getStore() || !this.mutex.busy) {
      try {
        return Promise.resolve(fn());
      } catch (error) {
        return Promise.reject(this.storage.map(error));
      }
    }
    return this.mutex.acquire().then((release) => {
      try {
        if (this.closed) throw new Error("store is closed");
        return fn();
      } catch (error) {
        throw this.storage.map(error);
      } finally {
        release();
      }
    });
  }

  /** A write that needs new pages and a commit: fails while the disk (or max_page_count) is full. */
  private probeWrite(): Promise<void> {
    return this.atomic(() => {
      this.prepare("INSERT INTO storage_probe (filler) VALUES (zeroblob(16384))").run();
      this.prepare("DELETE FROM storage_probe").run();
    });
  }

  /**
   * Runs `callback` right after the enclosing transaction commits, before the lock is released (so
   * no other store call sees the commit before `callback` has run); at once outside a transaction.
   * Dropped if the transaction (or the savepoint it was registered in) rolls back. Callbacks must
   * be synchronous and must not throw: they mirror committed state into memory (the intake ledger).
   */
  onCommit(callback: () => void): void {
    const scope = this.context.getStore();
    if (scope) scope.afterCommit.push(callback);
    else callback();
  }

  /** Several statements as one atomic unit (nests as a savepoint inside an open transaction). */
  atomic<T>(fn: () => T): Promise<T> {
    return this.run(() => this.db.transaction(fn).immediate());
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    const outer = this.context.getStore();
    if (outer) return this.nested(outer, work);
    const release = await this.mutex.acquire();
    try {
      if (this.closed) throw new Error("store is closed");
      this.db.exec("BEGIN IMMEDIATE");
      const afterCommit: (() => void)[] = [];
      try {
        const result = await this.context.run({ depth: 0, afterCommit }, work);
        this.db.exec("COMMIT");
        for (const callback of afterCommit) callback();
        return result;
      } catch (error) {
        try {
          if (this.db.inTransaction) this.db.exec("ROLLBACK");
        } catch {
          // SQLite rolls back by itself after an I/O error; the original error is what matters.
        }
        throw this.storage.map(error);
      }
    } finally {
      release();
      // AsyncLocalStorage (Node 20) runs a hook on every promise the process creates while it is
      // enabled: a visible share of the HTTP thread under load, for a scope only job transactions need. Off
      // between transactions; the next `run` turns it back on. Nothing outside a transaction may
      // see a scope anyway, so no caller can tell the difference.
      if (!this.mutex.busy) this.context.disable();
    }
  }

  private async nested<T>(outer: { depth: number; afterCommit: (() => void)[] }, work: () => Promise<T>): Promise<T> {
    const name = `sp_${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    const afterCommit: (() => void)[] = [];
    try {
      const result = await this.context.run({ depth: outer.depth + 1, afterCommit }, work);
      this.db.exec(`RELEASE ${name}`);
      // Released into the outer transaction: its callbacks now wait for the outer commit.
      outer.afterCommit.push(...afterCommit);
      return result;
    } catch (error) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const release = await this.mutex.acquire();
    try {
      this.closed = true;
      this.statements.clear();
      this.db.close();
    } finally {
      release();
    }
  }
}

/**
 * Applies pending migrations, each in its own transaction; a reopen applies nothing. `upTo` (tests)
 * stops at that version, as a store of an older relayer would be.
 */
export function migrate(db: Database.Database, options: MigrationOptions, upTo: number = MIGRATIONS.length): number {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const current = (db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null }).v ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this relayer (${MIGRATIONS.length})`);
  }
  const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  for (let version = current + 1; version <= upTo; version++) {
    db.transaction(() => {
      db.exec(migrationSql(MIGRATIONS[version - 1], options));
      record.run(version, Date.now());
    }).immediate();
  }
  return Math.max(current, upTo);
}
