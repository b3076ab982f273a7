import { IdParams, RefundRequestAnswerBody, SentTransactionView } from "../../../protocol/schemas";
import { escalationDigest } from "../../../protocol";
import type { Hex } from "../../domain";
import { defineRoute } from "../../http/route";
import { relayCalls } from "../../chain/relayCalls";
import { requireWriter, sent } from "./paymentAction";
import { digestBytes, domainOf, ordinalOf, relayTimerAction, timerPayment } from "./orderTimerAction";

/**
 * POST /v1/payments/:id/escalate — the payer's signed Escalation: the refund request the merchant
 * rejected becomes a dispute, within the escalation window. `ordinal` is the rejected request's
 * number. 202 once the transaction is sent; a closed window or a request that was not rejected
 * comes back from the escrow's simulation (409 conflict, `details.revert`).
 */
export default defineRoute(
  "POST /v1/payments/:id/escalate",
  "Escalate a rejected refund request to a dispute (payer-signed)",
  { params: IdParams, body: RefundRequestAnswerBody, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const ordinal = ordinalOf(request.body.ordinal);
    const signature = request.body.signature.toLowerCase() as Hex;
    const { record, currency, payment, deadline } = await timerPayment(ctx, request.params.id, request.body.deadline);
    const writer = requireWriter(currency);
    const call = relayCalls.escalateRefundRequestWithSignature({ payment, ordinal, deadline, signature });
    const message = { paymentId: record.id, ordinal, deadline };
    const { txHash } = await relayTimerAction(writer, call, () =>
      currency.intake.checkSignature(
        record.payer,
        digestBytes(escalationDigest(domainOf(currency), message)),
        signature,
      ),
    );
    return reply.status(202).send(sent(txHash));
  },
);
