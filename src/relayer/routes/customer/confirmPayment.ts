import { IdParams, SentTransactionView, SignedPaymentAction } from "../../../protocol/schemas";
import { defineRoute } from "../../http/route";
import { payerSignedAction } from "./paymentAction";

/**
 * POST /v1/payments/:id/confirm — the payer's signed Confirmation (EIP-712 over paymentId and
 * deadline): releases the held amount to the merchant. 202 once the transaction is sent; the
 * payment turns `released` when the watcher sees PaymentConfirmed.
 */
export default defineRoute(
  "POST /v1/payments/:id/confirm",
  "Confirm delivery (payer-signed)",
  { params: IdParams, body: SignedPaymentAction, response: { 202: SentTransactionView } },
  payerSignedAction(
    (ctx, id, deadline) => ctx.digester.confirmation(id, deadline),
    (writer, action) => writer.confirmWithSignature(action),
  ),
);
