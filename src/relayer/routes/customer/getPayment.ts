import { IdParams, PaymentView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { paymentView } from "../../views";
import { defineRoute } from "../../http/route";

/**
 * GET /v1/payments/:id — a payment's state; once escrowed, its batch, transaction and inclusion
 * proof (what confirm, refund and dispute need on chain). Anyone holding the id may read it: the
 * id is an unguessable digest the payer and merchant already know.
 */
export default defineRoute(
  "GET /v1/payments/:id",
  "Get a payment's status and inclusion proof",
  { params: IdParams, response: { 200: PaymentView } },
  async (request, ctx) => {
    const payment = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
    if (!payment) throw new ApiError("not_found", "no such payment");
    return paymentView(payment, await ctx.inclusion.view(payment));
  },
);
