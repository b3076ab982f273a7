import { FxPaymentSubmission, FxPaymentView } from "../../../protocol/schemas";
import { deskOf } from "../../fx/desk";
import { defineRoute } from "../../http/route";

/** POST /v1/fx/payments — pay a quote: the payer's signed leg, and the desk's leg to the merchant. */
export default defineRoute(
  "POST /v1/fx/payments",
  "Pay a cross-currency quote",
  {
    description:
      "Checks the quote (unexpired, signed by an FX_QUOTER_ROLE holder, within the desk's band, unused) and that the payer's leg is the one it asks, then submits the payer's leg (pay currency) and the desk's leg to the merchant (settle currency) with the same orderRef and hold. A settle leg the desk can foresee being refused (its balance short, the merchant unable to receive) is 409 fx_settle_leg_refused before anything is submitted.",
    body: FxPaymentSubmission,
    response: { 201: FxPaymentView },
  },
  async (request, ctx, reply) => reply.status(201).send(await deskOf(ctx).pay(ctx, request.body)),
);
