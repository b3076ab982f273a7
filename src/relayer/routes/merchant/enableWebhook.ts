import { ownEndpointRoute } from "./webhookView";

/**
 * POST /v1/merchant/webhooks/:id/enable — delivers to the endpoint again, whether the merchant or
 * the relayer (after repeated failures) disabled it, with a clean failure record. The events set
 * aside when it was disabled that are younger than the retention period are delivered again.
 * Enabling an enabled endpoint changes nothing. Another merchant's endpoint is 404.
 */
export default ownEndpointRoute("POST /v1/merchant/webhooks/:id/enable", "Enable a webhook endpoint", (ctx, id) => {
  const now = ctx.clock();
  return ctx.store.webhooks.enable(id, now, now - ctx.config.webhooks.retentionMs);
});
