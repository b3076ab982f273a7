/**
 * The dashboard as the relayer serves it (dist/dashboard, built by `npm run build:dashboard`, which
 * `npm test` runs first): its page and assets under /dashboard/ with a CSP that allows no inline
 * script and no other host, nosniff, no Referer, no framing; /dashboard/config.json with the idle
 * sign-out time; a folder without a build answers 404 not_found saying how to build it. The API
 * around it still grants no cross-origin access.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DASHBOARD_DIR } from "../../../src/relayer/http/dashboard";
import { startApi, type ApiHarness } from "../helpers/api";

const CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "connect-src 'self'",
];

function expectPageHeaders(headers: Headers, what: string): void {
  const csp = headers.get("content-security-policy") ?? "";
  for (const directive of CSP_DIRECTIVES) expect(csp.split("; "), `${what}: ${directive}`).to.include(directive);
  expect(csp, what).to.not.include("unsafe-inline");
  expect(csp, what).to.not.include("unsafe-eval");
  expect(csp, what).to.not.match(/https?:/);
  expect(headers.get("x-content-type-options"), what).to.equal("nosniff");
  expect(headers.get("referrer-policy"), what).to.equal("no-referrer");
  expect(headers.get("x-frame-options"), what).to.equal("DENY");
  expect(headers.get("access-control-allow-origin"), what).to.equal(null);
}

describe("relayer HTTP: the dashboard's static files", function () {
  let h: ApiHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("serves the built page and its assets with the page's security headers; /dashboard redirects to /dashboard/", async function () {
    expect(fs.existsSync(path.join(DASHBOARD_DIR, "index.html")), "run npm run build:dashboard").to.equal(true);
    h = await startApi({ config: { dashboardIdleSeconds: 42 } });
    const page = await h.request("GET", "/dashboard/", { headers: { origin: "https://evil.example" } });
    expect(page.status).to.equal(200);
    expect(page.headers.get("content-type")).to.match(/^text\/html/);
    expectPageHeaders(page.headers, "index.html");
    // No inline script or style: only files of the page's own origin.
    expect(page.text).to.not.match(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page.text).to.not.match(/<style|\sstyle=|\son[a-z]+=/i);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).to.be.greaterThan(1);
    for (const asset of assets) {
      expect(asset, "same origin, under /dashboard/").to.match(/^\/dashboard\/assets\//);
      const res = await h.request("GET", asset);
      expect(res.status, asset).to.equal(200);
      expectPageHeaders(res.headers, asset);
      expect(res.text, asset).to.not.match(/https?:\/\/(?!www\.w3\.org\/)/);
    }

    const bare = await fetch(`${h.url}/dashboard`, { redirect: "manual" });
    expect([bare.status, bare.headers.get("location")]).to.deep.equal([302, "/dashboard/"]);
    expectPageHeaders(bare.headers, "/dashboard");

    const config = await h.request("GET", "/dashboard/config.json");
    expect(config.status).to.equal(200);
    expect(config.body).to.deep.equal({ idleSeconds: 42 });
    expectPageHeaders(config.headers, "config.json");

    const missing = await h.request("GET", "/dashboard/assets/nope.js");
    expect([missing.status, missing.body.error.code]).to.deep.equal([404, "not_found"]);
    expectPageHeaders(missing.headers, "a missing file");
    const escape = await h.request("GET", "/dashboard/..%2f..%2fpackage.json");
    expect(escape.status, "no file outside the build").to.be.oneOf([403, 404]);
    expect(escape.text).to.not.include("devDependencies");

    // The API keeps its own headers: no page policy on JSON, no CORS grant.
    const api = await h.request("GET", "/health", { headers: { origin: "https://evil.example" } });
    expect(api.headers.get("content-security-policy")).to.equal(null);
    expect(api.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("without a build: 404 not_found naming the build command, still with the page's headers", async function () {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "no-dashboard-"));
    try {
      h = await startApi({ deps: { dashboardDir: empty } });
      const res = await h.request("GET", "/dashboard/");
      expect([res.status, res.body.error.code]).to.deep.equal([404, "not_found"]);
      expect(res.body.error.message).to.include("npm run build:dashboard");
      expectPageHeaders(res.headers, "no build");
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
