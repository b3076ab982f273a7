import { ExtendHoldBody, IdParams, MAX_UINT32, SentTransactionView } from "../../../protocol/schemas";
import { holdExtensionDigest } from "../../../protocol";
import type { Hex } from "../../domain";
import { defineRoute } from "../../http/route";
import { relayCalls } from "../../chain/relayCalls";
import { uint } from "../../intake/parse";
import { requireWriter, sent } from "./paymentAction";
import { digestBytes, domainOf, ordinalOf, relayTimerAction, timerPayment } from "./orderTimerAction";

/**
 * POST /v1/payments/:id/extend-hold — the payer's signed HoldExtension: the payment's hold is
 * extended by `extension` seconds (before it ends, at most twice). `ordinal` is the extension this
 * is (1, then 2), so the signature extends once. 202 once the transaction is sent; what the escrow
 * refuses (hold ended, limit reached, stale ordinal) comes back from its simulation.
 */
export default defineRoute(
  "POST /v1/payments/:id/extend-hold",
  "Extend a payment's hold (payer-signed)",
  { params: IdParams, body: ExtendHoldBody, response: { 202: SentTransactionView } },
  async (request, ctx, reply) => {
    const { extension: extensionText, ordinal: ordinalText, deadline: deadlineText } = request.body;
    const extension = uint("extension", extensionText, BigInt(MAX_UINT32));
    const ordinal = ordinalOf(ordinalText);
    const signature = request.body.signature.toLowerCase() as Hex;
    const { record, currency, payment, inclusion, deadline } = await timerPayment(ctx, request.params.id, deadlineText);
    const writer = requireWriter(currency);
    const call = relayCalls.extendHoldWithSignature({ payment, inclusion, extension, ordinal, deadline, signature });
    const { txHash } = await relayTimerAction(writer, call, () =>
      currency.intake.checkSignature(
        record.payer,
        digestBytes(holdExtensionDigest(domainOf(currency), { paymentId: record.id, extension, ordinal, deadline })),
        signature,
      ),
    );
    return reply.status(202).send(sent(txHash));
  },
);
