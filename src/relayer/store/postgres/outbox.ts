import { PaymentState, type Hex, type OutboxRecord, type PaymentRecord } from "../../domain";
import { paymentEventType, paymentOutboxEvent } from "../../webhooks/events";
import type {
  ChainCursorRepository,
  IdempotencyRecord,
  IdempotencyRepository,
  OutboxEvent,
  OutboxRepository,
} from "../types";
import { dec, hex } from "../sqlite/codec";
import type { PgConnection, Queryable } from "./connection";

interface OutboxRow {
  id: number;
  event_id: string;
  endpoint_id: string;
  merchant_id: string;
  event_type: string;
  payload: string;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  dead_at: number | null;
  last_error: string | null;
  created_at: number;
}

const toOutbox = (r: OutboxRow): OutboxRecord => ({
  id: r.id,
  eventId: r.event_id,
  endpointId: r.endpoint_id,
  merchantId: BigInt(r.merchant_id),
  eventType: r.event_type,
  payload: r.payload,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  deliveredAt: r.delivered_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deadAt: r.dead_at,
});

/** Longest error text kept per row: enough to diagnose, bounded so a chatty receiver can't bloat the table. */
const MAX_ERROR_LENGTH = 1_000;

/**
 * One delivery per live endpoint of each event's merchant, in the events' order (then the
 * endpoints'), so outbox ids follow the order of the changes; the same event twice is a no-op.
 */
const ENQUEUE_SQL = `INSERT INTO outbox (event_id, endpoint_id, merchant_id, event_type, payload, next_attempt_at, created_at)
  SELECT t.event_id, e.id, e.merchant_id, t.event_type, t.payload, t.now, t.now
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::numeric[])
           WITH ORDINALITY AS t(event_id, event_type, payload, now, merchant_id, ord)
    JOIN webhook_endpoints e ON e.merchant_id = t.merchant_id AND e.disabled_at IS NULL
   ORDER BY t.ord, e.created_at, e.id
  ON CONFLICT (event_id, endpoint_id) DO NOTHING`;

/**
 * Queues `events` on `db` inside the caller's atomic unit, in at most three statements whatever
 * their number (inside a job's or a group commit's transaction each round trip holds the locks):
 * which sequenced events are queued already (those are skipped), the next sequence numbers of
 * their payments (one upsert; keys in sorted order, so concurrent writers lock them in one order,
 * and the row lock orders writers of one payment), then the fan-out to the merchants' live
 * endpoints. Several events of one payment take consecutive numbers in the order given; an event
 * id given twice is queued once (the first).
 */
export async function enqueueEvents(db: Queryable, events: readonly OutboxEvent[]): Promise<number> {
  const seen = new Set<string>();
  let todo = events.filter((e) => !seen.has(e.eventId) && seen.add(e.eventId));
  const sequenced = todo.filter((e) => e.sequenceKey !== undefined);
  const sequence = new Map<OutboxEvent, number>();
  if (sequenced.length > 0) {
    const known = new Set(
      (
        await db.query<{ event_id: string }>("SELECT DISTINCT event_id FROM outbox WHERE event_id = ANY($1::text[])", [
          sequenced.map((e) => e.eventId),
        ])
      ).rows.map((r) => r.event_id),
    );
    todo = todo.filter((e) => !known.has(e.eventId));
    const perKey = new Map<string, OutboxEvent[]>();
    for (const e of todo) {
      if (e.sequenceKey === undefined) continue;
      const list = perKey.get(e.sequenceKey);
      if (list) list.push(e);
      else perKey.set(e.sequenceKey, [e]);
    }
    if (perKey.size > 0) {
      const keys = [...perKey.keys()].sort();
      const { rows } = await db.query<{ payment_id: string; seq: number }>(
        `INSERT INTO webhook_sequences (payment_id, seq)
           SELECT k, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(k, n, ord) ORDER BY ord
           ON CONFLICT (payment_id) DO UPDATE SET seq = webhook_sequences.seq + EXCLUDED.seq
           RETURNING payment_id, seq`,
        [keys, keys.map((k) => perKey.get(k)!.length)],
      );
      for (const row of rows) {
        const list = perKey.get(row.payment_id)!;
        // The last number taken is the key's last event's; the ones before it precede it.
        list.forEach((e, i) => sequence.set(e, row.seq - list.length + 1 + i));
      }
    }
  }
  if (todo.length === 0) return 0;
  const result = await db.query(ENQUEUE_SQL, [
    todo.map((e) => e.eventId),
    todo.map((e) => e.eventType),
    todo.map((e) => (typeof e.payload === "string" ? e.payload : e.payload(sequence.get(e) ?? 0))),
    todo.map((e) => e.now),
    todo.map((e) => dec(e.merchantId)),
  ]);
  return result.rowCount ?? 0;
}

