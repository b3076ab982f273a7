/**
 * The intake ledger across threads (role all): intake admits payments against a LedgerMirror fed
 * over a real MessageChannel (structured clone, asynchronous, ordered, as between the HTTP thread
 * and the jobs thread) by the LedgerFeed of the jobs' PayerLedger, which the real watcher, batcher
 * and submitter drive on the in-process chain. Exactly the affordable payments are accepted:
 *  - while the payer's payments are escrowed (events landing) and new ones keep arriving;
 *  - after the payer withdraws outside the relayer;
 *  - after a reorg, which clears the mirror (the next view is a fresh load);
 *  - when the mirror misses a payer (answered by a fresh read, not the jobs' cached view);
 *  - when a fresh load races a commit (its answer reflects the commit; the notice is not applied twice).
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ChainClient } from "../../../src/relayer/chain/client";
import type { AccountState } from "../../../src/relayer/chain/chainView";
import { BatchState, PaymentState, type Hex } from "../../../src/relayer/domain";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import { createPipeline, type Pipeline } from "../../../src/relayer/jobs";
import { CURSOR_NAME } from "../../../src/relayer/jobs/chainWatcher";
import { PayerLedger, type AccountReader } from "../../../src/relayer/ledger/payerLedger";
import { LedgerFeed, LedgerMirror, type LedgerEvent, type LoadedView } from "../../../src/relayer/ledger/ledgerMirror";
import { CUSTOMER_DEPOSIT, deployEscrowFixture } from "../../escrow/fixtures";
import { signedPayment, startApi, type ApiHarness } from "../helpers/api";
import {
  TEST_CONFIG,
  connectFreshSigner,
  mine,
  rpc,
  startRpcBridge,
  tickUntil,
  type RpcBridge,
} from "../helpers/chain";

type ToJobs = { id: number; payer: Hex };
type FromJobs = { t: "ledger"; seq: number; event: LedgerEvent } | { t: "loaded"; id: number; loaded: LoadedView };

/** The chain reader, with a gate a test holds shut to keep the next read (only) in flight. */
class GatedReader implements AccountReader {
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  reads = 0;

  constructor(private readonly inner: AccountReader) {}

  holdNext(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
  }

  async accountAt(payer: Hex, block: bigint): Promise<AccountState> {
    this.reads++;
    const gate = this.gate;
    this.gate = null;
    const account = await this.inner.accountAt(payer, block);
    if (gate) await gate;
    return account;
  }
}

