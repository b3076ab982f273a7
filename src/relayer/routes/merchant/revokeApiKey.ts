import { ApiKeyParams, RevokedApiKeyView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";

/**
 * DELETE /v1/merchant/api-keys/:id — revokes one of the merchant's keys; it fails from its next
 * request on (keys are looked up on every request, never cached). Another merchant's key id is
 * 404, as if it did not exist. Revoking an already revoked key keeps its first revocation time.
 */
export default defineRoute(
  "DELETE /v1/merchant/api-keys/:id",
  "Revoke an API key",
  { auth: "merchant", params: ApiKeyParams, response: { 200: RevokedApiKeyView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const keys = await ctx.store.apiKeys.listByMerchant(merchantId);
    const key = keys.find((k) => k.id === request.params.id);
    if (!key) throw new ApiError("not_found", "no such API key");
    const revokedAt = key.revokedAt ?? ctx.clock();
    if (key.revokedAt === null) await ctx.store.apiKeys.revoke(key.id, revokedAt);
    return { id: key.id, revokedAt: new Date(revokedAt).toISOString() };
  },
);
