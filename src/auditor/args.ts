/** Command-line parsing of the auditor: flags to typed options, or a UsageError (exit code 2). */
import { parseArgs } from "node:util";
import { parseRateEntry, type Rate } from "../protocol";
import { reportDay, ReportDayError, type ReportDay } from "../protocol/reports";
import { UsageError } from "./errors";
import type { Hex } from "./types";

export const USAGE = `Usage: npm run audit -- --network <name> [options]
       ts-node --transpile-only src/auditor/cli.ts --network <name> [options]

Rebuilds StablePay's ledger from the chain's events alone and reconciles it with the chain.

  --network <name>       read deployments/<name>.json (DEPLOYMENTS_DIR overrides the folder)
  --deployments <file>   read this deployment record instead
  --currency <code>      audit this currency only (default: every currency of the record,
                         one after the other; --payment, --reports, --credit and
                         --state-file need one currency)
  --rpc <url>            JSON-RPC endpoint (default: $RPC_URL; for localhost $LOCAL_RPC_URL
                         or http://127.0.0.1:8545; for testnet $TESTNET_RPC_URL)
  --out <dir>            where to write the reports, one folder per currency
                         (default: audit-out/<network>, so audit-out/<network>/<currency>)
  --payment <id>         prove one payment (history + Merkle inclusion proof) instead
  --from-block <n>       first block to scan (default: the deploy block)
  --to-block <n>         last block to scan and reconcile at (default: latest)
  --page-size <n>        blocks per eth_getLogs query (default: 2000; halved automatically
                         when the provider refuses a query for its size)
  --state-file <file>    save decoded progress there and resume from it next time
  --reports <dir>        write merchants' reconciliation files for --date instead
                         (<dir>/merchant-<id>/<date>/{transactions,settlements,summary}.csv)
  --date <YYYY-MM-DD>    the day of --reports
  --tz <IANA zone>       the time zone of that day (default UTC), e.g. Asia/Shanghai
  --merchant <id>        only this merchant's files (default: every merchant with events)
  --credit <merchantId>  print the merchant's credit record (JSON) instead
  --fx-desk <merchantId> after the currencies, pair the FX desk's cross-currency legs by
                         orderRef (every currency is audited at one block; writes
                         <out>/fx/); findings count as mismatches
  --fx-rate <PAY/SETTLE=p:s>  reference rate of a pair, p pay units for s settle units
                         (repeatable), e.g. USD/EUR=1087:1000: pairs outside the band are findings
  --fx-band-bps <n>      the band around a reference rate (default 50, the relayer's)
  --fx-grace <seconds>   time the desk has to refund after a leg's deadline or a merchant's
                         refund (default 3600)
  --quiet                no progress lines on stderr
  -h, --help             this text

Exit codes: 0 clean (or the proof verifies), 1 mismatches or FX findings (or the proof
does not verify), 2 usage, connection, deployment or state-file errors.`;

export interface CliOptions {
  help: boolean;
  network?: string;
  deployments?: string;
  /** --currency: the one currency to audit; every currency of the record when absent. */
  currency?: string;
  rpc?: string;
  out?: string;
  payment?: Hex;
  fromBlock?: bigint;
  toBlock?: bigint;
  pageSize?: bigint;
  stateFile?: string;
  quiet: boolean;
  /** --reports: directory for the merchant reconciliation files of `day`. */
  reports?: string;
  day?: ReportDay;
  merchant?: bigint;
  credit?: bigint;
  /** --fx-desk and its settings: the cross-currency pairing check after the audits. */
  fx?: { deskMerchantId: bigint; rates: Map<string, Rate>; bandBps?: bigint; graceSeconds?: bigint };
}

export function parseCli(argv: readonly string[]): CliOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        network: { type: "string" },
        deployments: { type: "string" },
        currency: { type: "string" },
        rpc: { type: "string" },
        out: { type: "string" },
        payment: { type: "string" },
        "from-block": { type: "string" },
        "to-block": { type: "string" },
        "page-size": { type: "string" },
        "state-file": { type: "string" },
        reports: { type: "string" },
        date: { type: "string" },
        tz: { type: "string" },
        merchant: { type: "string" },
        credit: { type: "string" },
        "fx-desk": { type: "string" },
        "fx-rate": { type: "string", multiple: true },
        "fx-band-bps": { type: "string" },
        "fx-grace": { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const text = (name: string): string | undefined => values[name] as string | undefined;
  const options: CliOptions = {
    help: values.help === true,
    quiet: values.quiet === true,
    network: text("network"),
    deployments: text("deployments"),
    currency: text("currency"),
    rpc: text("rpc"),
    out: text("out"),
    stateFile: text("state-file"),
    fromBlock: block(text("from-block"), "--from-block"),
    toBlock: block(text("to-block"), "--to-block"),
    pageSize: block(text("page-size"), "--page-size"),
  };
  if (options.help) return options;
  if (!options.network && !options.deployments) throw new UsageError("Give --network <name> or --deployments <file>");
  if (options.pageSize !== undefined && options.pageSize < 1n) throw new UsageError("--page-size must be at least 1");
  const payment = text("payment");
  if (payment !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(payment))
      throw new UsageError(`--payment must be a 32-byte hex payment id, not "${payment}"`);
    options.payment = payment as Hex;
  }
  parseReportOptions(options, text);
  parseFxOptions(options, text, (values["fx-rate"] as string[] | undefined) ?? []);
  if (options.rpc !== undefined && !/^(https?|wss?):\/\//.test(options.rpc))
    throw new UsageError(`--rpc must be an http(s) or ws(s) URL, not "${options.rpc}"`);
  return options;
}

