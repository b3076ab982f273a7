import { payerSignedRoute } from "./paymentAction";

/**
 * POST /v1/payments/:id/dispute — the payer's signed Dispute: freezes the held amount until the
 * arbiter rules (or the dispute times out). Only while the payment is held and its hold has not
 * ended; the escrow's verdict is final (a closed window comes back as 409 conflict).
 */
export default payerSignedRoute(
  "POST /v1/payments/:id/dispute",
  "Open a dispute (payer-signed)",
  (currency, id, deadline) => currency.digester.dispute(id, deadline),
  "openDisputeWithSignature",
);
