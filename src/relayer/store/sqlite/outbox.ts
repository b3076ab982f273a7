import { PaymentState, type Hex, type OutboxRecord, type PaymentRecord } from "../../domain";
import { paymentEventType, paymentOutboxEvent } from "../../webhooks/events";
import type {
  ChainCursorRepository,
  IdempotencyRecord,
  IdempotencyRepository,
  OutboxEvent,
  OutboxRepository,
} from "../types";
import { big, dec, hex, placeholders } from "./codec";
import type { Connection } from "./connection";

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
  merchantId: big(r.merchant_id),
  eventType: r.event_type,
  payload: r.payload,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  deliveredAt: r.delivered_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deadAt: r.dead_at,
});

/** Longest error text kept per row: enough to diagnose, bounded so a chatty receiver can't bloat the file. */
const MAX_ERROR_LENGTH = 1_000;

/** One delivery per live endpoint of the merchant; the same event twice is a no-op. */
const ENQUEUE_SQL = `INSERT INTO outbox (event_id, endpoint_id, merchant_id, event_type, payload, next_attempt_at, created_at)
  SELECT ?, id, merchant_id, ?, ?, ?, ? FROM webhook_endpoints WHERE merchant_id = ? AND disabled_at IS NULL
  ORDER BY created_at, id
  ON CONFLICT (event_id, endpoint_id) DO NOTHING`;

/**
 * Queues `events` on `conn` inside the caller's atomic unit: each sequenced event not queued
 * before takes its payment's next sequence number, then fans out to the merchant's live endpoints.
 */
export function enqueueEvents(conn: Connection, events: readonly OutboxEvent[]): number {
  const insert = conn.prepare(ENQUEUE_SQL);
  let queued = 0;
  for (const e of events) {
    let sequence = 0;
    if (e.sequenceKey !== undefined) {
      if (conn.prepare("SELECT 1 FROM outbox WHERE event_id = ? LIMIT 1").get(e.eventId) !== undefined) continue;
      sequence = (
        conn
          .prepare(
            `INSERT INTO webhook_sequences (payment_id, seq) VALUES (?, 1)
               ON CONFLICT (payment_id) DO UPDATE SET seq = seq + 1 RETURNING seq`,
          )
          .get(e.sequenceKey) as { seq: number }
      ).seq;
    }
    const payload = typeof e.payload === "string" ? e.payload : e.payload(sequence);
    queued += insert.run(e.eventId, e.eventType, payload, e.now, e.now, dec(e.merchantId)).changes;
  }
  return queued;
}

/** Which of `merchantIds` have a live endpoint, on `conn` (one query). */
export function liveMerchants(conn: Connection, merchantIds: readonly bigint[]): Set<bigint> {
  const live = new Set<bigint>();
  if (merchantIds.length === 0) return live;
  const rows = conn
    .prepare(
      `SELECT DISTINCT merchant_id FROM webhook_endpoints
         WHERE merchant_id IN (${placeholders(merchantIds.length)}) AND disabled_at IS NULL`,
    )
    .all(...merchantIds.map(dec)) as { merchant_id: string }[];
  for (const row of rows) live.add(BigInt(row.merchant_id));
  return live;
}

/**
 * Queues the `payment.accepted` event of each of `payments` (just inserted by intake's group
 * commit) inside that commit, for merchants with a live endpoint: the event exists if and only if
 * the acceptance is durable. One query when no merchant of the commit listens.
 */
export function enqueueAcceptedEvents(conn: Connection, payments: readonly PaymentRecord[]): void {
  if (payments.length === 0) return;
  const live = liveMerchants(conn, [...new Set(payments.map((p) => p.merchantId))]);
  if (live.size === 0) return;
  enqueueEvents(
    conn,
    payments
      .filter((p) => live.has(p.merchantId))
      .map((p) => paymentOutboxEvent(p, paymentEventType(PaymentState.Accepted), p.updatedAt)),
  );
}

export class SqliteOutbox implements OutboxRepository {
  constructor(private readonly conn: Connection) {}

  /** Idempotent per (event, endpoint): re-enqueueing an event after a crash adds nothing. */
  enqueue(e: OutboxEvent): Promise<number> {
    return this.conn.atomic(() => enqueueEvents(this.conn, [e]));
  }

  hasLiveEndpoints(merchantId: bigint): Promise<boolean> {
    return this.conn.run(
      () =>
        this.conn
          .prepare("SELECT 1 FROM webhook_endpoints WHERE merchant_id = ? AND disabled_at IS NULL LIMIT 1")
          .get(dec(merchantId)) !== undefined,
    );
  }

  merchantsWithLiveEndpoints(merchantIds: readonly bigint[]): Promise<Set<bigint>> {
    return this.conn.run(() => liveMerchants(this.conn, merchantIds));
  }

  enqueueMany(events: readonly OutboxEvent[]): Promise<number> {
    return this.conn.atomic(() => enqueueEvents(this.conn, events));
  }

