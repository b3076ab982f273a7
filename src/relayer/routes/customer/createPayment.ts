import type { RouteModule } from "../../http/context";
import { ERROR_RESPONSES, PaymentSubmission, PaymentView } from "../../intake/schemas";
import { paymentView } from "../../views";

/**
 * POST /v1/payments — submit one signed payment. 201 once it is durably stored; 200 with the
 * stored payment if the same signed payment was submitted before (a retry is never an error and
 * never a second payment).
 */
const createPayment: RouteModule = (app, ctx) => {
  app.post<{ Body: PaymentSubmission }>(
    "/v1/payments",
    {
      schema: {
        tags: ["customers"],
        summary: "Submit a signed payment",
        description:
          "Checks the payer's EIP-712 signature, the merchant, the validity window, the nonce and the payer's escrow balance net of pending payments; answers once the payment is committed to storage.",
        body: PaymentSubmission,
        response: { 200: PaymentView, 201: PaymentView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { created, payment } = await ctx.intake.submit(request.body);
      return reply
        .status(created ? 201 : 200)
        .header("location", `/v1/payments/${payment.id}`)
        .send(paymentView(payment));
    },
  );
};

export default createPayment;
