import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { ONE_OFF_NONCE } from "../../../src/protocol";
import { EthersChainView, type AccountState } from "../../../src/relayer/chain/chainView";
import { PayerLedger, type AccountReader } from "../../../src/relayer/ledger/payerLedger";
import { useNonce } from "../../../src/relayer/ledger/payerAccounts";
import { isApiError } from "../../../src/relayer/errors";
import { CUSTOMER_DEPOSIT, deployEscrowFixture, fundCustomer, usd, type EscrowFixture } from "../../escrow/fixtures";
import { makePayment, tempStore } from "../store/helpers";

/** The real chain reader, with a gate a test can hold shut to interleave commits with a read. */
class GatedReader implements AccountReader {
  reads: { payer: Hex; block: bigint }[] = [];
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  constructor(private readonly inner: AccountReader) {}

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  async accountAt(payer: Hex, block: bigint): Promise<AccountState> {
    this.reads.push({ payer, block });
    const account = await this.inner.accountAt(payer, block);
    if (this.gate) await this.gate;
    return account;
  }
}

interface LedgerFixture {
  f: EscrowFixture;
  payer: Hex;
  block: bigint;
}

async function ledgerFixture(): Promise<LedgerFixture> {
  const f = await loadFixture(deployEscrowFixture);
  return {
    f,
    payer: f.customers[0].address.toLowerCase() as Hex,
    block: BigInt(await ethers.provider.getBlockNumber()),
  };
}

