/**
 * Scenario helpers of the crash and fault tests: runs of signed payments, the relayer's
 * environment, and what the relayer and the chain say about the payments afterwards.
 */
import { expect } from "chai";
import type { Wallet } from "ethers";
import type { SignedPayment as SdkSignedPayment } from "../../../src/sdk";
import type { Hex } from "../../../src/protocol";
import { escrowEvents, type EscrowEvents } from "../../../src/localnet/events";
import {
  orderRef,
  startLocalChain,
  type LocalChain,
  type Merchant,
  type RelayerProcess,
  type SignedPayment,
} from "../helpers/process";

export { escrowEvents, type EscrowEvents };

/** The merchant's hold period, each payment's amount (1.00) and each customer's deposit in these runs. */
export const HOLD_SECONDS = 60;
export const AMOUNT = 1_000_000n;
export const DEPOSIT = 100_000_000n;

/**
 * A suite on one local chain and merchant (started before it, stopped after it): registers the hooks
 * once, hands the chain and merchant to `use`, and after each test kills the relayers in `running`,
 * runs `cleanups` (last added first) and turns automining back on.
 */
export function useScenarioSuite(use: (started: { chain: LocalChain; merchant: Merchant }) => void): {
  running: RelayerProcess[];
  cleanups: (() => Promise<void> | void)[];
} {
  let chain: LocalChain | undefined;
  const running: RelayerProcess[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  before(async function () {
    this.timeout(240_000);
    chain = await startLocalChain();
    use({ chain, merchant: await chain.registerMerchant(HOLD_SECONDS) });
  });
  afterEach(async () => {
    for (const relayer of running.splice(0)) await relayer.kill();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await chain?.setAutomine(true);
  });
  after(async () => {
    await chain?.stop();
  });
  return { running, cleanups };
}

/** A signed payment as the SDK submits it. */
export const sdkPayment = (p: SignedPayment): SdkSignedPayment => ({ payment: p.payment, signature: p.signature });

/**
 * Each payment has exactly one PaymentEscrowed, no PaymentRejected (unless `replaysRejected`: a replay
 * the escrow refused escrows nothing), and its batch exactly one TrancheSettled for `merchantId`.
 */
export async function expectOnceOnChain(
  chain: LocalChain,
  merchantId: bigint,
  payments: { id: Hex }[],
  options: { replaysRejected?: boolean } = {},
): Promise<EscrowEvents> {
  const events = await escrowEvents(chain);
  for (const p of payments) {
    const escrowed = events.escrowed.get(p.id);
    expect(escrowed?.count, `PaymentEscrowed events of ${p.id}`).to.equal(1);
    if (!options.replaysRejected)
      expect(events.rejected.get(p.id) ?? 0, `PaymentRejected events of ${p.id}`).to.equal(0);
    expect(events.settled.get(`${escrowed!.batchId}:${merchantId}`), `TrancheSettled of ${p.id}'s batch`).to.equal(1);
  }
  return events;
}

export async function getJson(url: string, timeoutMs = 30_000): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/** `perPayer` payments of `amount` from each of `customers` to `merchantId`, nonces 0.., interleaved by payer. */
export async function signPayments(
  chain: LocalChain,
  customers: Wallet[],
  options: {
    merchantId: bigint;
    perPayer: number;
    amount: bigint;
    label: string;
    firstNonce?: number;
    /** Seconds held (default HOLD_SECONDS, the hold the scenario's merchant registers). */
    hold?: bigint;
  },
): Promise<SignedPayment[]> {
  const deadline = (await chain.chainTime()) + 30n * 86_400n;
  const payments: SignedPayment[] = [];
  for (let n = 0; n < options.perPayer; n++) {
    for (const [i, customer] of customers.entries()) {
      const nonce = BigInt((options.firstNonce ?? 0) + n);
      payments.push(
        chain.signPayment(customer, {
          merchantId: options.merchantId,
          amount: options.amount,
          orderRef: orderRef(`${options.label}-${i}-${nonce}`),
          nonce,
          validAfter: 0n,
          deadline,
          hold: options.hold ?? BigInt(HOLD_SECONDS),
        }),
      );
    }
  }
  return payments;
}

/** The environment of a relayer process on `rpcUrl` with its own key and database (fast test timings). */
export function relayerEnv(
  chain: LocalChain,
  options: { rpcUrl: string; db: string; signerKey: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    RPC_URL: options.rpcUrl,
    DEPLOYMENTS_FILE: chain.deploymentsFile,
    RELAYER_DB: options.db,
    // Port 0: the OS picks (a port probed free can be taken by a parallel test before the bind).
    RELAYER_PORT: "0",
    RELAYER_PRIVATE_KEY: options.signerKey,
    POLL_INTERVAL_MS: "50",
    BATCH_MAX_AGE_MS: "100",
    SETTLE_INTERVAL_MS: "200",
    CONFIRMATIONS: "1",
    RATE_LIMIT_PER_SECOND: "100000",
    RATE_LIMIT_BURST: "100000",
    ...extra,
  };
}

/** POST /v1/payments of a signed payment to the relayer at `url`: the status and the error code, if any. */
export async function submitSigned(url: string, p: SignedPayment): Promise<{ status: number; code: string | null }> {
  const response = await fetch(`${url}/v1/payments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(p.body),
  });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code ?? null };
}

/** Relayer states of `payments` by GET /v1/payments/:id ("http <status>" when not found). */
export async function relayerStates(url: string, payments: { id: Hex }[]): Promise<string[]> {
  return Promise.all(
    payments.map(async (p) => {
      const res = await getJson(`${url}/v1/payments/${p.id}`);
      return res.status === 200 ? (res.body.state as string) : `http ${res.status}`;
    }),
  );
}

export function countStates(states: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
