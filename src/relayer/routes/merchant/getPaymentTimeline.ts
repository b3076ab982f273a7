import { IdParams, PaymentTimelineView, type TimelineEntry } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { PaymentState, type Hex, type PaymentRecord, type SettlementRecord } from "../../domain";
import type { RouteContext } from "../../http/context";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { servedOf } from "../../http/currencies";
import { timerView } from "../../views";
import type { PaymentChainEvent } from "../../chain/chainView";
import { refundReasonName } from "../../../protocol";

/** Settlement pages read at most while looking for the one that paid out a payment's batch. */
const SETTLEMENT_PAGES = 20;

const iso = (ms: number): string => new Date(ms).toISOString();
const isoSeconds = (seconds: bigint): string => iso(Number(seconds) * 1000);

const entry = (e: Omit<TimelineEntry, "blockNumber" | "txHash"> & Partial<TimelineEntry>): TimelineEntry => ({
  blockNumber: null,
  txHash: null,
  ...e,
});

/** One escrow event as a timeline step: its kind and its amounts as decimal strings. */
function chainEntry(e: PaymentChainEvent): TimelineEntry {
  const where = { source: "chain" as const, at: iso(e.timestamp * 1000), blockNumber: e.blockNumber, txHash: e.txHash };
  const ev = e.event;
  switch (ev.name) {
    case "PaymentEscrowed":
      return { ...where, kind: "escrowed", details: { batchId: `${ev.batchId}`, amount: `${ev.amount}` } };
    case "PaymentRejected":
      return { ...where, kind: "rejected", details: { reason: `${ev.reason}` } };
    case "PaymentConfirmed":
      return { ...where, kind: "confirmed", details: { released: `${ev.released}`, fee: `${ev.fee}` } };
    case "PaymentRefunded":
      return { ...where, kind: "refunded", details: { amount: `${ev.amount}`, totalRefunded: `${ev.totalRefunded}` } };
    case "DisputeOpened":
      return {
        ...where,
        kind: "dispute_opened",
        details: { amount: `${ev.amount}`, expiresAt: iso(Number(ev.expiresAt) * 1000) },
      };
    case "DisputeResolved":
      return {
        ...where,
        kind: "dispute_resolved",
        details: {
          toPayer: `${ev.toPayer}`,
          toMerchant: `${ev.toMerchant}`,
          fee: `${ev.fee}`,
          byTimeout: `${ev.byTimeout}`,
        },
      };
    case "HoldExtended":
      return {
        ...where,
        kind: "hold_extended",
        details: { releaseAt: isoSeconds(ev.releaseAt), extensions: `${ev.extensions}` },
      };
    case "RefundRequested":
      return {
        ...where,
        kind: "refund_requested",
        details: {
          amount: `${ev.amount}`,
          reason: refundReasonName(Number(ev.reason)),
          holdLeft: `${ev.holdLeft}`,
          respondBy: isoSeconds(ev.respondBy),
        },
      };
    case "RefundRequestRejected":
      return {
        ...where,
        kind: "refund_request_rejected",
        details: { escalateBy: isoSeconds(ev.escalateBy), releaseAt: isoSeconds(ev.releaseAt) },
      };
    case "HoldResumed":
      return { ...where, kind: "hold_resumed", details: { releaseAt: isoSeconds(ev.releaseAt) } };
    case "PaymentReleased":
      return { ...where, kind: "released", details: { released: `${ev.released}`, fee: `${ev.fee}` } };
  }
}

/** The settlement that paid out the payment's batch, if the relayer made one (newest first, bounded). */
async function settlementOf(ctx: RouteContext, record: PaymentRecord): Promise<SettlementRecord | null> {
  if (record.batchId === null || record.state !== PaymentState.Settled) return null;
  let cursor: string | undefined;
  for (let i = 0; i < SETTLEMENT_PAGES; i++) {
    const page = await ctx.store.settlements.listByMerchant(record.merchantId, 100, cursor);
    const found = page.items.find((s) => s.batchIds.includes(record.batchId!) && s.txHash !== null);
    if (found) return found;
    if (!page.nextCursor) return null;
    cursor = page.nextCursor;
  }
  return null;
}

/**
 * GET /v1/merchant/payments/:id/timeline — the payment's life: what the relayer recorded (accepted,
 * batched, the settlement that paid it out) and what the escrow emitted about it (escrowed,
 * confirmed, refunds, disputes and rulings, the order timer's extensions, refund requests and their
 * answers, its release; with block and transaction). The response also carries the payment's timer. Chain events are read
 * from the block of the batch that escrowed it. Another merchant's payment is 404 not_found, like
 * one that does not exist.
 */
export default defineRoute(
  "GET /v1/merchant/payments/:id/timeline",
  "A payment's timeline (relayer records and escrow events)",
  { auth: "merchant", params: IdParams, response: { 200: PaymentTimelineView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const record = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
    if (!record || record.merchantId !== merchantId) throw new ApiError("not_found", "no such payment");

    const entries: TimelineEntry[] = [
      entry({
        kind: "accepted",
        source: "relayer",
        at: iso(record.createdAt),
        details: { amount: `${record.amount}` },
      }),
    ];
    const batch = record.batchKey === null ? null : await ctx.store.batches.get(record.batchKey);
    if (batch) {
      entries.push(
        entry({
          kind: "batched",
          source: "relayer",
          at: iso(batch.createdAt),
          txHash: batch.txHash,
          blockNumber: batch.blockNumber === null ? null : Number(batch.blockNumber),
          details: { batch: `${batch.key}`, state: batch.state },
        }),
      );
    }
    const events = record.txHash ? await servedOf(ctx, record).chain.paymentEvents(record.id, record.txHash) : [];
    entries.push(...events.map(chainEntry));
    if (record.state === PaymentState.Rejected && !events.some((e) => e.event.name === "PaymentRejected")) {
      entries.push(
        entry({
          kind: "rejected",
          source: "relayer",
          at: iso(record.updatedAt),
          details: { reason: `${record.rejectReason}` },
        }),
      );
    }
    const settlement = await settlementOf(ctx, record);
    if (settlement) {
      entries.push(
        entry({
          kind: "settled",
          source: "relayer",
          at: iso(settlement.updatedAt),
          txHash: settlement.txHash,
          details: { settlement: `${settlement.key}`, state: settlement.state },
        }),
      );
    }
    const paid = record.requestId ? await ctx.store.requests.get(record.requestId) : null;
    return {
      paymentId: record.id,
      state: record.state,
      amount: `${record.amount}`,
      refunded: `${record.refunded}`,
      orderRef: record.orderRef,
      orderRefText: paid?.orderRefText ?? null,
      timer: timerView(record),
      entries,
    };
  },
);
