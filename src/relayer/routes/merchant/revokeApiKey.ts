import { Type, type Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import { merchantOf, type RouteModule } from "../../http/context";
import { ERROR_RESPONSES } from "../../intake/schemas";

const Params = Type.Object({ id: Type.String({ pattern: "^key_[A-Za-z0-9_-]{1,64}$" }) });
const RevokedView = Type.Object({ id: Type.String(), revokedAt: Type.String({ format: "date-time" }) });

/**
 * DELETE /v1/merchant/api-keys/:id — revokes one of the merchant's keys; it fails from its next
 * request on (keys are looked up on every request, never cached). Another merchant's key id is
 * 404, as if it did not exist. Revoking an already revoked key keeps its first revocation time.
 */
const revokeApiKey: RouteModule = (app, ctx) => {
  app.delete<{ Params: Static<typeof Params> }>(
    "/v1/merchant/api-keys/:id",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "Revoke an API key",
        security: [{ merchantKey: [] }],
        params: Params,
        response: { 200: RevokedView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const keys = await ctx.store.apiKeys.listByMerchant(merchantId);
      const key = keys.find((k) => k.id === request.params.id);
      if (!key) throw new ApiError("not_found", "no such API key");
      const revokedAt = key.revokedAt ?? ctx.clock();
      if (key.revokedAt === null) await ctx.store.apiKeys.revoke(key.id, revokedAt);
      return { id: key.id, revokedAt: new Date(revokedAt).toISOString() };
    },
  );
};

export default revokeApiKey;
