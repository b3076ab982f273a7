import { FencedError } from "../errors";
import type { Fence, Lease, LeaseRepository, RateLimitRepository } from "../types";
import type { PgConnection, Queryable } from "./connection";

interface LeaseRow {
  name: string;
  holder: string;
  epoch: number;
  expires_at: number;
  info: string;
}

const toLease = (r: LeaseRow): Lease => ({
  name: r.name,
  holder: r.holder,
  epoch: r.epoch,
  expiresAt: r.expires_at,
  info: r.info,
});

/** The lease's holder and epoch for a FencedError (null when released or never taken). */
export async function currentHolder(db: Queryable, name: string): Promise<{ holder: string; epoch: number } | null> {
  const { rows } = await db.query<LeaseRow>("SELECT holder, epoch FROM leases WHERE name = $1", [name]);
  return rows.length && rows[0].holder !== "" ? { holder: rows[0].holder, epoch: rows[0].epoch } : null;
}

/**
 * Leases as rows, changed only by single statements, so every instance sees one order of events.
 * A released lease keeps its row with an empty holder: the epoch never goes back, and the next
 * holder (even the same one) gets epoch + 1.
 */
export class PgLeases implements LeaseRepository {
  constructor(private readonly conn: PgConnection) {}

  async acquire(name: string, holder: string, ttlMs: number, now: number, info: string): Promise<Lease | null> {
    if (holder === "") throw new RangeError("a lease holder must not be empty");
    const rows = await this.conn.rows<LeaseRow>(
      `INSERT INTO leases AS l (name, holder, epoch, expires_at, info) VALUES ($1, $2, 1, $3::bigint + $4::bigint, $5)
       ON CONFLICT (name) DO UPDATE SET
         epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
         holder = excluded.holder, expires_at = excluded.expires_at, info = excluded.info
       WHERE l.holder = excluded.holder OR l.holder = '' OR l.expires_at <= $3::bigint
       RETURNING *`,
      [name, holder, now, ttlMs, info],
    );
    return rows.length ? toLease(rows[0]) : null;
  }

  async renew(name: string, holder: string, epoch: number, ttlMs: number, now: number): Promise<boolean> {
    const result = await this.conn.query(
      "UPDATE leases SET expires_at = $4::bigint + $5::bigint WHERE name = $1 AND holder = $2 AND epoch = $3",
      [name, holder, epoch, now, ttlMs],
    );
    return result.rowCount === 1;
  }

  async release(name: string, holder: string, epoch: number): Promise<void> {
    await this.conn.query(
      "UPDATE leases SET holder = '', expires_at = 0 WHERE name = $1 AND holder = $2 AND epoch = $3",
      [name, holder, epoch],
    );
  }

  async assertHeld(fence: Fence): Promise<void> {
    // FOR SHARE inside a transaction: a takeover (UPDATE of the row) waits until it commits.
    const lock = this.conn.inTransaction ? " FOR SHARE" : "";
    const rows = await this.conn.rows<LeaseRow>(`SELECT holder, epoch FROM leases WHERE name = $1${lock}`, [
      fence.lease,
    ]);
    const row = rows[0];
    if (row && row.holder === fence.holder && row.epoch === fence.epoch) return;
    throw new FencedError(fence, row && row.holder !== "" ? { holder: row.holder, epoch: row.epoch } : null);
  }

  async get(name: string): Promise<Lease | null> {
    const rows = await this.conn.rows<LeaseRow>("SELECT * FROM leases WHERE name = $1 AND holder <> ''", [name]);
    return rows.length ? toLease(rows[0]) : null;
  }

  async list(prefix: string): Promise<Lease[]> {
    const rows = await this.conn.rows<LeaseRow>(
      "SELECT * FROM leases WHERE left(name, length($1)) = $1 AND holder <> '' ORDER BY name",
      [prefix],
    );
    return rows.map(toLease);
  }
}

/**
 * Token buckets in one UPSERT per take: the row lock orders concurrent takes of every instance,
 * and the statement refills (elapsed time × rate, capped at burst), decides and debits at once.
 * `allowed` is stored with the row so RETURNING can say what this statement decided.
 */
export class PgRateLimits implements RateLimitRepository {
  constructor(private readonly conn: PgConnection) {}

  async take(
    key: string,
    ratePerSecond: number,
    burst: number,
    cost: number,
    now: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }> {
    // In SET, b.* are the row's values before this statement: the refill is computed from them.
    const refilled = "LEAST($3::float8, b.tokens + GREATEST(0, $5::bigint - b.updated_at) * $2::float8 / 1000.0)";
    const rows = await this.conn.rows<{ tokens: number; allowed: boolean }>(
      `INSERT INTO rate_limits AS b (key, tokens, updated_at, allowed)
       VALUES ($1, CASE WHEN $4::float8 <= $3::float8 THEN $3::float8 - $4::float8 ELSE $3::float8 END, $5::bigint,
               $4::float8 <= $3::float8)
       ON CONFLICT (key) DO UPDATE SET
         tokens = CASE WHEN ${refilled} >= $4::float8 THEN ${refilled} - $4::float8 ELSE ${refilled} END,
         allowed = ${refilled} >= $4::float8,
         updated_at = GREATEST(b.updated_at, $5::bigint)
       RETURNING b.tokens, b.allowed`,
      [key, ratePerSecond, burst, cost, now],
    );
    const { tokens, allowed } = rows[0];
    if (allowed) return { allowed: true, retryAfterMs: 0 };
    const retryAfterMs =
      ratePerSecond > 0 ? Math.ceil(((cost - tokens) * 1000) / ratePerSecond) : Number.MAX_SAFE_INTEGER;
    return { allowed: false, retryAfterMs: Math.max(1, retryAfterMs) };
  }
}
