import { Type } from "@sinclair/typebox";
import type { RouteModule } from "../../http/context";

/** GET /health — liveness: the process is up and serving. Checks nothing else on purpose. */
const health: RouteModule = (app) => {
  app.get(
    "/health",
    {
      config: { rateLimited: false },
      schema: {
        tags: ["operations"],
        summary: "Liveness",
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );
};

export default health;
