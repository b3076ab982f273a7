import { defineRoute } from "../../http/route";

/** GET /metrics — Prometheus exposition of the process registry (src/relayer/metrics.ts). */
export default defineRoute(
  "GET /metrics",
  "Prometheus metrics",
  { tag: "operations", rateLimited: false },
  async (_request, ctx, reply) => {
    const body = await ctx.metrics.render();
    return reply.header("content-type", ctx.metrics.registry.contentType).send(body);
  },
);
