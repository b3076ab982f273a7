/**
 * The bench's view of the relayer's store, read directly (not through an instance: in the split
 * layout the worker has no HTTP port, and any one api instance's view is no more authoritative):
 * payments by state while waiting, and after the run the acknowledged payments checked against it.
 */
import Database from "better-sqlite3";
import { Client } from "pg";

export interface StoreReader {
  /** Payments by state. */
  countByState(): Promise<Record<string, number>>;
  /** Every payment row: id, payer, nonce. */
  paymentKeys(): Promise<{ id: string; payer: string; nonce: string }[]>;
  close(): Promise<void>;
}

export function sqliteReader(file: string): StoreReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return {
    async countByState() {
      const rows = db.prepare("SELECT state, COUNT(*) AS n FROM payments GROUP BY state").all() as {
        state: string;
        n: number;
      }[];
      return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    },
    async paymentKeys() {
      return db.prepare("SELECT id, payer, nonce FROM payments").all() as {
        id: string;
        payer: string;
        nonce: string;
      }[];
    },
    async close() {
      db.close();
    },
  };
}

export async function postgresReader(url: string): Promise<StoreReader> {
  const client = new Client({ connectionString: url });
  // The URL may carry a password: an error text from here never includes it (pg does not echo it).
  await client.connect();
  return {
    async countByState() {
      const { rows } = await client.query<{ state: string; n: string }>(
        "SELECT state, COUNT(*) AS n FROM payments GROUP BY state",
      );
      return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    },
    async paymentKeys() {
      const { rows } = await client.query<{ id: string; payer: string; nonce: string }>(
        "SELECT id, payer, nonce::text AS nonce FROM payments",
      );
      return rows;
    },
    async close() {
      await client.end();
    },
  };
}

export interface AckCheck {
  acknowledged: number;
  /** Acknowledged payments the store does not hold. */
  lost: number;
  /** Rows beyond the first for one payment (same id, or same payer and nonce). */
  duplicates: number;
}

/** Every acknowledged payment present exactly once in the store; nothing acknowledged missing. */
export async function checkAcknowledged(
  reader: StoreReader,
  acknowledged: { id: string; payer: string; nonce: bigint }[],
): Promise<AckCheck> {
  const rows = await reader.paymentKeys();
  const byId = new Map<string, number>();
  const byPayerNonce = new Map<string, number>();
  for (const row of rows) {
    const id = row.id.toLowerCase();
    byId.set(id, (byId.get(id) ?? 0) + 1);
    const key = `${row.payer.toLowerCase()}:${BigInt(row.nonce)}`;
    byPayerNonce.set(key, (byPayerNonce.get(key) ?? 0) + 1);
  }
  let lost = 0;
  let duplicates = 0;
  for (const p of acknowledged) {
    const n = byId.get(p.id.toLowerCase()) ?? 0;
    if (n === 0) lost++;
    duplicates += Math.max(0, n - 1);
    duplicates += Math.max(0, (byPayerNonce.get(`${p.payer.toLowerCase()}:${p.nonce}`) ?? 0) - 1);
  }
  return { acknowledged: acknowledged.length, lost, duplicates };
}

/**
 * Row writes and commits in the bench's PostgreSQL database so far (pg_stat_*; read after the
 * relayers stopped, when their sessions have flushed their counters). Commits include read-only
 * transactions, the bench's own polling among them.
 */
export async function postgresWriteStats(url: string): Promise<{ rowWrites: number; commits: number }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ n: string | null }>(
      "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables",
    );
    const commits = await client.query<{ n: string }>(
      "SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()",
    );
    return { rowWrites: Number(rows.rows[0]?.n ?? 0), commits: Number(commits.rows[0]?.n ?? 0) };
  } finally {
    await client.end();
  }
}
