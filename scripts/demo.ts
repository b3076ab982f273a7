/**
 * The whole life of a payment on a running local network (`npm start`, then `npm run demo`; or
 * `npm start -- --demo`), through the SDK and the relayer, in every currency the relayer serves
 * (`npm start`: USD and EUR), side by side:
 *
 *   merchant registered on chain once (registrar; the registry is every escrow's) → API key from
 *   the relayer (admin route)
 *   customers: each currency's tokens minted, deposited into its escrow without gas (EIP-3009 via
 *   the relayer)
 *   payment requests in a currency → customers sign under its escrow's domain → one POST per
 *   currency → accepted → batched → submitted → escrowed
 *   in the first currency: one confirmed by the payer, one refunded by the merchant, one disputed
 *   and ruled by the arbiter, the rest held until their hold ends; in each other currency: one
 *   confirmed, one refunded, one held (each payment names its hold: 3 or 10 days here, within the
 *   merchant's bounds; skipped with evm_increaseTime) → settled by the relayer, per escrow
 *   final balances per currency: merchant payout, fees, customers; a record in data/demo.json
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
import { readBalances, printBalances, checkBalances, type DemoBalances } from "./lib/demo/balances";
import { createContext, type DemoContext, type DemoCurrency, type DemoEndpoints } from "./lib/demo/context";
import { units } from "./lib/demo/format";
import { awaitSettlement, confirmPayment, disputeAndResolve, endHold, refundPayment } from "./lib/demo/lifecycle";
import { fundCustomers, newCustomers, registerMerchant, type DemoCustomer } from "./lib/demo/participants";
import { eventCounts, startWebhookReceiver } from "./lib/demo/webhooks";
import { payAndEscrow, type DemoPayment, type Outcome, type PlannedPayment } from "./lib/demo/payments";
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
/** Per customer and currency, in whole units of the currency. */
const MINTED_PER_CUSTOMER = "100";
const DEPOSITED_PER_CUSTOMER = "80";
const CUSTOMERS = ["alice", "bob", "carol"];
/**
 * customer index, amount, hold (seconds), what happens after escrow. Two holds for one merchant:
 * the relayer escrows them in separate batches (one hold per merchant per batch). The first
 * currency's orders are numbered from 1001, the second's from 2001, and so on.
 */
