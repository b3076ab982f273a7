/** The report index on PostgreSQL: report_events and its one-row cursor (migration 13). */
import type { ReportEvent } from "../../../protocol/reports";
import type { Hex } from "../../domain";
import type { IndexedReportEvent, ReportIndexCursor, ReportIndexRepository } from "../types";
import { encodeReportFields, readReportRows, type ReportEventRow } from "../reportEventCodec";
import type { PgConnection } from "./connection";

/** Rows per INSERT statement (8 parameters each, well under PostgreSQL's 65535). */
const INSERT_ROWS = 1_000;

export class PgReportIndex implements ReportIndexRepository {
  constructor(private readonly conn: PgConnection) {}

  async cursor(): Promise<ReportIndexCursor | null> {
    const rows = await this.conn.rows<{ block_number: string; block_hash: string; block_time: string }>(
      "SELECT block_number, block_hash, block_time FROM report_index_cursor WHERE id = 1",
    );
    return rows.length
      ? {
          blockNumber: BigInt(rows[0].block_number),
          blockHash: rows[0].block_hash as Hex,
          timestamp: Number(rows[0].block_time),
        }
      : null;
  }

  append(events: readonly IndexedReportEvent[], cursor: ReportIndexCursor): Promise<void> {
    return this.conn.transaction(async () => {
      for (let start = 0; start < events.length; start += INSERT_ROWS) {
        const chunk = events.slice(start, start + INSERT_ROWS);
        const values: unknown[] = [];
        const tuples = chunk.map(({ event, orderRef }, i) => {
          values.push(
            event.blockNumber.toString(),
            event.logIndex,
            event.merchantId.toString(),
            event.txHash.toLowerCase(),
            event.timestamp,
            event.kind,
            encodeReportFields(event),
            orderRef === null ? null : orderRef.toLowerCase(),
          );
          const p = i * 8;
          return `($${p + 1}::bigint, $${p + 2}, $${p + 3}::numeric, $${p + 4}, $${p + 5}::bigint, $${p + 6}, $${p + 7}, $${p + 8})`;
        });
        await this.conn.query(
          `INSERT INTO report_events (block_number, log_index, merchant_id, tx_hash, block_time, kind, fields, order_ref)
           VALUES ${tuples.join(", ")} ON CONFLICT (block_number, log_index) DO NOTHING`,
          values,
        );
      }
      await this.setCursor(cursor);
    });
  }

  rewind(cursor: ReportIndexCursor | null): Promise<void> {
    return this.conn.transaction(async () => {
      if (cursor === null) {
        await this.conn.query("DELETE FROM report_events");
        await this.conn.query("DELETE FROM report_index_cursor");
        return;
      }
      await this.conn.query("DELETE FROM report_events WHERE block_number > $1::bigint", [
        cursor.blockNumber.toString(),
      ]);
      await this.setCursor(cursor);
    });
  }

  async events(merchantId: bigint, toBlock: bigint): Promise<{ events: ReportEvent[]; orderRefs: Map<Hex, Hex> }> {
    const rows = await this.conn.rows<ReportEventRow>(
      `SELECT block_number, log_index, merchant_id, tx_hash, block_time, kind, fields, order_ref FROM report_events
       WHERE merchant_id = $1::numeric AND block_number <= $2::bigint ORDER BY block_number, log_index`,
      [merchantId.toString(), toBlock.toString()],
    );
    return readReportRows(rows);
  }

  private async setCursor(cursor: ReportIndexCursor): Promise<void> {
    await this.conn.query(
      `INSERT INTO report_index_cursor (id, block_number, block_hash, block_time) VALUES (1, $1::bigint, $2, $3::bigint)
       ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
         block_time = excluded.block_time`,
      [cursor.blockNumber.toString(), cursor.blockHash.toLowerCase(), cursor.timestamp],
    );
  }
}
