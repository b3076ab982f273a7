import { RelayState, type Hex, type RelayOperation, type RelayRequestRecord } from "../../domain";
import type { NewRelayRequest, RelayRequestRepository } from "../types";
import { bigOrNull, decOrNull, hex, hexOrNull } from "./codec";
import type { Connection } from "./connection";
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

export const toRelayRequest = (r: RelayRow): RelayRequestRecord => ({
  id: r.id as Hex,
  currency: r.currency,
  operation: r.operation as RelayOperation,
  calldata: r.calldata as Hex,
  payer: r.payer as Hex | null,
  deadline: bigOrNull(r.deadline),
  state: r.state as RelayState,
  claimedBy: r.claimed_by,
  txHash: r.tx_hash as Hex | null,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The relay queue on the file. A claim is one UPDATE in a BEGIN IMMEDIATE transaction: SQLite has
 * one writer at a time, so two processes on the file never claim the same request.
 */
export class SqliteRelayRequests implements RelayRequestRepository {
  constructor(
    private readonly conn: Connection,
    private readonly scope: CurrencyScope,
  ) {}

  /** The stored row is returned whatever its currency: the id (the calldata's keccak) is the request. */
  enqueue(r: NewRelayRequest): Promise<{ record: RelayRequestRecord; inserted: boolean }> {
    const currency = r.currency === undefined ? this.scope.forNew : this.scope.accept(r.currency);
    return this.conn.atomic(() => {
      const { changes } = this.conn
        .prepare(
          `INSERT INTO relay_requests (id, currency, operation, calldata, payer, deadline, state, created_at,
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .run(
          hex(r.id),
          currency,
          r.operation,
          hex(r.calldata),
          hexOrNull(r.payer),
          decOrNull(r.deadline),
          RelayState.Queued,
          r.now,
          r.now,
        );
      const row = this.conn.prepare("SELECT * FROM relay_requests WHERE id = ?").get(hex(r.id)) as RelayRow;
      return { record: toRelayRequest(row), inserted: changes === 1 };
    });
  }

  get(id: Hex): Promise<RelayRequestRecord | null> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const row = this.conn
        .prepare(`SELECT * FROM relay_requests WHERE id = ?${scope.sql}`)
        .get(hex(id), ...scope.values) as RelayRow | undefined;
      return row ? toRelayRequest(row) : null;
    });
  }

  async claim(lease: string, now: number, limit: number): Promise<RelayRequestRecord[]> {
    const scope = this.scope.sqlite();
    const inner = this.scope.sqlite("r.currency");
    // A read first: an empty queue (the usual case) never takes the write lock.
    const any = await this.conn.run(() =>
      this.conn
        .prepare(`SELECT 1 FROM relay_requests WHERE state = ?${scope.sql} LIMIT 1`)
        .get(RelayState.Queued, ...scope.values),
    );
    if (!any) return [];
    return this.conn.atomic(() => {
      // Unclaimed, or claimed by a lane whose lease is released or expired (its worker is gone).
      this.conn
        .prepare(
          `UPDATE relay_requests SET claimed_by = ?, updated_at = ? WHERE id IN (
             SELECT r.id FROM relay_requests r WHERE r.state = ?${inner.sql} AND (r.claimed_by IS NULL OR
               (r.claimed_by <> ? AND NOT EXISTS (
                 SELECT 1 FROM leases l WHERE l.name = r.claimed_by AND l.holder <> '' AND l.expires_at > ?)))
             ORDER BY r.created_at, r.id LIMIT ?)`,
        )
        .run(lease, now, RelayState.Queued, ...inner.values, lease, now, limit);
      const rows = this.conn
        .prepare(`SELECT * FROM relay_requests WHERE state = ? AND claimed_by = ?${scope.sql} ORDER BY created_at, id`)
        .all(RelayState.Queued, lease, ...scope.values) as RelayRow[];
      return rows.map(toRelayRequest);
    });
  }

  release(id: Hex, lease: string, now: number): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare(
          `UPDATE relay_requests SET claimed_by = NULL, updated_at = ?
             WHERE id = ? AND claimed_by = ? AND state = ?${this.scope.sqlite().sql}`,
        )
        .run(now, hex(id), lease, RelayState.Queued, ...this.scope.sqlite().values);
    });
  }

  markSent(id: Hex, txHash: Hex, now: number): Promise<boolean> {
    return this.conn.run(() => {
      const { changes } = this.conn
        .prepare(
          `UPDATE relay_requests SET state = ?, tx_hash = ?, updated_at = ?
             WHERE id = ? AND state = ?${this.scope.sqlite().sql}`,
        )
        .run(RelayState.Sent, hex(txHash), now, hex(id), RelayState.Queued, ...this.scope.sqlite().values);
      return changes === 1;
    });
  }

  markFailed(id: Hex, code: string, message: string, now: number): Promise<boolean> {
    return this.conn.run(() => {
      const { changes } = this.conn
        .prepare(
          `UPDATE relay_requests SET state = ?, error_code = ?, error_message = ?, updated_at = ?
           WHERE id = ? AND state = ?${this.scope.sqlite().sql}`,
        )
        .run(RelayState.Failed, code, message, now, hex(id), RelayState.Queued, ...this.scope.sqlite().values);
      return changes === 1;
    });
  }

  countByState(): Promise<Record<RelayState, number>> {
    return this.conn.run(() => {
      const counts = { queued: 0, sent: 0, failed: 0 } as Record<RelayState, number>;
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(`SELECT state, COUNT(*) AS n FROM relay_requests WHERE 1 = 1${scope.sql} GROUP BY state`)
        .all(...scope.values) as {
        state: RelayState;
        n: number;
      }[];
      for (const row of rows) counts[row.state] = row.n;
      return counts;
    });
  }

  pruneFinishedBefore(before: number, limit: number): Promise<number> {
    return this.conn.run(() => {
      const { changes } = this.conn
        .prepare(
          `DELETE FROM relay_requests WHERE id IN (
             SELECT id FROM relay_requests WHERE state IN (?, ?) AND updated_at < ?${this.scope.sqlite().sql} LIMIT ?)`,
        )
        .run(RelayState.Sent, RelayState.Failed, before, ...this.scope.sqlite().values, limit);
      return changes;
    });
  }
}
