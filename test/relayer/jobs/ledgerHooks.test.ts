/**
 * What the chain jobs tell intake's ledger (src/relayer/ledger/listener.ts), on a real chain and
 * store: every payment state change they commit, each page the watcher applies (its block and the
 * payers whose accounts moved other than by their own pending payments being escrowed), and reorg
 * rewinds; all of it only once the store transaction that made it has committed.
 */
import { expect } from "chai";
import { PaymentState, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import type { LedgerListener } from "../../../src/relayer/ledger/listener";
import { buildPayment, signPayment, submitBatch, usd } from "../../escrow/fixtures";
import {
  mine,
  usePipelineFixture,
  rpc,
  statesOf,
  tickUntil,
  tickUntilEscrowedInOneBatch,
  type PipelineFixture,
} from "../helpers/chain";

type Call =
  | { kind: "payments"; changes: { before: PaymentState; after: PaymentRecord }[] }
  | { kind: "advanced"; block: bigint; touched: Hex[] }
  | { kind: "rewound"; block: bigint };

class RecordingLedger implements LedgerListener {
  calls: Call[] = [];
  paymentsChanged(changes: readonly { before: PaymentState; after: PaymentRecord }[]): void {
    this.calls.push({ kind: "payments", changes: [...changes] });
  }
  chainAdvanced(block: bigint, touched: readonly Hex[]): void {
    this.calls.push({ kind: "advanced", block, touched: [...touched] });
  }
  rewound(block: bigint): void {
    this.calls.push({ kind: "rewound", block });
  }
  /** Every reported change of `id`, as "before>after", in order. */
  movesOf(id: Hex): string[] {
    return this.calls.flatMap((c) =>
      c.kind === "payments"
        ? c.changes.filter((ch) => ch.after.id === id).map((ch) => `${ch.before}>${ch.after.state}`)
        : [],
    );
  }
  advances(): Extract<Call, { kind: "advanced" }>[] {
    return this.calls.filter((c) => c.kind === "advanced") as Extract<Call, { kind: "advanced" }>[];
  }
}

describe("relayer pipeline: ledger hooks", function () {
  let fx: PipelineFixture;
  let ledger: RecordingLedger;

  const setup = usePipelineFixture();

  beforeEach(async () => {
    fx = await setup();
    ledger = new RecordingLedger();
  });

  const lower = (address: string) => address.toLowerCase() as Hex;

  it("reports a deposit's payer as touched, with the block of the committed cursor, and nothing from a rolled-back page", async () => {
    const pipeline = fx.pipeline({ ledger });
    await pipeline.watcher.tick(); // the fixture's own deposits
    ledger.calls = [];
    const [c0] = fx.customers;
    await fx.token.connect(fx.admin).mint(c0.address, usd(50));
    await fx.token.connect(c0).approve(fx.addresses.escrow, usd(50));
    const deposit = await (await fx.escrow.connect(c0).deposit(usd(50))).wait();

    // The page's transaction fails at its cursor write: it rolls back, and the ledger hears nothing.
    const set = fx.store.chainCursor.set.bind(fx.store.chainCursor);
    fx.store.chainCursor.set = async () => {
      throw new Error("disk full");
    };
    let failed = false;
    await pipeline.watcher.tick().catch(() => (failed = true));
    fx.store.chainCursor.set = set;
    expect(failed).to.equal(true);
    expect(ledger.calls).to.deep.equal([]);

    await pipeline.watcher.tick();
    const cursor = (await pipeline.watcher.cursor())!;
    const advances = ledger.advances();
    expect(advances.at(-1)!.block).to.equal(cursor.blockNumber);
    const withDeposit = advances.find((a) => a.block >= BigInt(deposit!.blockNumber))!;
    expect(withDeposit.touched).to.deep.equal([lower(c0.address)]);
    expect(ledger.calls.some((c) => c.kind === "payments")).to.equal(false);
  });

  it("reports a batch's payments up to escrowed, and leaves their payer out of touched; an unknown escrow touches", async () => {
    const pipeline = fx.pipeline({ ledger });
    await pipeline.watcher.tick();
    ledger.calls = [];
    const [, c1, c2] = fx.customers;
    const payments = await fx.accept([{ payer: c1 }, { payer: c1, amount: usd(3) }]);
    await tickUntil(pipeline, "escrowed", async () =>
      (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed),
    );
    for (const p of payments) {
      expect(ledger.movesOf(p.id)).to.deep.equal(["accepted>batched", "batched>submitted", "submitted>escrowed"]);
    }
    const escrowedAt = ledger.calls.findIndex(
      (c) => c.kind === "payments" && c.changes.some((ch) => ch.after.state === PaymentState.Escrowed),
    );
    const escrow = ledger.calls
      .flatMap((c) => (c.kind === "payments" ? c.changes : []))
      .find((ch) => ch.after.id === payments[0].id && ch.after.state === PaymentState.Escrowed)!;
    // The record as written: what the ledger takes off the payer's balance and nonce window.
    expect([escrow.after.amount, escrow.after.nonce, escrow.after.txHash !== null]).to.deep.equal([
      payments[0].amount,
      payments[0].nonce,
      true,
    ]);
    const receipt = (await fx.chain.receipt(escrow.after.txHash!))!;
    // The page that escrowed them is reported right after, with its block and without their payer.
    const page = ledger.calls[escrowedAt + 1];
    expect(page.kind).to.equal("advanced");
    const advanced = page as Extract<Call, { kind: "advanced" }>;
    expect(advanced.block >= BigInt(receipt.blockNumber)).to.equal(true);
    expect(advanced.touched).to.deep.equal([]);
    expect((await pipeline.watcher.cursor())!.blockNumber).to.equal(ledger.advances().at(-1)!.block);

    // A payment escrowed by someone else: the relayer does not know it, so its payer is touched.
    const payment = await buildPayment(fx, c2, { nonce: 0n });
    const outside = await submitBatch(fx, [{ payment, signature: await signPayment(fx, c2, payment) }]);
    await outside.tx.wait();
    ledger.calls = [];
    await pipeline.watcher.tick();
    expect(ledger.advances().flatMap((a) => a.touched)).to.deep.equal([lower(c2.address)]);
    expect(ledger.calls.some((c) => c.kind === "payments")).to.equal(false);
  });

  it("reports payments rejected by the simulation and by the escrow", async () => {
    const pipeline = fx.pipeline({ ledger });
    await pipeline.watcher.tick();
    ledger.calls = [];
    const [, , c2, c3] = fx.customers;
    const [zero, cancelled] = await fx.accept([
      { payer: c3, amount: 0n },
      { payer: c2, nonce: 9n },
    ]);
    await pipeline.batcher.tick();
    expect(ledger.movesOf(zero.id)).to.deep.equal(["accepted>rejected"]);
    expect(ledger.movesOf(cancelled.id)).to.deep.equal(["accepted>batched"]);

    // The nonce is cancelled after the simulation passed it: the escrow rejects the payment.
    await fx.escrow.connect(c2).cancelNonce(9n);
    await pipeline.submitter.tick();
    await pipeline.watcher.tick();
    expect(await statesOf(fx.store, [cancelled])).to.deep.equal([PaymentState.Rejected]);
    expect(ledger.movesOf(cancelled.id)).to.deep.equal(["accepted>batched", "batched>submitted", "submitted>rejected"]);
    const rejected = ledger.calls
      .flatMap((c) => (c.kind === "payments" ? c.changes : []))
      .find((ch) => ch.after.state === PaymentState.Rejected && ch.after.id === cancelled.id)!;
    expect(rejected.after.rejectReason).to.equal("nonce_unavailable");
    // The cancellation itself moved the payer's nonce window.
    expect(ledger.advances().flatMap((a) => a.touched)).to.deep.equal([lower(c2.address)]);
  });

  it("reports a reorg's rewind after the payments it returned to the queue, then the pages read again", async () => {
    const pipeline = fx.pipeline({ ledger });
    const payments = await fx.accept([{ payer: fx.customers[0] }]);
    const snapshot = await rpc<string>("evm_snapshot");
    await tickUntilEscrowedInOneBatch(pipeline, fx.store, payments, "escrowed and confirmed");
    const cursor = (await pipeline.watcher.cursor())!;
    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);
    ledger.calls = [];

    await pipeline.watcher.tick();
    const target = pipeline.watcher.lastTick.reorg!.rewindTo;
    expect(target < cursor.blockNumber).to.equal(true);
    const kinds = ledger.calls.map((c) => c.kind);
    const rewindAt = kinds.indexOf("rewound");
    expect(ledger.calls[rewindAt]).to.deep.equal({ kind: "rewound", block: target });
    expect(kinds.filter((k) => k === "rewound")).to.have.length(1);
    expect(ledger.movesOf(payments[0].id)).to.deep.equal(["escrowed>accepted"]);
    expect(kinds.indexOf("payments")).to.be.lessThan(rewindAt);
    const after = ledger.calls.slice(rewindAt + 1);
    expect(after.length > 0 && after.every((c) => c.kind === "advanced" && c.block > target)).to.equal(true);
    expect((after.at(-1) as Extract<Call, { kind: "advanced" }>).block).to.equal(
      (await pipeline.watcher.cursor())!.blockNumber,
    );
  });
});
