import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { FEE_BPS, HOLD_PERIOD, MAX_HOLD, MIN_HOLD, ONE_DAY, PaymentStatus, feeOf, usd } from "./fixtures";
import {
  escrowEventNames,
  expectInvariant,
  liabilitiesOf,
  merchantBalancesOf,
  payBatchOf,
  settleFixture,
  settlementState,
  trancheOf,
  transfersFrom,
} from "./settle.helpers";

describe("PaymentEscrow settle", function () {
  describe("payouts", function () {
    it("pays several merchants in one call: one transfer each, tranches net of ceil fees", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob, carol, dave] = f.customers;
      const [m1, m2, m3] = f.merchants;
      const batch = await payBatchOf(f, [
        { payer: alice, merchantId: m1.id, amount: usd(10) },
        { payer: bob, merchantId: m1.id, amount: usd("20.01") },
        { payer: carol, merchantId: m2.id, amount: 33_333_333n },
        { payer: dave, merchantId: m3.id, amount: usd(7) },
      ]);
      await time.increase(HOLD_PERIOD);
      const t1 = usd("30.01");
      const t2 = 33_333_333n;
      const t3 = usd(7);
      // Hand-computed ceil fees at 250 bps: 750,250 exact; 833,333.325 -> 833,334; 175,000 exact.
      expect([feeOf(t1), feeOf(t2), feeOf(t3)]).to.deep.equal([750_250n, 833_334n, 175_000n]);
      const before = await liabilitiesOf(f.escrow);
      const b = batch.batchId;

      const tx = f.escrow.connect(f.stranger).settle([
        { merchantId: m1.id, batchIds: [b] },
        { merchantId: m2.id, batchIds: [b] },
        { merchantId: m3.id, batchIds: [b] },
      ]);
      await expect(tx)
        .to.emit(f.escrow, "TrancheSettled")
        .withArgs(b, m1.id, t1, 750_250n)
        .and.to.emit(f.escrow, "TrancheSettled")
        .withArgs(b, m2.id, t2, 833_334n)
        .and.to.emit(f.escrow, "TrancheSettled")
        .withArgs(b, m3.id, t3, 175_000n)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m1.id, m1.payout.address, t1 - 750_250n)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m2.id, m2.payout.address, t2 - 833_334n)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m3.id, m3.payout.address, t3 - 175_000n);
      const paid = [t1 - 750_250n, t2 - 833_334n, t3 - 175_000n];
      await expect(tx).to.changeTokenBalances(
        f.token,
        [f.escrow, m1.payout, m2.payout, m3.payout, f.stranger, f.feeRecipient],
        [-(paid[0] + paid[1] + paid[2]), paid[0], paid[1], paid[2], 0n, 0n],
      );

      const receipt = (await (await tx).wait())!;
      const transfers = transfersFrom(receipt, f.token, await f.escrow.getAddress());
      expect(transfers).to.deep.equal([
        { to: m1.payout.address, value: paid[0] },
        { to: m2.payout.address, value: paid[1] },
        { to: m3.payout.address, value: paid[2] },
      ]);
      expect(escrowEventNames(receipt, f.escrow).filter((n) => n === "MerchantPaid")).to.have.length(3);

      const after = await liabilitiesOf(f.escrow);
      expect(after.held).to.equal(before.held - (t1 + t2 + t3));
      expect(after.fees).to.equal(before.fees + 750_250n + 833_334n + 175_000n);
      expect(after.released).to.equal(0n);
      expect(after.claimable).to.equal(0n);
      await expectInvariant(f);
    });

    it("nets several batches of one merchant (and its released balance) into a single transfer", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob, carol, dave] = f.customers;
      const m1 = f.merchants[0];
      const b1 = await payBatchOf(f, [{ payer: alice, merchantId: m1.id, amount: usd(10) }]);
      const b2 = await payBatchOf(f, [
        { payer: bob, merchantId: m1.id, amount: usd("5.55") },
        { payer: carol, merchantId: m1.id, amount: 1n },
      ]);
      const b3 = await payBatchOf(f, [{ payer: alice, merchantId: m1.id, amount: 2_000_001n }]);
      const b4 = await payBatchOf(f, [{ payer: dave, merchantId: m1.id, amount: usd(4) }]);
      // Dave confirms: his 4.00 moves to m1's released balance (net of its fee), its tranche drops to zero.
      await f.escrow.connect(dave).confirm(b4.payments[0].payment, b4.payments[0].inclusion);
      const released = usd(4) - feeOf(usd(4));
      expect(await merchantBalancesOf(f.escrow, m1.id)).to.deep.equal({ released, claimable: 0n });
      await time.increase(HOLD_PERIOD);

      const tranches: [bigint, bigint][] = [
        [b1.batchId, usd(10)],
        [b2.batchId, usd("5.55") + 1n],
        [b3.batchId, 2_000_001n],
        [b4.batchId, 0n],
      ];
      const fees = tranches.map(([, amount]) => feeOf(amount));
      expect(fees).to.deep.equal([250_000n, 138_751n, 50_001n, 0n]);
      const payout = tranches.reduce((s, [, a], i) => s + a - fees[i], 0n) + released;
      const feesBefore = (await liabilitiesOf(f.escrow)).fees;

      const tx = f.escrow.settle([{ merchantId: m1.id, batchIds: tranches.map(([b]) => b) }]);
      let assertion = expect(tx).to.emit(f.escrow, "MerchantPaid").withArgs(m1.id, m1.payout.address, payout);
      for (const [i, [b, amount]] of tranches.entries()) {
        assertion = assertion.and.to.emit(f.escrow, "TrancheSettled").withArgs(b, m1.id, amount, fees[i]);
      }
      await assertion;
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout], [-payout, payout]);
      const receipt = (await (await tx).wait())!;
      expect(transfersFrom(receipt, f.token, await f.escrow.getAddress())).to.deep.equal([
        { to: m1.payout.address, value: payout },
      ]);
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal([
        "TrancheSettled",
        "TrancheSettled",
        "TrancheSettled",
        "TrancheSettled",
        "MerchantPaid",
      ]);
      expect(await merchantBalancesOf(f.escrow, m1.id)).to.deep.equal({ released: 0n, claimable: 0n });
      const l = await liabilitiesOf(f.escrow);
      expect(l.fees).to.equal(feesBefore + 438_752n);
      expect(l.held).to.equal(0n);
      expect(l.released).to.equal(0n);
      await expectInvariant(f);
    });

    it("pays a merchant listed twice in one call only once", async function () {
      const f = await loadFixture(settleFixture);
      const m1 = f.merchants[0];
      const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m1.id, amount: usd(50) }]);
      await time.increase(HOLD_PERIOD);
      const payout = usd(50) - feeOf(usd(50));
      const tx = f.escrow.settle([
        { merchantId: m1.id, batchIds: [batch.batchId] },
        { merchantId: m1.id, batchIds: [batch.batchId] },
      ]);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout], [-payout, payout]);
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal(["TrancheSettled", "MerchantPaid"]);
      expect(transfersFrom(receipt, f.token, await f.escrow.getAddress())).to.have.length(1);
      await expectInvariant(f);
    });

    it("is callable by anyone: a stranger's settle pays the merchant's payout address, not the caller", async function () {
      const f = await loadFixture(settleFixture);
      const m2 = f.merchants[1];
      const batch = await payBatchOf(f, [{ payer: f.customers[1], merchantId: m2.id, amount: usd(12) }]);
      await time.increase(HOLD_PERIOD);
      const payout = usd(12) - feeOf(usd(12));
      const tx = f.escrow.connect(f.stranger).settle([{ merchantId: m2.id, batchIds: [batch.batchId] }]);
      await expect(tx).to.emit(f.escrow, "MerchantPaid").withArgs(m2.id, m2.payout.address, payout);
      await expect(tx).to.changeTokenBalances(
        f.token,
        [f.escrow, m2.payout, m2.owner, f.stranger],
        [-payout, payout, 0n, 0n],
      );
      await expectInvariant(f);
    });

    it("pays a confirmed payment's released balance even when the entry names no tranche", async function () {
      const f = await loadFixture(settleFixture);
      const alice = f.customers[0];
      const m3 = f.merchants[2];
      const batch = await payBatchOf(f, [{ payer: alice, merchantId: m3.id, amount: usd("99.99") }]);
      const p = batch.payments[0];
      await f.escrow.connect(alice).confirm(p.payment, p.inclusion);
      const released = usd("99.99") - feeOf(usd("99.99"));
      // No time passes: the confirmed money is releasable at once.
      const tx = f.escrow.connect(f.stranger).settle([{ merchantId: m3.id, batchIds: [] }]);
      await expect(tx).to.emit(f.escrow, "MerchantPaid").withArgs(m3.id, m3.payout.address, released);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m3.payout], [-released, released]);
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal(["MerchantPaid"]);
      expect(await merchantBalancesOf(f.escrow, m3.id)).to.deep.equal({ released: 0n, claimable: 0n });
      expect((await liabilitiesOf(f.escrow)).released).to.equal(0n);
      await expectInvariant(f);
    });
  });

  describe("tranches", function () {
    it("deletes each settled tranche: tranche() reads all zeros and its payments are no longer held", async function () {
      const f = await loadFixture(settleFixture);
      const m1 = f.merchants[0];
      const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m1.id, amount: usd(10) }]);
      const escrowedAt = BigInt(await time.latest());
      expect(await trancheOf(f.escrow, batch.batchId, m1.id)).to.deep.equal({
        amount: usd(10),
        releaseAt: escrowedAt + HOLD_PERIOD,
        feeBps: FEE_BPS,
      });
      await time.increase(HOLD_PERIOD);
      await f.escrow.settle([{ merchantId: m1.id, batchIds: [batch.batchId] }]);
      expect(await trancheOf(f.escrow, batch.batchId, m1.id)).to.deep.equal({ amount: 0n, releaseAt: 0n, feeBps: 0n });
      const p = batch.payments[0];
      await expect(f.escrow.connect(m1.owner).refund(p.payment, p.inclusion, 1n))
        .to.be.revertedWithCustomError(f.escrow, "PaymentNotHeld")
        .withArgs(p.id, PaymentStatus.None);
      await expectInvariant(f);
    });

    it("skips an already-settled tranche: a second settle is a no-op with no event and no transfer", async function () {
      const f = await loadFixture(settleFixture);
      const [m1, m2] = f.merchants;
      const batch = await payBatchOf(f, [
        { payer: f.customers[0], merchantId: m1.id, amount: usd(10) },
        { payer: f.customers[1], merchantId: m2.id, amount: usd(20) },
      ]);
      await time.increase(HOLD_PERIOD);
      const entries = [
        { merchantId: m1.id, batchIds: [batch.batchId] },
        { merchantId: m2.id, batchIds: [batch.batchId] },
      ];
      await f.escrow.settle(entries);
      const before = await settlementState(f, [m1.id, m2.id], [batch.batchId]);

      const tx = f.escrow.connect(f.stranger).settle(entries);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout, m2.payout], [0n, 0n, 0n]);
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal([]);
      expect(transfersFrom(receipt, f.token, await f.escrow.getAddress())).to.deep.equal([]);
      expect(await settlementState(f, [m1.id, m2.id], [batch.batchId])).to.deep.equal(before);
      await expectInvariant(f);
    });

    it("settles a tranche whose payments were all refunded as TrancheSettled(batch, merchant, 0, 0) with no payout", async function () {
      const f = await loadFixture(settleFixture);
      const m1 = f.merchants[0];
      const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m1.id, amount: usd(8) }]);
      const p = batch.payments[0];
      await f.escrow.connect(m1.owner).refund(p.payment, p.inclusion, usd(8));
      await time.increase(HOLD_PERIOD);
      const tx = f.escrow.settle([{ merchantId: m1.id, batchIds: [batch.batchId] }]);
      await expect(tx).to.emit(f.escrow, "TrancheSettled").withArgs(batch.batchId, m1.id, 0n, 0n);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout], [0n, 0n]);
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal(["TrancheSettled"]);
      expect(await trancheOf(f.escrow, batch.batchId, m1.id)).to.deep.equal({ amount: 0n, releaseAt: 0n, feeBps: 0n });
      await expectInvariant(f);
    });

    it("leaves a disputed payment out of its tranche's settlement", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob] = f.customers;
      const m1 = f.merchants[0];
      const batch = await payBatchOf(f, [
        { payer: alice, merchantId: m1.id, amount: usd(10) },
        { payer: bob, merchantId: m1.id, amount: usd(20) },
      ]);
      const disputed = batch.payments[0];
      await f.escrow.connect(alice).openDispute(disputed.payment, disputed.inclusion);
      await time.increase(HOLD_PERIOD);
      const tx = f.escrow.settle([{ merchantId: m1.id, batchIds: [batch.batchId] }]);
      await expect(tx)
        .to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m1.id, usd(20), feeOf(usd(20)))
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m1.id, m1.payout.address, usd(20) - feeOf(usd(20)));
      const l = await liabilitiesOf(f.escrow);
      expect(l.disputed).to.equal(usd(10));
      expect(l.held).to.equal(0n);
      await expectInvariant(f);
    });
  });

  describe("hold period", function () {
    it("reverts HoldNotExpired(batchId, merchantId, releaseAt) for a tranche still on hold and changes nothing", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob] = f.customers;
      const [m1, m2] = f.merchants;
      const early = await payBatchOf(f, [{ payer: alice, merchantId: m1.id, amount: usd(10) }]);
      await time.increase(HOLD_PERIOD);
      const late = await payBatchOf(f, [{ payer: bob, merchantId: m2.id, amount: usd(20) }]);
      const releaseAt = BigInt(await time.latest()) + HOLD_PERIOD;
      expect((await trancheOf(f.escrow, late.batchId, m2.id)).releaseAt).to.equal(releaseAt);
      const state = await settlementState(f, [m1.id, m2.id], [early.batchId, late.batchId]);

      // m1's tranche is releasable, m2's is not: the whole call reverts, m1 is not paid either.
      await expect(
        f.escrow.settle([
          { merchantId: m1.id, batchIds: [early.batchId] },
          { merchantId: m2.id, batchIds: [late.batchId] },
        ]),
      )
        .to.be.revertedWithCustomError(f.escrow, "HoldNotExpired")
        .withArgs(late.batchId, m2.id, releaseAt);
      expect(await settlementState(f, [m1.id, m2.id], [early.batchId, late.batchId])).to.deep.equal(state);
      await expectInvariant(f);
    });

    it("settles at releaseAt exactly, and not one second before", async function () {
      const f = await loadFixture(settleFixture);
      const m1 = f.merchants[0];
      const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m1.id, amount: usd(10) }]);
      const { releaseAt } = await trancheOf(f.escrow, batch.batchId, m1.id);
      const entries = [{ merchantId: m1.id, batchIds: [batch.batchId] }];

      await time.setNextBlockTimestamp(releaseAt - 1n);
      await expect(f.escrow.settle(entries))
        .to.be.revertedWithCustomError(f.escrow, "HoldNotExpired")
        .withArgs(batch.batchId, m1.id, releaseAt);

      await time.setNextBlockTimestamp(releaseAt);
      const tx = f.escrow.settle(entries);
      await expect(tx)
        .to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m1.id, usd(10), feeOf(usd(10)));
      expect(BigInt(await time.latest())).to.equal(releaseAt);
      await expectInvariant(f);
    });

    it("uses each tranche's own release time: a short-hold merchant settles while a long-hold one is still held", async function () {
      const f = await loadFixture(settleFixture);
      const [m1, m2] = f.merchants;
      const batch = await payBatchOf(f, [
        { payer: f.customers[0], merchantId: m1.id, amount: usd(10) },
        { payer: f.customers[1], merchantId: m2.id, amount: usd(10), hold: ONE_DAY },
      ]);
      const escrowedAt = BigInt(await time.latest());
      await time.increase(ONE_DAY);
      await expect(f.escrow.settle([{ merchantId: m1.id, batchIds: [batch.batchId] }]))
        .to.be.revertedWithCustomError(f.escrow, "HoldNotExpired")
        .withArgs(batch.batchId, m1.id, escrowedAt + HOLD_PERIOD);
      await expect(f.escrow.settle([{ merchantId: m2.id, batchIds: [batch.batchId] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m2.id, m2.payout.address, usd(10) - feeOf(usd(10)));
      await expectInvariant(f);
    });
  });

  describe("merchant status", function () {
    it("skips a suspended merchant (funds stay held) and pays everything after reactivation", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob, carol] = f.customers;
      const [m1, m2] = f.merchants;
      const batch = await payBatchOf(f, [
        { payer: alice, merchantId: m1.id, amount: usd(10) },
        { payer: bob, merchantId: m1.id, amount: usd(6) },
        { payer: carol, merchantId: m2.id, amount: usd(20) },
      ]);
      const confirmed = batch.payments[1];
      await f.escrow.connect(bob).confirm(confirmed.payment, confirmed.inclusion);
      const released = usd(6) - feeOf(usd(6));
      await time.increase(HOLD_PERIOD);
      await f.registry.connect(f.registrar).suspend(m1.id);
      const m1Tranche = await trancheOf(f.escrow, batch.batchId, m1.id);
      expect(m1Tranche.amount).to.equal(usd(10));

      const tx = f.escrow.settle([
        { merchantId: m1.id, batchIds: [batch.batchId] },
        { merchantId: m2.id, batchIds: [batch.batchId] },
      ]);
      await expect(tx)
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m2.id, m2.payout.address, usd(20) - feeOf(usd(20)));
      await expect(tx).to.changeTokenBalances(
        f.token,
        [f.escrow, m1.payout, m2.payout],
        [-(usd(20) - feeOf(usd(20))), 0n, usd(20) - feeOf(usd(20))],
      );
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal(["TrancheSettled", "MerchantPaid"]);
      expect(await trancheOf(f.escrow, batch.batchId, m1.id)).to.deep.equal(m1Tranche);
      expect(await merchantBalancesOf(f.escrow, m1.id)).to.deep.equal({ released, claimable: 0n });
      const l = await liabilitiesOf(f.escrow);
      expect(l.held).to.equal(usd(10));
      expect(l.released).to.equal(released);
      await expectInvariant(f);

      await f.registry.connect(f.registrar).reactivate(m1.id);
      const payout = usd(10) - feeOf(usd(10)) + released;
      const tx2 = f.escrow.settle([{ merchantId: m1.id, batchIds: [batch.batchId] }]);
      await expect(tx2)
        .to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m1.id, usd(10), feeOf(usd(10)))
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m1.id, m1.payout.address, payout);
      await expect(tx2).to.changeTokenBalances(f.token, [f.escrow, m1.payout], [-payout, payout]);
      await expectInvariant(f);
    });

    it("still pays a closed merchant for its past sales", async function () {
      const f = await loadFixture(settleFixture);
      const m3 = f.merchants[2];
      const batch = await payBatchOf(f, [{ payer: f.customers[3], merchantId: m3.id, amount: usd(40) }]);
      await f.registry.connect(f.registrar).close(m3.id);
      await time.increase(HOLD_PERIOD);
      const payout = usd(40) - feeOf(usd(40));
      const tx = f.escrow.settle([{ merchantId: m3.id, batchIds: [batch.batchId] }]);
      await expect(tx).to.emit(f.escrow, "MerchantPaid").withArgs(m3.id, m3.payout.address, payout);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m3.payout], [-payout, payout]);
      await expectInvariant(f);
    });

    it("skips an unknown merchant id without reverting and still pays the others", async function () {
      const f = await loadFixture(settleFixture);
      const m1 = f.merchants[0];
      const unknown = 99n;
      expect((await f.registry.terms(unknown)).status).to.equal(0n);
      const batch = await payBatchOf(f, [{ payer: f.customers[0], merchantId: m1.id, amount: usd(10) }]);
      await time.increase(HOLD_PERIOD);
      const payout = usd(10) - feeOf(usd(10));

      const onlyUnknown = await (await f.escrow.settle([{ merchantId: unknown, batchIds: [batch.batchId] }])).wait();
      expect(escrowEventNames(onlyUnknown!, f.escrow)).to.deep.equal([]);
      expect(transfersFrom(onlyUnknown!, f.token, await f.escrow.getAddress())).to.deep.equal([]);

      const tx = f.escrow.settle([
        { merchantId: unknown, batchIds: [batch.batchId] },
        { merchantId: m1.id, batchIds: [batch.batchId] },
      ]);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout], [-payout, payout]);
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow)).to.deep.equal(["TrancheSettled", "MerchantPaid"]);
      await expectInvariant(f);
    });
  });

  describe("failed payouts and pauses", function () {
    it("defers a blocklisted payout to claimable (PayoutDeferred) while the other merchants are paid", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob, carol] = f.customers;
      const [m1, m2, m3] = f.merchants;
      const batch = await payBatchOf(f, [
        { payer: alice, merchantId: m1.id, amount: usd(10) },
        { payer: bob, merchantId: m2.id, amount: usd(20) },
        { payer: carol, merchantId: m3.id, amount: usd(30) },
      ]);
      await time.increase(HOLD_PERIOD);
      await f.token.connect(f.admin).blocklist(m2.payout.address);
      const [p1, p2, p3] = [usd(10), usd(20), usd(30)].map((a) => a - feeOf(a));
      const before = await liabilitiesOf(f.escrow);

      const tx = f.escrow.settle([1n, 2n, 3n].map((id) => ({ merchantId: id, batchIds: [batch.batchId] })));
      await expect(tx)
        .to.emit(f.escrow, "PayoutDeferred")
        .withArgs(m2.id, m2.payout.address, p2)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m1.id, m1.payout.address, p1)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m3.id, m3.payout.address, p3);
      await expect(tx).to.changeTokenBalances(
        f.token,
        [f.escrow, m1.payout, m2.payout, m3.payout],
        [-(p1 + p3), p1, 0n, p3],
      );
      const receipt = (await (await tx).wait())!;
      expect(escrowEventNames(receipt, f.escrow).filter((n) => n === "MerchantPaid")).to.have.length(2);
      expect(await merchantBalancesOf(f.escrow, m2.id)).to.deep.equal({ released: 0n, claimable: p2 });
      const after = await liabilitiesOf(f.escrow);
      expect(after.claimable).to.equal(before.claimable + p2);
      expect(after.held).to.equal(before.held - usd(60));
      expect(after.fees).to.equal(before.fees + feeOf(usd(10)) + feeOf(usd(20)) + feeOf(usd(30)));
      await expectInvariant(f);
    });

    it("reverts TokenPaused() while the token is paused, changes nothing, and settles in full after unpause", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob] = f.customers;
      const [m1, m2] = f.merchants;
      const batch = await payBatchOf(f, [
        { payer: alice, merchantId: m1.id, amount: usd(10) },
        { payer: bob, merchantId: m2.id, amount: usd(20) },
      ]);
      await f.escrow.connect(bob).confirm(batch.payments[1].payment, batch.payments[1].inclusion);
      await time.increase(HOLD_PERIOD);
      const entries = [
        { merchantId: m1.id, batchIds: [batch.batchId] },
        { merchantId: m2.id, batchIds: [batch.batchId] },
      ];
      await f.token.connect(f.admin).pause();
      const state = await settlementState(f, [m1.id, m2.id], [batch.batchId]);
      await expect(f.escrow.connect(f.stranger).settle(entries))
        .to.be.revertedWithCustomError(f.escrow, "TokenPaused")
        .withArgs();
      expect(await settlementState(f, [m1.id, m2.id], [batch.batchId])).to.deep.equal(state);
      await expectInvariant(f);

      await f.token.connect(f.admin).unpause();
      const p1 = usd(10) - feeOf(usd(10));
      const p2 = usd(20) - feeOf(usd(20));
      const tx = f.escrow.settle(entries);
      await expect(tx)
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(m1.id, m1.payout.address, p1)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m2.id, m2.payout.address, p2);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout, m2.payout], [-(p1 + p2), p1, p2]);
      const l = await liabilitiesOf(f.escrow);
      expect(l.claimable).to.equal(0n);
      expect(l.held).to.equal(0n);
      expect(l.released).to.equal(0n);
      await expectInvariant(f);
    });
  });

  describe("fees", function () {
    it("grows liabilities.fees by exactly the ceil fee of each tranche at the rate frozen when it was escrowed", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob, carol] = f.customers;
      const [m1, m2, m3] = f.merchants;
      await f.registry.connect(f.registrar).setTerms(m2.id, 1000, MIN_HOLD, MAX_HOLD);
      await f.registry.connect(f.registrar).setTerms(m3.id, 0, MIN_HOLD, MAX_HOLD);
      const batch = await payBatchOf(f, [
        { payer: alice, merchantId: m1.id, amount: 123_456_789n },
        { payer: bob, merchantId: m2.id, amount: 10_000_001n },
        { payer: carol, merchantId: m3.id, amount: usd(9) },
      ]);
      // Terms changed after escrow do not touch the tranche's frozen rate.
      await f.registry.connect(f.registrar).setTerms(m1.id, 1000, MIN_HOLD, MAX_HOLD);
      expect((await trancheOf(f.escrow, batch.batchId, m1.id)).feeBps).to.equal(FEE_BPS);
      await time.increase(HOLD_PERIOD);
      // 123,456,789 * 2.5% = 3,086,419.725 -> 3,086,420; 10,000,001 * 10% = 1,000,000.1 -> 1,000,001; 0% -> 0.
      const fees = [3_086_420n, 1_000_001n, 0n];
      expect([feeOf(123_456_789n), feeOf(10_000_001n, 1000n), feeOf(usd(9), 0n)]).to.deep.equal(fees);
      const before = await liabilitiesOf(f.escrow);

      const tx = f.escrow.settle([1n, 2n, 3n].map((id) => ({ merchantId: id, batchIds: [batch.batchId] })));
      await expect(tx)
        .to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m1.id, 123_456_789n, fees[0])
        .and.to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m2.id, 10_000_001n, fees[1])
        .and.to.emit(f.escrow, "TrancheSettled")
        .withArgs(batch.batchId, m3.id, usd(9), 0n)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(m3.id, m3.payout.address, usd(9));
      const after = await liabilitiesOf(f.escrow);
      expect(after.fees - before.fees).to.equal(fees[0] + fees[1] + fees[2]);
      expect(await f.token.balanceOf(f.feeRecipient.address)).to.equal(0n);
      await expectInvariant(f);
    });

    it("rounds fees up per tranche, so splitting never pays less fee than combined: a 1-unit tranche at 250 bps pays fee 1", async function () {
      const f = await loadFixture(settleFixture);
      const [alice, bob, carol] = f.customers;
      const m1 = f.merchants[0];
      const single = await payBatchOf(f, [{ payer: alice, merchantId: m1.id, amount: 1n }]);
      // The same 17,550,002 units combined in one tranche vs split in three.
      const combined = await payBatchOf(f, [{ payer: bob, merchantId: m1.id, amount: 17_550_002n }]);
      const split = [
        await payBatchOf(f, [{ payer: carol, merchantId: m1.id, amount: usd(10) }]),
        await payBatchOf(f, [{ payer: carol, merchantId: m1.id, amount: 5_550_001n }]),
        await payBatchOf(f, [{ payer: carol, merchantId: m1.id, amount: 2_000_001n }]),
      ];
      await time.increase(HOLD_PERIOD);

      // 1 unit: fee 1 (0.025 rounded up); the merchant gets 0, so nothing is transferred.
      const feesAt0 = (await liabilitiesOf(f.escrow)).fees;
      const tx = f.escrow.settle([{ merchantId: m1.id, batchIds: [single.batchId] }]);
      await expect(tx).to.emit(f.escrow, "TrancheSettled").withArgs(single.batchId, m1.id, 1n, 1n);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, m1.payout], [0n, 0n]);
      expect(escrowEventNames((await (await tx).wait())!, f.escrow)).to.deep.equal(["TrancheSettled"]);
      const feesAt1 = (await liabilitiesOf(f.escrow)).fees;
      expect(feesAt1 - feesAt0).to.equal(1n);

      await f.escrow.settle([{ merchantId: m1.id, batchIds: [combined.batchId] }]);
      const feesAt2 = (await liabilitiesOf(f.escrow)).fees;
      const combinedFee = feesAt2 - feesAt1;
      expect(combinedFee).to.equal(438_751n); // ceil(438,750.05)

      await f.escrow.settle([{ merchantId: m1.id, batchIds: split.map((b) => b.batchId) }]);
      const splitFee = (await liabilitiesOf(f.escrow)).fees - feesAt2;
      expect(splitFee).to.equal(250_000n + 138_751n + 50_001n);
      expect(splitFee).to.be.gte(combinedFee);
      await expectInvariant(f);
    });
  });
});
