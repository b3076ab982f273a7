import { Type, type Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { merchantOf, type RouteModule } from "../../http/context";
import { amount } from "../../intake/parse";
import {
  AmountString,
  ERROR_RESPONSES,
  IdParams,
  SentTransactionView,
  Signature,
  UintString,
} from "../../intake/schemas";
import { heldPayment, requireWriter, sent } from "../customer/paymentAction";

const RefundBody = Type.Object(
  {
    totalRefund: AmountString("Cumulative amount refunded after this refund (1 .. payment amount)"),
    deadline: UintString("Unix seconds (uint48) the signature is valid to", 15),
    signature: Signature,
  },
  { additionalProperties: false, description: "The merchant owner key's EIP-712 `Refund`" },
);

/**
 * POST /v1/merchant/payments/:id/refunds — relays a refund signed by the merchant's owner key
 * (EIP-712 `Refund` naming the cumulative total, so a replay refunds nothing more). A payment of
 * another merchant is reported as 404 not_found, exactly like a payment that does not exist, so
 * a key never learns which ids other merchants have.
 */
const createRefund: RouteModule = (app, ctx) => {
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RefundBody> }>(
    "/v1/merchant/payments/:id/refunds",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "Refund a payment (merchant-signed)",
        security: [{ merchantKey: [] }],
        params: IdParams,
        body: RefundBody,
        response: { 202: SentTransactionView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { merchantId } = merchantOf(request.principal);
      const writer = requireWriter(ctx);
      const totalRefund = amount("totalRefund", request.body.totalRefund);
      const { record, payment, inclusion, deadline } = await heldPayment(
        ctx,
        request.params.id,
        request.body.deadline,
        (p) => p.merchantId === merchantId,
      );
      if (totalRefund > record.amount) {
        throw new ApiError("invalid_amount", "totalRefund exceeds the payment amount", {
          amount: record.amount.toString(),
        });
      }
      const terms = await ctx.chain.merchant(merchantId);
      const signature = request.body.signature.toLowerCase() as Hex;
      await ctx.intake.checkSignature(terms.owner, ctx.digester.refund(record.id, totalRefund, deadline), signature);
      const { txHash } = await writer.refundWithSignature({ payment, inclusion, totalRefund, deadline, signature });
      return reply.status(202).send(sent(txHash));
    },
  );
};

export default createRefund;
