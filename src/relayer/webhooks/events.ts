import { createHash } from "node:crypto";
import type { PaymentRecord, PaymentState } from "../domain";
import { paymentView } from "../views";
import type { OutboxEvent, RelayerStore } from "../store/types";

/**
 * `payment.<state>` on every state change, plus the order timer's steps that a state alone does
 * not name: an extension (also a second one, which leaves the payment `held`), a rejection, and the
 * clock resuming after a partial refund. A release by the payment's own timer is `payment.released`
 * like a payer's confirmation (both put the money in the merchant's released balance; `data.timer`
 * is set for the former).
 */
export const ORDER_TIMER_EVENT_TYPES = [
  "payment.hold_extended",
  "payment.refund_request_rejected",
  "payment.hold_resumed",
] as const;
export type PaymentEventType = `payment.${PaymentState}` | (typeof ORDER_TIMER_EVENT_TYPES)[number];

export const paymentEventType = (state: PaymentState): PaymentEventType => `payment.${state}`;

/**
 * The event id is derived, not random: the same state change (payment, type, and the updatedAt
 * stamped by that change) always yields the same id. A job that crashes after changing state but
 * before it knows the event was queued simply enqueues again, and the outbox's unique
 * (event, endpoint) key turns the repeat into a no-op; a receiver dedupes on the same id.
 */
export function paymentEventId(payment: Pick<PaymentRecord, "id" | "updatedAt">, eventType: string): string {
  const digest = createHash("sha256")
    .update(`${payment.id.toLowerCase()}|${eventType}|${payment.updatedAt}`)
    .digest("hex");
  return `evt_${digest.slice(0, 32)}`;
}

export interface PaymentEvent {
  id: string;
  type: string;
  /**
   * 1, 2, 3... per payment in the order its state changed (numbers may be skipped). Deliveries are
   * not ordered (retries overtake), so a receiver keeps the highest sequence seen per payment and
   * ignores an event with a lower one.
   */
  sequence: number;
  /** ISO 8601, like the API's timestamps. */
  createdAt: string;
  /** The payment as GET /v1/payments/:id shows it (bigints as decimal strings). */
  data: ReturnType<typeof paymentView>;
}

export function buildPaymentEvent(
  payment: PaymentRecord,
  eventType: string,
  now: number,
  sequence: number,
): PaymentEvent {
  return {
    id: paymentEventId(payment, eventType),
    type: eventType,
    sequence,
    createdAt: new Date(now).toISOString(),
    data: paymentView(payment),
  };
}

/** The outbox entry of a payment's event: numbered in its payment's sequence by the store. */
export function paymentOutboxEvent(payment: PaymentRecord, eventType: string, now: number): OutboxEvent {
  return {
    eventId: paymentEventId(payment, eventType),
    merchantId: payment.merchantId,
    eventType,
    sequenceKey: payment.id.toLowerCase(),
    payload: (sequence) => JSON.stringify(buildPaymentEvent(payment, eventType, now, sequence)),
    now,
  };
}

/**
 * Queues one delivery of the event per active endpoint of the payment's merchant. Call it inside
 * the transaction that changed the payment's state, so the event exists if and only if the change
 * does. Returns the number of deliveries queued (0 when the merchant has no endpoint, or when this
 * event was queued before).
 */
export async function enqueuePaymentEvent(
  store: RelayerStore,
  payment: PaymentRecord,
  eventType: string = paymentEventType(payment.state),
  now: number = Date.now(),
): Promise<number> {
  // Building and serialising the event is most of the cost: skip it when nobody listens.
  if (!(await store.outbox.hasLiveEndpoints(payment.merchantId))) return 0;
  return store.outbox.enqueue(paymentOutboxEvent(payment, eventType, now));
}

/**
 * `enqueuePaymentEvent` for many state changes in two store calls (which merchants listen, then
 * one insert of every event), whatever their number: inside a job's transaction every await lets
 * the HTTP thread's backlog run while the SQLite write lock is held, so awaits are kept few.
 */
export async function enqueuePaymentEvents(
  store: RelayerStore,
  items: readonly { payment: PaymentRecord; eventType?: string }[],
  now: number = Date.now(),
): Promise<number> {
  if (items.length === 0) return 0;
  const listening = await store.outbox.merchantsWithLiveEndpoints([...new Set(items.map((i) => i.payment.merchantId))]);
  if (listening.size === 0) return 0;
  const events = items
    .filter((i) => listening.has(i.payment.merchantId))
    .map(({ payment, eventType = paymentEventType(payment.state) }) => paymentOutboxEvent(payment, eventType, now));
  return store.outbox.enqueueMany(events);
}
