import { IdParams, RefundRejectionTypedDataQuery, RefundRejectionTypedDataView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { PaymentState, type Hex } from "../../domain";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { checkValidity, MAX_UINT48, uint } from "../../intake/parse";
import { escrowTypedDataJson, refundRejectionTypes } from "../../../protocol";
import { REFUND_SIGNATURE_TTL_SECONDS } from "./getRefundTypedData";

/**
 * GET /v1/merchant/payments/:id/refund-rejection-typed-data — the EIP-712 `RefundRejection` the
 * merchant's owner key signs (as `eth_signTypedData_v4` takes it) to reject the payment's open
 * refund request; the signature then goes to POST /v1/merchant/payments/:id/refund-requests/reject.
 * The relayer names the request (`ordinal`: the payment's latest), so the page never guesses it.
 * Checked as far as the relayer knows: a payment of this merchant with a refund request open, a
 * deadline not passed. Another merchant's payment is 404 not_found, like one that does not exist.
 */
export default defineRoute(
  "GET /v1/merchant/payments/:id/refund-rejection-typed-data",
  "The typed data the merchant's owner key signs to reject a payment's open refund request",
  {
    auth: "merchant",
    params: IdParams,
    querystring: RefundRejectionTypedDataQuery,
    response: { 200: RefundRejectionTypedDataView },
  },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const record = await ctx.store.payments.get(request.params.id.toLowerCase() as Hex);
    if (!record || record.merchantId !== merchantId) throw new ApiError("not_found", "no such payment");
    const now = BigInt(Math.floor(ctx.clock() / 1000));
    const deadline =
      request.query.deadline === undefined
        ? now + BigInt(REFUND_SIGNATURE_TTL_SECONDS)
        : uint("deadline", request.query.deadline, MAX_UINT48);
    if (record.state !== PaymentState.RefundRequested || !record.timer || !record.timer.request) {
      throw new ApiError("conflict", `the payment is ${record.state}: it has no open refund request`, {
        state: record.state,
      });
    }
    const timer = record.timer;
    checkValidity(0n, deadline, now);
    const terms = await ctx.chain.merchant(merchantId);
    const message = {
      paymentId: record.id,
      ordinal: `${timer.refundRequests}`,
      deadline: `${deadline}`,
    };
    return {
      typedData: escrowTypedDataJson(
        ctx.chain.chainId,
        ctx.chain.escrow,
        "RefundRejection",
        refundRejectionTypes.RefundRejection,
        message,
      ),
      signer: terms.owner.toLowerCase(),
      submit: {
        method: "POST" as const,
        path: `/v1/merchant/payments/${record.id}/refund-requests/reject`,
        body: { ordinal: message.ordinal, deadline: message.deadline, signature: null },
      },
    };
  },
);
