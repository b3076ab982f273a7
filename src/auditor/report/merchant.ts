/**
 * The merchant reports as the auditor rebuilds them from the chain: the scanned escrow events,
 * normalised, and each escrowing transaction's calldata for the order references, handed to the
 * same builders the relayer serves (src/protocol/reports). Files per merchant and day:
 * `<dir>/merchant-<id>/<date>/{transactions,settlements,summary}.csv`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { PublicClient } from "viem";
import { escrowDomain, type Payment } from "../../protocol";
import {
  collectOrderRefs,
  collectSignedPayments,
  creditRecord,
  REPORT_KINDS,
  reportCsv,
  reportEventOf,
  type CreditRecord,
  type ReportDay,
  type ReportEvent,
  type ReportInput,
} from "../../protocol/reports";
import { ConnectionError } from "../errors";
import type { AuditEvent, AuditTarget, Hex } from "../types";

/** The escrow's events about merchants, as the report builders take them. */
export function reportEventsOf(events: readonly AuditEvent[]): ReportEvent[] {
  const out: ReportEvent[] = [];
  for (const e of events) {
    if (e.contract !== "escrow") continue;
    const r = reportEventOf(e.eventName, e.args as Record<string, unknown>, {
      blockNumber: e.ref.blockNumber,
      logIndex: e.ref.logIndex,
      txHash: e.ref.transactionHash,
      timestamp: e.ref.timestamp,
    });
    if (r) out.push(r);
  }
  return out;
}

/** Order references of the escrowed payments among `events`, from their transactions' calldata. */
export function orderRefsFromChain(
  client: PublicClient,
  target: AuditTarget,
  events: readonly ReportEvent[],
): Promise<Map<Hex, Hex>> {
  return collectOrderRefs(
    events.map((e) => ({ kind: e.kind, txHash: e.txHash, paymentId: "paymentId" in e ? e.paymentId : undefined })),
    escrowDomain(target.chainId, target.escrow),
    transactionInput(client),
  );
}

/** The signed fields (orderRef, deadline, hold, ...) of the payments `escrowed` names, from their transactions' calldata. */
export function signedPaymentsFromChain(
  client: PublicClient,
  target: AuditTarget,
  escrowed: readonly { txHash: Hex; paymentId: Hex }[],
): Promise<Map<Hex, Payment>> {
  return collectSignedPayments(
    escrowed.map((e) => ({ kind: "escrowed", ...e })),
    escrowDomain(target.chainId, target.escrow),
    transactionInput(client),
  );
}

function transactionInput(client: PublicClient): (hash: Hex) => Promise<Hex> {
  return async (hash) => {
    try {
      return (await client.getTransaction({ hash })).input;
    } catch (e) {
      throw new ConnectionError(`eth_getTransactionByHash(${hash}) failed: ${(e as Error).message.split("\n")[0]}`, e);
    }
  };
}

/** Writes the day's three files for each merchant; returns the paths written. */
export function writeMerchantReports(
  dir: string,
  merchantIds: readonly bigint[],
  base: Omit<ReportInput, "merchantId">,
  day: ReportDay,
): string[] {
  const files: string[] = [];
  for (const merchantId of merchantIds) {
    const folder = path.join(dir, `merchant-${merchantId}`, day.date);
    mkdirSync(folder, { recursive: true });
    for (const kind of REPORT_KINDS) {
      const file = path.join(folder, `${kind}.csv`);
      writeFileSync(file, reportCsv(kind, { ...base, merchantId }, day));
      files.push(file);
    }
  }
  return files;
}

/** Every merchant that has an escrow event, in id order. */
export const merchantsOf = (events: readonly ReportEvent[]): bigint[] =>
  [...new Set(events.map((e) => e.merchantId))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function creditOf(
  merchantId: bigint,
  target: AuditTarget,
  events: readonly ReportEvent[],
  asOf: { blockNumber: bigint; timestamp: number },
): CreditRecord {
  return creditRecord(merchantId, target.token.toLowerCase() as Hex, events, asOf);
}
