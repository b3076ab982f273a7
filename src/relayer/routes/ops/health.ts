import { HealthView } from "../../../protocol/schemas";
import { defineRoute } from "../../http/route";

/** GET /health — liveness: the process is up and serving. Checks nothing else on purpose. */
export default defineRoute(
  "GET /health",
  "Liveness",
  { tag: "operations", rateLimited: false, response: { 200: HealthView }, errors: false },
  async () => ({ status: "ok" as const }),
);
