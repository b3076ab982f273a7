import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { PaymentEscrow__factory } from "../../typechain-types";
import {
  deployEscrowFixture,
  escrowOne,
  feeOf,
  usd,
  ADMIN_DELAY,
  DISPUTE_TIMEOUT,
  ONE_DAY,
  PaymentStatus,
} from "./fixtures";
import { atNextBlock, expectInvariant, linkedLibrariesOf, recordOf } from "./lifecycle.helpers";

const MIN_TIMEOUT = ONE_DAY;
const MAX_TIMEOUT = 180n * ONE_DAY;

/** The base network plus a factory for new escrows linked to its libraries. */
async function adminFixture() {
  const f = await deployEscrowFixture();
  const factory = new PaymentEscrow__factory(await linkedLibrariesOf(f.escrow), f.admin);
  const args = {
    token: await f.token.getAddress(),
    registry: await f.registry.getAddress(),
    feeRecipient: f.feeRecipient.address,
    timeout: DISPUTE_TIMEOUT,
    delay: ADMIN_DELAY,
    admin: f.admin.address,
  };
  return { f, factory, args };
}

type Args = Awaited<ReturnType<typeof adminFixture>>["args"];
const deployWith = (factory: PaymentEscrow__factory, a: Args) =>
  factory.deploy(a.token, a.registry, a.feeRecipient, a.timeout, a.delay, a.admin);

async function owedOf(f: Awaited<ReturnType<typeof deployEscrowFixture>>): Promise<bigint> {
  const l = await f.escrow.liabilities();
  return l.customerBalances + l.held + l.disputed + l.released + l.claimable + l.fees;
}

