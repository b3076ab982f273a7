import { WebhookParams, WebhookView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { merchantOf, type RouteContext, type RouteModule } from "../../http/context";
import { defineRoute } from "../../http/route";
import type { WebhookEndpointDetails } from "../../store/types";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** An endpoint as its merchant sees it: never its secret (shown once, at registration). */
export function webhookView(e: WebhookEndpointDetails): WebhookView {
  return {
    id: e.id,
    url: e.url,
    createdAt: new Date(e.createdAt).toISOString(),
    enabled: e.disabledAt === null,
    disabledAt: iso(e.disabledAt),
    disabledReason: e.disabledReason,
    consecutiveFailures: e.consecutiveFailures,
    failingSince: iso(e.failingSince),
    lastError: e.lastError,
  };
}

/** The merchant's endpoint `id`; another merchant's is 404, as if it did not exist. */
export async function ownEndpoint(ctx: RouteContext, merchantId: bigint, id: string): Promise<WebhookEndpointDetails> {
  const endpoint = await ctx.store.webhooks.getDetails(id);
  if (!endpoint || endpoint.merchantId !== merchantId) throw new ApiError("not_found", "no such webhook endpoint");
  return endpoint;
}

/**
 * The route of a change to one of the merchant's own endpoints (enable, disable): `change`, then
 * the endpoint as it now is. Another merchant's endpoint is 404.
 */
export const ownEndpointRoute = (
  route: `POST /${string}`,
  summary: string,
  change: (ctx: RouteContext, endpointId: string) => Promise<unknown>,
): RouteModule =>
  defineRoute(
    route,
    summary,
    { auth: "merchant", idempotent: false, params: WebhookParams, response: { 200: WebhookView } },
    async (request, ctx) => {
      const { merchantId } = merchantOf(request.principal);
      const endpoint = await ownEndpoint(ctx, merchantId, request.params.id);
      await change(ctx, endpoint.id);
      return webhookView((await ctx.store.webhooks.getDetails(endpoint.id))!);
    },
  );
