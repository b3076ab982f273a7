import { PaymentSubmission, PaymentView } from "../../../protocol/schemas";
import { paymentView } from "../../views";
import { defineRoute } from "../../http/route";
import { servedByDomain } from "../../http/currencies";

/**
 * POST /v1/payments — submit one signed payment. 201 once it is durably stored; 200 with the
 * stored payment if the same signed payment was submitted before (a retry is never an error and
 * never a second payment).
 */
export default defineRoute(
  "POST /v1/payments",
  "Submit a signed payment",
  {
    description:
      "Checks the payer's EIP-712 signature, the merchant, the validity window, the nonce and the payer's escrow balance net of pending payments; answers once the payment is committed to storage.",
    body: PaymentSubmission,
    response: { 200: PaymentView, 201: PaymentView },
  },
  async (request, ctx, reply) => {
    const { created, payment } = await servedByDomain(ctx, request.body).intake.submit(request.body);
    return reply
      .status(created ? 201 : 200)
      .header("location", `/v1/payments/${payment.id}`)
      .send(paymentView(payment));
  },
);
