import { NewApiKeyView, RotateApiKeyBody } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { newApiKey } from "../../http/auth";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { newApiKeyView } from "./apiKeyView";

/**
 * POST /v1/merchant/api-keys — issues a new key for the calling merchant (rotation) and, with
 * `revokeCurrent`, revokes the key used for the call in the same step. Bounded per merchant: at
 * most `maxLiveApiKeys` live keys (409 api_key_limit_reached: revoke one, or rotate with
 * revokeCurrent) and `apiKeysPerHour` creations (429 api_key_rate_limited), so keys cannot be
 * multiplied (the request limit is per merchant anyway).
 */
export default defineRoute(
  "POST /v1/merchant/api-keys",
  "Create a new API key (rotate)",
  { auth: "merchant", secretFields: ["key"], body: RotateApiKeyBody, response: { 201: NewApiKeyView } },
  async (request, ctx, reply) => {
    const { merchantId, keyId } = merchantOf(request.principal);
    await ctx.limits.apiKeyCreation.take(`merchant:${merchantId}`);
    const now = ctx.clock();
    const { record, secret } = newApiKey(merchantId, now);
    // The body is optional: a rotation with no options sends none.
    const revoke = (request.body as RotateApiKeyBody | undefined)?.revokeCurrent === true;
    await ctx.store.transaction(async () => {
      // Counted inside the transaction: concurrent rotations cannot both pass the cap.
      const live = (await ctx.store.apiKeys.listByMerchant(merchantId)).filter((k) => k.revokedAt === null).length;
      if (live - (revoke ? 1 : 0) >= ctx.config.maxLiveApiKeys) {
        throw new ApiError("api_key_limit_reached", `at most ${ctx.config.maxLiveApiKeys} live API keys`, {
          limit: ctx.config.maxLiveApiKeys,
        });
      }
      await ctx.store.apiKeys.create(record);
      if (revoke) await ctx.store.apiKeys.revoke(keyId, now);
    });
    return reply.status(201).send(newApiKeyView(record, secret, revoke ? keyId : undefined));
  },
);
