/** The report index on SQLite: report_events and its cursor per currency (migrations 13, 16). */
import type { ReportEvent } from "../../../protocol/reports";
import type { Hex } from "../../domain";
import type { IndexedReportEvent, ReportIndexCursor, ReportIndexRepository } from "../types";
import { encodeReportFields, readReportRows, type ReportEventRow } from "../reportEventCodec";
import type { Connection } from "./connection";
import { dec, hex } from "./codec";
import type { CurrencyScope } from "../currencyScope";

export class SqliteReportIndex implements ReportIndexRepository {
  constructor(
    private readonly conn: Connection,
    private readonly scope: CurrencyScope,
  ) {}

  cursor(): Promise<ReportIndexCursor | null> {
    return this.conn.run(() => {
      const row = this.conn
        .prepare("SELECT block_number, block_hash, block_time FROM report_index_cursor WHERE currency = ?")
        .get(this.scope.forNew) as { block_number: number; block_hash: string; block_time: number } | undefined;
      return row
        ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash as Hex, timestamp: row.block_time }
        : null;
    });
  }

  append(events: readonly IndexedReportEvent[], cursor: ReportIndexCursor): Promise<void> {
    for (const { currency } of events) this.scope.accept(currency);
    return this.conn.atomic(() => {
      const insert = this.conn.prepare(
        `INSERT INTO report_events (currency, block_number, log_index, merchant_id, tx_hash, block_time, kind, fields,
           order_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (block_number, log_index) DO NOTHING`,
      );
      for (const { currency, event, orderRef } of events) {
        insert.run(
          currency,
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
    const currency = this.scope.forNew;
    return this.conn.atomic(() => {
      if (cursor === null) {
        this.conn.prepare("DELETE FROM report_events WHERE currency = ?").run(currency);
        this.conn.prepare("DELETE FROM report_index_cursor WHERE currency = ?").run(currency);
        return;
      }
      this.conn
        .prepare("DELETE FROM report_events WHERE block_number > ? AND currency = ?")
        .run(cursor.blockNumber, currency);
      this.setCursor(cursor);
    });
  }

  events(merchantId: bigint, toBlock: bigint): Promise<{ events: ReportEvent[]; orderRefs: Map<Hex, Hex> }> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT * FROM report_events WHERE merchant_id = ?${scope.sql} AND block_number <= ?
           ORDER BY block_number, log_index`,
        )
        .all(dec(merchantId), ...scope.values, toBlock) as ReportEventRow[];
      return readReportRows(rows);
    });
  }

  private setCursor(cursor: ReportIndexCursor): void {
    this.conn
      .prepare(
        `INSERT INTO report_index_cursor (currency, block_number, block_hash, block_time) VALUES (?, ?, ?, ?)
         ON CONFLICT (currency) DO UPDATE SET block_number = excluded.block_number,
           block_hash = excluded.block_hash, block_time = excluded.block_time`,
      )
      .run(this.scope.forNew, cursor.blockNumber, hex(cursor.blockHash), cursor.timestamp);
  }
}
