import { Type, type Static } from "@sinclair/typebox";
import { merchantOf, type RouteModule } from "../../http/context";
import { settlementView } from "../../views";
import { CursorQuery, ERROR_RESPONSES, Nullable, Page } from "../../intake/schemas";
import { pageLimit } from "./listPayments";

const Query = Type.Object({ ...CursorQuery }, { additionalProperties: false });

const SettlementView = Type.Object({
  key: Type.Integer(),
  merchantId: Type.String(),
  batchIds: Type.Array(Type.String()),
  state: Type.String({ enum: ["built", "submitted", "confirmed", "deferred", "failed"] }),
  txHash: Nullable(Type.String()),
  amount: Nullable(Type.String()),
  fee: Nullable(Type.String()),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});

/** GET /v1/merchant/settlements — the merchant's settlements (payouts of released tranches). */
const listSettlements: RouteModule = (app, ctx) => {
  app.get<{ Querystring: Static<typeof Query> }>(
    "/v1/merchant/settlements",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "List the merchant's settlements",
        security: [{ merchantKey: [] }],
        querystring: Query,
        response: { 200: Page(SettlementView), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const page = await ctx.store.settlements.listByMerchant(
        merchantId,
        pageLimit(request.query.limit),
        request.query.cursor,
      );
      return { items: page.items.map(settlementView), nextCursor: page.nextCursor };
    },
  );
};

export default listSettlements;
