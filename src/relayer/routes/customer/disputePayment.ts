import { IdParams, SentTransactionView, SignedPaymentAction } from "../../../protocol/schemas";
import type { Hex } from "../../domain";
import { defineRoute } from "../../http/route";
import { heldPayment, requireWriter, sent } from "./paymentAction";

/**
 * POST /v1/payments/:id/dispute — the payer's signed Dispute: freezes the held amount until the
 * arbiter rules (or the dispute times out). Only while the payment is held and its hold has not
 * ended; the escrow's verdict is final (a closed window comes back as 409 conflict).
 */
export default defineRoute(
  "POST /v1/payments/:id/dispute",
  "Open a dispute (payer-signed)",
  { params: IdParams, body: SignedPaymentAction, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const writer = requireWriter(ctx);
    const { record, payment, inclusion, deadline } = await heldPayment(ctx, request.params.id, request.body.deadline);
    const signature = request.body.signature.toLowerCase() as Hex;
    await ctx.intake.checkSignature(record.payer, ctx.digester.dispute(record.id, deadline), signature);
    const { txHash } = await writer.openDisputeWithSignature({ payment, inclusion, deadline, signature });
    return reply.status(202).send(sent(txHash));
  },
);
