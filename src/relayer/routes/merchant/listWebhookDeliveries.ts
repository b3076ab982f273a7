import { WebhookDeliveryList, WebhookParams } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { ownEndpoint } from "./webhookView";

/** Deliveries listed per endpoint: enough to see what was sent lately and what is failing. */
export const RECENT_DELIVERIES = 50;

const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());

/**
 * GET /v1/merchant/webhooks/:id/deliveries — the endpoint's latest deliveries, newest first, with
 * their status. Payloads are left out (the payment is one GET away). Another merchant's endpoint is
 * 404, as if it did not exist.
 */
export default defineRoute(
  "GET /v1/merchant/webhooks/:id/deliveries",
  "List an endpoint's recent deliveries",
  { auth: "merchant", params: WebhookParams, response: { 200: WebhookDeliveryList } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
    const rows = await ctx.store.outbox.recentFor(endpoint.id, RECENT_DELIVERIES);
    return {
      items: rows.map((r) => {
        const status = r.deliveredAt !== null ? "delivered" : r.deadAt != null ? "dead" : "pending";
        return {
          eventId: r.eventId,
          type: r.eventType,
          status,
          attempts: r.attempts,
          createdAt: new Date(r.createdAt).toISOString(),
          deliveredAt: iso(r.deliveredAt),
          nextAttemptAt: status === "pending" ? iso(r.nextAttemptAt) : null,
          lastError: r.lastError,
        } as const;
      }),
    };
  },
);
