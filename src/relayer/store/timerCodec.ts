/**
 * A payment's order timer (domain.ts OrderTimer) as both stores keep it: one JSON text column,
 * bigints as decimal strings. The stores derive two indexed columns from it (migration 15):
 * `timer_due_at` (the keeper's due list) and `timer_block` (what a reorg rewind must re-check).
 */
import type { OrderTimer } from "../domain";

interface TimerJson {
  extensions: number;
  refundRequests: number;
  holdLeft: string | null;
  request: { amount: string; reason: number; respondBy: string } | null;
  escalateBy: string | null;
  dueAt: string | null;
  block: string;
  logIndex: number;
}

const str = (v: bigint | null): string | null => (v === null ? null : v.toString(10));
const big = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

export function encodeTimer(timer: OrderTimer | null | undefined): string | null {
  if (!timer) return null;
  const json: TimerJson = {
    extensions: timer.extensions,
    refundRequests: timer.refundRequests,
    holdLeft: str(timer.holdLeft),
    request: timer.request && {
      amount: timer.request.amount.toString(10),
      reason: timer.request.reason,
      respondBy: timer.request.respondBy.toString(10),
    },
    escalateBy: str(timer.escalateBy),
    dueAt: str(timer.dueAt),
    block: timer.block.toString(10),
    logIndex: timer.logIndex,
  };
  return JSON.stringify(json);
}

export function decodeTimer(text: string | null | undefined): OrderTimer | null {
  if (text === null || text === undefined) return null;
  const json = JSON.parse(text) as TimerJson;
  return {
    extensions: json.extensions,
    refundRequests: json.refundRequests,
    holdLeft: big(json.holdLeft),
    request: json.request && {
      amount: BigInt(json.request.amount),
      reason: json.request.reason,
      respondBy: BigInt(json.request.respondBy),
    },
    escalateBy: big(json.escalateBy),
    dueAt: big(json.dueAt),
    block: BigInt(json.block),
    logIndex: json.logIndex,
  };
}
