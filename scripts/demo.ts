/**
 * The whole life of a payment on a running local network (`npm start`, then `npm run demo`; or
 * `npm start -- --demo`), through the SDK and the relayer:
 *
 *   merchant registered on chain (registrar) → API key from the relayer (admin route)
 *   customers: tokens minted, deposited into the escrow without gas (EIP-3009 via the relayer)
 *   payment requests → customers sign → one POST → accepted → batched → submitted → escrowed
 *   one confirmed by the payer, one refunded by the merchant, one disputed and ruled by the arbiter,
 *   the rest held until their hold ends (each payment names its own: 3 or 10 days here, within the
 *   merchant's bounds; skipped with evm_increaseTime) → settled by the relayer
 *   final balances: merchant payout, fees, customers; a record in data/demo.json
 *
 * Every run makes a new merchant and new customers, so it can run again on one chain, any number of
 * times. Each run moves the chain's clock 10 days further ahead of the wall clock: every deadline
 * the demo signs, and every one the relayer puts in a payment request, counts from the later of the
 * two clocks, so none is already past on chain.
 *
 *   npx ts-node --transpile-only scripts/demo.ts [--data-dir data]
 *
 * It finds the network in <data dir>/network.json (written by `npm start`); RELAYER_URL,
 * LOCAL_RPC_URL, DEPLOYMENTS_DIR and RELAYER_ADMIN_TOKEN override what is there.
 */
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Hex, PaymentState } from "../src/sdk";
import { readBalances, printBalances, checkBalances } from "./lib/demo/balances";
import { createContext, type DemoContext, type DemoEndpoints } from "./lib/demo/context";
import { formatToken, units } from "./lib/demo/format";
import { awaitSettlement, confirmPayment, disputeAndResolve, endHold, refundPayment } from "./lib/demo/lifecycle";
import { fundCustomers, newCustomers, registerMerchant } from "./lib/demo/participants";
import { eventCounts, startWebhookReceiver } from "./lib/demo/webhooks";
import { payAndEscrow, type DemoPayment, type Outcome } from "./lib/demo/payments";
import { httpStatus, probeChainId } from "../src/localnet/rpc";
import { displayPath, readNetworkInfo, type NetworkInfo } from "./lib/networkInfo";
import { LOCAL_ADMIN_TOKEN, PROJECT_ROOT } from "./lib/startOptions";

const DAY = 86_400;
/**
 * The merchant's terms: payments to it may be held 1 to 30 days. Each payment request names its
 * hold (virtual goods 3 days, shipped ones 10); the demo skips the longest one in one step.
 */
export const DEMO_FEE_BPS = 250n;
export const DEMO_MIN_HOLD = 1 * DAY;
export const DEMO_MAX_HOLD = 30 * DAY;
export const DEMO_SHORT_HOLD = 3 * DAY;
export const DEMO_LONG_HOLD = 10 * DAY;
const MINTED_PER_CUSTOMER = units("100");
const DEPOSITED_PER_CUSTOMER = units("80");
const CUSTOMERS = ["alice", "bob", "carol"];
/**
 * customer index, amount, order, hold (seconds), what happens after escrow. Two holds for one
 * merchant: the relayer escrows them in separate batches (one hold per merchant per batch).
 */
const PLAN: [number, string, string, number, Outcome][] = [
  [0, "25.00", "order-1001", DEMO_SHORT_HOLD, "confirm"],
  [1, "40.00", "order-1002", DEMO_SHORT_HOLD, "refund"],
  [2, "30.00", "order-1003", DEMO_LONG_HOLD, "dispute"],
  [0, "12.50", "order-1004", DEMO_SHORT_HOLD, "hold"],
  [1, "18.75", "order-1005", DEMO_LONG_HOLD, "hold"],
  [2, "9.99", "order-1006", DEMO_LONG_HOLD, "hold"],
];
export const DEMO_RECORD_FILE = "demo.json";
/** The demo merchant's API key, for signing in to the dashboard (mode 0600). */
export const DEMO_KEY_FILE = "demo-merchant.key";

/** The final state each outcome leads to in the relayer. */
export const FINAL_STATE: Record<Outcome, PaymentState> = {
  confirm: "settled",
  refund: "refunded",
  dispute: "resolved",
  hold: "settled",
};

