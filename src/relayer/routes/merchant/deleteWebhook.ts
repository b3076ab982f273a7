import type { Static } from "@sinclair/typebox";
import { merchantOf, type RouteModule } from "../../http/context";
import { ERROR_RESPONSES } from "../../intake/schemas";
import { ownEndpoint, WebhookParams } from "./webhookView";

/**
 * DELETE /v1/merchant/webhooks/:id — removes the endpoint with its queued and past deliveries
 * (nothing more is sent to it) and frees its place under the per-merchant cap. 204; another
 * merchant's endpoint is 404.
 */
const deleteWebhook: RouteModule = (app, ctx) => {
  app.delete<{ Params: Static<typeof WebhookParams> }>(
    "/v1/merchant/webhooks/:id",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "Delete a webhook endpoint",
        security: [{ merchantKey: [] }],
        params: WebhookParams,
        response: { 204: { type: "null", description: "Deleted" }, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { merchantId } = merchantOf(request.principal);
      const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
      await ctx.store.webhooks.delete(endpoint.id);
      return reply.status(204).send();
    },
  );
};

export default deleteWebhook;
