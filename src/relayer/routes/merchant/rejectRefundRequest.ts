import { IdParams, RefundRequestAnswerBody, SentTransactionView } from "../../../protocol/schemas";
import { refundRejectionDigest } from "../../../protocol";
import type { Hex } from "../../domain";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { relayCalls } from "../../chain/relayCalls";
import { requireWriter, sent } from "../customer/paymentAction";
import { digestBytes, domainOf, ordinalOf, relayTimerAction, timerPayment } from "../customer/orderTimerAction";

/**
 * POST /v1/merchant/payments/:id/refund-requests/reject — relays the merchant owner key's signed
 * RefundRejection of the payment's open refund request number `ordinal` (it can never reject a later
 * one). The clock resumes; the buyer may escalate within the escalation window. Another merchant's
 * payment is 404 not_found, like one that does not exist. A request that is not open (or overdue)
 * comes back from the escrow's simulation (409 conflict, `details.revert`).
 */
export default defineRoute(
  "POST /v1/merchant/payments/:id/refund-requests/reject",
  "Reject the payment's open refund request (merchant-signed)",
  { auth: "merchant", params: IdParams, body: RefundRequestAnswerBody, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const { merchantId } = merchantOf(request.principal);
    const ordinal = ordinalOf(request.body.ordinal);
    const signature = request.body.signature.toLowerCase() as Hex;
    const ownPayment = (p: { merchantId: bigint }) => p.merchantId === merchantId;
    const { record, currency, payment, deadline } = await timerPayment(
      ctx,
      request.params.id,
      request.body.deadline,
      ownPayment,
    );
    const writer = requireWriter(currency);
    const call = relayCalls.rejectRefundRequestWithSignature({ payment, ordinal, deadline, signature });
    const message = { paymentId: record.id, ordinal, deadline };
    const { txHash } = await relayTimerAction(writer, call, async () => {
      const terms = await ctx.chain.merchant(merchantId);
      await currency.intake.checkSignature(
        terms.owner,
        digestBytes(refundRejectionDigest(domainOf(currency), message)),
        signature,
      );
    });
    return reply.status(202).send(sent(txHash));
  },
);
