import { IdParams, RefundTypedDataQuery, RefundTypedDataView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { HELD_STATES } from "../customer/paymentAction";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { escrowOf } from "../../http/currencies";
import { amount, checkValidity, MAX_UINT48, uint } from "../../intake/parse";
import { escrowTypedDataJson, refundTypes } from "../../../protocol";

/** How long a refund signature asked for without a deadline stays valid. */
export const REFUND_SIGNATURE_TTL_SECONDS = 15 * 60;

/**
 * GET /v1/merchant/payments/:id/refund-typed-data — the EIP-712 `Refund` the merchant's owner key
 * signs (as `eth_signTypedData_v4` takes it) to bring the payment's cumulative refund to
 * `totalRefund`; the signature then goes to POST /v1/merchant/payments/:id/refunds. Checked as the
 * refund will be: a held payment of this merchant, more than already refunded and at most the amount,
 * a deadline not passed. Another merchant's payment is 404 not_found, like one that does not exist.
 */
export default defineRoute(
  "GET /v1/merchant/payments/:id/refund-typed-data",
  "The typed data the merchant's owner key signs to refund a payment",
  { auth: "merchant", params: IdParams, querystring: RefundTypedDataQuery, response: { 200: RefundTypedDataView } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const record = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
    if (!record || record.merchantId !== merchantId) throw new ApiError("not_found", "no such payment");
    const totalRefund = amount("totalRefund", request.query.totalRefund);
    const now = BigInt(Math.floor(ctx.clock() / 1000));
    const deadline =
      request.query.deadline === undefined
        ? now + BigInt(REFUND_SIGNATURE_TTL_SECONDS)
        : uint("deadline", request.query.deadline, MAX_UINT48);
    if (!HELD_STATES.includes(record.state)) {
      throw new ApiError("conflict", `the payment is ${record.state}, not ${HELD_STATES.join(" or ")}`, {
        state: record.state,
      });
    }
    if (totalRefund > record.amount) {
      throw new ApiError("invalid_amount", "totalRefund exceeds the payment amount", { amount: `${record.amount}` });
    }
    if (totalRefund <= record.refunded) {
      throw new ApiError("invalid_amount", "totalRefund is cumulative: it must exceed what is already refunded", {
        refunded: `${record.refunded}`,
      });
    }
    checkValidity(0n, deadline, now);
    const terms = await ctx.chain.merchant(merchantId);
    const message = { paymentId: record.id, totalRefund: `${totalRefund}`, deadline: `${deadline}` };
    return {
      typedData: escrowTypedDataJson(
        ctx.chain.chainId,
        escrowOf(ctx, record.currency),
        "Refund",
        refundTypes.Refund,
        message,
      ),
      signer: terms.owner.toLowerCase(),
      submit: {
        method: "POST" as const,
        path: `/v1/merchant/payments/${record.id}/refunds`,
        body: { totalRefund: message.totalRefund, deadline: message.deadline, signature: null },
      },
    };
  },
);
