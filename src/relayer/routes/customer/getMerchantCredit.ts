import { CreditView, MerchantIdParams } from "../../../protocol/schemas";
import { MerchantStatus } from "../../../protocol";
import { creditRecord } from "../../../protocol/reports";
import { ApiError } from "../../errors";
import { defineRoute } from "../../http/route";

/**
 * GET /v1/merchants/:id/credit — a merchant's credit record computed from its escrow events at the
 * latest block (formulas in docs/REPORTS.md); public and rate-limited like the other public routes.
 * The auditor computes the same record with `--credit <id>`.
 */
export default defineRoute(
  "GET /v1/merchants/:id/credit",
  "Get a merchant's credit record",
  { params: MerchantIdParams, response: { 200: CreditView } },
  async (request, ctx) => {
    const merchantId = BigInt(request.params.id);
    if (merchantId >= 1n << 64n || (await ctx.chain.merchant(merchantId)).status === MerchantStatus.None) {
      throw new ApiError("unknown_merchant", `no merchant ${request.params.id} in the registry`);
    }
    const history = ctx.history;
    if (!history) throw new ApiError("chain_unavailable", "the credit record needs the chain's event history");
    const head = await history.head();
    const events = await history.events(merchantId, head.blockNumber);
    return creditRecord(merchantId, history.token, events, head);
  },
);
