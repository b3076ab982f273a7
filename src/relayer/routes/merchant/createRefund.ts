import { IdParams, RefundBody, SentTransactionView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { amount } from "../../intake/parse";
import { relayCalls } from "../../chain/relayCalls";
import { heldPayment, paymentCurrency, replayedAction, requireWriter, sent } from "../customer/paymentAction";

/**
 * POST /v1/merchant/payments/:id/refunds — relays a refund signed by the merchant's owner key
 * (EIP-712 `Refund` naming the cumulative total, so a replay refunds nothing more). A payment of
 * another merchant is reported as 404 not_found, exactly like a payment that does not exist, so
 * a key never learns which ids other merchants have.
 */
export default defineRoute(
  "POST /v1/merchant/payments/:id/refunds",
  "Refund a payment (merchant-signed)",
  { auth: "merchant", params: IdParams, body: RefundBody, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const { merchantId } = merchantOf(request.principal);
    const ownPayment = (p: { merchantId: bigint }) => p.merchantId === merchantId;
    const currency = await paymentCurrency(ctx, request.params.id, ownPayment);
    const writer = requireWriter(currency);
    const totalRefund = amount("totalRefund", request.body.totalRefund);
    const signature = request.body.signature.toLowerCase() as Hex;
    const earlier = await replayedAction(
      ctx,
      writer,
      request.params.id,
      request.body.deadline,
      (a) => relayCalls.refundWithSignature({ ...a, totalRefund, signature }),
      ownPayment,
    );
    if (earlier) return reply.status(202).send(sent(earlier.txHash));
    const { record, payment, inclusion, deadline } = await heldPayment(
      ctx,
      request.params.id,
      request.body.deadline,
      ownPayment,
    );
    if (totalRefund > record.amount) {
      throw new ApiError("invalid_amount", "totalRefund exceeds the payment amount", {
        amount: record.amount.toString(),
      });
    }
    const terms = await ctx.chain.merchant(merchantId);
    await currency.intake.checkSignature(
      terms.owner,
      currency.digester.refund(record.id, totalRefund, deadline),
      signature,
    );
    const { txHash } = await writer.refundWithSignature({ payment, inclusion, totalRefund, deadline, signature });
    return reply.status(202).send(sent(txHash));
  },
);
