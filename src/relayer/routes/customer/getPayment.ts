import type { Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import type { RouteModule } from "../../http/context";
import { paymentView } from "../../views";
import { ERROR_RESPONSES, IdParams, PaymentView } from "../../intake/schemas";

/**
 * GET /v1/payments/:id — a payment's state; once escrowed, its batch, transaction and inclusion
 * proof (what confirm, refund and dispute need on chain). Anyone holding the id may read it: the
 * id is an unguessable digest the payer and merchant already know.
 */
const getPayment: RouteModule = (app, ctx) => {
  app.get<{ Params: Static<typeof IdParams> }>(
    "/v1/payments/:id",
    {
      schema: {
        tags: ["customers"],
        summary: "Get a payment's status and inclusion proof",
        params: IdParams,
        response: { 200: PaymentView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const payment = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
      if (!payment) throw new ApiError("not_found", "no such payment");
      return paymentView(payment, await ctx.inclusion.view(payment));
    },
  );
};

export default getPayment;
