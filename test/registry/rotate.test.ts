import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { MerchantRegistry } from "../../typechain-types";
import {
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  ONE_DAY,
  REGISTRAR_ROLE,
  UNKNOWN_ID,
  activeMerchantFixture,
  closedMerchantFixture,
  expectNotMerchantOwner,
  expectMerchant,
  register,
  registration,
  suspendedMerchantFixture,
} from "./fixtures";

type Rotate = (registry: MerchantRegistry, merchantId: bigint, address: string) => Promise<unknown>;

/**
 * Both rotations: NotMerchantOwner for anyone but the owner key (the payout address included), checked
 * before the new address; UnknownMerchant for an unused id, whoever calls.
 */
function itChecksCallerThenId(what: string, rotate: Rotate, spare: number): void {
  it(`reverts with NotMerchantOwner for anyone but the owner key, checked before ${what}`, async function () {
    const { registry, merchantId, admin, registrar, payout, stranger, others } =
      await loadFixture(activeMerchantFixture);
    for (const caller of [admin, registrar, payout, stranger]) {
      for (const address of [others[spare].address, caller.address, ethers.ZeroAddress]) {
        await expectNotMerchantOwner(registry, merchantId, caller, [(r) => rotate(r, merchantId, address)]);
      }
    }
  });

  for (const id of [0n, 2n, UNKNOWN_ID]) {
    it(`reverts with UnknownMerchant for id ${id}, whoever calls`, async function () {
      const { registry, merchantOwner, stranger } = await loadFixture(activeMerchantFixture);
      for (const caller of [merchantOwner, stranger]) {
        await expect(rotate(registry.connect(caller), id, caller.address))
          .to.be.revertedWithCustomError(registry, "UnknownMerchant")
          .withArgs(id);
      }
    });
  }
}

