/**
 * report.html: one self-contained page an auditor can open offline. Chart.js (an npm dependency)
 * is inlined from node_modules together with the data, and the page loads nothing from anywhere:
 * no fonts, images or scripts by URL, and a Content-Security-Policy that forbids any connection.
 *
 * After drawing, the page records in #charts-status how many charts rendered, how many pixels
 * each painted and where each sits, so that a headless browser can check the rendering
 * (test/auditor/report.browser.test.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { AuditResult } from "../audit";
import type { Ledger } from "../rebuild/ledger";
import { BUCKET_NAMES, sumBuckets, type EventRef, type Mismatch } from "../types";
import { fmtMoney, short } from "../util";
import { reportCharts } from "./series";

/** Rows shown per table: the CSV and JSON files have everything. */
const MAX_ROWS = 300;

let chartJs: string | undefined;

/** Chart.js's UMD build, read once from node_modules (throws a clear error if it is missing). */
function chartJsSource(): string {
  if (chartJs === undefined) {
    let file: string;
    try {
      // The package's exports map hides dist/; its main entry sits next to the UMD build.
      file = path.join(path.dirname(require.resolve("chart.js")), "chart.umd.js");
    } catch {
      throw new Error("The HTML report needs the chart.js package (npm install): it is inlined into report.html");
    }
    chartJs = readFileSync(file, "utf8");
  }
  return chartJs;
}

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element (no "</script>" or "<!--" can be formed). */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c");

