/** The human summary the CLI prints: what was scanned, the reconciled totals, and every mismatch. */
import type { AuditResult } from "../audit";
import { BUCKET_NAMES, sumBuckets, type Mismatch } from "../types";
import { fmtMoney } from "../util";

const MAX_LISTED = 50;

export function summaryText(result: AuditResult): string {
  const { ledger, chain, target, mismatches, scan } = result;
  const lines: string[] = [];
  const rate = scan.elapsedMs > 0 ? Math.round((scan.fetched * 1000) / scan.elapsedMs) : scan.fetched;
  lines.push(
    `StablePay audit of ${target.network} (chain ${target.chainId}), ${target.currency} escrow ${target.escrow}, state at block ${scan.toBlock}`,
  );
  lines.push(
    `  scanned blocks ${scan.fromBlock}-${scan.toBlock}: ${result.eventCount} events` +
      (scan.fetchedFrom > scan.fromBlock
        ? ` (${scan.fetched} fetched from block ${scan.fetchedFrom}, the rest from the state file)`
        : "") +
      ` in ${(scan.elapsedMs / 1000).toFixed(2)} s (${rate} events/s), ${scan.pages} pages; ${chain.reads} on-chain reads`,
  );
  if (scan.fromBlock > target.deployBlock) {
    lines.push(
      `  note: the scan starts after the deploy block ${target.deployBlock}: earlier history is missing, so balances cannot reconcile`,
    );
  }
  if (scan.unknownLogs > 0)
    lines.push(`  note: ${scan.unknownLogs} logs with signatures this auditor does not know were skipped`);
  if (target.externalToken)
    lines.push(`  note: external token: supply and holder checks skipped (its history predates the deployment)`);
  lines.push("");
  lines.push(`  ${"escrow bucket".padEnd(18)}${"rebuilt".padStart(20)}${"on chain".padStart(20)}`);
  for (const name of BUCKET_NAMES) {
    const mark = ledger.totals[name] === chain.liabilities[name] ? "" : "   <-- MISMATCH";
    lines.push(
      `  ${name.padEnd(18)}${fmtMoney(ledger.totals[name]).padStart(20)}${fmtMoney(chain.liabilities[name]).padStart(20)}${mark}`,
    );
  }
  lines.push(
    `  ${"total owed".padEnd(18)}${fmtMoney(sumBuckets(ledger.totals)).padStart(20)}${fmtMoney(sumBuckets(chain.liabilities)).padStart(20)}`,
  );
  lines.push(
    `  ${"token balance".padEnd(18)}${fmtMoney(ledger.token.balances.get(target.escrow) ?? 0n).padStart(20)}${fmtMoney(chain.escrowTokenBalance).padStart(20)}   (Transfer events / balanceOf)`,
  );
  lines.push(...surplusLines(result));
  lines.push("");
  const byStatus = new Map<string, number>();
  for (const p of ledger.payments.values()) byStatus.set(p.status, (byStatus.get(p.status) ?? 0) + 1);
  lines.push(
    `  payments: ${ledger.payments.size} escrowed in ${ledger.batches.size} batches, ${ledger.rejections.length} rejected; ` +
      [...byStatus].map(([s, n]) => `${n} ${s}`).join(", "),
  );
  lines.push(
    `  customers: ${ledger.customers.size}; merchants: ${ledger.merchants.size}; settlements: ${ledger.settlements.length}; claims: ${ledger.claims.length}`,
  );
  for (const m of ledger.merchants.values()) {
    lines.push(
      `    merchant ${m.id}: escrowed ${fmtMoney(m.escrowed)}, fees ${fmtMoney(m.feesCharged)}, paid ${fmtMoney(m.paid)}, ` +
        `deferred ${fmtMoney(m.deferred)}, claimed ${fmtMoney(m.claimed)}; now held ${fmtMoney(m.held)}, released ${fmtMoney(m.released)}, claimable ${fmtMoney(m.claimable)}`,
    );
  }
  lines.push(
    `  fees: accrued ${fmtMoney(ledger.feesAccrued)}, collected ${fmtMoney(ledger.feeCollections.reduce((s, f) => s + f.amount, 0n))}, outstanding ${fmtMoney(ledger.totals.fees)}`,
  );
  lines.push(
    `  token: minted ${fmtMoney(ledger.token.minted)}, burned ${fmtMoney(ledger.token.burned)}, totalSupply ${fmtMoney(chain.totalSupply)}, ${ledger.token.balances.size} holders`,
  );
  lines.push("");
  if (mismatches.length === 0) {
    lines.push("RESULT: CLEAN - every check reconciles");
  } else {
    lines.push(`RESULT: ${mismatches.length} MISMATCH${mismatches.length === 1 ? "" : "ES"}`);
    for (const m of mismatches.slice(0, MAX_LISTED)) lines.push(...mismatchLines(m));
    if (mismatches.length > MAX_LISTED) lines.push(`  ... and ${mismatches.length - MAX_LISTED} more (audit.json)`);
  }
  return lines.join("\n");
}

/** The surplus line: tokens beyond the liabilities, where they came from, and what was swept. */
export function surplusLines({ surplus }: AuditResult): string[] {
  const lines = [
    `  ${"surplus".padEnd(18)}${fmtMoney(surplus.rebuilt).padStart(20)}${fmtMoney(surplus.onChain).padStart(20)}   ` +
      `(owed to no one: ${surplus.inflows.length} transfer${surplus.inflows.length === 1 ? "" : "s"} in outside the protocol, ${fmtMoney(surplus.swept)} swept)`,
  ];
  for (const t of surplus.inflows.slice(0, 5)) {
    lines.push(`      ${fmtMoney(t.amount)} from ${t.counterparty} in tx ${t.ref.transactionHash}`);
  }
  if (surplus.inflows.length > 5) lines.push(`      ... and ${surplus.inflows.length - 5} more (audit.json)`);
  return lines;
}

export function mismatchLines(m: Mismatch): string[] {
  const lines = [`  [${m.check}] ${m.subject}: ${m.message}`];
  if (m.expected !== undefined || m.actual !== undefined)
    lines.push(`      expected ${m.expected ?? "-"}, actual ${m.actual ?? "-"}`);
  for (const e of m.events.slice(0, 5)) {
    lines.push(`      ${e.event} block ${e.blockNumber} log ${e.logIndex} tx ${e.transactionHash}`);
  }
  if (m.events.length > 5) lines.push(`      ... ${m.events.length - 5} more events (audit.json)`);
  return lines;
}