describe("PayerLedger", function () {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  async function setup(options: { ttlMs?: number; now?: () => number } = {}) {
    const fx = await ledgerFixture();
    const temp = await tempStore();
    cleanup = temp.cleanup;
    const chain = await EthersChainView.connect({ provider: ethers.provider, escrow: await fx.f.escrow.getAddress() });
    const reader = new GatedReader(chain);
    const ledger = new PayerLedger({
      reader,
      payments: temp.store.payments,
      block: fx.block,
      startBlock: 0n,
      ...options,
    });
    return { ...fx, store: temp.store, reader, ledger };
  }

  it("reads a payer once, at the applied block, then serves the view from memory", async function () {
    const { ledger, reader, payer, block } = await setup();
    const first = await ledger.view(payer);
    const second = await ledger.view(payer);
    expect(second).to.equal(first);
    expect(first.account.balance).to.equal(CUSTOMER_DEPOSIT);
    expect(reader.reads).to.deep.equal([{ payer, block }]);
    expect(ledger.stats).to.include({ loads: 1, hits: 1 });
  });

  it("does not see a deposit until the watcher reports the payer touched at a later block", async function () {
    const { ledger, reader, payer, f } = await setup();
    await ledger.view(payer);
    await fundCustomer(f, f.customers[0], usd(5));
    expect((await ledger.view(payer)).account.balance).to.equal(CUSTOMER_DEPOSIT);

    const head = BigInt(await ethers.provider.getBlockNumber());
    ledger.chainAdvanced(head, [f.customers[0].address as Hex]);
    expect((await ledger.view(payer)).account.balance).to.equal(CUSTOMER_DEPOSIT + usd(5));
    expect(reader.reads.at(-1)).to.deep.equal({ payer, block: head });
    expect(ledger.appliedBlock).to.equal(head);
  });

  it("includes the store's pending payments and reserves new ones", async function () {
    const { ledger, store, payer } = await setup();
    await store.payments.insertAccepted([makePayment(1, { payer, amount: usd(100), nonce: 3n })]);
    const view = await ledger.view(payer);
    expect(view.pendingAmount).to.equal(usd(100));
    expect(view.available).to.equal(CUSTOMER_DEPOSIT - usd(100));
    expect(view.isNonceFree(3n)).to.equal(false);
    expect(view.isNonceFree(4n)).to.equal(true);

    ledger.reserve(payer, { id: makePayment(2).id, amount: usd(50), nonce: 4n, state: PaymentState.Accepted });
    expect(view.available).to.equal(CUSTOMER_DEPOSIT - usd(150));
    expect(view.isNonceFree(4n)).to.equal(false);
  });

  it("moves an escrowed payment from pending to the balance in one step", async function () {
    const { ledger, store, payer } = await setup();
    const payment = makePayment(1, { payer, amount: usd(100), nonce: 0n });
    await store.payments.insertAccepted([payment]);
    const view = await ledger.view(payer);
    const available = view.available;

    ledger.paymentsChanged([{ before: PaymentState.Submitted, after: { ...payment, state: PaymentState.Escrowed } }]);
    expect(view.available).to.equal(available);
    expect(view.account.balance).to.equal(CUSTOMER_DEPOSIT - usd(100));
    expect(view.pendingAmount).to.equal(0n);
    // Nonce 0 used: the window slides to 1.
    expect(view.account.nonceBase).to.equal(1n);
    expect(view.isNonceFree(0n)).to.equal(false);
  });

  it("a one-off payment (paid from the wallet) neither reserves nor, escrowed, debits the escrow balance", async function () {
    const { ledger, store, payer } = await setup();
    const oneOff = makePayment(1, { payer, amount: usd(100), nonce: ONE_OFF_NONCE });
    await store.payments.insertAccepted([oneOff]);
    const view = await ledger.view(payer);
    expect(view.pendingAmount).to.equal(0n);
    expect(view.available).to.equal(CUSTOMER_DEPOSIT);
    for (const [before, state] of [
      [PaymentState.Accepted, PaymentState.Batched],
      [PaymentState.Batched, PaymentState.Submitted],
      [PaymentState.Submitted, PaymentState.Escrowed],
    ] as const) {
      ledger.paymentsChanged([{ before, after: { ...oneOff, state } }]);
      expect(view.account.balance, state).to.equal(CUSTOMER_DEPOSIT);
      expect(view.available, state).to.equal(CUSTOMER_DEPOSIT);
      expect(view.isNonceFree(0n), state).to.equal(true);
    }
  });

  it("frees the reservation of a payment rejected or expired before it reached the chain", async function () {
    const { ledger, store, payer } = await setup();
    const payment = makePayment(1, { payer, amount: usd(100), nonce: 0n });
    await store.payments.insertAccepted([payment]);
    const view = await ledger.view(payer);
    ledger.paymentsChanged([{ before: PaymentState.Batched, after: { ...payment, state: PaymentState.Rejected } }]);
    expect(view.available).to.equal(CUSTOMER_DEPOSIT);
    expect(view.account.balance).to.equal(CUSTOMER_DEPOSIT);
    expect(view.isNonceFree(0n)).to.equal(true);
  });

  it("ignores moves between pending states, and re-reads a payer whose payment came back to the queue", async function () {
    const { ledger, store, payer, reader } = await setup();
    const payment = makePayment(1, { payer, amount: usd(100), nonce: 0n });
    await store.payments.insertAccepted([payment]);
    await ledger.view(payer);
    ledger.paymentsChanged([{ before: PaymentState.Accepted, after: { ...payment, state: PaymentState.Batched } }]);
    await ledger.view(payer);
    expect(reader.reads).to.have.length(1);
    ledger.paymentsChanged([{ before: PaymentState.Escrowed, after: { ...payment, state: PaymentState.Accepted } }]);
    await ledger.view(payer);
    expect(reader.reads).to.have.length(2);
  });

  it("gives the batcher the account after the payments already in flight, not the queued ones", async function () {
    const { ledger, store, payer, reader } = await setup();
    const queued = makePayment(1, { payer, amount: usd(100), nonce: 0n });
    const inFlight = makePayment(2, { payer, amount: usd(30), nonce: 1n, state: PaymentState.Batched });
    await store.payments.insertAccepted([queued, inFlight]);
    expect(await ledger.accountForBatching(payer)).to.deep.equal({
      balance: CUSTOMER_DEPOSIT - usd(30),
      nonceBase: 0n,
      nonceBitmap: 0b10n,
    });
    // The queued one is batched in turn: from now on it is in flight too (and the window slides).
    ledger.paymentsChanged([{ before: PaymentState.Accepted, after: { ...queued, state: PaymentState.Batched } }]);
    expect(await ledger.accountForBatching(payer)).to.deep.equal({
      balance: CUSTOMER_DEPOSIT - usd(130),
      nonceBase: 2n,
      nonceBitmap: 0n,
    });
    // The view intake uses is unchanged by either question, and nothing was read twice.
    expect((await ledger.view(payer)).account.balance).to.equal(CUSTOMER_DEPOSIT);
    expect(reader.reads).to.have.length(1);
  });

  it("counts a payment batched that it never saw reserved (accepted by another thread's intake after its read) as in flight", async function () {
    const { ledger, store, payer, reader } = await setup();
    expect(await ledger.accountForBatching(payer)).to.deep.equal({
      balance: CUSTOMER_DEPOSIT,
      nonceBase: 0n,
      nonceBitmap: 0n,
    });
    // Accepted after the read; the first this ledger hears of it is the batcher's commit.
    const late = makePayment(1, { payer, amount: usd(40), nonce: 0n });
    await store.payments.insertAccepted([late]);
    ledger.paymentsChanged([{ before: PaymentState.Accepted, after: { ...late, state: PaymentState.Batched } }]);
    expect(await ledger.accountForBatching(payer)).to.deep.equal({
      balance: CUSTOMER_DEPOSIT - usd(40),
      nonceBase: 1n,
      nonceBitmap: 0n,
    });
    // Escrowed: in the balance, once.
    ledger.paymentsChanged([{ before: PaymentState.Batched, after: { ...late, state: PaymentState.Escrowed } }]);
    const view = await ledger.view(payer);
    expect([view.account.balance, view.pendingAmount]).to.deep.equal([CUSTOMER_DEPOSIT - usd(40), 0n]);
    expect(reader.reads).to.have.length(1);
  });

  it("shares one read between intake and the batcher asking at once", async function () {
    const { ledger, payer, reader } = await setup();
    reader.hold();
    const [a, b] = [ledger.view(payer), ledger.accountForBatching(payer)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    reader.release();
    await Promise.all([a, b]);
    expect(reader.reads).to.have.length(1);
  });

  it("replays onto a read in flight what the watcher committed meanwhile", async function () {
    const { ledger, store, payer, reader } = await setup();
    const payment = makePayment(1, { payer, amount: usd(100), nonce: 0n });
    await store.payments.insertAccepted([payment]);
    reader.hold();
    const pendingView = ledger.view(payer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Committed while the read is held: the escrow happened after the block being read.
    ledger.paymentsChanged([{ before: PaymentState.Submitted, after: { ...payment, state: PaymentState.Escrowed } }]);
    ledger.chainAdvanced(ledger.appliedBlock + 1n, []);
    reader.release();
    const view = await pendingView;
    expect(view.account.balance).to.equal(CUSTOMER_DEPOSIT - usd(100));
    expect(view.pendingAmount).to.equal(0n);
    expect(view.available).to.equal(CUSTOMER_DEPOSIT - usd(100));
    expect(reader.reads).to.have.length(1);
  });

  it("starts a read over when the payer is touched while it is in flight", async function () {
    const { ledger, payer, reader, block } = await setup();
    await ethers.provider.send("evm_mine", []);
    reader.hold();
    const pendingView = ledger.view(payer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    ledger.chainAdvanced(block + 1n, [payer]);
    reader.release();
    await pendingView;
    expect(reader.reads.map((r) => r.block)).to.deep.equal([block, block + 1n]);
    expect(ledger.stats.retries).to.equal(1);
  });

  it("gives up with chain_unavailable when the payer changes under every read", async function () {
    const { ledger, payer, reader } = await setup();
    const touchOnRead = reader.accountAt.bind(reader);
    reader.accountAt = async (p, b) => {
      const account = await touchOnRead(p, b);
      ledger.chainAdvanced(b + 1n, [payer]);
      return account;
    };
    const error = await ledger.view(payer).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isApiError(error) && error.code).to.equal("chain_unavailable");
  });

  it("drops everything on a reorg, including reads in flight", async function () {
    const { ledger, payer, reader, f, block } = await setup();
    const other = f.customers[1].address.toLowerCase() as Hex;
    await ledger.view(other);
    reader.hold();
    const pendingView = ledger.view(payer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    ledger.rewound(block - 1n);
    reader.release();
    await pendingView;
    expect(ledger.appliedBlock).to.equal(block - 1n);
    await ledger.view(other);
    expect(reader.reads.map((r) => [r.payer, r.block])).to.deep.equal([
      [other, block],
      [payer, block],
      [payer, block - 1n],
      [other, block - 1n],
    ]);
  });

  it("re-reads a view older than its time to live", async function () {
    let now = 1_000_000;
    const { ledger, payer, reader } = await setup({ ttlMs: 1_000, now: () => now });
    await ledger.view(payer);
    now += 999;
    await ledger.view(payer);
    now += 1;
    await ledger.view(payer);
    expect(reader.reads).to.have.length(2);
  });

  it("answers an empty account for blocks before the escrow existed, without a read", async function () {
    const { store, f } = await setup();
    const reader = new GatedReader({
      accountAt: () => Promise.reject(new Error("must not be called")),
    });
    const ledger = new PayerLedger({ reader, payments: store.payments, block: 9n, startBlock: 10n });
    const view = await ledger.view(f.customers[0].address as Hex);
    expect(view.account).to.deep.equal({ balance: 0n, nonceBase: 0n, nonceBitmap: 0n });
  });

  it("slides the nonce window as NonceWindow.use does", function () {
    // Model: the set of used nonces; base = lowest unused, bitmap = used nonces above it.
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 100n }), { maxLength: 80 }), (nonces) => {
        const state = { balance: 0n, nonceBase: 0n, nonceBitmap: 0n };
        const used = new Set<bigint>();
        for (const nonce of nonces) {
          const available = nonce >= state.nonceBase && nonce - state.nonceBase < 64n && !used.has(nonce);
          useNonce(state, nonce);
          if (available) used.add(nonce);
          let base = 0n;
          while (used.has(base)) base++;
          let bitmap = 0n;
          for (const u of used) if (u > base) bitmap |= 1n << (u - base);
          if (state.nonceBase !== base || state.nonceBitmap !== bitmap) return false;
        }
        return true;
      }),
    );
  });
});
