/**
 * The merchant dashboard's build: Preact through Vite's own JSX transform (no plugin to fetch),
 * into dist/dashboard at the repository root, served by the relayer under /dashboard/. No inline
 * script or style is emitted (the page's CSP forbids them) and nothing is loaded from elsewhere.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: "/dashboard/",
  publicDir: false,
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: path.resolve(here, "..", "dist", "dashboard"),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
