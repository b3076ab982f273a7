/**
 * Chart data for the HTML report: payment volume over time (per merchant), settlement amounts per
 * merchant, and the escrow's held / disputed / released / claimable balances over time.
 *
 * Chart libraries plot floating-point numbers, so amounts are converted here, for display only,
 * from exact decimal strings (formatUnits) to numbers; no total is ever computed from them.
 */
import type { Ledger } from "../rebuild/ledger";
import { fmt } from "../util";

export interface Dataset {
  label: string;
  data: number[];
}

export interface Chart {
  labels: string[];
  datasets: Dataset[];
  /** Human note on the axis (e.g. "per day"). */
  note?: string;
  /** Unix times of the points: the x axis is then linear in time, and `labels` are only tooltips. */
  times?: number[];
}

export interface ReportCharts {
  volume: Chart;
  settlements: Chart;
  balances: Chart;
}

/** Display-only conversion of token units to a chart number. */
const display = (units: bigint): number => Number(fmt(units));

const BUCKETS: { seconds: number; name: string; label: (d: Date) => string }[] = [
  { seconds: 3_600, name: "per hour", label: (d) => d.toISOString().slice(0, 13).replace("T", " ") + ":00" },
  { seconds: 86_400, name: "per day", label: (d) => d.toISOString().slice(0, 10) },
  { seconds: 7 * 86_400, name: "per week", label: (d) => `week of ${d.toISOString().slice(0, 10)}` },
  { seconds: 30 * 86_400, name: "per 30 days", label: (d) => d.toISOString().slice(0, 10) },
  { seconds: 365 * 86_400, name: "per year", label: (d) => d.toISOString().slice(0, 4) },
];
const MAX_BUCKETS = 60;
const MAX_POINTS = 300;

export function reportCharts(ledger: Ledger): ReportCharts {
  return { volume: volumeChart(ledger), settlements: settlementsChart(ledger), balances: balancesChart(ledger) };
}

function volumeChart(ledger: Ledger): Chart {
  const payments = [...ledger.payments.values()];
  const merchantIds = [...ledger.merchants.keys()];
  if (payments.length === 0) return { labels: [], datasets: [], note: "no payments" };
  const times = payments.map((p) => p.escrowed.timestamp);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const bucket = BUCKETS.find((b) => (last - first) / b.seconds < MAX_BUCKETS) ?? BUCKETS[BUCKETS.length - 1];
  const start = Math.floor(first / bucket.seconds);
  const count = Math.floor(last / bucket.seconds) - start + 1;
  const labels = Array.from({ length: count }, (_, i) => bucket.label(new Date((start + i) * bucket.seconds * 1000)));
  const sums = new Map<bigint, bigint[]>(merchantIds.map((id) => [id, new Array<bigint>(count).fill(0n)]));
  for (const p of payments) {
    const row = sums.get(p.merchantId);
    if (row) row[Math.floor(p.escrowed.timestamp / bucket.seconds) - start] += p.amount;
  }
  return {
    labels,
    datasets: merchantIds.map((id) => ({ label: `Merchant ${id}`, data: sums.get(id)!.map(display) })),
    note: bucket.name,
  };
}

function settlementsChart(ledger: Ledger): Chart {
  const merchants = [...ledger.merchants.values()];
  return {
    labels: merchants.map((m) => `Merchant ${m.id}`),
    datasets: [
      { label: "Paid", data: merchants.map((m) => display(m.paid)) },
      { label: "Deferred", data: merchants.map((m) => display(m.deferred)) },
      { label: "Claimed", data: merchants.map((m) => display(m.claimed)) },
      { label: "Fees", data: merchants.map((m) => display(m.feesCharged)) },
    ],
  };
}

function balancesChart(ledger: Ledger): Chart {
  const points = ledger.timeline;
  const step = Math.max(1, Math.ceil(points.length / MAX_POINTS));
  const sampled = points.filter((_, i) => i % step === 0 || i === points.length - 1);
  return {
    labels: sampled.map((p) => new Date(p.timestamp * 1000).toISOString().slice(0, 16).replace("T", " ")),
    times: sampled.map((p) => p.timestamp),
    datasets: [
      { label: "Held", data: sampled.map((p) => display(p.held)) },
      { label: "Disputed", data: sampled.map((p) => display(p.disputed)) },
      { label: "Released", data: sampled.map((p) => display(p.released)) },
      { label: "Claimable", data: sampled.map((p) => display(p.claimable)) },
    ],
    note: sampled.length < points.length ? `${sampled.length} of ${points.length} points` : undefined,
  };
}
