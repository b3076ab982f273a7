/**
 * Browser check of the HTML audit report: report.html (generated from the scripted history on the
 * in-process chain) is opened from disk in headless Chromium (Debian package `chromium`), once to
 * dump the DOM after its scripts ran and once to take a screenshot. The page must say its three
 * charts rendered (and how many pixels each painted), and the screenshot must show them: the chart
 * regions are decoded from the PNG and must hold many non-white pixels of several colours,
 * including the charts' own palette.
 *
 * Never skipped: without Chromium the test fails and says how to install it.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { PNG } from "pngjs";
import { breakLedger } from "../../scripts/audit-history";
import { runAudit } from "../../src/auditor/audit";
import { writeReports } from "../../src/auditor/report/write";
import { targetOf } from "../../src/auditor/target";
import { deployWithHistory, hre, removeDir, tempDir, type AuditedChain } from "./helpers";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const WIDTH = 1280;
const HEIGHT = 2000;
/** The flags CI uses: no network of its own, no first-run work, a fresh profile each time. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
  "--force-device-scale-factor=1",
  `--window-size=${WIDTH},${HEIGHT}`,
];

async function storyFixture(): Promise<AuditedChain> {
  return deployWithHistory();
}

interface ChartStatus {
  id: string;
  points: number;
  painted: number;
  rect: { x: number; y: number; width: number; height: number };
}

/** Runs Chromium on `file` with `args` and a fresh profile; resolves with its stdout. */
function chromium(args: string[], file: string, timeoutMs = 90_000): Promise<string> {
  const profile = mkdtempSync(path.join(os.tmpdir(), "stablepay-chromium-"));
  return new Promise<string>((resolve, reject) => {
    const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args, pathToFileURL(file).href], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: a hung browser is ended with all its helpers
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
      reject(new Error(`chromium ${args.join(" ")} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve(stdout);
      else reject(new Error(`chromium ${args.join(" ")} exited with ${code}\n${stderr}`));
    });
  });
}

/** The DOM after the page's scripts ran. */
const dumpDom = (file: string): Promise<string> => chromium(["--dump-dom"], file);

async function screenshot(file: string, png: string): Promise<PNG> {
  await chromium([`--screenshot=${png}`], file);
  return PNG.sync.read(readFileSync(png));
}

function chartStatus(dom: string): { state: string; charts: ChartStatus[]; error?: string } {
  const tag = /<div id="charts-status"([^>]*)>/.exec(dom)?.[1];
  if (!tag) throw new Error("the dumped DOM has no #charts-status element");
  const attr = (name: string): string | undefined => {
    const raw = new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];
    return raw?.replace(/&quot;/g, '"').replace(/&amp;/g, "&");
  };
  return {
    state: attr("data-state") ?? "",
    charts: JSON.parse(attr("data-charts") ?? "[]"),
    error: attr("data-error"),
  };
}

/** Non-white pixels, distinct colours, and pixels close to `rgb`, inside `rect` of the image. */
function regionStats(png: PNG, rect: ChartStatus["rect"], rgb: [number, number, number]) {
  let nonWhite = 0;
  let near = 0;
  const colours = new Set<number>();
  for (let y = rect.y; y < Math.min(rect.y + rect.height, png.height); y++) {
    for (let x = rect.x; x < Math.min(rect.x + rect.width, png.width); x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r < 245 || g < 245 || b < 245) nonWhite++;
      colours.add((r << 16) | (g << 8) | b);
      if (Math.abs(r - rgb[0]) < 24 && Math.abs(g - rgb[1]) < 24 && Math.abs(b - rgb[2]) < 24) near++;
    }
  }
  return { nonWhite, colours: colours.size, near, area: rect.width * rect.height };
}

describe("auditor: the HTML report renders in headless Chromium", function () {
  this.timeout(300_000);

  let dir: string;
  let report: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the browser check cannot run. ` +
          `Install the Debian package: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH).`,
      );
    }
    dir = tempDir("stablepay-report-");
    const chain = await loadFixture(storyFixture);
    const result = await runAudit({ client: chain.client, target: targetOf(chain.record) });
    expect(result.mismatches).to.deep.equal([]);
    writeReports(result, dir);
    report = path.join(dir, "report.html");
  });

  after(() => removeDir(dir));

  it("is self-contained: nothing is loaded from the network", function () {
    const html = readFileSync(report, "utf8");
    expect(html).to.include(`content="default-src 'none'; script-src 'unsafe-inline'`);
    expect(html).to.not.match(/<(script|img|link|iframe)[^>]+(src|href)=/i);
    expect(html).to.not.match(/url\(\s*['"]?https?:/i);
    expect(html).to.include("new Chart(canvas"); // Chart.js itself is inlined
  });

  it("draws its three charts (the page reports what it painted)", async function () {
    const status = chartStatus(await dumpDom(report));
    expect(status.state, status.error).to.equal("rendered");
    expect(status.charts.map((c) => c.id)).to.deep.equal(["chart-volume", "chart-settlements", "chart-balances"]);
    for (const chart of status.charts) {
      expect(chart.points, chart.id).to.be.greaterThan(0);
      // Axes, grid, bars or lines, legend: a drawn chart paints a good part of its canvas.
      expect(chart.painted / (chart.rect.width * chart.rect.height), chart.id).to.be.greaterThan(0.03);
    }
  });

  it("shows the charts in a non-blank screenshot", async function () {
    const { charts } = chartStatus(await dumpDom(report));
    const png = await screenshot(report, path.join(dir, "report.png"));
    expect([png.width, png.height]).to.deep.equal([WIDTH, HEIGHT]);

    const whole = regionStats(png, { x: 0, y: 0, width: png.width, height: png.height }, [0x25, 0x63, 0xeb]);
    expect(whole.colours, "distinct colours on the page").to.be.greaterThan(50);

    // The palette's first colour (merchant 1 / paid / held) must appear in every chart.
    for (const chart of charts) {
      expect(chart.rect.y + chart.rect.height, `${chart.id} lies within the screenshot`).to.be.at.most(HEIGHT);
      const s = regionStats(png, chart.rect, [0x25, 0x63, 0xeb]);
      expect(s.nonWhite / s.area, `${chart.id}: non-white share`).to.be.greaterThan(0.03);
      expect(s.colours, `${chart.id}: distinct colours`).to.be.greaterThan(8);
      expect(s.near, `${chart.id}: pixels in the chart palette's blue`).to.be.greaterThan(50);
    }
  });

  it("shows tokens sent straight to the escrow as surplus, not as mismatches", async function () {
    const chain = await loadFixture(storyFixture);
    await breakLedger(hre, chain.record);
    const brokenDir = path.join(dir, "broken");
    writeReports(await runAudit({ client: chain.client, target: targetOf(chain.record) }), brokenDir);
    const dom = await dumpDom(path.join(brokenDir, "report.html"));
    expect(chartStatus(dom).state).to.equal("rendered");
    expect(dom).to.include("CLEAN");
    expect(dom).to.include("Surplus");
    expect(dom).to.include("1,000.00");
  });
});
