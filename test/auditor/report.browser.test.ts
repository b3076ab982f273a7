/**
 * Browser check of the HTML audit report: report.html (generated from the scripted history on the
 * in-process chain) is opened from disk in headless Chromium (the npm package's binary, see
 * test/helpers/browser.ts), the DOM read after its scripts ran and a screenshot taken. The page must
 * say its three charts rendered (and how many pixels each painted), and the screenshot must show
 * them: the chart regions are decoded from the PNG and must hold many non-white pixels of several
 * colours, including the charts' own palette.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { PNG } from "pngjs";
import type { Browser } from "puppeteer-core";
import { breakLedger } from "../fixtures/auditHistory";
import { runAudit } from "../../src/auditor/audit";
import { writeReports } from "../../src/auditor/report/write";
import { targetOf } from "../../src/auditor/target";
import { launchBrowser, unresolvedLibraries } from "../helpers/browser";
import { deployWithHistory, hre, removeDir, tempDir, type AuditedChain } from "./helpers";

const WIDTH = 1280;
const HEIGHT = 2000;

async function storyFixture(): Promise<AuditedChain> {
  return deployWithHistory();
}

interface ChartStatus {
  id: string;
  points: number;
  painted: number;
  rect: { x: number; y: number; width: number; height: number };
}

let browser: Browser;

/** The DOM after the page loaded (its scripts run before the load event), and optionally a screenshot. */
async function openReport(file: string, png?: string): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.setViewport({ width: WIDTH, height: HEIGHT, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: 90_000 });
    if (png) await page.screenshot({ path: png as `${string}.png` });
    return await page.content();
  } finally {
    await page.close();
  }
}

const dumpDom = (file: string): Promise<string> => openReport(file);

async function screenshot(file: string, png: string): Promise<PNG> {
  await openReport(file, png);
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
    browser = await launchBrowser();
    dir = tempDir("stablepay-report-");
    const chain = await loadFixture(storyFixture);
    const result = await runAudit({ client: chain.client, target: targetOf(chain.record) });
    expect(result.mismatches).to.deep.equal([]);
    writeReports(result, dir);
    report = path.join(dir, "report.html");
  });

  after(async () => {
    await browser?.close();
    removeDir(dir);
  });

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

  it("runs from npm alone: the packaged Chromium also renders with the package's own libraries", async function () {
    if (process.env.CHROMIUM_PATH) this.skip(); // another Chromium was chosen: nothing packaged to check
    expect(await unresolvedLibraries()).to.deep.equal([]);
    expect(await unresolvedLibraries({ bundledLibraries: true })).to.deep.equal([]);
    const bundled = await launchBrowser({ bundledLibraries: true });
    try {
      const page = await bundled.newPage();
      await page.goto(pathToFileURL(report).href, { waitUntil: "load" });
      expect(chartStatus(await page.content()).state).to.equal("rendered");
    } finally {
      await bundled.close();
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
