import { WebhookParams, WebhookView } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { ownEndpoint, webhookView } from "./webhookView";

/**
 * POST /v1/merchant/webhooks/:id/enable — delivers to the endpoint again, whether the merchant or
 * the relayer (after repeated failures) disabled it, with a clean failure record. The events set
 * aside when it was disabled that are younger than the retention period are delivered again.
 * Enabling an enabled endpoint changes nothing. Another merchant's endpoint is 404.
 */
export default defineRoute(
  "POST /v1/merchant/webhooks/:id/enable",
  "Enable a webhook endpoint",
  { auth: "merchant", idempotent: false, params: WebhookParams, response: { 200: WebhookView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
    const now = ctx.clock();
    await ctx.store.webhooks.enable(endpoint.id, now, now - ctx.config.webhooks.retentionMs);
    return webhookView((await ctx.store.webhooks.getDetails(endpoint.id))!);
  },
);
