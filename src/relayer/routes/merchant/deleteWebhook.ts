import { NoContent, WebhookParams } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { ownEndpoint } from "./webhookView";

/**
 * DELETE /v1/merchant/webhooks/:id — removes the endpoint with its queued and past deliveries
 * (nothing more is sent to it) and frees its place under the per-merchant cap. 204; another
 * merchant's endpoint is 404.
 */
export default defineRoute(
  "DELETE /v1/merchant/webhooks/:id",
  "Delete a webhook endpoint",
  { auth: "merchant", params: WebhookParams, response: { 204: NoContent } },
  async (request, ctx, reply) => {
    const { merchantId } = merchantOf(request.principal);
    const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
    await ctx.store.webhooks.delete(endpoint.id);
    return reply.status(204).send();
  },
);
