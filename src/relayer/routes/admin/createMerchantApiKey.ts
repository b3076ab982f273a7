import { MerchantIdParams, NewApiKeyView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { newApiKey } from "../../http/auth";
import { defineRoute } from "../../http/route";
import { MerchantStatus } from "../../chain/chainView";
import { MAX_UINT64, uint } from "../../intake/parse";
import { newApiKeyView } from "../merchant/apiKeyView";

/**
 * POST /v1/admin/merchants/:id/api-keys — the operator issues a merchant's first key (or a
 * replacement after losing every key). Needs X-Admin-Token; the merchant must exist on chain.
 * Counts against the merchant's key-creation rate (429 api_key_rate_limited), not its live-key cap:
 * this is the way back for a merchant that lost its keys.
 */
export default defineRoute(
  "POST /v1/admin/merchants/:id/api-keys",
  "Issue an API key for a merchant (operator)",
  { auth: "admin", secretFields: ["key"], params: MerchantIdParams, response: { 201: NewApiKeyView } },
  async (request, ctx, reply) => {
    const merchantId = uint("id", request.params.id, MAX_UINT64);
    await ctx.limits.apiKeyCreation.take(`merchant:${merchantId}`);
    const terms = await ctx.chain.merchant(merchantId);
    if (terms.status === MerchantStatus.None)
      throw new ApiError("unknown_merchant", `no merchant ${merchantId} in the registry`);
    const { record, secret } = newApiKey(merchantId, ctx.clock());
    await ctx.store.apiKeys.create(record);
    return reply.status(201).send(newApiKeyView(record, secret));
  },
);
