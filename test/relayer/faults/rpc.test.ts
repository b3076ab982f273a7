/**
 * Faults between the relayer and its node (issue 3): the relayer process talks to a `hardhat node`
 * through a JSON-RPC proxy that answers 502, resets connections (also after the node acted on the
 * request), or stalls. While the node is unreachable the relayer keeps serving: a payment it can
 * check from state it already holds is accepted, one that needs a chain read it cannot make gets
 * 503 chain_unavailable (never a hang, never a wrong answer); readiness reports the node down; the
 * jobs retry with growing delays. Once the proxy heals every accepted payment is escrowed exactly
 * once and settled exactly once.
 */
import { expect } from "chai";
import { RelayerClient, RelayerApiError } from "../../../src/sdk";
import {
  relayerDir,
  sleep,
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
} from "../crash/scenario";
import { startRpcProxy, type RpcProxy } from "./rpcProxy";

describe("relayer with an unreliable node (JSON-RPC proxy faults)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  let counter = 0;
  const relayerSigners = new Map<RelayerProcess, string>();
  const { running, cleanups } = useScenarioSuite((started) => ({ chain, merchant } = started));

  async function setUp(
    payers: number,
    perPayer: number,
  ): Promise<{ proxy: RpcProxy; relayer: RelayerProcess; payments: SignedPayment[]; client: RelayerClient }> {
    const customers = await chain.fundCustomers(payers, DEPOSIT);
    const key = await chain.fundedKey();
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const proxy = await startRpcProxy(chain.url);
    cleanups.push(() => proxy.close());
    const payments = await signPayments(chain, customers, {
      merchantId: merchant.id,
      perPayer,
      amount: AMOUNT,
      label: `fault-${counter++}`,
    });
    const relayer = await spawnRelayer(relayerEnv(chain, { rpcUrl: proxy.url, db: db.db, signerKey: key.privateKey }));
    running.push(relayer);
    relayerSigners.set(relayer, key.address);
    return { proxy, relayer, payments, client: new RelayerClient({ baseUrl: relayer.url, retry: { retries: 0 } }) };
  }

  /** Every payment escrowed then settled, each exactly once on chain; the relayer agrees. */
  async function expectEscrowedAndSettledOnce(
    relayer: RelayerProcess,
    payments: SignedPayment[],
    options: { replaysRejected?: boolean } = {},
  ): Promise<void> {
    const waitFor = (state: string) =>
      waitUntil(
        `${payments.length} payments ${state}`,
        async () => (await relayerStates(relayer.url, payments)).every((s) => s === state),
        120_000,
        async () => JSON.stringify(countStates(await relayerStates(relayer.url, payments))),
        150,
      );
    await waitFor("escrowed");
    await chain.increaseTime(HOLD_SECONDS + 1);
    await waitFor("settled");
    await expectOnceOnChain(chain, merchant.id, payments, options);
  }

  /** The relayer's "rpc call failed; retrying" log lines. */
  const retryLogs = (relayer: RelayerProcess) =>
    relayer.logs.filter((l) => l.msg === "rpc call failed; retrying") as { attempt: number; delayMs: number }[];

  async function expectChainUnavailable(promise: Promise<unknown>): Promise<void> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error, "submission during the outage").to.be.instanceOf(RelayerApiError);
    expect((error as RelayerApiError).status).to.equal(503);
    expect((error as RelayerApiError).code).to.equal("chain_unavailable");
  }

  it("node answering 502: intake answers 503 chain_unavailable for what it cannot check, jobs back off, all escrowed once after", async () => {
    const { proxy, relayer, payments, client } = await setUp(6, 2);
    const [before, during] = [payments.slice(0, 6), payments.slice(6)];
    expect((await client.submitPayments(before.map(sdkPayment))).accepted).to.equal(before.length);

    proxy.fault({ action: "502" });
    const faultedFrom = proxy.stats.faulted["502"];
    // Cached chain state (terms, a payer's account) expires within seconds; then intake must read.
    await sleep(6_000);
    await expectChainUnavailable(client.submitPayment(sdkPayment(during[0])));
    const ready = await getJson(`${relayer.url}/ready`);
    expect(ready.status).to.equal(503);
    expect(ready.body.error.code).to.equal("not_ready");
    expect((await getJson(`${relayer.url}/health`)).status, "liveness is not readiness").to.equal(200);
    // Reads of what is stored keep working.
    expect(await relayerStates(relayer.url, before)).to.not.include("http 500");

    // Backoff: retries were made, with delays that grow with the attempt number.
    const retries = retryLogs(relayer);
    expect(retries.length).to.be.greaterThan(0);
    const later = retries.filter((r) => r.attempt >= 3);
    const first = retries.filter((r) => r.attempt === 1);
    expect(later.length, "retries reached attempt 3").to.be.greaterThan(0);
    expect(Math.min(...later.map((r) => r.delayMs))).to.be.greaterThan(Math.max(...first.map((r) => r.delayMs)));
    // Not a hot loop: in 6 s of outage, a bounded number of requests hit the proxy.
    expect(proxy.stats.faulted["502"] - faultedFrom).to.be.lessThan(400);

    proxy.heal();
    await waitUntil(
      "readiness after the node is back",
      async () => (await getJson(`${relayer.url}/ready`)).status === 200,
      30_000,
    );
    const retried = new RelayerClient({ baseUrl: relayer.url });
    const results = await retried.submitPayments(during.map(sdkPayment));
    expect(results.accepted).to.equal(during.length);
    await expectEscrowedAndSettledOnce(relayer, payments);
  });

  it("connections reset, including after the node took the transaction: escrowed and settled exactly once", async () => {
    const { proxy, relayer, payments, client } = await setUp(4, 3);
    expect((await client.submitPayments(payments.map(sdkPayment))).accepted).to.equal(payments.length);
    // The node gets the batch transaction (and mines it) but the relayer only sees a reset, twice.
    proxy.fault({ action: "drop-response", methods: ["eth_sendRawTransaction"], times: 2 });
    // And some other calls fail before reaching the node.
    proxy.fault({ action: "reset", methods: ["eth_getTransactionReceipt", "eth_getLogs"], times: 6 });

    await waitUntil("the faults to be used", () => proxy.stats.faulted["drop-response"] >= 1, 60_000);
    await expectEscrowedAndSettledOnce(relayer, payments, { replaysRejected: true });
    expect(proxy.stats.faulted.reset).to.be.greaterThan(0);
    // The relayer's record names the batch that escrowed them (the inclusion proof depends on it).
    const events = await escrowEvents(chain);
    for (const p of payments) {
      const view = await getJson(`${relayer.url}/v1/payments/${p.id}`);
      expect(view.body.batchId).to.equal(events.escrowed.get(p.id)!.batchId.toString());
    }
  });

  it("a broadcast whose answer was lost is recognised as sent: the batch is not sent a second time", async () => {
    const { proxy, relayer, payments, client } = await setUp(3, 2);
    const signer = relayerSigners.get(relayer)!;
    expect((await client.submitPayments(payments.map(sdkPayment))).accepted).to.equal(payments.length);
    // The node mines the batch; the relayer's retry of the same bytes then hears "nonce too low",
    // which for a transaction it recorded means "already mined", not "taken by someone else".
    proxy.fault({ action: "drop-response", methods: ["eth_sendRawTransaction"], times: 1 });
    await expectEscrowedAndSettledOnce(relayer, payments);
    // One payBatch and one settle: nothing re-signed.
    expect(await chain.provider.getTransactionCount(signer, "latest")).to.equal(2);
  });

  it("node stalling: intake answers 503 within its read timeout instead of hanging; work resumes when it answers", async () => {
    const { proxy, relayer, payments, client } = await setUp(4, 2);
    const [first, second] = [payments.slice(0, 4), payments.slice(4)];
    expect((await client.submitPayments(first.map(sdkPayment))).accepted).to.equal(first.length);
    await waitUntil(
      "the first payments escrowed",
      async () => (await relayerStates(relayer.url, first)).every((s) => s === "escrowed"),
      60_000,
    );

    proxy.fault({ action: "stall" });
    await sleep(6_000); // past the intake's caches
    const started = Date.now();
    await expectChainUnavailable(client.submitPayment(sdkPayment(second[0])));
    expect(Date.now() - started, "answered within the chain-read timeout (5 s) plus slack").to.be.lessThan(9_000);
    expect(proxy.held()).to.be.greaterThan(0);

    proxy.heal(); // the stalled requests go through late, as a slow node's would
    const results = await new RelayerClient({ baseUrl: relayer.url }).submitPayments(second.map(sdkPayment));
    expect(results.accepted).to.equal(second.length);
    await expectEscrowedAndSettledOnce(relayer, payments);
  });
});
