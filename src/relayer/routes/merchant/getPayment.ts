import { IdParams, PaymentView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { merchantOf } from "../../http/context";
import { paymentView } from "../../views";
import { defineRoute } from "../../http/route";

/**
 * GET /v1/merchant/payments/:id — one of the merchant's payments. Another merchant's payment is
 * 404 not_found, the same answer as for an id that does not exist, so a key cannot even learn
 * whether an id belongs to someone else.
 */
export default defineRoute(
  "GET /v1/merchant/payments/:id",
  "Get one of the merchant's payments",
  { auth: "merchant", params: IdParams, response: { 200: PaymentView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const payment = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
    if (!payment || payment.merchantId !== merchantId) throw new ApiError("not_found", "no such payment");
    return paymentView(payment, await ctx.inclusion.view(payment));
  },
);
