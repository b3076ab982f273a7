import { RelayState, type Hex, type RelayOperation, type RelayRequestRecord } from "../../domain";
import type { NewRelayRequest, RelayRequestRepository } from "../types";
import { decOrNull, hex, hexOrNull } from "../sqlite/codec";
import type { PgConnection } from "./connection";

interface RelayRow {
  id: string;
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
  constructor(private readonly conn: PgConnection) {}

  async enqueue(r: NewRelayRequest): Promise<{ record: RelayRequestRecord; inserted: boolean }> {
    const inserted = await this.conn.rows<RelayRow>(
      `INSERT INTO relay_requests (id, operation, calldata, payer, deadline, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $7) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [hex(r.id), r.operation, hex(r.calldata), hexOrNull(r.payer), decOrNull(r.deadline), RelayState.Queued, r.now],
    );
    if (inserted.length) return { record: toRelayRequest(inserted[0]), inserted: true };
    // Stored by another request (committed: the conflicting insert waited for it).
    const existing = await this.get(r.id);
    if (!existing) throw new Error(`relay request ${r.id} conflicted but is not stored`);
    return { record: existing, inserted: false };
  }

  async get(id: Hex): Promise<RelayRequestRecord | null> {
    const rows = await this.conn.rows<RelayRow>("SELECT * FROM relay_requests WHERE id = $1", [hex(id)]);
    return rows.length ? toRelayRequest(rows[0]) : null;
  }

  async claim(lease: string, now: number, limit: number): Promise<RelayRequestRecord[]> {
    // A read first: an empty queue (the usual case) costs one indexed statement, no transaction.
    const any = await this.conn.rows("SELECT 1 FROM relay_requests WHERE state = $1 LIMIT 1", [RelayState.Queued]);
    if (any.length === 0) return [];
    return this.conn.atomic(async (db) => {
      // Unclaimed, or claimed by a lane whose lease is released or expired (its worker is gone);
      // SKIP LOCKED: rows another lane is claiming right now are left to it.
      await db.query(
        `UPDATE relay_requests SET claimed_by = $1, updated_at = $2 WHERE id IN (
           SELECT r.id FROM relay_requests r WHERE r.state = $3 AND (r.claimed_by IS NULL OR (r.claimed_by <> $1 AND
             NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = r.claimed_by AND l.holder <> '' AND l.expires_at > $2)))
           ORDER BY r.created_at, r.id LIMIT $4 FOR UPDATE SKIP LOCKED)`,
        [lease, now, RelayState.Queued, limit],
      );
      const { rows } = await db.query<RelayRow>(
        "SELECT * FROM relay_requests WHERE state = $1 AND claimed_by = $2 ORDER BY created_at, id",
        [RelayState.Queued, lease],
      );
      return rows.map(toRelayRequest);
    });
  }

  async release(id: Hex, lease: string, now: number): Promise<void> {
    await this.conn.query(
      "UPDATE relay_requests SET claimed_by = NULL, updated_at = $1 WHERE id = $2 AND claimed_by = $3 AND state = $4",
      [now, hex(id), lease, RelayState.Queued],
    );
  }

  async markSent(id: Hex, txHash: Hex, now: number): Promise<boolean> {
    const result = await this.conn.query(
      "UPDATE relay_requests SET state = $1, tx_hash = $2, updated_at = $3 WHERE id = $4 AND state = $5",
      [RelayState.Sent, hex(txHash), now, hex(id), RelayState.Queued],
    );
    return result.rowCount === 1;
  }

  async markFailed(id: Hex, code: string, message: string, now: number): Promise<boolean> {
    const result = await this.conn.query(
      `UPDATE relay_requests SET state = $1, error_code = $2, error_message = $3, updated_at = $4
       WHERE id = $5 AND state = $6`,
      [RelayState.Failed, code, message, now, hex(id), RelayState.Queued],
    );
    return result.rowCount === 1;
  }

  async countByState(): Promise<Record<RelayState, number>> {
    const counts = { queued: 0, sent: 0, failed: 0 } as Record<RelayState, number>;
    const rows = await this.conn.rows<{ state: RelayState; n: number }>(
      "SELECT state, COUNT(*) AS n FROM relay_requests GROUP BY state",
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async pruneFinishedBefore(before: number, limit: number): Promise<number> {
    const result = await this.conn.query(
      `DELETE FROM relay_requests WHERE id IN (
         SELECT id FROM relay_requests WHERE state IN ($1, $2) AND updated_at < $3 LIMIT $4)`,
      [RelayState.Sent, RelayState.Failed, before, limit],
    );
    return result.rowCount ?? 0;
  }
}
