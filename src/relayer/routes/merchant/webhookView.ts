import { Type, type Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import type { RouteContext } from "../../http/context";
import type { WebhookEndpointDetails } from "../../store/types";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const Time = Type.String({ format: "date-time" });
const NullableTime = Type.Union([Time, Type.Null()]);

export const WebhookParams = Type.Object({ id: Type.String({ pattern: "^wh_[A-Za-z0-9_-]{1,64}$" }) });

/** An endpoint as its merchant sees it: never its secret (shown once, at registration). */
export const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  createdAt: Time,
  enabled: Type.Boolean(),
  disabledAt: NullableTime,
  disabledReason: Type.Union([Type.Literal("merchant"), Type.Literal("failing"), Type.Null()], {
    description:
      "merchant: disabled through the API; failing: disabled by the relayer after repeated failed deliveries",
  }),
  consecutiveFailures: Type.Integer({ description: "Failed deliveries in a row (0 after any success)" }),
  failingSince: NullableTime,
  lastError: Type.Union([Type.String(), Type.Null()], { description: "Why the last failed delivery failed" }),
});

export function webhookView(e: WebhookEndpointDetails): Static<typeof WebhookView> {
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