describe("MerchantRegistry: rotations", function () {
  describe("rotateOwner", function () {
    for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS.filter(
      (f) => f.status !== MerchantStatus.Closed,
    )) {
      it(`lets the owner key of a ${name} merchant hand over to a new key in two steps`, async function () {
        const { registry, merchantId, merchantOwner, payout, others } = await loadFixture(fixture);
        const newOwner = others[0];
        await expect(registry.connect(merchantOwner).rotateOwner(merchantId, newOwner.address))
          .to.emit(registry, "MerchantOwnerProposed")
          .withArgs(merchantId, merchantOwner.address, newOwner.address);
        // Proposed, not yet in force.
        expect(await registry.pendingOwner(merchantId)).to.equal(newOwner.address);
        expect((await registry.getMerchant(merchantId)).owner).to.equal(merchantOwner.address);

        await expect(registry.connect(newOwner).acceptOwner(merchantId))
          .to.emit(registry, "MerchantOwnerRotated")
          .withArgs(merchantId, merchantOwner.address, newOwner.address);
        await expectMerchant(registry, merchantId, { status, owner: newOwner.address, payout: payout.address });
        expect(await registry.pendingOwner(merchantId)).to.equal(ethers.ZeroAddress);
      });
    }

    it("moves every owner power to the new key and takes them from the old one", async function () {
      const { registry, merchantId, merchantOwner, payout, others } = await loadFixture(activeMerchantFixture);
      const [newOwner, newPayout] = others;
      await registry.connect(merchantOwner).rotateOwner(merchantId, newOwner.address);
      await registry.connect(newOwner).acceptOwner(merchantId);

      await expectNotMerchantOwner(registry, merchantId, merchantOwner, [
        (r) => r.rotateOwner(merchantId, merchantOwner.address),
        (r) => r.rotatePayout(merchantId, newPayout.address),
        (r) => r.setMetadata(merchantId, ethers.ZeroHash),
      ]);

      await expect(registry.connect(newOwner).rotatePayout(merchantId, newPayout.address))
        .to.emit(registry, "MerchantPayoutRotated")
        .withArgs(merchantId, payout.address, newPayout.address);
      await expect(registry.connect(newOwner).rotateOwner(merchantId, merchantOwner.address))
        .to.emit(registry, "MerchantOwnerProposed")
        .withArgs(merchantId, newOwner.address, merchantOwner.address);
    });

    it("allows proposing the current key (accepting it is a no-op that still emits)", async function () {
      const { registry, merchantId, merchantOwner } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(merchantOwner).rotateOwner(merchantId, merchantOwner.address))
        .to.emit(registry, "MerchantOwnerProposed")
        .withArgs(merchantId, merchantOwner.address, merchantOwner.address);
      await expect(registry.connect(merchantOwner).acceptOwner(merchantId))
        .to.emit(registry, "MerchantOwnerRotated")
        .withArgs(merchantId, merchantOwner.address, merchantOwner.address);
    });

    it("a mistyped key never takes over: the owner re-proposes, and the first proposal cannot be accepted", async function () {
      const { registry, merchantId, merchantOwner, others } = await loadFixture(activeMerchantFixture);
      const [typo, intended] = others;
      await registry.connect(merchantOwner).rotateOwner(merchantId, typo.address);
      await registry.connect(merchantOwner).rotateOwner(merchantId, intended.address);
      await expect(registry.connect(typo).acceptOwner(merchantId))
        .to.be.revertedWithCustomError(registry, "NotPendingOwner")
        .withArgs(merchantId, typo.address, intended.address);
      await registry.connect(intended).acceptOwner(merchantId);
      expect((await registry.getMerchant(merchantId)).owner).to.equal(intended.address);
    });

    it("reverts with ZeroAddress for a zero key", async function () {
      const { registry, merchantId, merchantOwner } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(merchantOwner).rotateOwner(merchantId, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "ZeroAddress")
        .withArgs();
    });

    it("reverts with MerchantClosed for a Closed merchant, before checking the new key", async function () {
      const { registry, merchantId, merchantOwner, others } = await loadFixture(closedMerchantFixture);
      for (const newOwner of [others[0].address, ethers.ZeroAddress]) {
        await expect(registry.connect(merchantOwner).rotateOwner(merchantId, newOwner))
          .to.be.revertedWithCustomError(registry, "MerchantClosed")
          .withArgs(merchantId);
      }
    });

    it("does not let the owner key of one merchant rotate another", async function () {
      const { registry, registrar, merchantId, merchantOwner, others } = await loadFixture(activeMerchantFixture);
      const [otherOwner, otherPayout] = others;
      await register(registry.connect(registrar), registration({ merchantOwner: otherOwner, payout: otherPayout }));
      await expectNotMerchantOwner(registry, merchantId, otherOwner, [
        (r) => r.rotateOwner(merchantId, otherOwner.address),
      ]);
      await expectNotMerchantOwner(registry, 2n, merchantOwner, [(r) => r.rotateOwner(2n, merchantOwner.address)]);
    });

    itChecksCallerThenId("the new key", (r, id, key) => r.rotateOwner(id, key), 0);
  });

  describe("acceptOwner", function () {
    it("reverts NotPendingOwner(merchantId, caller, pending) for anyone but the proposed key, or with nothing proposed", async function () {
      const { registry, merchantId, merchantOwner, registrar, stranger, others } =
        await loadFixture(activeMerchantFixture);
      for (const caller of [merchantOwner, others[0], stranger]) {
        await expect(registry.connect(caller).acceptOwner(merchantId))
          .to.be.revertedWithCustomError(registry, "NotPendingOwner")
          .withArgs(merchantId, caller.address, ethers.ZeroAddress);
      }
      await registry.connect(merchantOwner).rotateOwner(merchantId, others[0].address);
      for (const caller of [merchantOwner, registrar, stranger]) {
        await expect(registry.connect(caller).acceptOwner(merchantId))
          .to.be.revertedWithCustomError(registry, "NotPendingOwner")
          .withArgs(merchantId, caller.address, others[0].address);
      }
    });

    it("reverts MerchantClosed when the merchant was closed after the proposal, and UnknownMerchant for an unused id", async function () {
      const { registry, registrar, merchantId, merchantOwner, others } = await loadFixture(activeMerchantFixture);
      await registry.connect(merchantOwner).rotateOwner(merchantId, others[0].address);
      await registry.connect(registrar).close(merchantId);
      await expect(registry.connect(others[0]).acceptOwner(merchantId))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
      await expect(registry.connect(others[0]).acceptOwner(UNKNOWN_ID))
        .to.be.revertedWithCustomError(registry, "UnknownMerchant")
        .withArgs(UNKNOWN_ID);
    });
  });

  describe("owner recovery (lost key)", function () {
    const DELAY = 7n * BigInt(ONE_DAY);

    it("a registrar proposes, and executes after OWNER_RECOVERY_DELAY: the new key owns the merchant", async function () {
      const { registry, registrar, merchantId, merchantOwner, others } = await loadFixture(activeMerchantFixture);
      const [recovered, pending] = others;
      expect(await registry.OWNER_RECOVERY_DELAY()).to.equal(DELAY);
      await registry.connect(merchantOwner).rotateOwner(merchantId, pending.address);
      const tx = await registry.connect(registrar).proposeOwnerRecovery(merchantId, recovered.address);
      const executableAt = BigInt((await tx.getBlock())!.timestamp) + DELAY;
      await expect(tx).to.emit(registry, "OwnerRecoveryProposed").withArgs(merchantId, recovered.address, executableAt);
      expect(await registry.ownerRecovery(merchantId)).to.deep.equal([recovered.address, executableAt]);

      await time.setNextBlockTimestamp(executableAt - 1n);
      await expect(registry.connect(registrar).executeOwnerRecovery(merchantId))
        .to.be.revertedWithCustomError(registry, "OwnerRecoveryNotReady")
        .withArgs(merchantId, executableAt);
      await time.setNextBlockTimestamp(executableAt);
      await expect(registry.connect(registrar).executeOwnerRecovery(merchantId))
        .to.emit(registry, "MerchantOwnerRotated")
        .withArgs(merchantId, merchantOwner.address, recovered.address);
      expect((await registry.getMerchant(merchantId)).owner).to.equal(recovered.address);
      // The recovery and the old key's pending proposal are spent.
      expect(await registry.ownerRecovery(merchantId)).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect(await registry.pendingOwner(merchantId)).to.equal(ethers.ZeroAddress);
      await expect(registry.connect(pending).acceptOwner(merchantId))
        .to.be.revertedWithCustomError(registry, "NotPendingOwner")
        .withArgs(merchantId, pending.address, ethers.ZeroAddress);
    });

    it("the current owner key cancels it during the delay, so a registrar cannot take over a live key", async function () {
      const { registry, registrar, merchantId, merchantOwner, others } = await loadFixture(activeMerchantFixture);
      await registry.connect(registrar).proposeOwnerRecovery(merchantId, others[0].address);
      await expect(registry.connect(merchantOwner).cancelOwnerRecovery(merchantId))
        .to.emit(registry, "OwnerRecoveryCancelled")
        .withArgs(merchantId, merchantOwner.address);
      await time.increase(DELAY);
      await expect(registry.connect(registrar).executeOwnerRecovery(merchantId))
        .to.be.revertedWithCustomError(registry, "NoOwnerRecovery")
        .withArgs(merchantId);
      expect((await registry.getMerchant(merchantId)).owner).to.equal(merchantOwner.address);
    });

    it("an owner key accepting a rotation voids a pending recovery", async function () {
      const { registry, registrar, merchantId, merchantOwner, others } = await loadFixture(activeMerchantFixture);
      await registry.connect(registrar).proposeOwnerRecovery(merchantId, others[0].address);
      await registry.connect(merchantOwner).rotateOwner(merchantId, others[1].address);
      await registry.connect(others[1]).acceptOwner(merchantId);
      await time.increase(DELAY);
      await expect(registry.connect(registrar).executeOwnerRecovery(merchantId))
        .to.be.revertedWithCustomError(registry, "NoOwnerRecovery")
        .withArgs(merchantId);
    });

    it("is registrar-only to propose and execute; cancel is the owner key's or a registrar's", async function () {
      const { registry, registrar, merchantId, merchantOwner, stranger, admin, others } =
        await loadFixture(activeMerchantFixture);
      for (const caller of [merchantOwner, stranger, admin]) {
        await expect(registry.connect(caller).proposeOwnerRecovery(merchantId, caller.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, REGISTRAR_ROLE);
      }
      await registry.connect(registrar).proposeOwnerRecovery(merchantId, others[0].address);
      await time.increase(DELAY);
      for (const caller of [merchantOwner, others[0], stranger]) {
        await expect(registry.connect(caller).executeOwnerRecovery(merchantId))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, REGISTRAR_ROLE);
      }
      for (const caller of [others[0], stranger, admin]) {
        await expectNotMerchantOwner(registry, merchantId, caller, [(r) => r.cancelOwnerRecovery(merchantId)]);
      }
      await expect(registry.connect(registrar).cancelOwnerRecovery(merchantId))
        .to.emit(registry, "OwnerRecoveryCancelled")
        .withArgs(merchantId, registrar.address);
      await expect(registry.connect(registrar).cancelOwnerRecovery(merchantId))
        .to.be.revertedWithCustomError(registry, "NoOwnerRecovery")
        .withArgs(merchantId);
    });

    it("reverts ZeroAddress for a zero key and MerchantClosed for a closed merchant", async function () {
      const { registry, registrar, merchantId, others } = await loadFixture(activeMerchantFixture);
      await expect(
        registry.connect(registrar).proposeOwnerRecovery(merchantId, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(registry, "ZeroAddress");
      await registry.connect(registrar).proposeOwnerRecovery(merchantId, others[0].address);
      await registry.connect(registrar).close(merchantId);
      await time.increase(DELAY);
      await expect(registry.connect(registrar).executeOwnerRecovery(merchantId))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
      await expect(registry.connect(registrar).proposeOwnerRecovery(merchantId, others[0].address))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
    });
  });

  describe("rotatePayout", function () {
    for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS) {
      it(`lets the owner key of a ${name} merchant change its payout address`, async function () {
        const { registry, merchantId, merchantOwner, payout, others } = await loadFixture(fixture);
        const newPayout = others[1];
        await expect(registry.connect(merchantOwner).rotatePayout(merchantId, newPayout.address))
          .to.emit(registry, "MerchantPayoutRotated")
          .withArgs(merchantId, payout.address, newPayout.address);

        await expectMerchant(registry, merchantId, {
          status,
          owner: merchantOwner.address,
          payout: newPayout.address,
        });
      });
    }

    it("allows the owner key itself and the current payout as the new payout", async function () {
      const { registry, merchantId, merchantOwner, payout } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(merchantOwner).rotatePayout(merchantId, payout.address))
        .to.emit(registry, "MerchantPayoutRotated")
        .withArgs(merchantId, payout.address, payout.address);
      await expect(registry.connect(merchantOwner).rotatePayout(merchantId, merchantOwner.address))
        .to.emit(registry, "MerchantPayoutRotated")
        .withArgs(merchantId, payout.address, merchantOwner.address);
      expect(await registry.payoutOf(merchantId)).to.equal(merchantOwner.address);
    });

    for (const { name, fixture } of MERCHANT_FIXTURES_BY_STATUS) {
      it(`reverts with ZeroAddress for a zero payout (${name})`, async function () {
        const { registry, merchantId, merchantOwner } = await loadFixture(fixture);
        await expect(registry.connect(merchantOwner).rotatePayout(merchantId, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(registry, "ZeroAddress")
          .withArgs();
      });
    }

    it("reverts with NotMerchantOwner for non-owners of a Suspended or Closed merchant too (both rotations)", async function () {
      for (const fixture of [suspendedMerchantFixture, closedMerchantFixture]) {
        const { registry, merchantId, registrar, stranger } = await loadFixture(fixture);
        for (const caller of [registrar, stranger]) {
          await expectNotMerchantOwner(registry, merchantId, caller, [
            (r) => r.rotatePayout(merchantId, caller.address),
            // The caller is checked before the Closed status.
            (r) => r.rotateOwner(merchantId, caller.address),
          ]);
        }
      }
    });

    itChecksCallerThenId("the new payout", (r, id, payout) => r.rotatePayout(id, payout), 1);
  });
});
