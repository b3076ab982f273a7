import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Payment } from "../../src/protocol";
import { BATCH_ITEM_FIXED_BYTES, BatchEncodingError, BatchTree, encodeBatch } from "../../src/protocol";
import {
  CUSTOMER_DEPOSIT,
  FEE_BPS,
  HOLD_PERIOD,
  MAX_UINT128,
  ONE_DAY,
  RejectReason,
  expectInvariant,
  feeOf,
  fundCustomer,
  submitBatch,
  usd,
} from "./fixtures";
import {
  accountState,
  batchEvents,
  deployPayBatchFixture,
  escrowState,
  expectRejectedBesideValid,
  idsOf,
  signed,
  nextTimestamp,
} from "./batch.helpers";

/** Bob's payment with `overrides` is rejected for `reason` beside `good`'s valid one (see expectRejectedBesideValid). */
async function expectBobRejected(
  f: Awaited<ReturnType<typeof deployPayBatchFixture>>,
  good: HardhatEthersSigner,
  overrides: Partial<Payment>,
  reason: (typeof RejectReason)[keyof typeof RejectReason],
) {
  const [, bob] = f.customers;
  await expectRejectedBesideValid(f, await signed(f, good), await signed(f, bob, overrides), reason);
}

describe("PaymentEscrow.payBatch", function () {
  describe("accepted payments", function () {
    it("escrows a batch over several merchants: events, root, tranches, balances and liabilities", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob, carol, dave] = f.customers;
      const [m1, m2, m3] = f.merchants;
      // Grouped by merchant: runs M1 (alice, bob), M2 (carol, alice), M3 (dave).
      const items = [
        await signed(f, alice, { merchantId: m1.id, amount: usd(10), nonce: 0n }),
        await signed(f, bob, { merchantId: m1.id, amount: usd("20.5"), nonce: 0n }),
        await signed(f, carol, { merchantId: m2.id, amount: usd(30), nonce: 0n }),
        await signed(f, alice, { merchantId: m2.id, amount: usd(5), nonce: 1n }),
        await signed(f, dave, { merchantId: m3.id, amount: usd("7.25"), nonce: 0n }),
      ];
      const ids = await idsOf(f, items);
      const total = usd("72.75");
      const before = await escrowState(f);

      expect(await f.escrow.connect(f.relayer).payBatch.staticCall(encodeBatch(items))).to.equal(1n);
      const t = await nextTimestamp();
      const releaseAt = t + HOLD_PERIOD;
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items));
      const root = new BatchTree(ids).root;

      for (let i = 0; i < items.length; i++) {
        const p = items[i].payment;
        await expect(tx).to.emit(f.escrow, "PaymentEscrowed").withArgs(ids[i], p.payer, p.merchantId, 1n, p.amount);
      }
      await expect(tx).to.emit(f.escrow, "BatchEscrowed").withArgs(1n, root, 5n, total, f.relayer.address);
      const events = await batchEvents(f, tx);
      expect(events.rejected).to.deep.equal([]);
      expect(events.escrowed.map((e) => e.id)).to.deep.equal(ids);
      expect(events.tranches).to.deep.equal([
        { batchId: 1n, merchantId: m1.id, amount: usd("30.5"), releaseAt, feeBps: FEE_BPS },
        { batchId: 1n, merchantId: m2.id, amount: usd(35), releaseAt, feeBps: FEE_BPS },
        { batchId: 1n, merchantId: m3.id, amount: usd("7.25"), releaseAt, feeBps: FEE_BPS },
      ]);
      expect(events.batches).to.deep.equal([
        { batchId: 1n, root, paymentCount: 5n, total, submitter: f.relayer.address },
      ]);

      expect(await f.escrow.batchCount()).to.equal(1n);
      expect(await f.escrow.batchRoot(1n)).to.equal(root);
      for (const [m, amount] of [
        [m1, usd("30.5")],
        [m2, usd(35)],
        [m3, usd("7.25")],
      ] as const) {
        const tr = await f.escrow.tranche(1n, m.id);
        expect([tr.amount, tr.releaseAt, tr.feeBps]).to.deep.equal([amount, releaseAt, FEE_BPS]);
      }
      // No tranche for a merchant that was not in the batch, nor in a batch that does not exist.
      const none = await f.escrow.tranche(2n, m1.id);
      expect([none.amount, none.releaseAt, none.feeBps]).to.deep.equal([0n, 0n, 0n]);

      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(15));
      expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT - usd("20.5"));
      expect(await f.escrow.balanceOf(carol.address)).to.equal(CUSTOMER_DEPOSIT - usd(30));
      expect(await f.escrow.balanceOf(dave.address)).to.equal(CUSTOMER_DEPOSIT - usd("7.25"));
      expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([2n, 0n]);
      expect(await f.escrow.nonceWindow(bob.address)).to.deep.equal([1n, 0n]);

      const after = await escrowState(f);
      expect(after.tokenBalance).to.equal(before.tokenBalance); // escrow moves no tokens
      expect(after.liabilities).to.deep.equal({
        ...before.liabilities,
        customerBalances: before.liabilities.customerBalances - total,
        held: before.liabilities.held + total,
      });
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, alice, f.relayer], [0n, 0n, 0n]);
      await expectInvariant(f);
    });

    it("every accepted payment's BatchTree proof works: confirm one and refund another", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob, carol] = f.customers;
      const items = [
        await signed(f, alice, { amount: usd(10) }),
        await signed(f, bob, { amount: usd(20) }),
        await signed(f, carol, { amount: usd(40) }),
      ];
      const batch = await submitBatch(f, items);
      expect(await f.escrow.batchRoot(batch.batchId)).to.equal(batch.tree.root);
      const m = f.merchants[0];
      const [pa, , pc] = batch.payments;
      await expect(f.escrow.connect(alice).confirm(pa.payment, pa.inclusion))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(pa.id, m.id, batch.batchId, usd(10) - feeOf(usd(10)), feeOf(usd(10)));
      await expect(f.escrow.connect(m.owner).refund(pc.payment, pc.inclusion, usd(40)))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(pc.id, m.id, carol.address, batch.batchId, usd(40), usd(40));
      expect((await f.escrow.tranche(batch.batchId, m.id)).amount).to.equal(usd(20));
      await expectInvariant(f);
    });

    it("numbers batches consecutively and returns each new batch id", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const first = [await signed(f, alice, { nonce: 0n })];
      expect(await f.escrow.payBatch.staticCall(encodeBatch(first))).to.equal(1n);
      await f.escrow.connect(f.relayer).payBatch(encodeBatch(first));
      const second = [await signed(f, bob, { nonce: 0n }), await signed(f, alice, { nonce: 1n })];
      expect(await f.escrow.payBatch.staticCall(encodeBatch(second))).to.equal(2n);
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(second));
      await expect(tx)
        .to.emit(f.escrow, "BatchEscrowed")
        .withArgs(2n, new BatchTree(await idsOf(f, second)).root, 2n, usd(20), f.relayer.address);
      expect(await f.escrow.batchCount()).to.equal(2n);
      expect(await f.escrow.batchRoot(1n)).to.equal((await idsOf(f, first))[0]);
      await expectInvariant(f);
    });

    it("anyone may submit a batch, and the submitter is recorded in BatchEscrowed", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const byStranger = [await signed(f, alice)];
      await expect(f.escrow.connect(f.stranger).payBatch(encodeBatch(byStranger)))
        .to.emit(f.escrow, "BatchEscrowed")
        .withArgs(1n, (await idsOf(f, byStranger))[0], 1n, usd(10), f.stranger.address);
      // Even another customer, for somebody else's payment.
      const byAlice = [await signed(f, bob)];
      await expect(f.escrow.connect(alice).payBatch(encodeBatch(byAlice)))
        .to.emit(f.escrow, "BatchEscrowed")
        .withArgs(2n, (await idsOf(f, byAlice))[0], 1n, usd(10), alice.address);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
      expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
      await expectInvariant(f);
    });

    it("interleaved merchants (A, B, A) top up the same tranche: two TrancheFunded events for A", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob, carol] = f.customers;
      const [a, b] = f.merchants;
      const items = [
        await signed(f, alice, { merchantId: a.id, amount: usd(10) }),
        await signed(f, bob, { merchantId: b.id, amount: usd(20) }),
        await signed(f, carol, { merchantId: a.id, amount: usd(15) }),
      ];
      const t = await nextTimestamp();
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items));
      const releaseAt = t + HOLD_PERIOD;
      const events = await batchEvents(f, tx);
      expect(events.tranches).to.deep.equal([
        { batchId: 1n, merchantId: a.id, amount: usd(10), releaseAt, feeBps: FEE_BPS },
        { batchId: 1n, merchantId: b.id, amount: usd(20), releaseAt, feeBps: FEE_BPS },
        { batchId: 1n, merchantId: a.id, amount: usd(15), releaseAt, feeBps: FEE_BPS },
      ]);
      const ta = await f.escrow.tranche(1n, a.id);
      expect([ta.amount, ta.releaseAt, ta.feeBps]).to.deep.equal([usd(25), releaseAt, FEE_BPS]);
      expect((await f.escrow.tranche(1n, b.id)).amount).to.equal(usd(20));
      expect((await f.escrow.liabilities()).held).to.equal(usd(45));

      // The topped-up tranche settles as one: fee on the 25.00 aggregate.
      await time.increase(HOLD_PERIOD);
      await expect(f.escrow.settle([{ merchantId: a.id, batchIds: [1n] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(a.id, a.payout.address, usd(25) - feeOf(usd(25)));
      await expectInvariant(f);
    });

    it("a merchant's tranche uses the terms read when the batch was escrowed", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      const m = f.merchants[1];
      await f.registry.connect(f.registrar).setTerms(m.id, 100, ONE_DAY, 3n * ONE_DAY);
      const t = await nextTimestamp();
      await expect(
        f.escrow
          .connect(f.relayer)
          .payBatch(encodeBatch([await signed(f, alice, { merchantId: m.id, hold: 3n * ONE_DAY })])),
      )
        .to.emit(f.escrow, "TrancheFunded")
        .withArgs(1n, m.id, usd(10), t + 3n * ONE_DAY, 100n);
      const tr = await f.escrow.tranche(1n, m.id);
      expect([tr.amount, tr.releaseAt, tr.feeBps]).to.deep.equal([usd(10), t + 3n * ONE_DAY, 100n]);
      await expectInvariant(f);
    });

    it("accepts a payment spending the payer's whole balance", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      await f.escrow.connect(f.relayer).payBatch(encodeBatch([await signed(f, alice, { amount: CUSTOMER_DEPOSIT })]));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(0n);
      expect((await f.escrow.liabilities()).held).to.equal(CUSTOMER_DEPOSIT);
      await expectInvariant(f);
    });
  });

  describe("batches without accepted payments", function () {
    it("a batch where every item is rejected returns 0 and creates no batch", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      await f.escrow.connect(f.relayer).payBatch(encodeBatch([await signed(f, bob, { nonce: 0n })])); // batch 1 exists
      const items = [
        await signed(f, alice, { amount: 0n }),
        await signed(f, bob, { nonce: 0n }), // replay of a used nonce
        await signed(f, alice, { merchantId: 99n }),
      ];
      const ids = await idsOf(f, items);
      const before = await escrowState(f);
      const aliceBefore = await accountState(f, alice.address);
      const bobBefore = await accountState(f, bob.address);

      expect(await f.escrow.connect(f.relayer).payBatch.staticCall(encodeBatch(items))).to.equal(0n);
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items));
      await expect(tx).not.to.emit(f.escrow, "BatchEscrowed");
      await expect(tx).not.to.emit(f.escrow, "PaymentEscrowed");
      await expect(tx).not.to.emit(f.escrow, "TrancheFunded");
      const events = await batchEvents(f, tx);
      expect(events.rejected).to.deep.equal([
        { id: ids[0], payer: alice.address, reason: BigInt(RejectReason.InvalidAmount) },
        { id: ids[1], payer: bob.address, reason: BigInt(RejectReason.NonceUnavailable) },
        { id: ids[2], payer: alice.address, reason: BigInt(RejectReason.MerchantNotActive) },
      ]);
      expect(await escrowState(f)).to.deep.equal(before);
      expect(await f.escrow.batchCount()).to.equal(1n);
      expect(await f.escrow.batchRoot(2n)).to.equal(ethers.ZeroHash);
      expect(await accountState(f, alice.address)).to.deep.equal(aliceBefore);
      expect(await accountState(f, bob.address)).to.deep.equal(bobBefore);
      await expectInvariant(f);
    });

    it("an empty batch returns 0 and emits nothing", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      expect(await f.escrow.payBatch.staticCall(encodeBatch([]))).to.equal(0n);
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch([]));
      expect((await tx.wait())!.logs).to.have.length(0);
      expect(await f.escrow.batchCount()).to.equal(0n);
    });
  });

  describe("packed encoding", function () {
    /** A valid two-item, one-run batch of alice and bob, as hex without 0x. */
    async function twoItems(f: Awaited<ReturnType<typeof deployPayBatchFixture>>) {
      const [alice, bob] = f.customers;
      return encodeBatch([await signed(f, alice), await signed(f, bob)]).slice(2);
    }
    const hex = (body: string) => `0x${body}`;
    const u16 = (n: number) => n.toString(16).padStart(4, "0");
    const RUN = 14;
    const ITEM = BATCH_ITEM_FIXED_BYTES + 65;

    it("an ECDSA-signed payment takes 155 bytes, and a run header 14 per merchant run", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      expect((await twoItems(f)).length / 2).to.equal(2 + RUN + 2 * ITEM);
    });

    const malformed: { name: string; edit: (body: string) => string; offset: (body: string) => number }[] = [
      { name: "an empty calldata (no count)", edit: () => "", offset: () => 0 },
      { name: "a one-byte count", edit: () => "00", offset: () => 0 },
      {
        name: "a count above the items sent",
        edit: (b) => u16(3) + b.slice(4),
        offset: (b) => b.length / 2,
      },
      {
        name: "a count below the items sent",
        edit: (b) => u16(1) + b.slice(4),
        offset: () => 2,
      },
      {
        name: "a run of no items",
        // The first run's merchant and hold, then zero items.
        edit: (b) => b + b.slice(4, 4 + 24) + u16(0),
        offset: (b) => b.length / 2 - RUN,
      },
      {
        name: "a truncated run header",
        edit: (b) => b + "00",
        offset: (b) => b.length / 2 - 1,
      },
      {
        name: "an item cut inside its fixed fields",
        edit: (b) => b.slice(0, (2 + RUN + ITEM + 40) * 2),
        offset: () => 2 + RUN + ITEM,
      },
      {
        name: "an item cut inside its signature",
        edit: (b) => b.slice(0, b.length - 2),
        offset: () => 2 + RUN + ITEM,
      },
      {
        name: "a signature length past the end",
        edit: (b) => {
          const at = (2 + RUN + ITEM + 88) * 2;
          return b.slice(0, at) + u16(66) + b.slice(at + 4);
        },
        offset: () => 2 + RUN + ITEM,
      },
    ];
    for (const c of malformed) {
      it(`reverts MalformedBatch on ${c.name}, with the offset where it breaks`, async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const body = await twoItems(f);
        const edited = c.edit(body);
        await expect(f.escrow.connect(f.relayer).payBatch(hex(edited)))
          .to.be.revertedWithCustomError(f.escrow, "MalformedBatch")
          .withArgs(c.offset(edited));
      });
    }

    it("trailing bytes are read as a run header and refused", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const body = (await twoItems(f)) + "ff".repeat(RUN);
      // A run header of 0xff… declares 65,535 items: more than the count.
      await expect(f.escrow.connect(f.relayer).payBatch(hex(body)))
        .to.be.revertedWithCustomError(f.escrow, "MalformedBatch")
        .withArgs(body.length / 2 - RUN);
    });

    it("a merchant split over two runs funds one tranche with both runs' amounts", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob, carol] = f.customers;
      const other = f.merchants[1].id;
      const items = [await signed(f, alice), await signed(f, bob, { merchantId: other }), await signed(f, carol)];
      const body = encodeBatch(items).slice(2);
      // Three runs: merchant, other, merchant again.
      expect(body.length / 2).to.equal(2 + 3 * RUN + 3 * ITEM);
      await f.escrow.connect(f.relayer).payBatch(hex(body));
      const tranche = await f.escrow.tranche(1n, items[0].payment.merchantId);
      expect(tranche.amount).to.equal(items[0].payment.amount + items[2].payment.amount);
      expect((await f.escrow.tranche(1n, other)).amount).to.equal(items[1].payment.amount);
      await expectInvariant(f);
    });
  });

  describe("mixed batches", function () {
    it("commits a root over the accepted ids only, in order", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob, carol, dave] = f.customers;
      const now = BigInt(await time.latest());
      const items = [
        await signed(f, alice, { amount: usd(10) }),
        await signed(f, bob, { amount: 0n }), // InvalidAmount
        await signed(f, carol, { amount: usd(30) }),
        await signed(f, dave, { deadline: now - 1n }), // Expired
        await signed(f, dave, { amount: usd(7), nonce: 1n }),
      ];
      const ids = await idsOf(f, items);
      const accepted = [ids[0], ids[2], ids[4]];
      const root = new BatchTree(accepted).root;
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items));
      await expect(tx).to.emit(f.escrow, "BatchEscrowed").withArgs(1n, root, 3n, usd(47), f.relayer.address);
      const events = await batchEvents(f, tx);
      expect(events.escrowed.map((e) => e.id)).to.deep.equal(accepted);
      expect(events.rejected).to.deep.equal([
        { id: ids[1], payer: bob.address, reason: BigInt(RejectReason.InvalidAmount) },
        { id: ids[3], payer: dave.address, reason: BigInt(RejectReason.Expired) },
      ]);
      expect(await f.escrow.batchRoot(1n)).to.equal(root);
      expect(root).to.not.equal(new BatchTree(ids).root);
      expect((await f.escrow.tranche(1n, f.merchants[0].id)).amount).to.equal(usd(47));
      expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await f.escrow.balanceOf(dave.address)).to.equal(CUSTOMER_DEPOSIT - usd(7));
      // dave's nonce 0 (expired payment) was not consumed; nonce 1 was.
      expect(await f.escrow.nonceWindow(dave.address)).to.deep.equal([0n, 2n]);
      await expectInvariant(f);
    });
  });

  describe("rejections (one RejectReason each; nothing changes for the rejected item)", function () {
    describe("InvalidAmount", function () {
      const cases = [
        { name: "rejects amount 0", amount: 0n, reason: RejectReason.InvalidAmount },
        {
          name: "amount 2^128-1 passes the amount check (then fails on balance)",
          amount: MAX_UINT128,
          reason: RejectReason.InsufficientBalance,
        },
      ];
      for (const c of cases) {
        it(c.name, async function () {
          const f = await loadFixture(deployPayBatchFixture);
          const [alice] = f.customers;
          await expectBobRejected(f, alice, { amount: c.amount }, c.reason);
        });
      }
    });

    it("an amount of 2^128 or more has no encoding (the escrow's balances are uint128)", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      const item = await signed(f, alice, { amount: 1n << 128n });
      expect(() => encodeBatch([item])).to.throw(BatchEncodingError, "amount");
    });

    describe("NotYetValid", function () {
      it("rejects a payment whose validAfter is after the block timestamp", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const t = BigInt(await time.latest()) + 100n;
        const good = await signed(f, alice);
        const bad = await signed(f, bob, { validAfter: t + 1n });
        await time.setNextBlockTimestamp(t);
        await expectRejectedBesideValid(f, good, bad, RejectReason.NotYetValid);
      });

      it("accepts a payment whose validAfter equals the block timestamp (inclusive)", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [bob] = f.customers;
        const t = BigInt(await time.latest()) + 100n;
        const item = await signed(f, bob, { validAfter: t });
        await time.setNextBlockTimestamp(t);
        const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch([item]));
        await expect(tx)
          .to.emit(f.escrow, "PaymentEscrowed")
          .withArgs((await idsOf(f, [item]))[0], bob.address, item.payment.merchantId, 1n, usd(10));
        await expectInvariant(f);
      });
    });

    describe("Expired", function () {
      it("rejects a payment one second past its deadline", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const t = BigInt(await time.latest()) + 100n;
        const good = await signed(f, alice);
        const bad = await signed(f, bob, { deadline: t - 1n });
        await time.setNextBlockTimestamp(t);
        await expectRejectedBesideValid(f, good, bad, RejectReason.Expired);
      });

      it("accepts a payment whose deadline equals the block timestamp (inclusive)", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [bob] = f.customers;
        const t = BigInt(await time.latest()) + 100n;
        const item = await signed(f, bob, { deadline: t });
        await time.setNextBlockTimestamp(t);
        await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([item])))
          .to.emit(f.escrow, "PaymentEscrowed")
          .withArgs((await idsOf(f, [item]))[0], bob.address, item.payment.merchantId, 1n, usd(10));
        await expectInvariant(f);
      });
    });

    describe("MerchantNotActive", function () {
      it("rejects a payment to a suspended merchant", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        const m = f.merchants[1];
        await f.registry.connect(f.registrar).suspend(m.id);
        await expectBobRejected(f, alice, { merchantId: m.id }, RejectReason.MerchantNotActive);
        expect((await f.escrow.tranche(1n, m.id)).amount).to.equal(0n);
      });

      it("rejects a payment to a closed merchant", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        const m = f.merchants[2];
        await f.registry.connect(f.registrar).close(m.id);
        await expectBobRejected(f, alice, { merchantId: m.id }, RejectReason.MerchantNotActive);
      });

      it("rejects a payment to an unknown merchant id (99, and 0)", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, , carol] = f.customers;
        await expectBobRejected(f, alice, { merchantId: 99n }, RejectReason.MerchantNotActive);
        await expectBobRejected(f, carol, { merchantId: 0n }, RejectReason.MerchantNotActive);
      });

      it("a batch starting with merchant id 0 does not borrow another merchant's run", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const items = [await signed(f, bob, { merchantId: 0n }), await signed(f, alice)];
        const ids = await idsOf(f, items);
        const events = await batchEvents(f, await f.escrow.connect(f.relayer).payBatch(encodeBatch(items)));
        expect(events.rejected).to.deep.equal([
          { id: ids[0], payer: bob.address, reason: BigInt(RejectReason.MerchantNotActive) },
        ]);
        expect(events.escrowed.map((e) => e.id)).to.deep.equal([ids[1]]);
        expect((await f.escrow.tranche(1n, 0n)).amount).to.equal(0n);
        await expectInvariant(f);
      });

      it("a payment to a reactivated merchant is accepted again", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        const m = f.merchants[1];
        await f.registry.connect(f.registrar).suspend(m.id);
        const item = await signed(f, alice, { merchantId: m.id });
        const [id] = await idsOf(f, [item]);
        await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([item])))
          .to.emit(f.escrow, "PaymentRejected")
          .withArgs(id, alice.address, RejectReason.MerchantNotActive);
        await f.registry.connect(f.registrar).reactivate(m.id);
        await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([item])))
          .to.emit(f.escrow, "PaymentEscrowed")
          .withArgs(id, alice.address, m.id, 1n, usd(10));
        await expectInvariant(f);
      });
    });

    describe("NonceUnavailable", function () {
      it("rejects the replay of an escrowed payment in a later batch", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const original = await signed(f, bob, { nonce: 0n });
        await f.escrow.connect(f.relayer).payBatch(encodeBatch([original]));
        await expectRejectedBesideValid(f, await signed(f, alice), original, RejectReason.NonceUnavailable);
        expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
      });

      it("rejects the replay of a payment within the same batch (debited once, one leaf)", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        const item = await signed(f, alice, { nonce: 0n });
        const [id] = await idsOf(f, [item]);
        const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch([item, item]));
        await expect(tx)
          .to.emit(f.escrow, "PaymentRejected")
          .withArgs(id, alice.address, RejectReason.NonceUnavailable);
        const events = await batchEvents(f, tx);
        expect(events.escrowed.map((e) => e.id)).to.deep.equal([id]);
        expect(events.rejected).to.deep.equal([
          { id, payer: alice.address, reason: BigInt(RejectReason.NonceUnavailable) },
        ]);
        expect(events.batches[0].paymentCount).to.equal(1n);
        expect(events.batches[0].total).to.equal(usd(10));
        expect(await f.escrow.batchRoot(1n)).to.equal(id);
        expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
        expect((await f.escrow.tranche(1n, f.merchants[0].id)).amount).to.equal(usd(10));
        await expectInvariant(f);
      });

      it("rejects a different payment reusing a nonce already used in the same batch", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        const first = await signed(f, alice, { nonce: 3n, amount: usd(10) });
        const second = await signed(f, alice, { nonce: 3n, amount: usd(11) });
        const ids = await idsOf(f, [first, second]);
        const events = await batchEvents(f, await f.escrow.connect(f.relayer).payBatch(encodeBatch([first, second])));
        expect(events.escrowed.map((e) => e.id)).to.deep.equal([ids[0]]);
        expect(events.rejected).to.deep.equal([
          { id: ids[1], payer: alice.address, reason: BigInt(RejectReason.NonceUnavailable) },
        ]);
        expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
        await expectInvariant(f);
      });

      it("rejects a nonce beyond the 64-wide window; the window's last nonce is accepted", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        await expectRejectedBesideValid(
          f,
          await signed(f, alice, { nonce: 63n }), // base 0: last nonce of the window
          await signed(f, bob, { nonce: 64n }),
          RejectReason.NonceUnavailable,
        );
        expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([0n, 1n << 63n]);
      });

      it("rejects a nonce below the window base", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        await f.escrow.connect(bob).cancelNonce(0n);
        await f.escrow.connect(bob).cancelNonce(1n);
        expect(await f.escrow.nonceWindow(bob.address)).to.deep.equal([2n, 0n]);
        await expectBobRejected(f, alice, { nonce: 1n }, RejectReason.NonceUnavailable);
      });

      it("rejects a payment whose nonce the payer cancelled", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const bad = await signed(f, bob, { nonce: 5n });
        await f.escrow.connect(bob).cancelNonce(5n);
        await expectRejectedBesideValid(f, await signed(f, alice), bad, RejectReason.NonceUnavailable);
      });
    });

    describe("InsufficientBalance", function () {
      it("rejects a payment above the payer's free balance", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        await expectBobRejected(f, alice, { amount: CUSTOMER_DEPOSIT + 1n }, RejectReason.InsufficientBalance);
      });

      it("does not consume the nonce: the same signed payment succeeds after a deposit", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const bad = await signed(f, bob, { amount: CUSTOMER_DEPOSIT + usd(5), nonce: 0n });
        const [badId] = await idsOf(f, [bad]);
        await expectRejectedBesideValid(f, await signed(f, alice), bad, RejectReason.InsufficientBalance);
        expect(await f.escrow.isNonceAvailable(bob.address, 0n)).to.equal(true);

        await fundCustomer(f, bob, usd(5));
        const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch([bad]));
        await expect(tx)
          .to.emit(f.escrow, "PaymentEscrowed")
          .withArgs(badId, bob.address, bad.payment.merchantId, 2n, CUSTOMER_DEPOSIT + usd(5));
        expect(await f.escrow.balanceOf(bob.address)).to.equal(0n);
        expect(await f.escrow.isNonceAvailable(bob.address, 0n)).to.equal(false);
        await expectInvariant(f);
      });

      it("rejects the payment that would overdraw a balance already spent earlier in the batch", async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice] = f.customers;
        const items = [
          await signed(f, alice, { amount: usd(600), nonce: 0n }),
          await signed(f, alice, { amount: usd(600), nonce: 1n }),
          await signed(f, alice, { amount: usd(400), nonce: 2n }),
        ];
        const ids = await idsOf(f, items);
        const events = await batchEvents(f, await f.escrow.connect(f.relayer).payBatch(encodeBatch(items)));
        expect(events.escrowed.map((e) => e.id)).to.deep.equal([ids[0], ids[2]]);
        expect(events.rejected).to.deep.equal([
          { id: ids[1], payer: alice.address, reason: BigInt(RejectReason.InsufficientBalance) },
        ]);
        expect(await f.escrow.balanceOf(alice.address)).to.equal(0n);
        // Nonce 1 stays available; 0 and 2 are used.
        expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([1n, 2n]);
        await expectInvariant(f);
      });
    });
  });
});
