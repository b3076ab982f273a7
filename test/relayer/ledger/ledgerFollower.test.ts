/**
 * The api role's ledger follower (src/relayer/jobs/ledgerFollower.ts) on anvil, a node with interval
 * mining and `anvil_reorg`: what a deposit, a withdrawal, an escrowed and a rejected payment do to a
 * PayerLedger within one poll, how a reorg rewinds it, and what a node that stops answering does.
 */
import { expect } from "chai";
import { Wallet, toBeHex, zeroPadValue } from "ethers";
import { anvilReorg } from "../../../src/localnet/anvil";
import {
  escrowDomain,
  ethersTypes,
  paymentFields,
  paymentId,
  paymentTypes,
  type Address,
  type Payment,
  encodeBatch,
} from "../../../src/protocol";
import { EthersChainView, type AccountState } from "../../../src/relayer/chain/chainView";
import { connectChain } from "../../../src/relayer/chain/client";
import { PaymentState, acceptedPayment, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { LedgerFollower } from "../../../src/relayer/jobs/ledgerFollower";
import { PayerLedger, type AccountReader } from "../../../src/relayer/ledger/payerLedger";
import { ANVIL_DEPOSIT, HOLD_PERIOD, useAnvilPipelineFixture, type AnvilPipelineFixture } from "../helpers/anvil";
import { FAST_RETRY, MemoryLogger } from "../helpers/chain";
import { startRpcProxy } from "../faults/rpcProxy";

const usd = (n: number): bigint => BigInt(n) * 1_000_000n;

/** The chain view's reads at a block, counted. */
class CountingReader implements AccountReader {
  reads = 0;
  constructor(private readonly inner: AccountReader) {}
  accountAt(payer: Hex, block: bigint): Promise<AccountState> {
    this.reads++;
    return this.inner.accountAt(payer, block);
  }
}

interface Followed {
  ledger: PayerLedger;
  reader: CountingReader;
  follower: LedgerFollower;
  logger: MemoryLogger;
}

async function follow(
  fx: AnvilPipelineFixture,
  options: { windowPages?: number; chain?: AnvilPipelineFixture["chain"] } = {},
): Promise<Followed> {
  const view = await EthersChainView.connect({
    provider: fx.provider,
    escrow: fx.addresses.escrow,
    registry: fx.addresses.registry,
    chainId: fx.addresses.chainId,
  });
  const reader = new CountingReader(view);
  const startBlock = fx.addresses.startBlock;
  const ledger = new PayerLedger({ reader, payments: fx.store.payments, block: startBlock - 1n, startBlock });
  const logger = new MemoryLogger();
  const follower = new LedgerFollower({
    chain: options.chain ?? fx.chain,
    ledger,
    payments: fx.store.payments,
    pollIntervalMs: 100,
    windowPages: options.windowPages,
    pageBlocks: 1n,
    logger,
    metrics: fx.metrics,
  });
  await follower.tick();
  return { ledger, reader, follower, logger };
}

/** Waits for `tx` to be mined (anvil mines on its interval); its block. */
async function mined(tx: Promise<{ wait(): Promise<{ blockNumber: number } | null> }>): Promise<bigint> {
  return BigInt((await (await tx).wait())!.blockNumber);
}

/** A payment of `payer` signed for `fx`'s escrow and merchant, stored as intake would store it. */
async function signed(
  fx: AnvilPipelineFixture,
  payer: Wallet,
  amount: bigint,
  nonce: bigint,
  stored = true,
): Promise<PaymentRecord> {
  const now = BigInt((await fx.provider.getBlock("latest"))!.timestamp);
  const domain = escrowDomain(fx.addresses.chainId, fx.addresses.escrow as Address);
  const payment: Payment = {
    payer: payer.address as Address,
    merchantId: fx.merchantId,
    amount,
    orderRef: zeroPadValue(toBeHex(0x7000_0000n + nonce), 32) as Hex,
    nonce,
    validAfter: 0n,
    deadline: now + 86_400n,
    hold: HOLD_PERIOD,
  };
  const signature = (await payer.signTypedData(domain, ethersTypes(paymentTypes), payment)) as Hex;
  const id = paymentId(domain, payment).toLowerCase() as Hex;
  const record = acceptedPayment({
    ...payment,
    id,
    currency: "USD",
    payer: payer.address.toLowerCase() as Address,
    signature,
    requestId: null,
    signatureKind: null,
    createdAt: 1,
  });
  if (stored) await fx.store.payments.insertAccepted([record]);
  return record;
}

const onChain = (p: PaymentRecord) => ({ payment: paymentFields(p), signature: p.signature });

describe("ledger follower (role api's payer ledger, on anvil)", function () {
  this.timeout(120_000);
  const anvil = useAnvilPipelineFixture();

  it("a deposit, a withdrawal, an escrowed and a rejected payment reach the ledger within one poll", async () => {
    const fx = await anvil();
    const { ledger, reader, follower } = await follow(fx);
    const customer = fx.customers[0];
    const payer = customer.address.toLowerCase() as Hex;
    expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT);
    expect(reader.reads).to.equal(1);

    // Deposit: the payer is re-read at the block the follower applied.
    await mined(fx.token.mint(customer.address, usd(50)));
    await mined(fx.token.connect(customer).approve(fx.addresses.escrow, usd(50)));
    const depositBlock = await mined(fx.escrow.connect(customer).deposit(usd(50)));
    await follower.tick();
    expect(follower.appliedBlock).to.be.at.least(depositBlock);
    expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT + usd(50));
    expect(reader.reads).to.equal(2);

    // Withdrawal: likewise.
    await mined(fx.escrow.connect(customer).withdraw(usd(30), customer.address));
    await follower.tick();
    const afterWithdrawal = ANVIL_DEPOSIT + usd(20);
    expect((await ledger.view(payer)).available).to.equal(afterWithdrawal);
    expect(reader.reads).to.equal(3);

    // A payment intake accepted (reserved in the view), escrowed by someone's payBatch: it leaves
    // the pending set and the balance in one step, its nonce is used, and nobody re-reads.
    const nonce = (await fx.escrow.nonceWindow(customer.address))[0];
    const paid = await signed(fx, customer, usd(10), nonce);
    ledger.reserve(payer, { id: paid.id, amount: paid.amount, nonce: paid.nonce, state: PaymentState.Accepted });
    expect(ledger.pendingPayment(payer, paid.id)?.amount).to.equal(usd(10));
    expect((await ledger.view(payer)).available).to.equal(afterWithdrawal - usd(10));
    await mined(fx.escrow.payBatch(encodeBatch([onChain(paid)])));
    await follower.tick();
    let view = await ledger.view(payer);
    expect(view.pending.has(paid.id)).to.equal(false);
    expect(view.account.balance).to.equal(afterWithdrawal - usd(10));
    expect(view.available).to.equal(afterWithdrawal - usd(10));
    expect(view.isNonceFree(nonce)).to.equal(false);
    expect(follower.stats.escrowed).to.equal(1);
    expect(reader.reads, "no re-read for a payment the view held").to.equal(3);
    // The view matches the chain.
    expect(await fx.escrow.balanceOf(customer.address)).to.equal(view.account.balance);
    await fx.store.payments.setState([paid.id], PaymentState.Escrowed); // as the worker's watcher does

    // A payment the escrow rejects (more than the balance): its reservation ends, the nonce is free.
    const tooMuch = await signed(fx, customer, ANVIL_DEPOSIT * 2n, nonce + 1n);
    ledger.reserve(payer, {
      id: tooMuch.id,
      amount: tooMuch.amount,
      nonce: tooMuch.nonce,
      state: PaymentState.Accepted,
    });
    expect((await ledger.view(payer)).isNonceFree(nonce + 1n)).to.equal(false);
    await mined(fx.escrow.payBatch(encodeBatch([onChain(tooMuch)])));
    await follower.tick();
    view = await ledger.view(payer);
    expect(view.pending.size).to.equal(0);
    expect(view.available).to.equal(afterWithdrawal - usd(10));
    expect(view.isNonceFree(nonce + 1n)).to.equal(true);
    expect(follower.stats.rejected).to.equal(1);
    expect(reader.reads).to.equal(3);
    await fx.store.payments.setState([tooMuch.id], PaymentState.Rejected);

    // Accepted by another instance after this view was read (stored, not in the view): escrowed all
    // the same, with the nonce the store has, and still no re-read.
    const other = await signed(fx, customer, usd(3), nonce + 2n);
    await mined(fx.escrow.payBatch(encodeBatch([onChain(other)])));
    await follower.tick();
    view = await ledger.view(payer);
    expect(reader.reads).to.equal(3);
    expect(view.account.balance).to.equal(afterWithdrawal - usd(13));
    expect(view.isNonceFree(nonce + 2n)).to.equal(false);
    expect(follower.stats.escrowed).to.equal(2);
    expect(await fx.escrow.balanceOf(customer.address)).to.equal(view.account.balance);
    await fx.store.payments.setState([other.id], PaymentState.Escrowed);

    // Escrowed without the relayer knowing it (someone else's payBatch of a payment never sent to
    // the relayer): the payer is re-read.
    const elsewhere = await signed(fx, customer, usd(5), nonce + 3n, false);
    await mined(fx.escrow.payBatch(encodeBatch([onChain(elsewhere)])));
    await follower.tick();
    view = await ledger.view(payer);
    expect(reader.reads).to.equal(4);
    expect(view.account.balance).to.equal(afterWithdrawal - usd(18));
    expect(view.available).to.equal(afterWithdrawal - usd(18));
    expect(view.isNonceFree(nonce + 3n)).to.equal(false);
  });

  it("catchUp polls now: a deposit mined since the last poll counts at once; callers that ask together share one poll; a failing node answers false", async () => {
    const fx = await anvil();
    const proxy = await startRpcProxy(fx.url);
    const chain = await connectChain({ rpcUrl: proxy.url, deployment: fx.addresses, signer: null, retry: FAST_RETRY });
    try {
      const { ledger, follower } = await follow(fx, { chain });
      const customer = fx.customers[1];
      const payer = customer.address.toLowerCase() as Hex;
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT);
      // Without a follower the ledger has nothing to ask.
      expect(
        await new PayerLedger({
          reader: ledger as never,
          payments: fx.store.payments,
          block: 0n,
          startBlock: 0n,
        }).catchUp(),
      ).to.equal(false);
      ledger.followedBy(follower);

      await mined(fx.token.mint(customer.address, usd(25)));
      await mined(fx.token.connect(customer).approve(fx.addresses.escrow, usd(25)));
      const depositBlock = await mined(fx.escrow.connect(customer).deposit(usd(25)));
      // The cached view predates the deposit: no poll has run since.
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT);

      const polls = follower.stats.polls;
      const catchUps = follower.stats.catchUps;
      const answers = await Promise.all(Array.from({ length: 5 }, () => ledger.catchUp()));
      expect(answers).to.deep.equal([true, true, true, true, true]);
      expect(follower.stats.polls - polls, "one poll for five callers").to.equal(1);
      expect(follower.stats.catchUps - catchUps).to.equal(5);
      expect(follower.appliedBlock).to.be.at.least(depositBlock);
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT + usd(25));

      // The node down: false, and the view stays as it was.
      proxy.fault({ action: "502" });
      expect(await ledger.catchUp()).to.equal(false);
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT + usd(25));
    } finally {
      proxy.heal();
      await chain.close();
      chain.provider.destroy();
      await proxy.close();
    }
  });

  it("a reorg rewinds the ledger to the newest block of its window still on the chain; deeper than the window is an error", async () => {
    const fx = await anvil();
    const main = await follow(fx);
    const narrow = await follow(fx, { windowPages: 1 });
    const customer = fx.customers[1];
    const payer = customer.address.toLowerCase() as Hex;
    await mined(fx.token.mint(customer.address, usd(70)));
    await mined(fx.token.connect(customer).approve(fx.addresses.escrow, usd(70)));
    for (const f of [main, narrow]) await f.follower.tick();
    const beforeDeposit = await fx.head();

    const deposit = await (await fx.escrow.connect(customer).deposit(usd(70))).wait();
    for (const f of [main, narrow]) {
      await f.follower.tick();
      expect((await f.ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT + usd(70));
    }

    // A new branch from before the deposit, without it.
    const depth = Number((await fx.head()) - BigInt(deposit!.blockNumber) + 1n);
    await anvilReorg(fx.url, depth);
    expect(await fx.escrow.balanceOf(customer.address)).to.equal(ANVIL_DEPOSIT);

    const head = await fx.head();
    await main.follower.tick();
    expect(main.follower.stats.reorgs).to.equal(1);
    expect(main.follower.stats.deepReorgs).to.equal(0);
    expect(main.ledger.stats.resets).to.equal(1);
    expect(main.follower.appliedBlock).to.be.at.least(head);
    expect((await main.ledger.view(payer)).available, "re-read on the new branch").to.equal(ANVIL_DEPOSIT);
    const rewind = main.logger.lines.find((l) => l.msg?.startsWith("reorg: "));
    expect(BigInt((rewind!.obj as { rewindTo: string }).rewindTo)).to.be.at.most(beforeDeposit);

    await narrow.follower.tick();
    expect(narrow.follower.stats.deepReorgs).to.equal(1);
    const line = narrow.logger.lines.find((l) => (l.obj as { event?: string }).event === "deep_reorg");
    expect(line?.level).to.equal("error");
    expect((await narrow.ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT);
  });

  it("while the node fails the views stay as they were (counted, logged once); the next poll catches up", async () => {
    const fx = await anvil();
    const proxy = await startRpcProxy(fx.url);
    const chain = await connectChain({ rpcUrl: proxy.url, deployment: fx.addresses, signer: null, retry: FAST_RETRY });
    try {
      const { ledger, reader, follower, logger } = await follow(fx, { chain });
      const customer = fx.customers[2];
      const payer = customer.address.toLowerCase() as Hex;
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT);
      const failuresBefore = (await fx.metrics.failures.get()).values
        .filter((v) => v.labels.component === "follower")
        .reduce((sum, v) => sum + v.value, 0);

      proxy.fault({ action: "502" });
      await mined(fx.escrow.connect(customer).withdraw(usd(40), customer.address));
      for (let i = 0; i < 3; i++) {
        const error = await follower.tick().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, "a failed poll rejects its tick").to.be.instanceOf(Error);
      }
      expect(follower.stats.failures).to.equal(3);
      const failures = (await fx.metrics.failures.get()).values
        .filter((v) => v.labels.component === "follower")
        .reduce((sum, v) => sum + v.value, 0);
      expect(failures - failuresBefore).to.equal(3);
      expect(logger.lines.filter((l) => l.msg?.startsWith("ledger follower poll failed"))).to.have.length(1);
      // Intake keeps judging from the view it has (the escrow and the store's guard still hold).
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT);
      expect(reader.reads).to.equal(1);

      proxy.heal();
      const head = await fx.head();
      await follower.tick();
      expect(follower.appliedBlock).to.be.at.least(head);
      expect((await ledger.view(payer)).available).to.equal(ANVIL_DEPOSIT - usd(40));
    } finally {
      await chain.close();
      chain.provider.destroy();
      await proxy.close();
    }
  });
});