/** --reports with its --date (and --tz, --merchant), or --credit: never both, never with --payment. */
function parseReportOptions(options: CliOptions, text: (name: string) => string | undefined): void {
  const reports = text("reports");
  const date = text("date");
  const tz = text("tz");
  const merchant = merchantId(text("merchant"), "--merchant");
  const credit = merchantId(text("credit"), "--credit");
  // Set only when given, so the options of a plain audit are what they always were.
  if (reports !== undefined) options.reports = reports;
  if (merchant !== undefined) options.merchant = merchant;
  if (credit !== undefined) options.credit = credit;
  const modes = [options.payment !== undefined, options.reports !== undefined, options.credit !== undefined];
  if (modes.filter(Boolean).length > 1) throw new UsageError("Give at most one of --payment, --reports, --credit");
  if (options.reports === undefined) {
    if (date !== undefined || tz !== undefined || options.merchant !== undefined)
      throw new UsageError("--date, --tz and --merchant go with --reports");
    return;
  }
  if (date === undefined) throw new UsageError("--reports needs --date YYYY-MM-DD");
  try {
    options.day = reportDay(date, tz);
  } catch (e) {
    if (e instanceof ReportDayError) throw new UsageError(`--${e.field}: ${e.message}`);
    throw e;
  }
}

/** --fx-desk with its --fx-rate, --fx-band-bps and --fx-grace: a full audit of every currency only. */
function parseFxOptions(options: CliOptions, text: (name: string) => string | undefined, rateArgs: string[]): void {
  const desk = merchantId(text("fx-desk"), "--fx-desk");
  const band = text("fx-band-bps");
  const grace = text("fx-grace");
  if (desk === undefined) {
    if (rateArgs.length > 0 || band !== undefined || grace !== undefined)
      throw new UsageError("--fx-rate, --fx-band-bps and --fx-grace go with --fx-desk");
    return;
  }
  if (options.payment !== undefined || options.reports !== undefined || options.credit !== undefined)
    throw new UsageError("--fx-desk goes with a full audit, not with --payment, --reports or --credit");
  if (options.currency !== undefined || options.stateFile !== undefined)
    throw new UsageError("--fx-desk pairs legs across every currency: drop --currency and --state-file");
  const rates = new Map<string, Rate>();
  for (const arg of rateArgs) {
    const parsed = parseRateEntry(arg);
    if (!parsed) throw new UsageError(`--fx-rate must be PAY/SETTLE=payUnits:settleUnits (positive), not "${arg}"`);
    if (rates.has(parsed.pair)) throw new UsageError(`--fx-rate ${parsed.pair} given twice`);
    rates.set(parsed.pair, parsed.rate);
  }
  const bandBps = block(band, "--fx-band-bps");
  if (bandBps !== undefined && bandBps > 10_000n) throw new UsageError("--fx-band-bps is at most 10000");
  if (bandBps !== undefined && rates.size === 0) throw new UsageError("--fx-band-bps goes with --fx-rate");
  options.fx = {
    deskMerchantId: desk,
    rates,
    ...(bandBps !== undefined ? { bandBps } : {}),
    ...(grace !== undefined ? { graceSeconds: block(grace, "--fx-grace") } : {}),
  };
}

function merchantId(value: string | undefined, flag: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,20}$/.test(value) || BigInt(value) === 0n || BigInt(value) >= 1n << 64n)
    throw new UsageError(`${flag} must be a merchant id (1 .. 2^64-1), not "${value}"`);
  return BigInt(value);
}

function block(value: string | undefined, flag: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer, not "${value}"`);
  return BigInt(value);
}

/** The RPC URL for `network`: --rpc, else RPC_URL, else the network's usual variable or local default. */
export function rpcUrlFor(network: string, rpc: string | undefined, env: NodeJS.ProcessEnv): string {
  if (rpc) return rpc;
  if (env.RPC_URL) return env.RPC_URL;
  if (network === "localhost" || network === "hardhat") return env.LOCAL_RPC_URL || "http://127.0.0.1:8545";
  if (network === "testnet" && env.TESTNET_RPC_URL) return env.TESTNET_RPC_URL;
  throw new UsageError(`No RPC URL for network "${network}": pass --rpc <url> or set RPC_URL`);
}