/** Which of `merchantIds` have a live endpoint (one query). */
export async function liveMerchants(db: Queryable, merchantIds: readonly bigint[]): Promise<Set<bigint>> {
  const live = new Set<bigint>();
  if (merchantIds.length === 0) return live;
  const { rows } = await db.query<{ merchant_id: string }>(
    `SELECT DISTINCT merchant_id FROM webhook_endpoints
       WHERE merchant_id = ANY($1::numeric[]) AND disabled_at IS NULL`,
    [merchantIds.map(dec)],
  );
  for (const row of rows) live.add(BigInt(row.merchant_id));
  return live;
}

/**
 * Queues the `payment.accepted` event of each of `payments` (just inserted by intake's group
 * commit) inside that commit, for merchants with a live endpoint: the event exists if and only if
 * the acceptance is durable. One query when no merchant of the commit listens.
 */
export async function enqueueAcceptedEvents(
  db: Queryable,
  payments: readonly PaymentRecord[],
  /** Which of the payments' merchants have a live endpoint, when the caller read it already. */
  known?: ReadonlySet<bigint>,
): Promise<void> {
  if (payments.length === 0) return;
  const live = known ?? (await liveMerchants(db, [...new Set(payments.map((p) => p.merchantId))]));
  if (live.size === 0) return;
  await enqueueEvents(
    db,
    payments
      .filter((p) => live.has(p.merchantId))
      .map((p) => paymentOutboxEvent(p, paymentEventType(PaymentState.Accepted), p.updatedAt)),
  );
}

export class PgOutbox implements OutboxRepository {
  constructor(private readonly conn: PgConnection) {}

  /** Idempotent per (event, endpoint): re-enqueueing an event after a crash adds nothing. */
  enqueue(e: OutboxEvent): Promise<number> {
    return this.conn.atomic((db) => enqueueEvents(db, [e]));
  }

  async hasLiveEndpoints(merchantId: bigint): Promise<boolean> {
    const rows = await this.conn.rows(
      "SELECT 1 FROM webhook_endpoints WHERE merchant_id = $1::numeric AND disabled_at IS NULL LIMIT 1",
      [dec(merchantId)],
    );
    return rows.length > 0;
  }

  merchantsWithLiveEndpoints(merchantIds: readonly bigint[]): Promise<Set<bigint>> {
    return this.conn.atomic((db) => liveMerchants(db, merchantIds));
  }

  enqueueMany(events: readonly OutboxEvent[]): Promise<number> {
    return this.conn.atomic((db) => enqueueEvents(db, events));
  }

  async dueFor(
    endpointId: string,
    now: number,
    limit: number,
    exclude: readonly number[] = [],
  ): Promise<OutboxRecord[]> {
    const rows = await this.conn.rows<OutboxRow>(
      `SELECT * FROM outbox WHERE endpoint_id = $1 AND delivered_at IS NULL AND dead_at IS NULL
         AND next_attempt_at <= $2 AND NOT (id = ANY($4::bigint[])) ORDER BY next_attempt_at, id LIMIT $3`,
      [endpointId, now, limit, exclude],
    );
    return rows.map(toOutbox);
  }

  async recentFor(endpointId: string, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.conn.rows<OutboxRow>(
      "SELECT * FROM outbox WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
      [endpointId, limit],
    );
    return rows.map(toOutbox);
  }

