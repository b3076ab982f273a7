import { RelayState, type Hex, type RelayOperation, type RelayRequestRecord } from "../../domain";
import type { NewRelayRequest, RelayRequestRepository } from "../types";
import { decOrNull, hex, hexOrNull } from "../sqlite/codec";
import type { PgConnection } from "./connection";
import type { CurrencyScope } from "../currencyScope";

interface RelayRow {
  id: string;
  currency: string;
  operation: string;
  calldata: string;
  payer: string | null;
  deadline: string | null;
  state: string;
  claimed_by: string | null;
  tx_hash: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
}

const toRelayRequest = (r: RelayRow): RelayRequestRecord => ({
  id: r.id as Hex,
  currency: r.currency,
  operation: r.operation as RelayOperation,
  calldata: r.calldata as Hex,
  payer: r.payer as Hex | null,
  deadline: r.deadline === null ? null : BigInt(r.deadline),
  state: r.state as RelayState,
  claimedBy: r.claimed_by,
  txHash: r.tx_hash as Hex | null,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The relay queue shared by every instance: an api instance inserts (ON CONFLICT on the id, so the
 * same signed operation sent to two instances is one row), a worker's lane claims with FOR UPDATE
 * SKIP LOCKED (two lanes claiming at once never take the same request), and the moves out of
 * `queued` are single conditional UPDATEs (a request is sent or failed once).
 */
export class PgRelayRequests implements RelayRequestRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly scope: CurrencyScope,
  ) {}

  /** The stored row is returned whatever its currency: the id (the calldata's keccak) is the request. */
  async enqueue(r: NewRelayRequest): Promise<{ record: RelayRequestRecord; inserted: boolean }> {
    const currency = r.currency === undefined ? this.scope.forNew : this.scope.accept(r.currency);
    const inserted = await this.conn.rows<RelayRow>(
      `INSERT INTO relay_requests (id, operation, calldata, payer, deadline, state, created_at, updated_at, currency)
       VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        hex(r.id),
        r.operation,
        hex(r.calldata),
        hexOrNull(r.payer),
        decOrNull(r.deadline),
        RelayState.Queued,
        r.now,
        currency,
      ],
    );
    if (inserted.length) return { record: toRelayRequest(inserted[0]), inserted: true };
    // Stored by another request (committed: the conflicting insert waited for it).
    const existing = await this.conn.rows<RelayRow>("SELECT * FROM relay_requests WHERE id = $1", [hex(r.id)]);
    if (!existing.length) throw new Error(`relay request ${r.id} conflicted but is not stored`);
    return { record: toRelayRequest(existing[0]), inserted: false };
  }

  async get(id: Hex): Promise<RelayRequestRecord | null> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<RelayRow>(`SELECT * FROM relay_requests WHERE id = $1${scope.sql}`, [
      hex(id),
      ...scope.values,
    ]);
    return rows.length ? toRelayRequest(rows[0]) : null;
  }

  async claim(lease: string, now: number, limit: number): Promise<RelayRequestRecord[]> {
    const first = this.scope.pg(2);
    // A read first: an empty queue (the usual case) costs one indexed statement, no transaction.
    const any = await this.conn.rows(`SELECT 1 FROM relay_requests WHERE state = $1${first.sql} LIMIT 1`, [
      RelayState.Queued,
      ...first.values,
    ]);
    if (any.length === 0) return [];
    const inner = this.scope.pg(5, "r.currency");
    const mine = this.scope.pg(3);
    return this.conn.atomic(async (db) => {
      // Unclaimed, or claimed by a lane whose lease is released or expired (its worker is gone);
      // SKIP LOCKED: rows another lane is claiming right now are left to it.
      await db.query(
        `UPDATE relay_requests SET claimed_by = $1, updated_at = $2 WHERE id IN (
           SELECT r.id FROM relay_requests r WHERE r.state = $3${inner.sql} AND (r.claimed_by IS NULL OR
             (r.claimed_by <> $1 AND NOT EXISTS (
               SELECT 1 FROM leases l WHERE l.name = r.claimed_by AND l.holder <> '' AND l.expires_at > $2)))
           ORDER BY r.created_at, r.id LIMIT $4 FOR UPDATE SKIP LOCKED)`,
        [lease, now, RelayState.Queued, limit, ...inner.values],
      );
      const { rows } = await db.query<RelayRow>(
        `SELECT * FROM relay_requests WHERE state = $1 AND claimed_by = $2${mine.sql} ORDER BY created_at, id`,
        [RelayState.Queued, lease, ...mine.values],
      );
      return rows.map(toRelayRequest);
    });
  }

  async release(id: Hex, lease: string, now: number): Promise<void> {
    const scope = this.scope.pg(5);
    await this.conn.query(
      `UPDATE relay_requests SET claimed_by = NULL, updated_at = $1
         WHERE id = $2 AND claimed_by = $3 AND state = $4${scope.sql}`,
      [now, hex(id), lease, RelayState.Queued, ...scope.values],
    );
  }

  async markSent(id: Hex, txHash: Hex, now: number): Promise<boolean> {
    const scope = this.scope.pg(6);
    const result = await this.conn.query(
      `UPDATE relay_requests SET state = $1, tx_hash = $2, updated_at = $3 WHERE id = $4 AND state = $5${scope.sql}`,
      [RelayState.Sent, hex(txHash), now, hex(id), RelayState.Queued, ...scope.values],
    );
    return result.rowCount === 1;
  }

  async markFailed(id: Hex, code: string, message: string, now: number): Promise<boolean> {
    const scope = this.scope.pg(7);
    const result = await this.conn.query(
      `UPDATE relay_requests SET state = $1, error_code = $2, error_message = $3, updated_at = $4
       WHERE id = $5 AND state = $6${scope.sql}`,
      [RelayState.Failed, code, message, now, hex(id), RelayState.Queued, ...scope.values],
    );
    return result.rowCount === 1;
  }

  async countByState(): Promise<Record<RelayState, number>> {
    const counts = { queued: 0, sent: 0, failed: 0 } as Record<RelayState, number>;
    const scope = this.scope.pg(1);
    const rows = await this.conn.rows<{ state: RelayState; n: number }>(
      `SELECT state, COUNT(*) AS n FROM relay_requests WHERE TRUE${scope.sql} GROUP BY state`,
      scope.values,
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async pruneFinishedBefore(before: number, limit: number): Promise<number> {
    const scope = this.scope.pg(5);
    const result = await this.conn.query(
      `DELETE FROM relay_requests WHERE id IN (
         SELECT id FROM relay_requests WHERE state IN ($1, $2) AND updated_at < $3${scope.sql} LIMIT $4)`,
      [RelayState.Sent, RelayState.Failed, before, limit, ...scope.values],
    );
    return result.rowCount ?? 0;
  }
}
