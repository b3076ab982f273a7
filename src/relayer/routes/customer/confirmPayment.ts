import { payerSignedRoute } from "./paymentAction";

/**
 * POST /v1/payments/:id/confirm — the payer's signed Confirmation (EIP-712 over paymentId and
 * deadline): releases the held amount to the merchant. 202 once the transaction is sent; the
 * payment turns `released` when the watcher sees PaymentConfirmed.
 */
export default payerSignedRoute(
  "POST /v1/payments/:id/confirm",
  "Confirm delivery (payer-signed)",
  (currency, id, deadline) => currency.digester.confirmation(id, deadline),
  "confirmWithSignature",
);
