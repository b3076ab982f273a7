import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { StorageHealth } from "../storageErrors";

/** What every repository runs its SQL through: the transaction's client inside one, else the pool. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

interface Scope {
  /** The transaction's client, one statement at a time (see serialised). */
  db: Queryable;
  afterCommit: (() => void)[];
}

/**
 * A transaction's client for store calls that `work` may make concurrently (Promise.all): pg would
 * queue them itself, but that queueing is deprecated, so they are chained here, in call order.
 */
function serialised(client: pg.PoolClient): Queryable {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    query<R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
      const result = tail.then(() => client.query<R>(sql, values));
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

/**
 * `url` with `-c synchronous_commit=on` added to its startup options (kept: the caller's own, e.g.
 * a search_path), so the setting is in force from the connection's first statement.
 */
/** A transaction idle this long between statements is a stalled holder's: the server ends it. */
const IDLE_IN_TRANSACTION_MS = 5_000;

function withDurableCommit(url: string): string {
  const parsed = new URL(url);
  const options = parsed.searchParams.get("options");
  // h-failover: a holder stopped inside a transaction (SIGSTOP, a long GC pause) keeps its FOR SHARE
  // lock on a lease row, and the standby's acquire would wait on it forever: the server ends such
  // a transaction after IDLE_IN_TRANSACTION_MS (below the lease TTL), and the stalled holder's commit fails.
  parsed.searchParams.set(
    "options",
    [options, "-c synchronous_commit=on", `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`]
      .filter(Boolean)
      .join(" "),
  );
  return parsed.toString();
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(["40001", "40P01"]);
/** Attempts of a transaction that keeps hitting serialization failures or deadlocks. */
const MAX_ATTEMPTS = 5;

const INT8_OID = 20;

/**
 * BIGINT columns hold ms timestamps, local keys, epochs and counts, all far below 2^53: read as
 * numbers. NUMERIC (money, on-chain ids) keeps pg's default, a decimal string, read as bigint.
 */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  /** Connections this process keeps at most (default 10). */
  max?: number;
  /** How long a query waits for a free connection before failing (default 5 s). */
  connectionTimeoutMillis?: number;
}

/** Longest a query may wait for its answer before the client gives up on the connection. */
const QUERY_TIMEOUT_MS = 30_000;

/** The URL with its password replaced, for messages (a DATABASE_URL may carry one). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable database URL>";
  }
}

/**
 * The pg.Pool and the rules for using it from the repositories.
 *
 * `transaction(work)` takes one client for BEGIN … COMMIT; store calls made inside `work` are
 * routed to that client through AsyncLocalStorage, so they join it; calls from anywhere else use
 * other clients and see only committed data. A nested `transaction` is a savepoint. `atomic(fn)`
 * is a transaction for one repository call: it joins an open one, else takes its own client.
 */
export class PgConnection {
  readonly pool: pg.Pool;
  private readonly context = new AsyncLocalStorage<Scope>();
  private closed = false;
  private savepoints = 0;
  /** Connection loss, server shutdown, disk full: mapped to StorageUnavailableError. */
  readonly storage = new StorageHealth(() => this.probeWrite());

  constructor(url: string, options: PoolOptions = {}) {
    this.pool = new pg.Pool({
      connectionString: withDurableCommit(url),
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
      idleTimeoutMillis: 30_000,
      // A query on a connection the server dropped without a FIN (a restart, a failover) would
      // otherwise wait forever and stall the job that made it: fail it, and let the job retry.
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      types,
    });
    // An idle client whose server went away (restart, failover) emits "error": without a listener
    // the process would crash. The pool drops that client and connects anew on the next query, so
    // the store recovers by itself once the server is back; until a probe succeeds it is failing.
    this.pool.on("error", (error) => {
      this.storage.map(error);
    });
    // An acknowledgement must mean a durable commit: synchronous_commit on (the server default, set
    // anyway, per connection, so a database or role configured with `off` cannot silently weaken it).
    // With a synchronous standby, `on` also waits for the standby's flush (docs/DEPLOY.md).
  }

  /** The client of the enclosing transaction, or the pool. */
  get db(): Queryable {
    return this.context.getStore()?.db ?? this.pool;
  }

  get inTransaction(): boolean {
    return this.context.getStore() !== undefined;
  }

  /** One statement (joins an open transaction); storage failures become StorageUnavailableError. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new Error("store is closed");
    try {
      return await this.db.query<R>(sql, values);
    } catch (error) {
      throw this.storage.map(error);
    }
  }

  async rows<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]> {
    return (await this.query<R>(sql, values)).rows;
  }

  /** Several statements as one atomic unit: joins an open transaction, else runs in its own. */
  atomic<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    const scope = this.context.getStore();
    if (scope) return fn(scope.db);
    return this.transaction(() => fn(this.db));
  }

  /**
   * Runs `callback` right after the enclosing transaction commits (at once outside one); dropped on
   * rollback, including the rollback of the savepoint it was registered in.
   */
  onCommit(callback: () => void): void {
    const scope = this.context.getStore();
    if (scope) scope.afterCommit.push(callback);
    else callback();
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    const outer = this.context.getStore();
    if (outer) return this.nested(outer, work);
    if (this.closed) throw new Error("store is closed");
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw this.storage.map(error);
      }
      // A checked-out client whose connection breaks between two statements emits "error": the
      // next statement fails anyway (and is mapped), so the event must only not crash the process.
      const onError = (error: Error): void => {
        this.storage.map(error);
      };
      client.on("error", onError);
      let broken: Error | undefined;
      const afterCommit: (() => void)[] = [];
      const db = serialised(client);
      try {
        await db.query("BEGIN");
        const result = await this.context.run({ db, afterCommit }, work);
        await db.query("COMMIT");
        for (const callback of afterCommit) callback();
        return result;
      } catch (error) {
        try {
          await db.query("ROLLBACK");
        } catch (rollbackError) {
          // The connection is gone: the server rolls back by itself; never reuse this client.
          broken = rollbackError as Error;
        }
        const code = (error as { code?: unknown }).code;
        if (typeof code === "string" && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        throw this.storage.map(error);
      } finally {
        client.removeListener("error", onError);
        client.release(broken);
      }
    }
  }

  private async nested<T>(outer: Scope, work: () => Promise<T>): Promise<T> {
    const name = `sp_${++this.savepoints}`;
    await outer.db.query(`SAVEPOINT ${name}`);
    const afterCommit: (() => void)[] = [];
    try {
      const result = await this.context.run({ db: outer.db, afterCommit }, work);
      await outer.db.query(`RELEASE SAVEPOINT ${name}`);
      // Released into the outer transaction: its callbacks now wait for the outer commit.
      outer.afterCommit.push(...afterCommit);
      return result;
    } catch (error) {
      await outer.db.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await outer.db.query(`RELEASE SAVEPOINT ${name}`);
      throw error;
    }
  }

  /** A real write and its removal, committed: fails while the server is unreachable or full. */
  private async probeWrite(): Promise<void> {
    await this.transaction(async () => {
      await this.db.query("INSERT INTO storage_probe (filler) VALUES (repeat('x', 1024))");
      await this.db.query("DELETE FROM storage_probe");
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