describe("PaymentEscrow admin", function () {
  describe("setFeeRecipient", function () {
    it("emits FeeRecipientUpdated(old, new) and stores the recipient", async function () {
      const { f } = await loadFixture(adminFixture);
      const [first, second] = [f.stranger, f.relayer];
      await expect(f.escrow.connect(f.admin).setFeeRecipient(first.address))
        .to.emit(f.escrow, "FeeRecipientUpdated")
        .withArgs(f.feeRecipient.address, first.address);
      expect(await f.escrow.feeRecipient()).to.equal(first.address);
      await expect(f.escrow.connect(f.admin).setFeeRecipient(second.address))
        .to.emit(f.escrow, "FeeRecipientUpdated")
        .withArgs(first.address, second.address);
      expect(await f.escrow.feeRecipient()).to.equal(second.address);
    });

    it("reverts ZeroAddress for address zero and keeps the recipient", async function () {
      const { f } = await loadFixture(adminFixture);
      await expect(f.escrow.connect(f.admin).setFeeRecipient(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "ZeroAddress",
      );
      expect(await f.escrow.feeRecipient()).to.equal(f.feeRecipient.address);
    });

    it("sends fees collected afterwards to the new recipient, including fees accrued before", async function () {
      const { f } = await loadFixture(adminFixture);
      const payer = f.customers[0];
      const p = await escrowOne(f, payer, { amount: usd(100) });
      await f.escrow.connect(payer).confirm(p.payment, p.inclusion);
      const fee = feeOf(usd(100));
      await f.escrow.connect(f.admin).setFeeRecipient(f.stranger.address);
      const tx = f.escrow.connect(f.relayer).collectFees();
      await expect(tx).to.emit(f.escrow, "FeesCollected").withArgs(f.stranger.address, fee);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.stranger, f.feeRecipient], [-fee, fee, 0n]);
      expect((await f.escrow.liabilities()).fees).to.equal(0n);
      await expectInvariant(f);
    });
  });

  describe("sweepSurplus", function () {
    const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

    /** The base network with a held payment, accrued fees, and `donation` sent straight to the escrow. */
    async function surplusFixture() {
      const f = await deployEscrowFixture();
      const [alice, bob] = f.customers;
      const a = await escrowOne(f, alice);
      await f.escrow.connect(alice).confirm(a.payment, a.inclusion);
      await escrowOne(f, bob);
      return f;
    }

    async function donate(f: Awaited<ReturnType<typeof surplusFixture>>, amount: bigint) {
      const [, , carol] = f.customers;
      await f.token.connect(f.admin).mint(carol.address, amount);
      await f.token.connect(carol).transfer(await f.escrow.getAddress(), amount);
    }

    it("a 1-unit donation breaks balance == liabilities; the sweep sends exactly it and restores the invariant", async function () {
      const f = await loadFixture(surplusFixture);
      await donate(f, 1n);
      const owed = await owedOf(f);
      expect(await f.token.balanceOf(await f.escrow.getAddress())).to.equal(owed + 1n);
      const tx = f.escrow.connect(f.admin).sweepSurplus(f.stranger.address);
      await expect(tx).to.emit(f.escrow, "SurplusSwept").withArgs(f.stranger.address, 1n);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.stranger], [-1n, 1n]);
      expect(await owedOf(f)).to.equal(owed);
      await expectInvariant(f);
    });

    it("never touches what is owed: a second sweep reverts NoSurplus(balance, liabilities)", async function () {
      const f = await loadFixture(surplusFixture);
      await donate(f, usd(5));
      await f.escrow.connect(f.admin).sweepSurplus(f.feeRecipient.address);
      const owed = await owedOf(f);
      await expect(f.escrow.connect(f.admin).sweepSurplus(f.feeRecipient.address))
        .to.be.revertedWithCustomError(f.escrow, "NoSurplus")
        .withArgs(owed, owed);
    });

    it("reverts AccessControlUnauthorizedAccount for anyone but the default admin", async function () {
      const f = await loadFixture(surplusFixture);
      await donate(f, 1n);
      for (const caller of [f.stranger, f.arbiter, f.relayer, f.feeRecipient]) {
        await expect(f.escrow.connect(caller).sweepSurplus(caller.address))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
    });

    it("reverts ZeroAddress for to = 0 and InvalidRecipient(escrow) for the escrow itself", async function () {
      const f = await loadFixture(surplusFixture);
      await donate(f, 1n);
      const escrow = await f.escrow.getAddress();
      await expect(f.escrow.connect(f.admin).sweepSurplus(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "ZeroAddress",
      );
      await expect(f.escrow.connect(f.admin).sweepSurplus(escrow))
        .to.be.revertedWithCustomError(f.escrow, "InvalidRecipient")
        .withArgs(escrow);
    });
  });

  describe("setDisputeTimeout", function () {
    it("exposes the bounds: 1 day and 180 days", async function () {
      const { f } = await loadFixture(adminFixture);
      expect(await f.escrow.MIN_DISPUTE_TIMEOUT()).to.equal(MIN_TIMEOUT);
      expect(await f.escrow.MAX_DISPUTE_TIMEOUT()).to.equal(MAX_TIMEOUT);
      expect(await f.escrow.disputeTimeout()).to.equal(DISPUTE_TIMEOUT);
    });

    it("accepts both bounds inclusive, emitting DisputeTimeoutUpdated(old, new)", async function () {
      const { f } = await loadFixture(adminFixture);
      await expect(f.escrow.connect(f.admin).setDisputeTimeout(MIN_TIMEOUT))
        .to.emit(f.escrow, "DisputeTimeoutUpdated")
        .withArgs(DISPUTE_TIMEOUT, MIN_TIMEOUT);
      expect(await f.escrow.disputeTimeout()).to.equal(MIN_TIMEOUT);
      await expect(f.escrow.connect(f.admin).setDisputeTimeout(MAX_TIMEOUT))
        .to.emit(f.escrow, "DisputeTimeoutUpdated")
        .withArgs(MIN_TIMEOUT, MAX_TIMEOUT);
      expect(await f.escrow.disputeTimeout()).to.equal(MAX_TIMEOUT);
    });

    for (const [label, value] of [
      ["zero", 0n],
      ["one second under the minimum", MIN_TIMEOUT - 1n],
      ["one second over the maximum", MAX_TIMEOUT + 1n],
      ["uint32 max", 2n ** 32n - 1n],
    ] as const) {
      it(`reverts DisputeTimeoutOutOfRange for ${label}`, async function () {
        const { f } = await loadFixture(adminFixture);
        await expect(f.escrow.connect(f.admin).setDisputeTimeout(value))
          .to.be.revertedWithCustomError(f.escrow, "DisputeTimeoutOutOfRange")
          .withArgs(value);
        expect(await f.escrow.disputeTimeout()).to.equal(DISPUTE_TIMEOUT);
      });
    }

    it("governs when a dispute opened after the change expires", async function () {
      const { f } = await loadFixture(adminFixture);
      await f.escrow.connect(f.admin).setDisputeTimeout(MIN_TIMEOUT);
      const payer = f.customers[1];
      const p = await escrowOne(f, payer);
      await f.escrow.connect(payer).openDispute(p.payment, p.inclusion);
      const { disputedAt } = await recordOf(f, p.id);
      await atNextBlock(disputedAt + MIN_TIMEOUT - 1n);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(p.payment))
        .to.be.revertedWithCustomError(f.escrow, "DisputeNotExpired")
        .withArgs(p.id, disputedAt + MIN_TIMEOUT);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(p.payment))
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(p.id, p.payment.merchantId, payer.address, p.payment.amount, 0n, 0n, true);
      expect((await recordOf(f, p.id)).status).to.equal(PaymentStatus.Resolved);
      await expectInvariant(f);
    });

    it("does not shorten a dispute that was already open when the timeout is lowered", async function () {
      const { f } = await loadFixture(adminFixture);
      const payer = f.customers[1];
      const p = await escrowOne(f, payer);
      await f.escrow.connect(payer).openDispute(p.payment, p.inclusion);
      const { disputedAt } = await recordOf(f, p.id);
      await f.escrow.connect(f.admin).setDisputeTimeout(MIN_TIMEOUT);
      await atNextBlock(disputedAt + MIN_TIMEOUT);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(p.payment))
        .to.be.revertedWithCustomError(f.escrow, "DisputeNotExpired")
        .withArgs(p.id, disputedAt + DISPUTE_TIMEOUT);
      await atNextBlock(disputedAt + DISPUTE_TIMEOUT);
      await expect(f.escrow.connect(f.stranger).resolveExpiredDispute(p.payment)).to.emit(f.escrow, "DisputeResolved");
      await expectInvariant(f);
    });
  });

  describe("constructor", function () {
    it("deploys against the existing libraries and initialises every field", async function () {
      const { f, factory, args } = await loadFixture(adminFixture);
      const escrow = await deployWith(factory, args);
      await escrow.waitForDeployment();
      const deployment = escrow.deploymentTransaction()!;
      await expect(deployment)
        .to.emit(escrow, "FeeRecipientUpdated")
        .withArgs(ethers.ZeroAddress, f.feeRecipient.address);
      await expect(deployment).to.emit(escrow, "DisputeTimeoutUpdated").withArgs(0n, DISPUTE_TIMEOUT);
      expect(await escrow.token()).to.equal(args.token);
      expect(await escrow.registry()).to.equal(args.registry);
      expect(await escrow.feeRecipient()).to.equal(f.feeRecipient.address);
      expect(await escrow.disputeTimeout()).to.equal(DISPUTE_TIMEOUT);
      expect(await escrow.defaultAdmin()).to.equal(f.admin.address);
      expect(await escrow.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await escrow.batchCount()).to.equal(0n);
      expect(await linkedLibrariesOf(escrow)).to.deep.equal(await linkedLibrariesOf(f.escrow));
    });

    it("reverts ZeroAddress for a zero token, registry or fee recipient", async function () {
      const { f, factory, args } = await loadFixture(adminFixture);
      for (const field of ["token", "registry", "feeRecipient"] as const) {
        await expect(deployWith(factory, { ...args, [field]: ethers.ZeroAddress })).to.be.revertedWithCustomError(
          f.escrow,
          "ZeroAddress",
        );
      }
    });

    it("reverts AccessControlInvalidDefaultAdmin for a zero admin", async function () {
      const { f, factory, args } = await loadFixture(adminFixture);
      await expect(deployWith(factory, { ...args, admin: ethers.ZeroAddress }))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlInvalidDefaultAdmin")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts DisputeTimeoutOutOfRange outside [1 day, 180 days] and accepts both bounds", async function () {
      const { f, factory, args } = await loadFixture(adminFixture);
      for (const timeout of [0n, MIN_TIMEOUT - 1n, MAX_TIMEOUT + 1n]) {
        await expect(deployWith(factory, { ...args, timeout }))
          .to.be.revertedWithCustomError(f.escrow, "DisputeTimeoutOutOfRange")
          .withArgs(timeout);
      }
      for (const timeout of [MIN_TIMEOUT, MAX_TIMEOUT]) {
        const escrow = await deployWith(factory, { ...args, timeout });
        await escrow.waitForDeployment();
        expect(await escrow.disputeTimeout()).to.equal(timeout);
      }
    });

    it("a fresh escrow works end to end on the same token and registry", async function () {
      const { f, factory, args } = await loadFixture(adminFixture);
      const escrow = await deployWith(factory, args);
      await escrow.waitForDeployment();
      const g = { ...f, escrow };
      const payer = f.customers[2];
      await f.token.connect(f.admin).mint(payer.address, usd(50));
      await f.token.connect(payer).approve(await escrow.getAddress(), usd(50));
      await escrow.connect(payer).deposit(usd(50));
      const p = await escrowOne(g, payer, { amount: usd(50) });
      expect(p.inclusion.batchId).to.equal(1n);
      await time.increase(7n * ONE_DAY);
      const m = f.merchants[0];
      await expect(escrow.settle([{ merchantId: m.id, batchIds: [1n] }]))
        .to.emit(escrow, "MerchantPaid")
        .withArgs(m.id, m.payout.address, usd(50) - feeOf(usd(50)));
      await expectInvariant(g);
    });
  });
});
