import { HealthView } from "../../../protocol/schemas";
import { defineRoute } from "../../http/route";

/** GET /health — liveness: the process is up and serving. Checks nothing else on purpose. */
export default defineRoute(
  {
    method: "GET",
    url: "/health",
    tag: "operations",
    rateLimited: false,
    summary: "Liveness",
    response: { 200: HealthView },
    errors: false,
  },
  async () => ({ status: "ok" as const }),
);
