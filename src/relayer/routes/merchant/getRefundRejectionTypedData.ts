import { IdParams, RefundRejectionTypedDataQuery, RefundRejectionTypedDataView } from "../../../protocol/schemas";
import { checkValidity, MAX_UINT48, uint } from "../../intake/parse";
import { escrowTypedDataJson, refundRejectionTypes } from "../../../protocol";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { escrowOf } from "../../http/currencies";
import { ordinalOf, storedPayment } from "../customer/orderTimerAction";
import { REFUND_SIGNATURE_TTL_SECONDS } from "./getRefundTypedData";

/**
 * GET /v1/merchant/payments/:id/refund-rejection-typed-data — the EIP-712 `RefundRejection` the
 * merchant's owner key signs (as `eth_signTypedData_v4` takes it) to reject the payment's open
 * refund request number `ordinal`; the signature then goes to POST
 * /v1/merchant/payments/:id/refund-requests/reject. Whether that request is open is the escrow's to
 * say when it is relayed. Another merchant's payment is 404 not_found, like one that does not exist.
 */
export default defineRoute(
  "GET /v1/merchant/payments/:id/refund-rejection-typed-data",
  "The typed data the merchant's owner key signs to reject a refund request",
  {
    auth: "merchant",
    params: IdParams,
    querystring: RefundRejectionTypedDataQuery,
    response: { 200: RefundRejectionTypedDataView },
  },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const record = await storedPayment(ctx, request.params.id, (p) => p.merchantId === merchantId);
    const ordinal = ordinalOf(request.query.ordinal);
    const now = BigInt(Math.floor(ctx.clock() / 1000));
    const deadline =
      request.query.deadline === undefined
        ? now + BigInt(REFUND_SIGNATURE_TTL_SECONDS)
        : uint("deadline", request.query.deadline, MAX_UINT48);
    checkValidity(0n, deadline, now);
    const terms = await ctx.chain.merchant(merchantId);
    const message = { paymentId: record.id, ordinal: `${ordinal}`, deadline: `${deadline}` };
    return {
      typedData: escrowTypedDataJson(
        ctx.chain.chainId,
        escrowOf(ctx, record.currency),
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