type PlanItem = [number, string, number, Outcome];
const FIRST_CURRENCY_PLAN: PlanItem[] = [
  [0, "25.00", DEMO_SHORT_HOLD, "confirm"],
  [1, "40.00", DEMO_SHORT_HOLD, "refund"],
  [2, "30.00", DEMO_LONG_HOLD, "dispute"],
  [0, "12.50", DEMO_SHORT_HOLD, "hold"],
  [1, "18.75", DEMO_LONG_HOLD, "hold"],
  [2, "9.99", DEMO_LONG_HOLD, "hold"],
];
/** Every other currency: a shorter walk, still a confirmation, a refund and a settlement by hold end. */
const OTHER_CURRENCY_PLAN: PlanItem[] = [
  [0, "20.00", DEMO_SHORT_HOLD, "confirm"],
  [1, "35.00", DEMO_LONG_HOLD, "hold"],
  [2, "15.00", DEMO_SHORT_HOLD, "refund"],
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
  /** The currencies the demo paid in, the deployment's default first. */
  currencies: { code: string; symbol: string; token: string; escrow: string }[];
  /**
   * What the demo's webhook receiver got: verified deliveries, refused ones, verified per event type,
   * and per currency (the payload's `currency`) per event type.
   */
  webhooks: {
    delivered: number;
    refused: number;
    byType: Record<string, number>;
    byCurrency: Record<string, Record<string, number>>;
  };
  payments: {
    id: Hex;
    order: string;
    customer: string;
    /** Its currency's code; `amount` is in that currency's units. */
    currency: string;
    amount: string;
    /** Seconds it was held once escrowed (signed). */
    hold: number;
    outcome: Outcome;
    state: PaymentState;
    /** The batch in its currency's escrow (batch ids count per escrow). */
    batchId: string | null;
    /** Unix seconds its tranche released: the escrow block's time + its hold. */
    releaseAt: string | null;
    txHash: Hex | null;
  }[];
  /** Per currency: the batches of its escrow the payments went into. */
  batchIds: Record<string, string[]>;
  settlements: {
    key: number;
    currency: string;
    batchIds: string[];
    txHash: Hex | null;
    state: string;
    amount: string;
    fee: string;
  }[];
  /** Per currency, read from its token and escrow. */
  balances: {
    currency: string;
    payout: string;
    merchantFees: string;
    customers: { name: string; wallet: string; escrow: string }[];
  }[];
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

/** The payments the demo makes in `currency`, the `index`th it pays in. */
function planFor(currency: DemoCurrency, index: number, customers: DemoCustomer[]): PlannedPayment[] {
  const plan = index === 0 ? FIRST_CURRENCY_PLAN : OTHER_CURRENCY_PLAN;
  return plan.map(([customer, amount, hold, outcome], i) => ({
    customer: customers[customer],
    currency,
    amount: units(amount, currency.decimals),
    order: `order-${(index + 1) * 1000 + i + 1}`,
    hold,
    outcome,
  }));
}

async function walkThrough(ctx: DemoContext): Promise<DemoRecord> {
  const codes = ctx.currencies.map((c) => c.code).join(", ");
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

  const customers = newCustomers(CUSTOMERS);
  for (const currency of ctx.currencies) {
    section(ctx, `customers: ${currency.code} (${currency.symbol}, escrow ${currency.escrow.target as string})`);
    await fundCustomers(ctx, currency, customers, {
      minted: units(MINTED_PER_CUSTOMER, currency.decimals),
      deposited: units(DEPOSITED_PER_CUSTOMER, currency.decimals),
    });
  }

  section(ctx, `payments in ${codes}: request → signed → submitted → escrowed`);
  const payments = await payAndEscrow(
    ctx,
    merchant,
    ctx.currencies.flatMap((currency, index) => planFor(currency, index, customers)),
  );
  const states = new Map<Hex, PaymentState>(payments.map((p) => [p.id, p.info.state]));
  const withOutcome = (outcome: Outcome) => payments.filter((p) => p.outcome === outcome);

  section(ctx, "while the funds are held: confirm, refund, dispute");
  for (const p of withOutcome("confirm")) await confirmPayment(ctx, p, states);
  for (const p of withOutcome("refund")) await refundPayment(ctx, merchant, p, states);
  /** What each disputed payment's ruling returned to its payer. */
  const toPayer = new Map<Hex, bigint>();
  for (const p of withOutcome("dispute")) toPayer.set(p.id, (await disputeAndResolve(ctx, p, states)).toPayer);

  section(ctx, `the holds end (${DEMO_SHORT_HOLD / DAY} and ${DEMO_LONG_HOLD / DAY} days) → settlement in ${codes}`);
  const settling = [...withOutcome("confirm"), ...withOutcome("hold")];
  await endHold(ctx, settling);
  const settlements = await awaitSettlement(ctx, merchant, settling, states);

  section(ctx, "final balances per currency (read from the chain)");
  const balances: DemoBalances[] = [];
  for (const currency of ctx.currencies) {
    const mine = payments.filter((p) => p.currency === currency);
    const sum = (list: DemoPayment[]) => list.reduce((total, p) => total + p.amount, 0n);
    // What came back to a payer's escrow balance: a refund in full, a ruling's payer share.
    const returned = (p: DemoPayment) => (p.outcome === "refund" ? p.amount : (toPayer.get(p.id) ?? 0n));
    const gross =
      sum(mine.filter((p) => p.outcome === "confirm" || p.outcome === "hold" || p.outcome === "dispute")) -
      mine.reduce((total, p) => total + (p.outcome === "dispute" ? returned(p) : 0n), 0n);
    const minted = units(MINTED_PER_CUSTOMER, currency.decimals);
    const deposited = units(DEPOSITED_PER_CUSTOMER, currency.decimals);
    const expectedCustomers = new Map(
      customers.map((c) => {
        const theirs = mine.filter((p) => p.customer === c);
        const back = theirs.reduce((total, p) => total + returned(p), 0n);
        return [c.name, { wallet: minted - deposited, escrow: deposited - sum(theirs) + back }];
      }),
    );
    const b = await readBalances(ctx, currency, merchant, customers);
    printBalances(ctx, currency, merchant, b, gross);
    checkBalances(b, { gross, customers: expectedCustomers });
    balances.push(b);
  }
  ctx.log(`  every currency adds up: payouts, fees and customers' balances`);

  // The settlements' deliveries follow the settler's transactions by a dispatcher tick or more.
  await receiver.awaitEvents(
    "payment.settled",
    settling.map((p) => p.id),
    1_500,
    60_000,
  );
  const byType: Record<string, number> = {};
  const byCurrency: Record<string, Record<string, number>> = {};
  for (const e of receiver.events) {
    byType[e.type] = (byType[e.type] ?? 0) + 1;
    const counts = (byCurrency[e.data.currency] ??= {});
    counts[e.type] = (counts[e.type] ?? 0) + 1;
  }

  const finals = new Map<Hex, DemoPayment["info"]>();
  for (const p of payments) finals.set(p.id, await ctx.customerApi.getPayment(p.id));
  const batchIds: Record<string, string[]> = {};
  for (const p of payments) {
    const list = (batchIds[p.currency.code] ??= []);
    if (!list.includes(String(p.info.batchId))) list.push(String(p.info.batchId));
  }
  const record: DemoRecord = {
    merchantId: merchant.id.toString(),
    payout: merchant.payout,
    currencies: ctx.currencies.map((c) => ({
      code: c.code,
      symbol: c.symbol,
      token: c.token.target as string,
      escrow: c.escrow.target as string,
    })),
    webhooks: { delivered: receiver.events.length, refused: receiver.refused, byType, byCurrency },
    payments: payments.map((p) => ({
      id: p.id,
      order: p.order,
      customer: p.customer.name,
      currency: p.currency.code,
      amount: p.amount.toString(),
      hold: p.hold,
      outcome: p.outcome,
      state: finals.get(p.id)!.state,
      batchId: p.info.batchId?.toString() ?? null,
      releaseAt: p.info.releaseAt?.toString() ?? null,
      txHash: p.info.txHash,
    })),
    batchIds,
    settlements: settlements.map((s) => ({
      key: s.key,
      currency: s.currency,
      batchIds: s.batchIds.map(String),
      txHash: s.txHash,
      state: s.state,
      amount: (s.amount ?? 0n).toString(),
      fee: (s.fee ?? 0n).toString(),
    })),
    balances: balances.map((b) => ({
      currency: b.currency,
      payout: b.merchant.payoutBalance.toString(),
      merchantFees: b.merchant.fees.toString(),
      customers: b.customers.map((c) => ({
        name: c.name,
        wallet: c.wallet.toString(),
        escrow: c.escrow.toString(),
      })),
    })),
    finishedAt: new Date().toISOString(),
  };
  const file = path.join(ctx.endpoints.dataDir, DEMO_RECORD_FILE);
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");

  section(ctx, "done");
  for (const p of payments) {
    const state = finals.get(p.id)!.state;
    ctx.log(
      `  ${p.order} ${p.customer.name.padEnd(5)} ${p.currency.code} ${p.currency.format(p.amount).padStart(12)}  ${state}`,
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
