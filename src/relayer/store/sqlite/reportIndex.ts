/** The report index on SQLite: report_events and its one-row cursor (migration 13). */
import type { ReportEvent } from "../../../protocol/reports";
import type { Hex } from "../../domain";
import type { IndexedReportEvent, ReportIndexCursor, ReportIndexRepository } from "../types";
import { encodeReportFields, readReportRows, type ReportEventRow } from "../reportEventCodec";
import type { Connection } from "./connection";
import { dec, hex } from "./codec";

export class SqliteReportIndex implements ReportIndexRepository {
  constructor(private readonly conn: Connection) {}

  cursor(): Promise<ReportIndexCursor | null> {
    return this.conn.run(() => {
      const row = this.conn
        .prepare("SELECT block_number, block_hash, block_time FROM report_index_cursor WHERE id = 1")
        .get() as { block_number: number; block_hash: string; block_time: number } | undefined;
      return row
        ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash as Hex, timestamp: row.block_time }
        : null;
    });
  }

  append(events: readonly IndexedReportEvent[], cursor: ReportIndexCursor): Promise<void> {
    return this.conn.atomic(() => {
      const insert = this.conn.prepare(
        `INSERT INTO report_events (block_number, log_index, merchant_id, tx_hash, block_time, kind, fields, order_ref)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (block_number, log_index) DO NOTHING`,
      );
      for (const { event, orderRef } of events) {
        insert.run(
          event.blockNumber,
          event.logIndex,
          dec(event.merchantId),
          hex(event.txHash),
          event.timestamp,
          event.kind,
          encodeReportFields(event),
          orderRef === null ? null : hex(orderRef),
        );
      }
      this.setCursor(cursor);
    });
  }

  rewind(cursor: ReportIndexCursor | null): Promise<void> {
    return this.conn.atomic(() => {
      if (cursor === null) {
        this.conn.prepare("DELETE FROM report_events").run();
        this.conn.prepare("DELETE FROM report_index_cursor").run();
        return;
      }
      this.conn.prepare("DELETE FROM report_events WHERE block_number > ?").run(cursor.blockNumber);
      this.setCursor(cursor);
    });
  }

  events(merchantId: bigint, toBlock: bigint): Promise<{ events: ReportEvent[]; orderRefs: Map<Hex, Hex> }> {
    return this.conn.run(() => {
      const rows = this.conn
        .prepare(
          `SELECT * FROM report_events WHERE merchant_id = ? AND block_number <= ?
           ORDER BY block_number, log_index`,
        )
        .all(dec(merchantId), toBlock) as ReportEventRow[];
      return readReportRows(rows);
    });
  }

  private setCursor(cursor: ReportIndexCursor): void {
    this.conn
      .prepare(
        `INSERT INTO report_index_cursor (id, block_number, block_hash, block_time) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
           block_time = excluded.block_time`,
      )
      .run(cursor.blockNumber, hex(cursor.blockHash), cursor.timestamp);
  }
}
