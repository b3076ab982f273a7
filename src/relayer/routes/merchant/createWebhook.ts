import { randomBytes } from "node:crypto";
import { NewWebhookView, WebhookBody } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { AddressNotAllowedError, checkUrl } from "../../webhooks/urlGuard";

/**
 * POST /v1/merchant/webhooks — registers an endpoint for the merchant's payment events and returns
 * the secret its deliveries are signed with. The secret is returned once and never kept in a
 * stored response (the route does not honour Idempotency-Key: a retry registers another endpoint,
 * which the list shows and DELETE removes); the store keeps it encrypted, because the dispatcher
 * needs it to sign. A URL whose host is or resolves to a loopback, private or link-local address
 * is refused (422 webhook_url_not_allowed) unless the operator allows those; a merchant at the
 * endpoint cap gets 409 webhook_limit_reached.
 */
export default defineRoute(
  "POST /v1/merchant/webhooks",
  "Register a webhook endpoint",
  { auth: "merchant", secretFields: ["secret"], body: WebhookBody, response: { 201: NewWebhookView } },
  async (request, ctx, reply) => {
    const { merchantId } = merchantOf(request.principal);
    let url: URL;
    try {
      url = new URL(request.body.url);
    } catch {
      throw new ApiError("validation_failed", "url is not a valid URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw new ApiError("validation_failed", "url must be http(s)");
    if (url.username || url.password) throw new ApiError("validation_failed", "url must not carry credentials");
    const settings = ctx.config.webhooks;
    try {
      await checkUrl(url, { allowLoopback: settings.allowLoopback, allowPrivate: settings.allowPrivate });
    } catch (error) {
      if (!(error instanceof AddressNotAllowedError)) throw error;
      throw new ApiError("webhook_url_not_allowed", `url is not allowed: ${error.message}`, {
        address: error.address,
        kind: error.kind,
      });
    }
    const endpoint = {
      id: `wh_${randomBytes(12).toString("base64url")}`,
      merchantId,
      url: url.toString(),
      secret: `whsec_${randomBytes(32).toString("base64url")}`,
      createdAt: ctx.clock(),
      disabledAt: null,
    };
    if (!(await ctx.store.webhooks.createCapped(endpoint, settings.maxEndpointsPerMerchant))) {
      throw new ApiError(
        "webhook_limit_reached",
        `a merchant may have at most ${settings.maxEndpointsPerMerchant} webhook endpoints: delete one first`,
        { max: settings.maxEndpointsPerMerchant },
      );
    }
    return reply.status(201).send({
      id: endpoint.id,
      url: endpoint.url,
      secret: endpoint.secret,
      createdAt: new Date(endpoint.createdAt).toISOString(),
    });
  },
);