  dueFor(endpointId: string, now: number, limit: number, exclude: readonly number[] = []): Promise<OutboxRecord[]> {
    return this.conn.run(() =>
      (
        this.conn
          .prepare(
            `SELECT * FROM outbox WHERE endpoint_id = ? AND delivered_at IS NULL AND dead_at IS NULL
               AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
          )
          .all(endpointId, now, limit + exclude.length) as OutboxRow[]
      )
        .filter((r) => !exclude.includes(r.id))
        .slice(0, limit)
        .map(toOutbox),
    );
  }

  recentFor(endpointId: string, limit: number): Promise<OutboxRecord[]> {
    return this.conn.run(() =>
      (
        this.conn
          .prepare("SELECT * FROM outbox WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?")
          .all(endpointId, limit) as OutboxRow[]
      ).map(toOutbox),
    );
  }

  prune(before: number, limit: number): Promise<number> {
    return this.conn.atomic(() => {
      const delivered = this.conn
        .prepare(
          "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ? LIMIT ?)",
        )
        .run(before, limit).changes;
      if (delivered >= limit) return delivered;
      return (
        delivered +
        this.conn
          .prepare(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE dead_at IS NOT NULL AND dead_at < ? LIMIT ?)",
          )
          .run(before, limit - delivered).changes
      );
    });
  }

  /** Live deliveries whose time has come, most overdue first (first attempts: oldest event first). */
  due(now: number, limit: number): Promise<OutboxRecord[]> {
    return this.conn.run(() =>
      (
        this.conn
          .prepare(
            `SELECT * FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at, id LIMIT ?`,
          )
          .all(now, limit) as OutboxRow[]
      ).map(toOutbox),
    );
  }

  markDelivered(id: number, at: number): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare(
          "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND delivered_at IS NULL",
        )
        .run(at, id);
    });
  }

  markFailed(id: number, error: string, nextAttemptAt: number): Promise<void> {
    return this.recordFailure("next_attempt_at", id, error, nextAttemptAt);
  }

  markDead(id: number, error: string, at: number): Promise<void> {
    return this.recordFailure("dead_at", id, error, at);
  }

  /** One failed attempt of a live row: the error, and either its next attempt time or its death time. */
  private recordFailure(column: "next_attempt_at" | "dead_at", id: number, error: string, at: number): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare(
          `UPDATE outbox SET attempts = attempts + 1, last_error = ?, ${column} = ?
             WHERE id = ? AND delivered_at IS NULL AND dead_at IS NULL`,
        )
        .run(error.slice(0, MAX_ERROR_LENGTH), at, id);
    });
  }

  pendingCount(): Promise<number> {
    return this.conn.run(
      () =>
        (
          this.conn
            .prepare("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL")
            .get() as { n: number }
        ).n,
    );
  }

  deadCount(): Promise<number> {
    return this.conn.run(
      () => (this.conn.prepare("SELECT COUNT(*) AS n FROM outbox WHERE dead_at IS NOT NULL").get() as { n: number }).n,
    );
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

export class SqliteIdempotency implements IdempotencyRepository {
  constructor(private readonly conn: Connection) {}

  get(scope: string, key: string): Promise<IdempotencyRecord | null> {
    return this.conn.run(() => {
      const row = this.conn.prepare("SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?").get(scope, key) as
        IdempotencyRow | undefined;
      return row ? toIdempotency(row) : null;
    });
  }

  /**
   * First writer wins: the insert is ignored on conflict and the stored record is returned, unless
   * the stored one was created before `replaceCreatedBefore` (expired): then the new one replaces it.
   */
  put(r: IdempotencyRecord, replaceCreatedBefore = -Infinity): Promise<IdempotencyRecord> {
    return this.conn.atomic(() => {
      this.conn
        .prepare(
          `INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET
             request_hash = excluded.request_hash, status = excluded.status, body = excluded.body,
             created_at = excluded.created_at
           WHERE idempotency_keys.created_at < ?`,
        )
        .run(r.scope, r.key, hex(r.requestHash), r.status, r.body, r.createdAt, replaceCreatedBefore);
      return toIdempotency(
        this.conn
          .prepare("SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?")
          .get(r.scope, r.key) as IdempotencyRow,
      );
    });
  }

  pruneCreatedBefore(before: number, limit: number): Promise<number> {
    return this.conn.atomic(
      () =>
        this.conn
          .prepare(
            `DELETE FROM idempotency_keys WHERE (scope, key) IN
               (SELECT scope, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`,
          )
          .run(before, limit).changes,
    );
  }
}

export class SqliteChainCursors implements ChainCursorRepository {
  constructor(private readonly conn: Connection) {}

  get(name: string): Promise<{ blockNumber: bigint; blockHash: Hex } | null> {
    return this.conn.run(() => {
      const row = this.conn.prepare("SELECT * FROM chain_cursors WHERE name = ?").get(name) as
        { block_number: string; block_hash: string } | undefined;
      return row ? { blockNumber: big(row.block_number), blockHash: row.block_hash as Hex } : null;
    });
  }

  set(name: string, blockNumber: bigint, blockHash: Hex): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare(
          `INSERT INTO chain_cursors (name, block_number, block_hash) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash`,
        )
        .run(name, dec(blockNumber), hex(blockHash));
    });
  }
}
