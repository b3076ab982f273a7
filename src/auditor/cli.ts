/**
 * The auditor's command line (`npm run audit -- --network <name>`): a full audit with reports, or
 * with --payment the proof of one payment; with --fx-desk, the FX pairing check across the audited
 * currencies after them. Exit codes: 0 clean, 1 mismatches (or FX findings), 2 could not audit.
 * `main` takes its I/O and (for tests) a ready client, and returns the exit code.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, http, webSocket, type PublicClient } from "viem";
import { deploymentsDirFromEnv, type CurrencyDeployment, type DeploymentRecord } from "../chain/deployments";
import { parseCli, rpcUrlFor, USAGE, type CliOptions } from "./args";
import { preflight, runAudit, scanChain, type AuditResult } from "./audit";
import { ConnectionError, isAuditError, MerchantNotFoundError, UsageError } from "./errors";
import { runFxAudit } from "./fx";
import { proofText, provePayment } from "./proof";
import { fxSummaryText, fxVerdict, writeFxReports } from "./report/fx";
import { plain } from "./report/json";
import { creditOf, merchantsOf, orderRefsFromChain, reportEventsOf, writeMerchantReports } from "./report/merchant";
import { summaryText } from "./report/summary";
import { writeReports } from "./report/write";
import type { ScanProgress } from "./scan";
import { loadDeployment, targetOf } from "./target";
import type { AuditTarget } from "./types";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** A ready client (tests use one on the in-process Hardhat chain); otherwise built from the RPC URL. */
  client?: PublicClient;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text + "\n"),
  stderr: (text) => void process.stderr.write(text + "\n"),
  env: process.env,
};

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    const options = parseCli(argv);
    if (options.help) {
      io.stdout(USAGE);
      return 0;
    }
    const record = loadDeployment({
      network: options.network,
      file: options.deployments,
      dir: deploymentsDirFromEnv(process.cwd(), io.env),
    });
    const currencies = currenciesToAudit(record, options.currency);
    const oneOnly = options.payment !== undefined || options.reports !== undefined || options.credit !== undefined;
    if ((oneOnly || options.stateFile !== undefined) && currencies.length > 1) {
      throw new UsageError(
        `The deployment has the currencies ${currencies.map((c) => c.code).join(", ")}: ` +
          `name one with --currency for --payment, --reports, --credit or --state-file`,
      );
    }
    const client = io.client ?? clientFor(rpcUrlFor(record.network, options.rpc, io.env));
    const outRoot = options.out ?? path.join("audit-out", record.network);
    if (oneOnly) return await singleTask(options, io, client, targetOf(record, currencies[0]), outRoot);

    if (options.fx) {
      if (currencies.length < 2) throw new UsageError("--fx-desk needs a deployment with two currencies or more");
      const unknown = [...options.fx.rates.keys()]
        .flatMap((pair) => pair.split("/"))
        .filter((code) => !record.currencies.some((c) => c.code === code));
      if (unknown.length > 0) {
        throw new UsageError(
          `--fx-rate names ${unknown.join(", ")}: the deployment has ${record.currencies.map((c) => c.code).join(", ")}`,
        );
      }
      // Every currency at one block: a leg and its partner are judged at the same moment.
      options.toBlock ??= await client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => {
        throw new ConnectionError(`Cannot reach the RPC endpoint: ${(e as Error).message.split("\n")[0]}`, e);
      });
    }

    const verdicts: string[] = [];
    const results: AuditResult[] = [];
    let exitCode = 0;
    for (const currency of currencies) {
      if (verdicts.length > 0) io.stdout("");
      const target = targetOf(record, currency);
      const result = await runAudit(scanOptionsOf(options, io, client, target));
      io.stdout(summaryText(result));
      const outDir = path.join(outRoot, currency.code);
      const files = writeReports(result, outDir);
      io.stdout(`\nWrote ${files.length} files to ${outDir}: ${files.map((f) => path.relative(outDir, f)).join(", ")}`);
      const clean = result.mismatches.length === 0;
      if (!clean) exitCode = 1;
      verdicts.push(`${currency.code} ${clean ? "clean" : `${result.mismatches.length} mismatches`}`);
      if (options.fx) results.push(result);
    }
    if (options.fx) {
      const fx = await runFxAudit({ client, results, ...options.fx });
      io.stdout("");
      io.stdout(fxSummaryText(fx));
      const outDir = path.join(outRoot, "fx");
      const files = writeFxReports(fx, outDir);
      io.stdout(`\nWrote ${files.length} files to ${outDir}: ${files.map((f) => path.relative(outDir, f)).join(", ")}`);
      if (fx.mismatches.length > 0) exitCode = 1;
      if (currencies.length > 1) io.stdout(`\nCurrencies: ${verdicts.join(", ")}`);
      io.stdout(`${currencies.length > 1 ? "" : "\n"}${fxVerdict(fx)}`);
      return exitCode;
    }
    if (currencies.length > 1) io.stdout(`\nCurrencies: ${verdicts.join(", ")}`);
    return exitCode;
  } catch (e) {
    if (isAuditError(e)) {
      io.stderr(`audit: ${e.message}`);
      if (e.kind === "usage") io.stderr(`\n${USAGE}`);
      return e.exitCode;
    }
    // Anything unexpected is a failure to audit, never a verdict on the ledger.
    io.stderr(`audit: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 2;
  }
}

/** The currencies to audit: the one `code` names, or every currency of the record. */
function currenciesToAudit(record: DeploymentRecord, code: string | undefined): CurrencyDeployment[] {
  if (code === undefined) return record.currencies;
  const found = record.currencies.find((c) => c.code === code);
  if (!found) {
    throw new UsageError(`--currency ${code}: the deployment has ${record.currencies.map((c) => c.code).join(", ")}`);
  }
  return [found];
}

function scanOptionsOf(options: CliOptions, io: CliIo, client: PublicClient, target: AuditTarget) {
  return {
    client,
    target,
    fromBlock: options.fromBlock,
    toBlock: options.toBlock,
    pageSize: options.pageSize,
    stateFile: options.stateFile,
    onProgress: options.quiet ? undefined : progressPrinter(io),
  };
}

/** --payment, --reports or --credit: about one currency's escrow. */
async function singleTask(
  options: CliOptions,
  io: CliIo,
  client: PublicClient,
  target: AuditTarget,
  outRoot: string,
): Promise<number> {
  const outDir = path.join(outRoot, target.currency);
  if (options.payment) {
    const latest = await preflight(client, target);
    const proof = await provePayment({
      client,
      target,
      paymentId: options.payment,
      fromBlock: options.fromBlock ?? target.deployBlock,
      toBlock: options.toBlock ?? latest,
      pageSize: options.pageSize ?? 2_000n,
    });
    io.stdout(proofText(proof));
    mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `proof-${proof.paymentId}.json`);
    writeFileSync(file, JSON.stringify(plain(proof), null, 2) + "\n");
    io.stdout(`\nWrote ${file}`);
    return proof.verified ? 0 : 1;
  }

  const scanned = await scanChain(scanOptionsOf(options, io, client, target));
  const events = reportEventsOf(scanned.events);
  if (options.credit !== undefined) {
    const id = options.credit;
    const registered = scanned.events.some(
      (e) => e.contract === "registry" && e.eventName === "MerchantRegistered" && e.args.merchantId === id,
    );
    if (!registered) throw new MerchantNotFoundError(`No merchant ${id} was registered up to block ${scanned.toBlock}`);
    const record = creditOf(options.credit, target, events, {
      blockNumber: scanned.toBlock,
      timestamp: scanned.blockTimestamp,
    });
    io.stdout(JSON.stringify(record, null, 2));
    return 0;
  }
  const merchants = options.merchant !== undefined ? [options.merchant] : merchantsOf(events);
  const mine = events.filter((e) => merchants.includes(e.merchantId));
  const orderRefs = await orderRefsFromChain(client, target, mine);
  const token = target.token.toLowerCase() as `0x${string}`;
  const files = writeMerchantReports(options.reports!, merchants, { token, events: mine, orderRefs }, options.day!);
  io.stdout(
    `Wrote ${files.length} files to ${options.reports}: ${files.map((f) => path.relative(options.reports!, f)).join(", ")}`,
  );
  return 0;
}

function clientFor(url: string): PublicClient {
  // Over HTTP, parallel reads are sent as JSON-RPC batches (one round trip for many eth_calls).
  const transport = url.startsWith("ws")
    ? webSocket(url)
    : http(url, { batch: { batchSize: 100 }, retryCount: 2, timeout: 60_000 });
  return createPublicClient({ transport }) as PublicClient;
}

/** Progress lines on stderr, at most one a second (and the last), so long scans show life. */
function progressPrinter(io: CliIo): (p: ScanProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (!p.done && now - last < 1_000) return;
    last = now;
    const total = p.toBlock - p.fromBlock + 1n;
    const done = p.scannedTo - p.fromBlock + 1n;
    const pct = total > 0n ? Number((done * 100n) / total) : 100;
    const rate = p.elapsedMs > 0 ? Math.round((p.fetched * 1000) / p.elapsedMs) : 0;
    io.stderr(
      `scan: block ${p.scannedTo} of ${p.toBlock} (${pct}%), ${p.events} events, ${rate} events/s${p.done ? ", done" : ""}`,
    );
  };
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 2;
    },
  );
}
