import type { RouteModule } from "../../http/context";

/** GET /metrics — Prometheus exposition of the process registry (src/relayer/metrics.ts). */
const metricsRoute: RouteModule = (app, ctx) => {
  app.get(
    "/metrics",
    { config: { rateLimited: false }, schema: { tags: ["operations"], summary: "Prometheus metrics" } },
    async (_request, reply) => {
      const body = await ctx.metrics.render();
      return reply.header("content-type", ctx.metrics.registry.contentType).send(body);
    },
  );
};

export default metricsRoute;
