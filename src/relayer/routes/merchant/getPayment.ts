import type { Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { merchantOf, type RouteModule } from "../../http/context";
import { paymentView } from "../../views";
import { ERROR_RESPONSES, IdParams, PaymentView } from "../../intake/schemas";

/**
 * GET /v1/merchant/payments/:id — one of the merchant's payments. Another merchant's payment is
 * 404 not_found, the same answer as for an id that does not exist, so a key cannot even learn
 * whether an id belongs to someone else.
 */
const getMerchantPayment: RouteModule = (app, ctx) => {
  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/merchant/payments/:id",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "Get one of the merchant's payments",
        security: [{ merchantKey: [] }],
        params: IdParams,
        response: { 200: PaymentView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const payment = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
      if (!payment || payment.merchantId !== merchantId) throw new ApiError("not_found", "no such payment");
      return paymentView(payment, await ctx.inclusion.view(payment));
    },
  );
};

export default getMerchantPayment;
