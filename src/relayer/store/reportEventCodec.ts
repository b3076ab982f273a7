/**
 * A report event as the report index stores it: the columns both stores share (position, merchant,
 * kind) and the kind's own fields as JSON with integers as decimal strings, so a row turns back
 * into exactly the ReportEvent that was written.
 */
import type { ReportEvent, ReportEventKind } from "../../protocol/reports";
import type { Hex } from "../domain";

/** The stored row of one event (block numbers and merchant ids as the store's driver returns them). */
export interface ReportEventRow {
  block_number: string | number | bigint;
  log_index: number;
  merchant_id: string | number | bigint;
  tx_hash: string;
  block_time: string | number | bigint;
  kind: string;
  fields: string;
  order_ref: string | null;
}

const POSITION = new Set(["kind", "merchantId", "blockNumber", "logIndex", "txHash", "timestamp"]);

/** The kind's own fields of `event` as JSON (bigint → decimal string; hex and booleans as they are). */
export function encodeReportFields(event: ReportEvent): string {
  const own: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(event)) {
    if (POSITION.has(key)) continue;
    own[key] = typeof value === "bigint" ? value.toString(10) : (value as string | boolean);
  }
  return JSON.stringify(own);
}

/** Fields that are hex or booleans; every other own field is an integer. */
const NOT_INTEGER = new Set(["paymentId", "payer", "payout", "byTimeout"]);

export function decodeReportEvent(row: ReportEventRow): ReportEvent {
  const own = JSON.parse(row.fields) as Record<string, string | boolean>;
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(own)) {
    fields[key] = NOT_INTEGER.has(key) ? value : BigInt(value as string);
  }
  return {
    blockNumber: BigInt(row.block_number),
    logIndex: Number(row.log_index),
    txHash: row.tx_hash as Hex,
    timestamp: Number(row.block_time),
    merchantId: BigInt(row.merchant_id),
    kind: row.kind as ReportEventKind,
    ...fields,
  } as ReportEvent;
}

/** Rows in chain order → the events and the escrowed payments' order references. */
export function readReportRows(rows: readonly ReportEventRow[]): { events: ReportEvent[]; orderRefs: Map<Hex, Hex> } {
  const events: ReportEvent[] = [];
  const orderRefs = new Map<Hex, Hex>();
  for (const row of rows) {
    const event = decodeReportEvent(row);
    events.push(event);
    if (event.kind === "escrowed" && row.order_ref !== null) orderRefs.set(event.paymentId, row.order_ref as Hex);
  }
  return { events, orderRefs };
}
