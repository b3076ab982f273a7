/** Writes every report file of an audit under one directory and returns their paths. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { AuditResult } from "../audit";
import { merchantStatementsCsv, paymentsCsv, settlementsCsv } from "./csv";
import { reportHtml } from "./html";
import { auditJson } from "./json";
import { summaryText } from "./summary";

export function writeReports(result: AuditResult, outDir: string): string[] {
  mkdirSync(path.join(outDir, "statements"), { recursive: true });
  const files: [string, string][] = [
    ["audit.json", auditJson(result)],
    ["summary.txt", summaryText(result) + "\n"],
    ["payments.csv", paymentsCsv(result.ledger)],
    ["settlements.csv", settlementsCsv(result.ledger)],
    ...[...merchantStatementsCsv(result.ledger)].map(([id, body]): [string, string] => [
      path.join("statements", `merchant-${id}.csv`),
      body,
    ]),
    ["report.html", reportHtml(result)],
  ];
  return files.map(([name, body]) => {
    const file = path.join(outDir, name);
    writeFileSync(file, body, "utf8");
    return file;
  });
}
