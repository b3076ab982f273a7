import { IdParams, SentTransactionView, SignedPaymentAction } from "../../../protocol/schemas";
import { defineRoute } from "../../http/route";
import { payerSignedAction } from "./paymentAction";

/**
 * POST /v1/payments/:id/dispute — the payer's signed Dispute: freezes the held amount until the
 * arbiter rules (or the dispute times out). Only while the payment is held and its hold has not
 * ended; the escrow's verdict is final (a closed window comes back as 409 conflict).
 */
export default defineRoute(
  "POST /v1/payments/:id/dispute",
  "Open a dispute (payer-signed)",
  { params: IdParams, body: SignedPaymentAction, response: { 202: SentTransactionView } },
  payerSignedAction(
    (ctx, id, deadline) => ctx.digester.dispute(id, deadline),
    (writer, action) => writer.openDisputeWithSignature(action),
  ),
);