  prune(before: number, limit: number): Promise<number> {
    return this.conn.atomic(async (db) => {
      const delivered =
        (
          await db.query(
            `DELETE FROM outbox WHERE id IN
               (SELECT id FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1 LIMIT $2)`,
            [before, limit],
          )
        ).rowCount ?? 0;
      if (delivered >= limit) return delivered;
      const dead =
        (
          await db.query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE dead_at IS NOT NULL AND dead_at < $1 LIMIT $2)",
            [before, limit - delivered],
          )
        ).rowCount ?? 0;
      return delivered + dead;
    });
  }

  /** Live deliveries whose time has come, most overdue first (first attempts: oldest event first). */
  async due(now: number, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.conn.rows<OutboxRow>(
      `SELECT * FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2`,
      [now, limit],
    );
    return rows.map(toOutbox);
  }

  async markDelivered(id: number, at: number): Promise<void> {
    await this.conn.query(
      "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2 AND delivered_at IS NULL",
      [at, id],
    );
  }

  markFailed(id: number, error: string, nextAttemptAt: number): Promise<void> {
    return this.recordFailure("next_attempt_at", id, error, nextAttemptAt);
  }

  markDead(id: number, error: string, at: number): Promise<void> {
    return this.recordFailure("dead_at", id, error, at);
  }

  /** One failed attempt of a live row: the error, and either its next attempt time or its death time. */
  private async recordFailure(
    column: "next_attempt_at" | "dead_at",
    id: number,
    error: string,
    at: number,
  ): Promise<void> {
    await this.conn.query(
      `UPDATE outbox SET attempts = attempts + 1, last_error = $1, ${column} = $2
         WHERE id = $3 AND delivered_at IS NULL AND dead_at IS NULL`,
      [error.slice(0, MAX_ERROR_LENGTH), at, id],
    );
  }

  async pendingCount(): Promise<number> {
    const rows = await this.conn.rows<{ n: number }>(
      "SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL",
    );
    return rows[0].n;
  }

  async deadCount(): Promise<number> {
    const rows = await this.conn.rows<{ n: number }>("SELECT COUNT(*) AS n FROM outbox WHERE dead_at IS NOT NULL");
    return rows[0].n;
  }
}

interface IdempotencyRow {
  scope: string;
  key: string;
  request_hash: string;
  status: number;
  body: string;
  created_at: number;
}

const toIdempotency = (r: IdempotencyRow): IdempotencyRecord => ({
  scope: r.scope,
  key: r.key,
  requestHash: r.request_hash as Hex,
  status: r.status,
  body: r.body,
  createdAt: r.created_at,
});

export class PgIdempotency implements IdempotencyRepository {
  constructor(private readonly conn: PgConnection) {}

  async get(scope: string, key: string): Promise<IdempotencyRecord | null> {
    const rows = await this.conn.rows<IdempotencyRow>("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2", [
      scope,
      key,
    ]);
    return rows.length ? toIdempotency(rows[0]) : null;
  }

  /**
   * First writer wins across instances: the upsert keeps a stored record (unless it was created
   * before `replaceCreatedBefore`, expired), then a second statement reads what is stored. Two
   * statements, not one: a single statement's snapshot may not see the row another instance
   * committed while it ran, which is exactly the row that made the insert a no-op.
   */
  async put(r: IdempotencyRecord, replaceCreatedBefore = -Infinity): Promise<IdempotencyRecord> {
    const replaceBefore = Number.isFinite(replaceCreatedBefore) ? replaceCreatedBefore : null;
    await this.conn.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO UPDATE SET
         request_hash = excluded.request_hash, status = excluded.status, body = excluded.body,
         created_at = excluded.created_at
       WHERE $7::bigint IS NOT NULL AND idempotency_keys.created_at < $7::bigint`,
      [r.scope, r.key, hex(r.requestHash), r.status, r.body, r.createdAt, replaceBefore],
    );
    const rows = await this.conn.rows<IdempotencyRow>("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2", [
      r.scope,
      r.key,
    ]);
    return toIdempotency(rows[0]);
  }

  async pruneCreatedBefore(before: number, limit: number): Promise<number> {
    const result = await this.conn.query(
      `DELETE FROM idempotency_keys WHERE (scope, key) IN
         (SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }
}

export class PgChainCursors implements ChainCursorRepository {
  constructor(private readonly conn: PgConnection) {}

  async get(name: string): Promise<{ blockNumber: bigint; blockHash: Hex } | null> {
    const rows = await this.conn.rows<{ block_number: string; block_hash: string }>(
      "SELECT block_number, block_hash FROM chain_cursors WHERE name = $1",
      [name],
    );
    return rows.length ? { blockNumber: BigInt(rows[0].block_number), blockHash: rows[0].block_hash as Hex } : null;
  }

  async set(name: string, blockNumber: bigint, blockHash: Hex): Promise<void> {
    await this.conn.query(
      `INSERT INTO chain_cursors (name, block_number, block_hash) VALUES ($1, $2::numeric, $3)
       ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash`,
      [name, dec(blockNumber), hex(blockHash)],
    );
  }
}
