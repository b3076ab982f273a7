/** Webhook endpoints as the merchant registers and lists them, and the event each delivery carries. */
import { Type, type Static } from "@sinclair/typebox";
import { DateTime } from "./common";
import { PaymentView } from "./payments";

const NullableTime = Type.Union([DateTime, Type.Null()]);

export const WebhookParams = Type.Object({ id: Type.String({ pattern: "^wh_[A-Za-z0-9_-]{1,64}$" }) });

export const WebhookBody = Type.Object(
  { url: Type.String({ minLength: 8, maxLength: 2048, description: "http(s) URL that receives the events" }) },
  { additionalProperties: false },
);

/** A just-registered endpoint: the only response that carries its secret. */
export const NewWebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  secret: Type.String({ description: "HMAC signing secret of the deliveries: shown only in this response" }),
  createdAt: DateTime,
});
export type NewWebhookView = Static<typeof NewWebhookView>;

/** An endpoint as its merchant sees it: never its secret (shown once, at registration). */
export const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  createdAt: DateTime,
  enabled: Type.Boolean(),
  disabledAt: NullableTime,
  disabledReason: Type.Union([Type.Literal("merchant"), Type.Literal("failing"), Type.Null()], {
    description:
      "merchant: disabled through the API; failing: disabled by the relayer after repeated failed deliveries",
  }),
  consecutiveFailures: Type.Integer({ description: "Failed deliveries in a row (0 after any success)" }),
  failingSince: NullableTime,
  lastError: Type.Union([Type.String(), Type.Null()], { description: "Why the last failed delivery failed" }),
});
export type WebhookView = Static<typeof WebhookView>;

export const WebhookList = Type.Object({ items: Type.Array(WebhookView) });

/** One delivery (queued, made, failing or dead-lettered) of an event to an endpoint. */
export const WebhookDeliveryView = Type.Object({
  eventId: Type.String(),
  type: Type.String({
    description:
      "payment.<state>, or an order-timer step: payment.hold_extended, payment.refund_request_rejected, payment.hold_resumed",
  }),
  status: Type.Union([Type.Literal("delivered"), Type.Literal("pending"), Type.Literal("dead")]),
  attempts: Type.Integer(),
  createdAt: DateTime,
  deliveredAt: NullableTime,
  nextAttemptAt: NullableTime,
  lastError: Type.Union([Type.String(), Type.Null()]),
});
export type WebhookDeliveryView = Static<typeof WebhookDeliveryView>;

export const WebhookDeliveryList = Type.Object({ items: Type.Array(WebhookDeliveryView) });

/** The body of a delivery: a payment's state change. */
export const WebhookEvent = Type.Object({
  id: Type.String({ description: "Stable per state change: dedupe deliveries on it" }),
  type: Type.String({
    description:
      "payment.<state>, or an order-timer step: payment.hold_extended, payment.refund_request_rejected, payment.hold_resumed",
  }),
  sequence: Type.Integer({ description: "1, 2, 3... per payment in the order its state changed" }),
  createdAt: DateTime,
  data: PaymentView,
});
export type WebhookEvent = Static<typeof WebhookEvent>;
