import { CreditView, MerchantIdParams } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { defineRoute } from "../../http/route";

/**
 * GET /v1/merchants/:id/credit — a merchant's credit record computed from its escrow events at the
 * report index's safe block (formulas in docs/REPORTS.md); public and rate-limited like the other
 * public routes. An anonymous request costs store reads (the index's cursor; the record once per
 * merchant and block, then cached) and at most the registry's merchant count, itself cached: no
 * node read per request. The auditor computes the same record with `--credit <id>`.
 */
export default defineRoute(
  "GET /v1/merchants/:id/credit",
  "Get a merchant's credit record",
  { params: MerchantIdParams, response: { 200: CreditView } },
  async (request, ctx) => {
    const merchantId = BigInt(request.params.id);
    // Registered ids run 1..merchantCount and none is ever removed.
    if (merchantId === 0n || merchantId >= 1n << 64n || merchantId > (await ctx.chain.merchantCount())) {
      throw new ApiError("unknown_merchant", `no merchant ${request.params.id} in the registry`);
    }
    return ctx.reports.credit(merchantId);
  },
);
