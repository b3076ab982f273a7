import { defineRoute } from "../../http/route";

/** GET /v1/openapi.json — the OpenAPI document, generated from the route schemas by @fastify/swagger. */
export default defineRoute(
  { method: "GET", url: "/v1/openapi.json", tag: "operations", rateLimited: false, summary: "OpenAPI document" },
  async (request) => request.server.swagger(),
);
