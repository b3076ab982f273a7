import { defineRoute } from "../../http/route";

/** GET /v1/openapi.json — the OpenAPI document, generated from the route schemas by @fastify/swagger. */
export default defineRoute(
  "GET /v1/openapi.json",
  "OpenAPI document",
  { tag: "operations", rateLimited: false },
  async (request) => request.server.swagger(),
);
