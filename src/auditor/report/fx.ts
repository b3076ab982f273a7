/**
 * The FX pairing check's reports, in the per-currency reports' formats: `summary.txt` (also
 * printed) with each finding as mismatchLines prints it, and `audit.json` whose `mismatches` have
 * the per-currency shape. Written to `audit-out/<network>/fx/`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { FxAuditResult } from "../fx";
import { DECIMALS, fmtMoney } from "../util";
import { AUDIT_JSON_VERSION, plain } from "./json";
import { mismatchLines } from "./summary";

const MAX_LISTED = 50;

/** "FX: clean" or "FX: N findings": the CLI's verdict line. */
export const fxVerdict = (result: FxAuditResult): string =>
  `FX: ${result.mismatches.length === 0 ? "clean" : `${result.mismatches.length} finding${result.mismatches.length === 1 ? "" : "s"}`}`;

export function fxSummaryText(result: FxAuditResult): string {
  const { mismatches } = result;
  const lines = [
    `StablePay FX pairing of ${result.network} (chain ${result.chainId}), desk merchant ${result.deskMerchantId} ` +
      `(owner ${result.deskOwners.join(", ") || "none"}), ${result.currencies.join(", ")} at block ${result.toBlock}`,
    `  ${result.legs} legs, ${result.pairs.length} pairs; grace ${result.graceSeconds} s; ` +
      (Object.keys(result.rates).length === 0
        ? "no reference rates (band not checked)"
        : `reference rates ${Object.entries(result.rates)
            .map(([pair, rate]) => `${pair}=${rate}`)
            .join(", ")} ±${result.bandBps} bps`),
    "  note: quotes and their quoter signatures are not on chain; the relayer checks them",
  ];
  for (const pair of result.pairs.slice(0, 10)) {
    lines.push(
      `    ${pair.orderRef}: ${pair.pay.currency} ${fmtMoney(pair.pay.payment.amount)} -> ` +
        `${pair.settle.currency} ${fmtMoney(pair.settle.payment.amount)} to merchant ${pair.settle.payment.merchantId}`,
    );
  }
  if (result.pairs.length > 10) lines.push(`    ... and ${result.pairs.length - 10} more pairs (audit.json)`);
  lines.push("");
  if (mismatches.length === 0) {
    lines.push("RESULT: CLEAN - every FX leg is paired or settled by the rules");
  } else {
    lines.push(`RESULT: ${mismatches.length} FX FINDING${mismatches.length === 1 ? "" : "S"}`);
    for (const m of mismatches.slice(0, MAX_LISTED)) lines.push(...mismatchLines(m));
    if (mismatches.length > MAX_LISTED) lines.push(`  ... and ${mismatches.length - MAX_LISTED} more (audit.json)`);
  }
  return lines.join("\n");
}

export function fxJson(result: FxAuditResult): string {
  const document = {
    version: AUDIT_JSON_VERSION,
    decimals: DECIMALS,
    clean: result.mismatches.length === 0,
    network: result.network,
    chainId: result.chainId,
    currencies: result.currencies,
    deskMerchantId: result.deskMerchantId,
    deskOwners: result.deskOwners,
    blocks: { to: result.toBlock, toTimestamp: result.blockTimestamp },
    graceSeconds: result.graceSeconds,
    bandBps: result.bandBps,
    rates: result.rates,
    legs: result.legs,
    pairs: result.pairs.map(({ orderRef, pay, settle }) => ({
      orderRef,
      pay: {
        currency: pay.currency,
        paymentId: pay.payment.id,
        amount: pay.payment.amount,
        refunded: pay.payment.refunded,
      },
      settle: {
        currency: settle.currency,
        paymentId: settle.payment.id,
        merchantId: settle.payment.merchantId,
        amount: settle.payment.amount,
        refunded: settle.payment.refunded,
      },
      deadline: pay.deadline,
    })),
    mismatches: result.mismatches,
  };
  return JSON.stringify(plain(document), null, 2) + "\n";
}

export function writeFxReports(result: FxAuditResult, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const files: [string, string][] = [
    ["audit.json", fxJson(result)],
    ["summary.txt", fxSummaryText(result) + "\n"],
  ];
  return files.map(([name, body]) => {
    const file = path.join(outDir, name);
    writeFileSync(file, body, "utf8");
    return file;
  });
}
