import { Type } from "@sinclair/typebox";
import { merchantOf, type RouteModule } from "../../http/context";
import { ERROR_RESPONSES } from "../../intake/schemas";
import { WebhookView, webhookView } from "./webhookView";

const WebhookList = Type.Object({ items: Type.Array(WebhookView) });

/**
 * GET /v1/merchant/webhooks — the merchant's endpoints, oldest first, with their delivery health:
 * an endpoint the relayer disabled after repeated failures shows `disabledReason: "failing"`.
 * Secrets are never listed. At most the per-merchant cap of endpoints exist, so no paging.
 */
const listWebhooks: RouteModule = (app, ctx) => {
  app.get(
    "/v1/merchant/webhooks",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "List webhook endpoints",
        security: [{ merchantKey: [] }],
        response: { 200: WebhookList, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      return { items: (await ctx.store.webhooks.listDetails(merchantId)).map(webhookView) };
    },
  );
};

export default listWebhooks;
