import { Type } from "@sinclair/typebox";
import { merchantOf, type RouteModule } from "../../http/context";
import { ERROR_RESPONSES } from "../../intake/schemas";

const BalanceView = Type.Object({
  merchantId: Type.String(),
  released: Type.String({
    description: "Released (confirmed or ruled) funds net of fees, paid out at the next settlement",
  }),
  claimable: Type.String({ description: "Payouts that could not be delivered, claimable with escrow.claim" }),
});

/** GET /v1/merchant/balance — released and claimable funds, read from escrow.merchantBalances. */
const getBalance: RouteModule = (app, ctx) => {
  app.get(
    "/v1/merchant/balance",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "Get the merchant's released and claimable balance",
        security: [{ merchantKey: [] }],
        response: { 200: BalanceView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const { released, claimable } = await ctx.chain.merchantBalances(merchantId);
      return { merchantId: merchantId.toString(), released: released.toString(), claimable: claimable.toString() };
    },
  );
};

export default getBalance;
