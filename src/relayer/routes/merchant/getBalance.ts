import { BalanceView, CurrencyQuery } from "../../../protocol/schemas";
import { servedByCode } from "../../http/currencies";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";

/** GET /v1/merchant/balance?currency= — released and claimable funds in one currency (default the first served), read from its escrow. */
export default defineRoute(
  "GET /v1/merchant/balance",
  "Get the merchant's released and claimable balance",
  { auth: "merchant", querystring: CurrencyQuery, response: { 200: BalanceView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const currency = servedByCode(ctx, request.query.currency);
    const { released, claimable } = await currency.chain.merchantBalances(merchantId);
    return {
      merchantId: merchantId.toString(),
      currency: currency.currency.code,
      released: released.toString(),
      claimable: claimable.toString(),
    };
  },
);
