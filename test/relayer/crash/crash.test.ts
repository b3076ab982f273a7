/**
 * Crash safety (issue 3): the relayer runs as its own process against a `hardhat node` and is
 * killed with SIGKILL at each point of the pipeline, then restarted on the same SQLite file. Every
 * payment the relayer acknowledged must end escrowed exactly once on chain (one PaymentEscrowed, no
 * PaymentRejected: a second submission would be refused by the nonce and show up as one) and
 * settled exactly once (one TrancheSettled for its batch and merchant), as the relayer reports it.
 *
 * Where the pipeline must be held at a point, the test holds the chain, not the relayer: a JSON-RPC
 * proxy stalls the call the next step needs, or the node stops mining (automine off).
 */
import { expect } from "chai";
import { RelayerClient, type Hex } from "../../../src/sdk";
import type { SignedOneOffPayment } from "../../../src/localnet/network";
import {
  orderRef,
  relayerDir,
  spawnRelayer,
  waitUntil,
  type LocalChain,
  type Merchant,
  type RelayerProcess,
  type SignedPayment,
} from "../helpers/process";
import {
  AMOUNT,
  DEPOSIT,
  HOLD_SECONDS,
  countStates,
  escrowEvents,
  expectOnceOnChain,
  getJson,
  relayerEnv,
  relayerStates,
  sdkPayment,
  signPayments,
  useScenarioSuite,
} from "./scenario";
import { startRpcProxy, type RpcProxy } from "../faults/rpcProxy";

interface Run {
  chain: LocalChain;
  proxy: RpcProxy;
  env: Record<string, string>;
  relayer: RelayerProcess;
  payments: SignedPayment[];
  /** Mine a block on every poll while waiting (CONFIRMATIONS > 1 needs blocks to pass). */
  mining: boolean;
}