export interface DemoRecord {
  merchantId: string;
  payout: string;
  /** What the demo's webhook receiver got: verified deliveries, refused ones, verified per event type. */
  webhooks: { delivered: number; refused: number; byType: Record<string, number> };
  payments: {
    id: Hex;
    order: string;
    customer: string;
    amount: string;
    /** Seconds it was held once escrowed (signed). */
    hold: number;
    outcome: Outcome;
    state: PaymentState;
    batchId: string | null;
    /** Unix seconds its tranche released: the escrow block's time + its hold. */
    releaseAt: string | null;
    txHash: Hex | null;
  }[];
  batchIds: string[];
  settlements: { key: number; batchIds: string[]; txHash: Hex | null; state: string; amount: string; fee: string }[];
  balances: { payout: string; merchantFees: string; customers: { name: string; wallet: string; escrow: string }[] };
  finishedAt: string;
}

export interface RunDemoOptions {
  network: Pick<NetworkInfo, "dataDir"> & {
    chain: Pick<NetworkInfo["chain"], "rpcUrl">;
    deployment: Pick<NetworkInfo["deployment"], "file">;
    relayer: Pick<NetworkInfo["relayer"], "url">;
  };
  /** Default: RELAYER_ADMIN_TOKEN, else the local default. */
  adminToken?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

function section(ctx: DemoContext, title: string): void {
  ctx.log(`\ndemo: ${title}`);
}

export async function runDemo(options: RunDemoOptions): Promise<DemoRecord> {
  const endpoints: DemoEndpoints = {
    rpcUrl: options.network.chain.rpcUrl,
    relayerUrl: options.network.relayer.url,
    deploymentsFile: options.network.deployment.file,
    adminToken: options.adminToken ?? (process.env.RELAYER_ADMIN_TOKEN || LOCAL_ADMIN_TOKEN),
    dataDir: options.network.dataDir,
  };
  const ctx = await createContext(endpoints, options.log ?? ((line) => console.log(line)), options.signal);
  try {
    return await walkThrough(ctx);
  } finally {
    ctx.provider.destroy();
  }
}

async function walkThrough(ctx: DemoContext): Promise<DemoRecord> {
  section(ctx, "a merchant");
  const merchant = await registerMerchant(ctx, {
    feeBps: DEMO_FEE_BPS,
    minHold: DEMO_MIN_HOLD,
    maxHold: DEMO_MAX_HOLD,
    metadata: "StablePay demo shop",
  });
  const receiver = await startWebhookReceiver();
  const endpoint = await merchant.api.registerWebhook(receiver.url);
  receiver.useSecret(endpoint.secret);
  ctx.log(`  webhook endpoint ${endpoint.id}: ${receiver.url} (a receiver in this process verifies each signature)`);

  section(ctx, "customers");
  const customers = newCustomers(CUSTOMERS);
  await fundCustomers(ctx, customers, { minted: MINTED_PER_CUSTOMER, deposited: DEPOSITED_PER_CUSTOMER });

  section(ctx, "payments: request → signed → submitted → escrowed");
  const payments = await payAndEscrow(
    ctx,
    merchant,
    PLAN.map(([customer, amount, order, hold, outcome]) => ({
      customer: customers[customer],
      amount: units(amount),
      order,
      hold,
      outcome,
    })),
  );
  const states = new Map<Hex, PaymentState>(payments.map((p) => [p.id, p.info.state]));
  const withOutcome = (outcome: Outcome) => payments.filter((p) => p.outcome === outcome);

  section(ctx, "while the funds are held: confirm, refund, dispute");
  for (const p of withOutcome("confirm")) await confirmPayment(ctx, p, states);
  for (const p of withOutcome("refund")) await refundPayment(ctx, merchant, p, states);
  let toPayer = 0n;
  for (const p of withOutcome("dispute")) toPayer += (await disputeAndResolve(ctx, p, states)).toPayer;

  section(ctx, `the holds end (${DEMO_SHORT_HOLD / DAY} and ${DEMO_LONG_HOLD / DAY} days) → settlement`);
  const settling = [...withOutcome("confirm"), ...withOutcome("hold")];
  await endHold(ctx, settling);
  const settlements = await awaitSettlement(ctx, merchant, settling, states);

  section(ctx, "final balances (read from the chain)");
  const sum = (list: DemoPayment[]) => list.reduce((total, p) => total + p.amount, 0n);
  const gross = sum(settling) + sum(withOutcome("dispute")) - toPayer;
  const balances = await readBalances(ctx, merchant, customers);
  printBalances(ctx, merchant, balances, gross);
  checkBalances(balances, gross);

  // The settlements' deliveries follow the settler's transaction by a dispatcher tick or more.
  await receiver.awaitEvents(
    "payment.settled",
    settling.map((p) => p.id),
    1_500,
    60_000,
  );
  const byType: Record<string, number> = {};
  for (const e of receiver.events) byType[e.type] = (byType[e.type] ?? 0) + 1;

  const finals = new Map<Hex, DemoPayment["info"]>();
  for (const p of payments) finals.set(p.id, await ctx.customerApi.getPayment(p.id));
  const record: DemoRecord = {
    merchantId: merchant.id.toString(),
    payout: merchant.payout,
    webhooks: { delivered: receiver.events.length, refused: receiver.refused, byType },
    payments: payments.map((p) => ({
      id: p.id,
      order: p.order,
      customer: p.customer.name,
      amount: p.amount.toString(),
      hold: p.hold,
      outcome: p.outcome,
      state: finals.get(p.id)!.state,
      batchId: p.info.batchId?.toString() ?? null,
      releaseAt: p.info.releaseAt?.toString() ?? null,
      txHash: p.info.txHash,
    })),
    batchIds: [...new Set(payments.map((p) => String(p.info.batchId)))],
    settlements: settlements.map((s) => ({
      key: s.key,
      batchIds: s.batchIds.map(String),
      txHash: s.txHash,
      state: s.state,
      amount: (s.amount ?? 0n).toString(),
      fee: (s.fee ?? 0n).toString(),
    })),
    balances: {
      payout: balances.merchant.payoutBalance.toString(),
      merchantFees: balances.merchant.fees.toString(),
      customers: balances.customers.map((c) => ({
        name: c.name,
        wallet: c.wallet.toString(),
        escrow: c.escrow.toString(),
      })),
    },
    finishedAt: new Date().toISOString(),
  };
  const file = path.join(ctx.endpoints.dataDir, DEMO_RECORD_FILE);
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");

  section(ctx, "done");
  for (const p of record.payments) {
    ctx.log(
      `  ${p.order} ${p.customer.padEnd(5)} ${formatToken(BigInt(p.amount), ctx.symbol).padStart(12)}  ${p.state}`,
    );
  }
  ctx.log(
    `  webhooks received and verified: ${record.webhooks.delivered} (${eventCounts(receiver.events)}); refused: ${record.webhooks.refused}`,
  );
  ctx.log(`  the whole run, ids and hashes: ${displayPath(file)}`);
  ctx.log(`\ndemo: the merchant dashboard: ${ctx.endpoints.relayerUrl}/dashboard/`);
  // A key is a secret: it goes to a file only its owner reads, never to the terminal or a log.
  const keyFile = path.join(ctx.endpoints.dataDir, DEMO_KEY_FILE);
  writeFileSync(keyFile, `${merchant.apiKey}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  ctx.log(`  sign in with the demo merchant's API key, in ${displayPath(keyFile)} (readable by you only)`);
  ctx.log(
    `  (refunds from the page are signed by the merchant's owner key ${merchant.owner.address} in a browser wallet)`,
  );
  return record;
}

// ------------------------------------------------------------------------------------------------
// `npm run demo`: against the network `npm start` is running
// ------------------------------------------------------------------------------------------------

function dataDirFromArgs(argv: readonly string[]): string {
  const at = argv.indexOf("--data-dir");
  const inline = argv.find((a) => a.startsWith("--data-dir="));
  const dir = at >= 0 ? argv[at + 1] : inline?.slice("--data-dir=".length);
  return path.resolve(PROJECT_ROOT, dir || process.env.RELAYER_DATA_DIR || "data");
}

async function main(): Promise<void> {
  const dataDir = dataDirFromArgs(process.argv.slice(2));
  const info = readNetworkInfo(dataDir);
  const env = process.env;
  const network: RunDemoOptions["network"] = {
    dataDir,
    chain: { rpcUrl: env.LOCAL_RPC_URL || info?.chain.rpcUrl || "http://127.0.0.1:8545" },
    deployment: {
      file: env.DEPLOYMENTS_DIR
        ? path.resolve(PROJECT_ROOT, env.DEPLOYMENTS_DIR, "localhost.json")
        : (info?.deployment.file ?? path.join(PROJECT_ROOT, "deployments", "localhost.json")),
    },
    relayer: { url: env.RELAYER_URL || info?.relayer.url || "http://127.0.0.1:8787" },
  };
  if (
    (await probeChainId(network.chain.rpcUrl)) === null ||
    (await httpStatus(`${network.relayer.url}/health`)) !== 200
  ) {
    throw new Error(
      `no network at ${network.chain.rpcUrl} (chain) and ${network.relayer.url} (relayer): start it with npm start`,
    );
  }
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  await runDemo({ network, signal: abort.signal });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
