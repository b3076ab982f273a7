import { IdParams, SentTransactionView, SignedPaymentAction } from "../../../protocol/schemas";
import type { Hex } from "../../domain";
import { defineRoute } from "../../http/route";
import { heldPayment, requireWriter, sent } from "./paymentAction";

/**
 * POST /v1/payments/:id/confirm — the payer's signed Confirmation (EIP-712 over paymentId and
 * deadline): releases the held amount to the merchant. 202 once the transaction is sent; the
 * payment turns `released` when the watcher sees PaymentConfirmed.
 */
export default defineRoute(
  "POST /v1/payments/:id/confirm",
  "Confirm delivery (payer-signed)",
  { params: IdParams, body: SignedPaymentAction, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const writer = requireWriter(ctx);
    const { record, payment, inclusion, deadline } = await heldPayment(ctx, request.params.id, request.body.deadline);
    const signature = request.body.signature.toLowerCase() as Hex;
    await ctx.intake.checkSignature(record.payer, ctx.digester.confirmation(record.id, deadline), signature);
    const { txHash } = await writer.confirmWithSignature({ payment, inclusion, deadline, signature });
    return reply.status(202).send(sent(txHash));
  },
);
