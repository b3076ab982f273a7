import { OneOffPaymentSubmission, PaymentView } from "../../../protocol/schemas";
import { paymentView } from "../../views";
import { defineRoute } from "../../http/route";
import { servedByDomain } from "../../http/currencies";

/**
 * POST /v1/payments/one-off — submit a one-off payment: a payer with no escrow balance pays from its
 * wallet by an EIP-3009 ReceiveWithAuthorization bound to the payment (its nonce is the payment id).
 * 201 once durably stored; 200 with the stored payment for the same payment again (a retry is never
 * an error and never a second payment). The relayer escrows it with payBatchWithAuthorization.
 */
export default defineRoute(
  "POST /v1/payments/one-off",
  "Submit a one-off payment (wallet authorization, no escrow balance)",
  {
    description:
      "The payment's nonce is 2^64-1 (ONE_OFF_NONCE) and is not sent. Checks that the authorization is exactly the one the payment requires (from = payer, to = escrow, value = amount, validAfter, validBefore = deadline + 1, nonce = payment id: else 400 authorization_mismatch naming the field), that the payer signed it (ECDSA or ERC-1271), that the token has not spent or cancelled it (409 authorization_used), the merchant, the validity window and the payer's wallet balance net of its pending one-off payments (409 insufficient_token_balance); answers once the payment is committed to storage.",
    body: OneOffPaymentSubmission,
    response: { 200: PaymentView, 201: PaymentView },
  },
  async (request, ctx, reply) => {
    const { created, payment } = await servedByDomain(ctx, request.body).intake.submitOneOff(request.body);
    return reply
      .status(created ? 201 : 200)
      .header("location", `/v1/payments/${payment.id}`)
      .send(paymentView(payment));
  },
);
