import { BalanceView } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";

/** GET /v1/merchant/balance — released and claimable funds, read from escrow.merchantBalances. */
export default defineRoute(
  "GET /v1/merchant/balance",
  "Get the merchant's released and claimable balance",
  { auth: "merchant", response: { 200: BalanceView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const { released, claimable } = await ctx.chain.merchantBalances(merchantId);
    return { merchantId: merchantId.toString(), released: released.toString(), claimable: claimable.toString() };
  },
);
