import { WebhookList } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { webhookView } from "./webhookView";

/**
 * GET /v1/merchant/webhooks — the merchant's endpoints, oldest first, with their delivery health:
 * an endpoint the relayer disabled after repeated failures shows `disabledReason: "failing"`.
 * Secrets are never listed. At most the per-merchant cap of endpoints exist, so no paging.
 */
export default defineRoute(
  "GET /v1/merchant/webhooks",
  "List webhook endpoints",
  { auth: "merchant", response: { 200: WebhookList } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    return { items: (await ctx.store.webhooks.listDetails(merchantId)).map(webhookView) };
  },
);
