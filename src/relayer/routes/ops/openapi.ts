import type { RouteModule } from "../../http/context";

/** GET /v1/openapi.json — the OpenAPI document, generated from the route schemas by @fastify/swagger. */
const openapi: RouteModule = (app) => {
  app.get(
    "/v1/openapi.json",
    { config: { rateLimited: false }, schema: { tags: ["operations"], summary: "OpenAPI document" } },
    async () => app.swagger(),
  );
};

export default openapi;
