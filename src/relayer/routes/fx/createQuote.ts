import { FxQuoteRequest, FxQuoteView } from "../../../protocol/schemas";
import { deskOf } from "../../fx/desk";
import { defineRoute } from "../../http/route";

/** POST /v1/fx/quotes — a quote signed by the desk's quoter, and the payer's leg to sign for it. */
export default defineRoute(
  "POST /v1/fx/quotes",
  "Quote a cross-currency payment",
  {
    description:
      "Prices the merchant's settleAmount (settle currency) in the pay currency at the desk's rate, rounded up, signs the quote (EIP-712 `Quote`, domain \"StablePay FX\" on the registry) and returns the payer's leg: a Payment to the FX desk merchant in the pay currency's escrow whose orderRef is the quote's digest. 503 fx_unavailable when the relayer runs no desk or quotes no such pair.",
    body: FxQuoteRequest,
    response: { 201: FxQuoteView },
  },
  async (request, ctx, reply) => reply.status(201).send(await deskOf(ctx).quote(ctx, request.body)),
);
