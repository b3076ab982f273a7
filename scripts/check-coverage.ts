/**
 * Fails (exit 1) when Solidity coverage of contracts/ (mocks excluded by .solcover.js) is under the
 * project's thresholds. Reads the json-summary report `hardhat coverage` writes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export const COVERAGE_THRESHOLDS = { lines: 95, branches: 90 } as const;

interface Metric {
  total: number;
  covered: number;
  pct: number;
}
type Summary = Record<string, { lines: Metric; branches: Metric; statements: Metric; functions: Metric }>;

function main(): void {
  const summaryPath = path.join(process.cwd(), "coverage", "coverage-summary.json");
  const summary = JSON.parse(readFileSync(summaryPath, "utf8")) as Summary;
  const failures: string[] = [];
  const { total } = summary;
  for (const [metric, threshold] of Object.entries(COVERAGE_THRESHOLDS) as [
    keyof typeof COVERAGE_THRESHOLDS,
    number,
  ][]) {
    const pct = total[metric].pct;
    console.log(`coverage ${metric}: ${pct}% (threshold ${threshold}%)`);
    if (pct < threshold) failures.push(`${metric} ${pct}% < ${threshold}%`);
  }
  for (const [file, metrics] of Object.entries(summary)) {
    if (file === "total") continue;
    if (metrics.lines.pct < COVERAGE_THRESHOLDS.lines || metrics.branches.pct < COVERAGE_THRESHOLDS.branches) {
      console.log(
        `  below threshold: ${path.relative(process.cwd(), file)} lines ${metrics.lines.pct}% branches ${metrics.branches.pct}%`,
      );
    }
  }
  if (failures.length > 0) {
    console.error(`Solidity coverage under threshold: ${failures.join(", ")}`);
    process.exit(1);
  }
}

main();
