import type { Static } from "@sinclair/typebox";
import { merchantOf, type RouteModule } from "../../http/context";
import { ERROR_RESPONSES } from "../../intake/schemas";
import { ownEndpoint, WebhookParams, WebhookView, webhookView } from "./webhookView";

/**
 * POST /v1/merchant/webhooks/:id/enable — delivers to the endpoint again, whether the merchant or
 * the relayer (after repeated failures) disabled it, with a clean failure record. The events set
 * aside when it was disabled that are younger than the retention period are delivered again.
 * Enabling an enabled endpoint changes nothing. Another merchant's endpoint is 404.
 */
const enableWebhook: RouteModule = (app, ctx) => {
  app.post<{ Params: Static<typeof WebhookParams> }>(
    "/v1/merchant/webhooks/:id/enable",
    {
      config: { auth: "merchant", idempotent: false },
      schema: {
        tags: ["merchants"],
        summary: "Enable a webhook endpoint",
        security: [{ merchantKey: [] }],
        params: WebhookParams,
        response: { 200: WebhookView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
      const now = ctx.clock();
      await ctx.store.webhooks.enable(endpoint.id, now, now - ctx.config.webhooks.retentionMs);
      return webhookView((await ctx.store.webhooks.getDetails(endpoint.id))!);
    },
  );
};

export default enableWebhook;