describe("relayer crash safety (SIGKILL at each pipeline step, then restart)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  let counter = 0;
  const { running, cleanups } = useScenarioSuite((started) => ({ chain, merchant } = started));

  /** Fresh customers, a fresh relayer key, database and proxy; the relayer started on them. */
  async function setUp(payers: number, perPayer: number, extraEnv: Record<string, string> = {}): Promise<Run> {
    const customers = await chain.fundCustomers(payers, DEPOSIT);
    // Intake spends only deposits its watcher has seen with the configured confirmations.
    const confirmations = Number(extraEnv.CONFIRMATIONS ?? "1");
    if (confirmations > 1) await chain.mine(confirmations - 1);
    const key = await chain.fundedKey();
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const proxy = await startRpcProxy(chain.url);
    cleanups.push(() => proxy.close());
    const label = `crash-${counter++}`;
    const payments = await signPayments(chain, customers, { merchantId: merchant.id, perPayer, amount: AMOUNT, label });
    const env = relayerEnv(chain, { rpcUrl: proxy.url, db: db.db, signerKey: key.privateKey }, extraEnv);
    const relayer = await start(env);
    return { chain, proxy, env, relayer, payments, mining: Number(env.CONFIRMATIONS) > 1 };
  }

  async function start(env: Record<string, string>): Promise<RelayerProcess> {
    const relayer = await spawnRelayer(env);
    running.push(relayer);
    return relayer;
  }

  async function restart(run: Run, extraEnv: Record<string, string> = {}): Promise<void> {
    await run.relayer.kill();
    expect((await run.relayer.exited).signal).to.equal("SIGKILL");
    run.relayer = await start({ ...run.env, ...extraEnv });
  }

  const statesOf = (run: Run, payments: { id: Hex }[]) => relayerStates(run.relayer.url, payments);

  /** Waits until the relayer reports every payment in `state`, mining a block per poll if asked. */
  async function waitForState(run: Run, payments: { id: Hex }[], state: string, timeoutMs = 90_000) {
    const summary = async () => JSON.stringify(countStates(await statesOf(run, payments)));
    await waitUntil(
      `${payments.length} payments ${state}`,
      async () => {
        if (run.mining) await chain.mine(1);
        return (await statesOf(run, payments)).every((s) => s === state);
      },
      timeoutMs,
      summary,
      150,
    );
  }

  /** True once the chain holds a PaymentEscrowed for every payment (read from the node, not the relayer). */
  async function escrowedOnChain(payments: SignedPayment[]): Promise<boolean> {
    const { escrowed } = await escrowEvents(chain);
    return payments.every((p) => escrowed.has(p.id));
  }

  /** The end of every scenario: escrowed once, the hold passes, settled once, graceful stop. */
  async function finish(run: Run, acknowledged: { id: Hex }[]): Promise<void> {
    await waitForState(run, acknowledged, "escrowed");
    await chain.increaseTime(HOLD_SECONDS + 1);
    await waitForState(run, acknowledged, "settled");

    const events = await expectOnceOnChain(chain, merchant.id, acknowledged);
    for (const p of acknowledged) {
      const view = await getJson(`${run.relayer.url}/v1/payments/${p.id}`);
      expect(view.body.batchId).to.equal(events.escrowed.get(p.id)!.batchId.toString());
    }
    expect(await run.relayer.stop(), "graceful stop exit code").to.equal(0);
  }

  it("kill -9 right after intake acknowledged: every acknowledged payment survives", async () => {
    // No batch is built while the relayer runs the first time: the payments exist only in SQLite.
    const run = await setUp(8, 5, { BATCH_MAX_AGE_MS: "3600000", BATCH_MAX_SIZE: "1000" });
    const client = new RelayerClient({ baseUrl: run.relayer.url, retry: { retries: 0 } });
    const acknowledged: SignedPayment[] = [];
    let killed: Promise<void> | null = null;
    const half = run.payments.length / 2;
    await Promise.allSettled(
      run.payments.map(async (p) => {
        const result = await client.submitPayment(sdkPayment(p), { idempotencyKey: false });
        expect(result.created).to.equal(true);
        acknowledged.push(p);
        // Killed while the other half is still in flight (or just acknowledged).
        if (acknowledged.length === half) killed = run.relayer.kill();
      }),
    );
    await killed;
    expect(acknowledged.length).to.be.at.least(half);

    await restart(run, { BATCH_MAX_AGE_MS: "100", BATCH_MAX_SIZE: "400" });
    // What was acknowledged is there before anything is resent.
    for (const state of await statesOf(run, acknowledged))
      expect(state).to.be.oneOf(["accepted", "batched", "submitted", "escrowed"]);
    // The client retries what it never heard back about: stored ones answer 200 (not a second payment).
    const retry = new RelayerClient({ baseUrl: run.relayer.url });
    const unacknowledged = run.payments.filter((p) => !acknowledged.includes(p));
    const retried = await Promise.all(unacknowledged.map((p) => retry.submitPayment(sdkPayment(p))));
    const again = await Promise.all(acknowledged.map((p) => retry.submitPayment(sdkPayment(p))));
    expect(
      again.every((r) => !r.created),
      "an acknowledged payment resent is a duplicate",
    ).to.equal(true);
    expect(retried.length).to.equal(unacknowledged.length);

    await finish(run, run.payments);
  });

  it("kill -9 after the batch was built, before its transaction was signed", async () => {
    const run = await setUp(4, 3);
    // The batcher simulates the batch (its gas estimate is reused for the send); the submitter's fee
    // query, the step before signing, never answers.
    run.proxy.fault({ action: "stall", methods: ["eth_maxPriorityFeePerGas"] });
    const client = new RelayerClient({ baseUrl: run.relayer.url });
    const submitted = await client.submitPayments(run.payments.map(sdkPayment));
    expect(submitted.accepted).to.equal(run.payments.length);
    await waitForState(run, run.payments, "batched");
    await waitUntil("the submitter's fee query to be held", () => run.proxy.held() > 0, 30_000);

    await restart(run);
    run.proxy.heal();
    await finish(run, run.payments);
  });

  it("kill -9 after the transaction reached the node but before the relayer heard back", async () => {
    const run = await setUp(4, 3);
    // The node gets the transaction and mines it; the answer to eth_sendRawTransaction never returns.
    run.proxy.fault({ action: "hold-response", methods: ["eth_sendRawTransaction"] });
    const client = new RelayerClient({ baseUrl: run.relayer.url });
    expect((await client.submitPayments(run.payments.map(sdkPayment))).accepted).to.equal(run.payments.length);
    await waitUntil("the batch to be mined", () => escrowedOnChain(run.payments), 60_000);
    // The submitter is still waiting for the node's answer: it never marked the batch submitted (the
    // watcher may already have seen the escrow events on its own, which is the chain's word).
    expect(run.proxy.held(), "eth_sendRawTransaction answers held back").to.be.at.least(1);
    for (const state of await statesOf(run, run.payments)) expect(state).to.be.oneOf(["batched", "escrowed"]);

    await restart(run);
    run.proxy.heal();
    await finish(run, run.payments);
  });

  it("kill -9 after the transaction was sent, while it waits in the mempool", async () => {
    const run = await setUp(4, 3);
    await chain.setAutomine(false);
    const client = new RelayerClient({ baseUrl: run.relayer.url });
    expect((await client.submitPayments(run.payments.map(sdkPayment))).accepted).to.equal(run.payments.length);
    await waitForState(run, run.payments, "submitted");
    const pending = await chain.rpc<{ transactions: unknown[] }>("eth_getBlockByNumber", ["pending", false]);
    expect(pending.transactions.length, "transactions waiting in the node's mempool").to.be.at.least(1);

    await restart(run);
    // The restarted relayer finds its transaction pending (not lost, not re-signed); now it is mined.
    await chain.setAutomine(true);
    await chain.mine(1);
    await finish(run, run.payments);
  });

  it("kill -9 after the transaction was mined, before it had its confirmations", async () => {
    const run = await setUp(4, 3, { CONFIRMATIONS: "3" });
    const client = new RelayerClient({ baseUrl: run.relayer.url });
    expect((await client.submitPayments(run.payments.map(sdkPayment))).accepted).to.equal(run.payments.length);
    // Automine makes one block for the batch and no more: the relayer waits for two further blocks.
    await waitUntil("the batch to be mined", () => escrowedOnChain(run.payments), 60_000);
    await waitForState(run, run.payments, "submitted");

    await restart(run);
    await finish(run, run.payments);
  });

  it("one-off payments: kill -9 right after intake acknowledged, then again while their payBatchWithAuthorization waits in the mempool", async () => {
    const run = await setUp(0, 0, { BATCH_MAX_AGE_MS: "3600000", BATCH_MAX_SIZE: "1000" });
    const wallets = await chain.fundWallets(5, DEPOSIT);
    const deadline = (await chain.chainTime()) + 30n * 86_400n;
    const payments: SignedOneOffPayment[] = [];
    for (const [i, wallet] of wallets.entries()) {
      for (let n = 0; n < 2; n++) {
        payments.push(
          await chain.signOneOffPayment(wallet, {
            merchantId: merchant.id,
            amount: AMOUNT,
            orderRef: orderRef(`crash-one-off-${counter}-${i}-${n}`),
            validAfter: 0n,
            deadline,
            hold: BigInt(HOLD_SECONDS),
          }),
        );
      }
    }
    const client = new RelayerClient({ baseUrl: run.relayer.url, retry: { retries: 0 } });
    const acknowledged: SignedOneOffPayment[] = [];
    let killed: Promise<void> | null = null;
    const half = payments.length / 2;
    await Promise.allSettled(
      payments.map(async (p) => {
        const result = await client.submitOneOffPayment(p, { idempotencyKey: false });
        expect(result.created).to.equal(true);
        acknowledged.push(p);
        if (acknowledged.length === half) killed = run.relayer.kill();
      }),
    );
    await killed;
    expect(acknowledged.length).to.be.at.least(half);

    await chain.setAutomine(false);
    await restart(run, { BATCH_MAX_AGE_MS: "100", BATCH_MAX_SIZE: "400" });
    for (const state of await statesOf(run, acknowledged))
      expect(state).to.be.oneOf(["accepted", "batched", "submitted"]);
    const retry = new RelayerClient({ baseUrl: run.relayer.url });
    const again = await Promise.all(payments.map((p) => retry.submitOneOffPayment(p)));
    for (const [i, p] of payments.entries())
      expect(again[i].created, "an acknowledged payment resent is a duplicate").to.equal(!acknowledged.includes(p));

    // Sent, waiting in the mempool: killed again; the restarted relayer finds it (never re-signed).
    await waitForState(run, payments, "submitted");
    const pending = await chain.rpc<{ transactions: string[] }>("eth_getBlockByNumber", ["pending", false]);
    expect(pending.transactions.length).to.be.at.least(1);
    await restart(run);
    await chain.setAutomine(true);
    await chain.mine(1);
    await finish(run, payments);
    // Each wallet paid its two payments once.
    for (const wallet of wallets) expect(await chain.token.balanceOf(wallet.address)).to.equal(DEPOSIT - 2n * AMOUNT);
    expect(await chain.escrow.balanceOf(wallets[0].address)).to.equal(0n);
  });
});