describe("ledger mirror: intake on one thread, the jobs' ledger on another", function () {
  let h: ApiHarness;
  let bridge: RpcBridge;
  let chain: ChainClient;
  let pipeline: Pipeline;
  let ledger: PayerLedger;
  let feed: LedgerFeed;
  let mirror: LedgerMirror;
  let reader: GatedReader;
  let ports: MessagePort[] = [];

  afterEach(async () => {
    reader?.release();
    for (const port of ports) port.close();
    ports = [];
    await pipeline?.stop();
    chain?.provider.destroy();
    await bridge?.close();
    await h?.close();
  });

  /** The API on the mirror; the pipeline on the ledger behind the feed, across a MessageChannel. */
  async function start(): Promise<void> {
    const f = await loadFixture(deployEscrowFixture);
    const escrow = (await f.escrow.getAddress()) as Hex;
    reader = new GatedReader(await EthersChainView.connect({ provider: ethers.provider, escrow, accountCacheMs: 0 }));
    const head = (await ethers.provider.getBlock("latest"))!;
    ledger = new PayerLedger({
      reader,
      payments: { pendingOf: (payer) => h.store.payments.pendingOf(payer) }, // h: started next
      block: BigInt(head.number),
      startBlock: 0n,
    });
    const { port1: jobsSide, port2: httpSide } = new MessageChannel();
    ports = [jobsSide, httpSide];
    const post = (message: FromJobs) => jobsSide.postMessage(message);
    feed = new LedgerFeed(ledger, (seq, event) => post({ t: "ledger", seq, event }));
    jobsSide.on("message", (request: ToJobs) => {
      void feed.load(request.payer).then((loaded) => post({ t: "loaded", id: request.id, loaded }));
    });
    const waiting = new Map<number, (loaded: LoadedView) => void>();
    let ids = 0;
    mirror = new LedgerMirror({
      load: (payer) =>
        new Promise((resolve) => {
          const id = ++ids;
          waiting.set(id, resolve);
          httpSide.postMessage({ id, payer } satisfies ToJobs);
        }),
    });
    httpSide.on("message", (message: FromJobs) => {
      if (message.t === "ledger") mirror.receive(message.seq, message.event);
      else waiting.get(message.id)!(message.loaded);
    });

    h = await startApi({ deps: { accounts: mirror } });
    await h.store.chainCursor.set(CURSOR_NAME, BigInt(head.number), head.hash as Hex);
    bridge = await startRpcBridge();
    ({ chain } = await connectFreshSigner(bridge, f, BigInt(head.number) + 1n));
    pipeline = createPipeline({
      store: h.store,
      chain,
      config: TEST_CONFIG,
      clock: { now: h.clock },
      ledger: feed,
      batchAccounts: ledger,
    });
  }

  /** Until every notice sent has reached the mirror. */
  async function delivered(): Promise<void> {
    for (let i = 0; i < 1_000 && mirror.sequence !== feed.sequence; i++) await new Promise(setImmediate);
    expect(mirror.sequence).to.equal(feed.sequence);
  }

  /** Posts `count` payments of `amount` with nonces from `nonce`, at once; the ids accepted and the codes refused. */
  async function pay(customer: number, count: number, amount: bigint, nonce: bigint) {
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const { body } = await signedPayment(h, customer, { amount, nonce: nonce + BigInt(i) });
        return h.request("POST", "/v1/payments", { body });
      }),
    );
    const accepted = results.filter((r) => r.status === 201).map((r) => r.body.id as Hex);
    const refused = results.filter((r) => r.status !== 201).map((r) => r.body.error.code as string);
    return { accepted, refused };
  }

  const escrowedAll = (ids: Hex[]) => async () => {
    const records = await Promise.all(ids.map((id) => h.store.payments.get(id)));
    return records.every((r) => r!.state === PaymentState.Escrowed);
  };

  it("accepts exactly what the payer can afford while earlier payments are escrowed and new ones arrive", async function () {
    await start();
    const amount = CUSTOMER_DEPOSIT / 10n;
    const first = await pay(0, 4, amount, 0n);
    expect(first.accepted).to.have.length(4);

    // The pipeline escrows the first four (notices streaming to the mirror) while more arrive.
    const ticking = tickUntil(pipeline, "the first four escrowed", escrowedAll(first.accepted));
    const second = await pay(0, 4, amount, 4n);
    await ticking;
    const third = await pay(0, 5, amount, 8n);
    await delivered();

    const accepted = [...first.accepted, ...second.accepted, ...third.accepted];
    const refused = [...second.refused, ...third.refused];
    expect(accepted, "exactly the ten the deposit covers").to.have.length(10);
    expect(refused).to.deep.equal(["insufficient_balance", "insufficient_balance", "insufficient_balance"]);
    // Kept current by the notices: one load of the payer, never re-read.
    expect(mirror.stats.loads).to.equal(1);

    await tickUntil(pipeline, "all ten escrowed", escrowedAll(accepted));
    await delivered();
    expect(await h.f.escrow.balanceOf(h.f.customers[0].address)).to.equal(0n);
    const view = await mirror.view(h.f.customers[0].address as Hex);
    expect([view.account.balance, view.pendingAmount, view.available]).to.deep.equal([0n, 0n, 0n]);
    // A nonce none of the thirteen used (which two of the last five were accepted depends on
    // arrival order): only the balance can refuse it.
    expect((await pay(0, 1, 1n, 13n)).refused).to.deep.equal(["insufficient_balance"]);
  });

  it("after the payer withdraws outside the relayer: the mirror re-reads and accepts exactly what is left", async function () {
    await start();
    const customer = h.f.customers[1];
    const amount = CUSTOMER_DEPOSIT / 10n;
    const first = await pay(1, 2, amount, 0n);
    expect(first.accepted).to.have.length(2);

    // Withdraws half of the deposit itself: the relayer learns of it from the watcher only.
    await (await h.f.escrow.connect(customer).withdraw(CUSTOMER_DEPOSIT / 2n, customer.address)).wait();
    await pipeline.watcher.tick();
    await delivered();
    expect(mirror.size, "the payer's view dropped").to.equal(0);

    // Left: half the deposit minus the two pending payments: three more.
    const second = await pay(1, 5, amount, 2n);
    expect(second.accepted).to.have.length(3);
    expect(second.refused).to.deep.equal(["insufficient_balance", "insufficient_balance"]);
    await tickUntil(pipeline, "the five escrowed", escrowedAll([...first.accepted, ...second.accepted]));
    expect(await h.f.escrow.balanceOf(customer.address)).to.equal(0n);
  });

  it("a reorg clears the mirror; the next view is a fresh load and admits exactly what is affordable", async function () {
    await start();
    const payer = h.f.customers[2].address as Hex;
    const amount = CUSTOMER_DEPOSIT / 4n;
    const first = await pay(2, 2, amount, 0n);
    expect(first.accepted).to.have.length(2);
    const snapshot = await rpc<string>("evm_snapshot");
    await tickUntil(
      pipeline,
      "escrowed, the batch confirmed",
      async () =>
        (await escrowedAll(first.accepted)()) &&
        (await h.store.batches.listByState([BatchState.Confirmed])).length === 1,
    );
    const cursor = (await pipeline.watcher.cursor())!;
    await delivered();
    expect(mirror.size).to.equal(1);
    const loads = mirror.stats.loads;

    // The chain forgets the batch; a longer chain grows past the watcher's cursor.
    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);
    await pipeline.watcher.tick();
    expect(pipeline.watcher.lastTick.reorg?.dropped).to.have.length(1);
    await delivered();
    expect(mirror.size, "cleared by the rewind").to.equal(0);
    const states = await Promise.all(first.accepted.map(async (id) => (await h.store.payments.get(id))!.state));
    expect(states).to.deep.equal([PaymentState.Accepted, PaymentState.Accepted]);

    // Back in the queue, the two still reserve half the deposit: two more fit, not three.
    const second = await pay(2, 3, amount, 2n);
    expect(mirror.stats.loads).to.equal(loads + 1);
    expect(second.accepted).to.have.length(2);
    expect(second.refused).to.deep.equal(["insufficient_balance"]);
    const view = await mirror.view(payer);
    expect([view.account.balance, view.pendingAmount]).to.deep.equal([CUSTOMER_DEPOSIT, CUSTOMER_DEPOSIT]);
  });

  it("a miss is answered with a fresh read: the payments accepted since the jobs' ledger last read the payer count", async function () {
    await start();
    const payer = h.f.customers[0].address as Hex;
    const amount = CUSTOMER_DEPOSIT / 4n;
    // The first view loads the payer on both sides; the two payments are reserved in the mirror only.
    const first = await pay(0, 2, amount, 0n);
    expect(first.accepted).to.have.length(2);
    expect((await ledger.view(payer)).pendingAmount, "the jobs' cached view never saw them").to.equal(0n);

    mirror.discard(payer);
    const view = await mirror.view(payer);
    expect([view.pendingAmount, view.available]).to.deep.equal([2n * amount, CUSTOMER_DEPOSIT - 2n * amount]);
    const second = await pay(0, 3, amount, 2n);
    expect(second.accepted).to.have.length(2);
    expect(second.refused).to.deep.equal(["insufficient_balance"]);
  });

  it("a fresh load that races an escrow answers with the escrow in it, and the mirror does not apply it again", async function () {
    await start();
    const payer = h.f.customers[3].address as Hex;
    const amount = CUSTOMER_DEPOSIT / 4n;
    const first = await pay(3, 2, amount, 0n);
    await delivered();
    mirror.discard(payer); // the next view loads afresh

    // The load reads the account at the block applied when it starts; the escrow commits meanwhile.
    reader.holdNext();
    const reads = reader.reads;
    const viewing = mirror.view(payer);
    for (let i = 0; i < 1_000 && reader.reads === reads; i++) await new Promise(setImmediate);
    await tickUntil(pipeline, "escrowed", escrowedAll(first.accepted));
    reader.release();
    const view = await viewing;
    await delivered();

    // Both escrowed: the balance down by both once, nothing pending.
    expect(view.account.balance).to.equal(CUSTOMER_DEPOSIT - 2n * amount);
    expect(view.pendingAmount).to.equal(0n);
    const second = await pay(3, 3, amount, 2n);
    expect(second.accepted).to.have.length(2);
    expect(second.refused).to.deep.equal(["insufficient_balance"]);
  });
});
