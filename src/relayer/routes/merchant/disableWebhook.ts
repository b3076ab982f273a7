import { ownEndpointRoute } from "./webhookView";

/**
 * POST /v1/merchant/webhooks/:id/disable — stops deliveries to the endpoint. Its undelivered
 * events are set aside (dead-lettered) and come back if it is enabled again within the retention
 * period; events of later payment changes are not queued for it while it is disabled. Disabling a
 * disabled endpoint changes nothing. Another merchant's endpoint is 404.
 */
export default ownEndpointRoute("POST /v1/merchant/webhooks/:id/disable", "Disable a webhook endpoint", (ctx, id) =>
  ctx.store.webhooks.disable(id, ctx.clock(), "merchant"),
);