export function reportHtml(result: AuditResult): string {
  const { ledger, chain, target, mismatches } = result;
  const clean = mismatches.length === 0;
  const charts = reportCharts(ledger);
  const owed = sumBuckets(ledger.totals);
  const escrowByTransfers = ledger.token.balances.get(target.escrow) ?? 0n;
  const blockTime = new Date(result.blockTimestamp * 1000).toISOString();

  const liabilityRows = BUCKET_NAMES.map((name) => {
    const ok = ledger.totals[name] === chain.liabilities[name];
    return `<tr><td>${escapeHtml(name)}</td><td class="num">${fmtMoney(ledger.totals[name])}</td><td class="num">${fmtMoney(chain.liabilities[name])}</td><td class="${ok ? "ok" : "bad"}">${ok ? "ok" : "MISMATCH"}</td></tr>`;
  }).join("");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>StablePay audit — ${escapeHtml(target.network)} — ${clean ? "clean" : `${mismatches.length} mismatches`}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>StablePay audit <small>${escapeHtml(target.network)} · chain ${target.chainId}</small></h1>
  <p>Blocks ${result.scan.fromBlock}–${result.scan.toBlock} (state at block ${result.scan.toBlock}, ${escapeHtml(blockTime)}) ·
  ${result.eventCount} events · ${chain.reads} on-chain reads · generated ${escapeHtml(result.startedAt.toISOString())}</p>
  <p class="addr">escrow ${escapeHtml(target.escrow)} · registry ${escapeHtml(target.registry)} · token ${escapeHtml(target.token)}</p>
  <div id="verdict" class="${clean ? "verdict ok" : "verdict bad"}">${clean ? "CLEAN — every check reconciles" : `${mismatches.length} MISMATCH${mismatches.length === 1 ? "" : "ES"} — see below`}</div>
</header>
<section class="cards">
  ${card("Owed by the escrow", fmtMoney(owed), "sum of the six buckets, rebuilt from events")}
  ${card("Escrow token balance", fmtMoney(chain.escrowTokenBalance), `by Transfer events: ${fmtMoney(escrowByTransfers)}`)}
  ${card("Surplus", fmtMoney(result.surplus.onChain), `owed to no one · ${result.surplus.inflows.length} transfers in outside the protocol · swept ${fmtMoney(result.surplus.swept)}`)}
  ${card("Payments", String(ledger.payments.size), `${ledger.rejections.length} rejected · ${ledger.batches.size} batches`)}
  ${card("Token supply", fmtMoney(chain.totalSupply), `minted ${fmtMoney(ledger.token.minted)} · burned ${fmtMoney(ledger.token.burned)}`)}
</section>
<section>
  <h2>Charts</h2>
  <div class="chart"><h3>Payment volume over time <small>${escapeHtml(charts.volume.note ?? "")}</small></h3><canvas id="chart-volume" width="1180" height="300"></canvas></div>
  <div class="chart"><h3>Settlement amounts per merchant</h3><canvas id="chart-settlements" width="1180" height="300"></canvas></div>
  <div class="chart"><h3>Held vs released over time <small>${escapeHtml(charts.balances.note ?? "")}</small></h3><canvas id="chart-balances" width="1180" height="300"></canvas></div>
  <div id="charts-status" data-state="pending">Charts need JavaScript; every number is also in the tables below.</div>
</section>
<section>
  <h2>Mismatches (${mismatches.length})</h2>
  ${clean ? `<p class="ok">None: the rebuilt ledger equals the chain's state, and the events agree with each other.</p>` : mismatchTable(mismatches)}
</section>
<section>
  <h2>Escrow buckets</h2>
  <table><thead><tr><th>bucket</th><th class="num">rebuilt from events</th><th class="num">escrow.liabilities()</th><th></th></tr></thead>
  <tbody>${liabilityRows}<tr class="total"><td>total owed</td><td class="num">${fmtMoney(owed)}</td><td class="num">${fmtMoney(sumBuckets(chain.liabilities))}</td><td></td></tr></tbody></table>
</section>
<section>
  <h2>Merchants</h2>
  ${merchantTable(ledger)}
</section>
<section>
  <h2>Batches (${ledger.batches.size})</h2>
  ${batchTable(ledger)}
</section>
<section>
  <h2>Payments (${ledger.payments.size})</h2>
  ${paymentTable(ledger)}
</section>
<footer>Rebuilt from the chain's events alone; amounts in token units (6 decimals). Full data: audit.json, payments.csv, settlements.csv, statements/.</footer>
<script type="application/json" id="chart-data">${scriptJson(charts)}</script>
<script>${chartJsSource()}</script>
<script>${DRAW_SCRIPT}</script>
</body>
</html>
`;
}

function card(title: string, value: string, note: string): string {
  return `<div class="card"><div class="card-title">${escapeHtml(title)}</div><div class="card-value">${escapeHtml(value)}</div><div class="card-note">${escapeHtml(note)}</div></div>`;
}

const refText = (r: EventRef): string =>
  `${escapeHtml(r.event)} · block ${r.blockNumber} · log ${r.logIndex} · tx <code title="${escapeHtml(r.transactionHash)}">${escapeHtml(short(r.transactionHash))}</code>`;

function mismatchTable(mismatches: Mismatch[]): string {
  const rows = mismatches.slice(0, MAX_ROWS).map(
    (
      m,
    ) => `<tr class="bad-row"><td><code>${escapeHtml(m.check)}</code><br><small>${m.source}</small></td><td>${escapeHtml(m.subject)}</td>
<td>${escapeHtml(m.message)}${m.expected !== undefined ? `<br><small>expected ${escapeHtml(m.expected)} · actual ${escapeHtml(m.actual ?? "—")}</small>` : ""}</td>
<td><ul>${m.events.map((e) => `<li>${refText(e)}</li>`).join("")}</ul></td></tr>`,
  );
  return `<table><thead><tr><th>check</th><th>subject</th><th>what</th><th>events involved</th></tr></thead><tbody>${rows.join("")}</tbody></table>${more(mismatches.length)}`;
}

function merchantTable(ledger: Ledger): string {
  const rows = [...ledger.merchants.values()].map(
    (
      m,
    ) => `<tr><td>${m.id}</td><td><code>${escapeHtml(short(m.payout))}</code></td><td class="num">${m.feeBps}</td><td class="num">${fmtMoney(m.escrowed)}</td><td class="num">${fmtMoney(m.refunded)}</td>
<td class="num">${fmtMoney(m.feesCharged)}</td><td class="num">${fmtMoney(m.paid)}</td><td class="num">${fmtMoney(m.deferred)}</td><td class="num">${fmtMoney(m.claimed)}</td>
<td class="num">${fmtMoney(m.held)}</td><td class="num">${fmtMoney(m.released)}</td><td class="num">${fmtMoney(m.claimable)}</td></tr>`,
  );
  return `<table><thead><tr><th>id</th><th>payout</th><th class="num">fee bps</th><th class="num">escrowed</th><th class="num">refunded</th><th class="num">fees</th><th class="num">paid</th><th class="num">deferred</th><th class="num">claimed</th><th class="num">held</th><th class="num">released</th><th class="num">claimable</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function batchTable(ledger: Ledger): string {
  const batches = [...ledger.batches.values()];
  const rows = batches.slice(0, MAX_ROWS).map((b) => {
    const ok =
      b.rebuiltRoot === b.root && BigInt(b.paymentIds.length) === b.paymentCount && b.escrowedTotal === b.total;
    return `<tr><td>${b.id}</td><td class="num">${b.paymentCount}</td><td class="num">${fmtMoney(b.total)}</td><td><code title="${escapeHtml(b.root)}">${escapeHtml(short(b.root))}</code></td>
<td class="${ok ? "ok" : "bad"}">${ok ? "rebuilt root matches" : "MISMATCH"}</td><td>${b.ref.blockNumber}</td></tr>`;
  });
  return `<table><thead><tr><th>batch</th><th class="num">payments</th><th class="num">total</th><th>root</th><th>commitment</th><th>block</th></tr></thead><tbody>${rows.join("")}</tbody></table>${more(batches.length)}`;
}

function paymentTable(ledger: Ledger): string {
  const payments = [...ledger.payments.values()];
  const rows = payments.slice(0, MAX_ROWS).map(
    (
      p,
    ) => `<tr><td><code title="${escapeHtml(p.id)}">${escapeHtml(short(p.id))}</code></td><td>${p.batchId}</td><td>${p.merchantId}</td><td><code>${escapeHtml(short(p.payer))}</code></td>
<td class="num">${fmtMoney(p.amount)}</td><td>${escapeHtml(p.status)}</td><td class="num">${fmtMoney(p.refunded)}</td></tr>`,
  );
  return `<table><thead><tr><th>payment</th><th>batch</th><th>merchant</th><th>payer</th><th class="num">amount</th><th>status</th><th class="num">refunded</th></tr></thead><tbody>${rows.join("")}</tbody></table>${more(payments.length)}`;
}

const more = (count: number): string =>
  count > MAX_ROWS ? `<p class="note">First ${MAX_ROWS} of ${count}; all in the CSV and JSON files.</p>` : "";

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1240px;padding:16px 24px;color:#1f2933;background:#fff}
h1{margin:0 0 4px;font-size:24px}h1 small{font-weight:400;color:#52606d;font-size:16px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e4e7eb;padding-bottom:4px}h3{font-size:14px;margin:8px 0}h3 small{color:#7b8794;font-weight:400}
.addr{color:#7b8794;font-size:12px}
.verdict{display:inline-block;padding:8px 14px;border-radius:6px;font-weight:700;margin-top:6px}
.verdict.ok{background:#e3f9e5;color:#0e5e2a;border:1px solid #8ee5a0}.verdict.bad{background:#ffe3e3;color:#8a041a;border:1px solid #ff9b9b}
.cards{display:flex;gap:12px;margin-top:16px}.card{flex:1;border:1px solid #e4e7eb;border-radius:8px;padding:10px 12px}
.card-title{color:#52606d;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card-value{font-size:22px;font-weight:700}.card-note{color:#7b8794;font-size:12px}
.chart{border:1px solid #e4e7eb;border-radius:8px;padding:8px 12px;margin-bottom:12px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f7fa}.num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#0e7a35}.bad{color:#c81e1e;font-weight:700}
.bad-row td{background:#fff5f5}td ul{margin:0;padding-left:16px}.total td{font-weight:700}
code{font-size:12px}.note,#charts-status{color:#7b8794;font-size:12px}footer{margin:32px 0 8px;color:#7b8794;font-size:12px}`;

/** Runs in the page: draws the three charts, then records what was drawn in #charts-status. */
const DRAW_SCRIPT = `
(function () {
  var status = document.getElementById("charts-status");
  var palette = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0891b2", "#db2777", "#65a30d"];
  var results = [];
  try {
    var data = JSON.parse(document.getElementById("chart-data").textContent);
    var specs = [
      ["chart-volume", "bar", data.volume, true],
      ["chart-settlements", "bar", data.settlements, false],
      ["chart-balances", "line", data.balances, false]
    ];
    specs.forEach(function (spec) {
      var canvas = document.getElementById(spec[0]);
      var chartData = spec[2];
      var timed = !!chartData.times;
      var xScale = timed
        ? { type: "linear", min: chartData.times[0], max: chartData.times[chartData.times.length - 1], ticks: { maxTicksLimit: 12, callback: function (v) { return new Date(v * 1000).toISOString().slice(0, 10); } } }
        : { stacked: spec[3] };
      var chart = new Chart(canvas, {
        type: spec[1],
        data: {
          labels: chartData.labels,
          datasets: chartData.datasets.map(function (d, i) {
            var color = palette[i % palette.length];
            var values = timed ? d.data.map(function (y, j) { return { x: chartData.times[j], y: y }; }) : d.data;
            return { label: d.label, data: values, backgroundColor: color, borderColor: color, borderWidth: spec[1] === "line" ? 2 : 0, pointRadius: 0, stepped: spec[1] === "line" };
          })
        },
        options: {
          animation: false,
          responsive: false,
          devicePixelRatio: 1,
          plugins: {
            legend: { position: "bottom" },
            tooltip: timed ? { callbacks: { title: function (items) { return chartData.labels[items[0].dataIndex]; } } } : {}
          },
          scales: { x: xScale, y: { stacked: spec[3], beginAtZero: true } }
        }
      });
      chart.draw();
      var pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      var painted = 0;
      for (var p = 3; p < pixels.length; p += 4) if (pixels[p] !== 0) painted++;
      var rect = canvas.getBoundingClientRect();
      results.push({ id: spec[0], points: chartData.datasets.reduce(function (n, d) { return n + d.data.length; }, 0), painted: painted,
        rect: { x: Math.round(rect.left + window.scrollX), y: Math.round(rect.top + window.scrollY), width: Math.round(rect.width), height: Math.round(rect.height) } });
    });
    status.setAttribute("data-state", results.length === specs.length ? "rendered" : "partial");
    status.textContent = "Charts rendered: " + results.length;
  } catch (e) {
    status.setAttribute("data-state", "error");
    status.setAttribute("data-error", String(e && e.message || e));
    status.textContent = "Charts failed: " + String(e && e.message || e);
  }
  status.setAttribute("data-charts", JSON.stringify(results));
})();
`;
