import { WebhookParams, WebhookView } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { ownEndpoint, webhookView } from "./webhookView";

/**
 * POST /v1/merchant/webhooks/:id/disable — stops deliveries to the endpoint. Its undelivered
 * events are set aside (dead-lettered) and come back if it is enabled again within the retention
 * period; events of later payment changes are not queued for it while it is disabled. Disabling a
 * disabled endpoint changes nothing. Another merchant's endpoint is 404.
 */
export default defineRoute(
  "POST /v1/merchant/webhooks/:id/disable",
  "Disable a webhook endpoint",
  { auth: "merchant", idempotent: false, params: WebhookParams, response: { 200: WebhookView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
    await ctx.store.webhooks.disable(endpoint.id, ctx.clock(), "merchant");
    return webhookView((await ctx.store.webhooks.getDetails(endpoint.id))!);
  },
);
