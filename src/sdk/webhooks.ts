/**
 * Webhook verification for merchants. The signing scheme lives with the relayer
 * (src/protocol/schemas/webhookSignature.ts) and is re-exported here unchanged, so both sides always
 * agree: `StablePay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 */
import { verifyWebhook, type VerifyWebhookParams } from "../protocol/schemas/webhookSignature";
import { parseWebhookEvent, type WebhookEvent, type WebhookEventWire } from "./wire";

export {
  DEFAULT_TOLERANCE_SECONDS,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  WebhookSignatureError,
  signWebhook,
  verifyWebhook,
  type SeenEventIds,
  type VerifiedWebhook,
  type VerifyWebhookParams,
  type WebhookSignatureErrorCode,
} from "../protocol/schemas/webhookSignature";

/**
 * Verifies a delivery (throws WebhookSignatureError unless the signature, timestamp and, with
 * `seenEventIds`, novelty check out) and returns the event with bigint amounts and Date times.
 * Pass the RAW body bytes: a re-serialised body no longer matches its signature.
 */
export function readWebhookEvent(params: VerifyWebhookParams): WebhookEvent {
  verifyWebhook(params);
  const text = typeof params.body === "string" ? params.body : Buffer.from(params.body).toString("utf8");
  return parseWebhookEvent(JSON.parse(text) as WebhookEventWire);
}
