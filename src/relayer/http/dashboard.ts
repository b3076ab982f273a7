/**
 * The merchant dashboard (dashboard/, built by `npm run build:dashboard` into dist/dashboard) as
 * static files under /dashboard/, plus /dashboard/config.json (the idle sign-out time). Every
 * answer under /dashboard carries a Content-Security-Policy without inline scripts or other hosts,
 * and is never framed, sniffed or given a Referer. The API's own routes get no CORS headers.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import { ApiError } from "../errors";

/** Where `npm run build:dashboard` writes the page (repository root/dist/dashboard). */
export const DASHBOARD_DIR = path.resolve(__dirname, "..", "..", "..", "dist", "dashboard");
export const DASHBOARD_PREFIX = "/dashboard";

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

export interface DashboardOptions {
  /** Default DASHBOARD_DIR. */
  dir?: string;
  /** Seconds without input after which the page forgets the API key. */
  idleSeconds: number;
}

export function registerDashboard(app: FastifyInstance, options: DashboardOptions): void {
  const dir = options.dir ?? DASHBOARD_DIR;
  const underDashboard = (url: string) => url === DASHBOARD_PREFIX || url.startsWith(`${DASHBOARD_PREFIX}/`);
  app.addHook("onSend", async (request, reply) => {
    if (!underDashboard(request.url.split("?")[0])) return;
    for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) reply.header(name, value);
  });
  const hidden = { schema: { hide: true } };
  app.get(DASHBOARD_PREFIX, hidden, async (_request, reply) => reply.redirect(`${DASHBOARD_PREFIX}/`, 302));
  app.get(`${DASHBOARD_PREFIX}/config.json`, hidden, async (_request, reply) =>
    reply.header("cache-control", "no-store").send({ idleSeconds: options.idleSeconds }),
  );
  if (!fs.existsSync(path.join(dir, "index.html"))) {
    // Without a build the page answers, and says how to build it, rather than vanishing.
    app.get(`${DASHBOARD_PREFIX}/*`, hidden, async () => {
      throw new ApiError("not_found", "the dashboard is not built: run npm run build:dashboard");
    });
    return;
  }
  void app.register(fastifyStatic, {
    root: dir,
    prefix: `${DASHBOARD_PREFIX}/`,
    index: "index.html",
    // Hashed asset names change with their content; the page itself is always fetched fresh.
    setHeaders: (res, file) => {
      res.setHeader("cache-control", file.endsWith(".html") ? "no-store" : "public, max-age=31536000, immutable");
    },
  });
}
