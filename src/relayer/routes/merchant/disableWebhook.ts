import type { Static } from "@sinclair/typebox";
import { merchantOf, type RouteModule } from "../../http/context";
import { ERROR_RESPONSES } from "../../intake/schemas";
import { ownEndpoint, WebhookParams, WebhookView, webhookView } from "./webhookView";

/**
 * POST /v1/merchant/webhooks/:id/disable — stops deliveries to the endpoint. Its undelivered
 * events are set aside (dead-lettered) and come back if it is enabled again within the retention
 * period; events of later payment changes are not queued for it while it is disabled. Disabling a
 * disabled endpoint changes nothing. Another merchant's endpoint is 404.
 */
const disableWebhook: RouteModule = (app, ctx) => {
  app.post<{ Params: Static<typeof WebhookParams> }>(
    "/v1/merchant/webhooks/:id/disable",
    {
      config: { auth: "merchant", idempotent: false },
      schema: {
        tags: ["merchants"],
        summary: "Disable a webhook endpoint",
        security: [{ merchantKey: [] }],
        params: WebhookParams,
        response: { 200: WebhookView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
      await ctx.store.webhooks.disable(endpoint.id, ctx.clock(), "merchant");
      return webhookView((await ctx.store.webhooks.getDetails(endpoint.id))!);
    },
  );
};

export default disableWebhook;
