import { Page, SettlementsQuery, SettlementView } from "../../../protocol/schemas";
import { merchantOf } from "../../http/context";
import { settlementView } from "../../views";
import { defineRoute } from "../../http/route";
import { pageLimit } from "./listPayments";

/** GET /v1/merchant/settlements — the merchant's settlements (payouts of released tranches). */
export default defineRoute(
  "GET /v1/merchant/settlements",
  "List the merchant's settlements",
  { auth: "merchant", querystring: SettlementsQuery, response: { 200: Page(SettlementView) } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const page = await ctx.store.settlements.listByMerchant(
      merchantId,
      pageLimit(request.query.limit),
      request.query.cursor,
    );
    return { items: page.items.map(settlementView), nextCursor: page.nextCursor };
  },
);
