/** The report index on PostgreSQL: report_events and its cursor per currency (migrations 13, 16). */
import type { ReportEvent } from "../../../protocol/reports";
import type { Hex } from "../../domain";
import type { IndexedReportEvent, ReportIndexCursor, ReportIndexRepository } from "../types";
import { encodeReportFields, readReportRows, type ReportEventRow } from "../reportEventCodec";
import type { PgConnection } from "./connection";
import type { CurrencyScope } from "../currencyScope";

/** Rows per INSERT statement (9 parameters each, well under PostgreSQL's 65535). */
const INSERT_ROWS = 1_000;

export class PgReportIndex implements ReportIndexRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly scope: CurrencyScope,
  ) {}

  async cursor(): Promise<ReportIndexCursor | null> {
    const rows = await this.conn.rows<{ block_number: string; block_hash: string; block_time: string }>(
      "SELECT block_number, block_hash, block_time FROM report_index_cursor WHERE currency = $1",
      [this.scope.forNew],
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
    for (const { currency } of events) this.scope.accept(currency);
    return this.conn.transaction(async () => {
      for (let start = 0; start < events.length; start += INSERT_ROWS) {
        const chunk = events.slice(start, start + INSERT_ROWS);
        const values: unknown[] = [];
        const tuples = chunk.map(({ currency, event, orderRef }, i) => {
          values.push(
            event.blockNumber.toString(),
            event.logIndex,
            event.merchantId.toString(),
            event.txHash.toLowerCase(),
            event.timestamp,
            event.kind,
            encodeReportFields(event),
            orderRef === null ? null : orderRef.toLowerCase(),
            currency,
          );
          const p = i * 9;
          return `($${p + 1}::bigint, $${p + 2}, $${p + 3}::numeric, $${p + 4}, $${p + 5}::bigint, $${p + 6}, $${p + 7}, $${p + 8}, $${p + 9})`;
        });
        await this.conn.query(
          `INSERT INTO report_events (block_number, log_index, merchant_id, tx_hash, block_time, kind, fields, order_ref,
             currency) VALUES ${tuples.join(", ")} ON CONFLICT (block_number, log_index) DO NOTHING`,
          values,
        );
      }
      await this.setCursor(cursor);
    });
  }

  rewind(cursor: ReportIndexCursor | null): Promise<void> {
    const currency = this.scope.forNew;
    return this.conn.transaction(async () => {
      if (cursor === null) {
        await this.conn.query("DELETE FROM report_events WHERE currency = $1", [currency]);
        await this.conn.query("DELETE FROM report_index_cursor WHERE currency = $1", [currency]);
        return;
      }
      await this.conn.query("DELETE FROM report_events WHERE block_number > $1::bigint AND currency = $2", [
        cursor.blockNumber.toString(),
        currency,
      ]);
      await this.setCursor(cursor);
    });
  }

  async events(merchantId: bigint, toBlock: bigint): Promise<{ events: ReportEvent[]; orderRefs: Map<Hex, Hex> }> {
    const scope = this.scope.pg(3);
    const rows = await this.conn.rows<ReportEventRow>(
      `SELECT block_number, log_index, merchant_id, tx_hash, block_time, kind, fields, order_ref FROM report_events
       WHERE merchant_id = $1::numeric${scope.sql} AND block_number <= $2::bigint ORDER BY block_number, log_index`,
      [merchantId.toString(), toBlock.toString(), ...scope.values],
    );
    return readReportRows(rows);
  }

  private async setCursor(cursor: ReportIndexCursor): Promise<void> {
    await this.conn.query(
      `INSERT INTO report_index_cursor (currency, block_number, block_hash, block_time)
       VALUES ($4, $1::bigint, $2, $3::bigint)
       ON CONFLICT (currency) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
         block_time = excluded.block_time`,
      [cursor.blockNumber.toString(), cursor.blockHash.toLowerCase(), cursor.timestamp, this.scope.forNew],
    );
  }
}
