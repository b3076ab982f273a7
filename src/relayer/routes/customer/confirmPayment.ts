import type { Static } from "@sinclair/typebox";
import type { RouteModule } from "../../http/context";
import { ERROR_RESPONSES, IdParams, SentTransactionView, SignedPaymentAction } from "../../intake/schemas";
import { heldPayment, requireWriter, sent } from "./paymentAction";
import type { Hex } from "../../domain";

/**
 * POST /v1/payments/:id/confirm — the payer's signed Confirmation (EIP-712 over paymentId and
 * deadline): releases the held amount to the merchant. 202 once the transaction is sent; the
 * payment turns `released` when the watcher sees PaymentConfirmed.
 */
const confirmPayment: RouteModule = (app, ctx) => {
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof SignedPaymentAction> }>(
    "/v1/payments/:id/confirm",
    {
      schema: {
        tags: ["customers"],
        summary: "Confirm delivery (payer-signed)",
        params: IdParams,
        body: SignedPaymentAction,
        response: { 202: SentTransactionView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const writer = requireWriter(ctx);
      const { record, payment, inclusion, deadline } = await heldPayment(ctx, request.params.id, request.body.deadline);
      const signature = request.body.signature.toLowerCase() as Hex;
      await ctx.intake.checkSignature(record.payer, ctx.digester.confirmation(record.id, deadline), signature);
      const { txHash } = await writer.confirmWithSignature({ payment, inclusion, deadline, signature });
      return reply.status(202).send(sent(txHash));
    },
  );
};

export default confirmPayment;
