import { IdParams, RefundRequestBody, SentTransactionView } from "../../../protocol/schemas";
import { REFUND_REASONS, refundRequestDigest } from "../../../protocol";
import type { Hex } from "../../domain";
import { defineRoute } from "../../http/route";
import { relayCalls } from "../../chain/relayCalls";
import { amount as parseAmount } from "../../intake/parse";
import { ApiError } from "../../errors";
import { requireWriter, sent } from "./paymentAction";
import { digestBytes, domainOf, ordinalOf, relayTimerAction, timerPayment } from "./orderTimerAction";

/**
 * POST /v1/payments/:id/refund-requests — the payer's signed RefundRequest: asks the merchant for
 * `amount` back for `reason`, pausing the payment's clock until the merchant refunds or rejects (or
 * the answer is overdue and it becomes a dispute). `ordinal` is the request this opens (1 for the
 * first), so the signature opens one request once. 202 once the transaction is sent.
 */
export default defineRoute(
  "POST /v1/payments/:id/refund-requests",
  "Ask the merchant for a refund (payer-signed)",
  { params: IdParams, body: RefundRequestBody, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const amount = parseAmount("amount", request.body.amount);
    const reason = BigInt(REFUND_REASONS[request.body.reason as keyof typeof REFUND_REASONS]);
    const ordinal = ordinalOf(request.body.ordinal);
    const signature = request.body.signature.toLowerCase() as Hex;
    const { record, currency, payment, inclusion, deadline } = await timerPayment(
      ctx,
      request.params.id,
      request.body.deadline,
    );
    const writer = requireWriter(currency);
    if (amount > record.amount - record.refunded) {
      throw new ApiError("invalid_amount", "amount exceeds what is still held", {
        held: (record.amount - record.refunded).toString(),
      });
    }
    const call = relayCalls.requestRefundWithSignature({
      payment,
      inclusion,
      amount,
      reason,
      ordinal,
      deadline,
      signature,
    });
    const message = { paymentId: record.id, amount, reason, ordinal, deadline };
    const { txHash } = await relayTimerAction(writer, call, () =>
      currency.intake.checkSignature(
        record.payer,
        digestBytes(refundRequestDigest(domainOf(currency), message)),
        signature,
      ),
    );
    return reply.status(202).send(sent(txHash));
  },
);
