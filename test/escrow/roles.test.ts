import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import {
  deployEscrowFixture,
  escrowOne,
  ADMIN_DELAY,
  ARBITER_ROLE,
  DISPUTE_TIMEOUT,
  ONE_DAY,
  PaymentStatus,
} from "./fixtures";
import { atNextBlock, expectInvariant, recordOf } from "./lifecycle.helpers";

const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/** The base network plus one disputed payment (so that the arbiter has something to rule on). */
async function rolesFixture() {
  const f = await deployEscrowFixture();
  const customer = f.customers[0];
  const disputed = await escrowOne(f, customer);
  await f.escrow.connect(customer).openDispute(disputed.payment, disputed.inclusion);
  const actors: Record<string, HardhatEthersSigner> = {
    admin: f.admin,
    arbiter: f.arbiter,
    relayer: f.relayer,
    "merchant owner": f.merchants[0].owner,
    customer,
    stranger: f.stranger,
  };
  return { f, disputed, customer, actors };
}

type RolesFixture = Awaited<ReturnType<typeof rolesFixture>>;

interface Gated {
  name: string;
  role: string;
  roleName: string;
  holder: string;
  call: (fx: RolesFixture, caller: HardhatEthersSigner) => Promise<ContractTransactionResponse>;
  /** What a successful call by the role holder must have done. */
  check: (fx: RolesFixture, tx: Promise<ContractTransactionResponse>) => Promise<void>;
}

const gated: Gated[] = [
  {
    name: "resolveDispute",
    role: ARBITER_ROLE,
    roleName: "ARBITER_ROLE",
    holder: "arbiter",
    call: ({ f, disputed }, caller) => f.escrow.connect(caller).resolveDispute(disputed.payment, 0n),
    check: async ({ f, disputed }, tx) => {
      await expect(tx).to.emit(f.escrow, "DisputeResolved");
      expect((await recordOf(f, disputed.id)).status).to.equal(PaymentStatus.Resolved);
      await expectInvariant(f);
    },
  },
  {
    name: "setFeeRecipient",
    role: DEFAULT_ADMIN_ROLE,
    roleName: "DEFAULT_ADMIN_ROLE",
    holder: "admin",
    call: ({ f }, caller) => f.escrow.connect(caller).setFeeRecipient(f.stranger.address),
    check: async ({ f }, tx) => {
      await expect(tx).to.emit(f.escrow, "FeeRecipientUpdated").withArgs(f.feeRecipient.address, f.stranger.address);
      expect(await f.escrow.feeRecipient()).to.equal(f.stranger.address);
    },
  },
  {
    name: "setDisputeTimeout",
    role: DEFAULT_ADMIN_ROLE,
    roleName: "DEFAULT_ADMIN_ROLE",
    holder: "admin",
    call: ({ f }, caller) => f.escrow.connect(caller).setDisputeTimeout(10n * ONE_DAY),
    check: async ({ f }, tx) => {
      await expect(tx)
        .to.emit(f.escrow, "DisputeTimeoutUpdated")
        .withArgs(DISPUTE_TIMEOUT, 10n * ONE_DAY);
      expect(await f.escrow.disputeTimeout()).to.equal(10n * ONE_DAY);
    },
  },
  {
    name: "grantRole(ARBITER_ROLE)",
    role: DEFAULT_ADMIN_ROLE,
    roleName: "DEFAULT_ADMIN_ROLE",
    holder: "admin",
    call: ({ f }, caller) => f.escrow.connect(caller).grantRole(ARBITER_ROLE, f.stranger.address),
    check: async ({ f, disputed }, tx) => {
      await expect(tx).to.emit(f.escrow, "RoleGranted").withArgs(ARBITER_ROLE, f.stranger.address, f.admin.address);
      expect(await f.escrow.hasRole(ARBITER_ROLE, f.stranger.address)).to.equal(true);
      await expect(f.escrow.connect(f.stranger).resolveDispute(disputed.payment, 0n)).to.emit(
        f.escrow,
        "DisputeResolved",
      );
    },
  },
  {
    name: "revokeRole(ARBITER_ROLE)",
    role: DEFAULT_ADMIN_ROLE,
    roleName: "DEFAULT_ADMIN_ROLE",
    holder: "admin",
    call: ({ f }, caller) => f.escrow.connect(caller).revokeRole(ARBITER_ROLE, f.arbiter.address),
    check: async ({ f, disputed }, tx) => {
      await expect(tx).to.emit(f.escrow, "RoleRevoked").withArgs(ARBITER_ROLE, f.arbiter.address, f.admin.address);
      expect(await f.escrow.hasRole(ARBITER_ROLE, f.arbiter.address)).to.equal(false);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(disputed.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.arbiter.address, ARBITER_ROLE);
    },
  },
];

const ACTORS = ["admin", "arbiter", "relayer", "merchant owner", "customer", "stranger"];

describe("PaymentEscrow roles", function () {
  it("has the expected role wiring", async function () {
    const { f } = await loadFixture(rolesFixture);
    expect(await f.escrow.ARBITER_ROLE()).to.equal(ARBITER_ROLE);
    expect(await f.escrow.getRoleAdmin(ARBITER_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
    expect(await f.escrow.defaultAdmin()).to.equal(f.admin.address);
    expect(await f.escrow.defaultAdminDelay()).to.equal(ADMIN_DELAY);
    expect(await f.escrow.hasRole(ARBITER_ROLE, f.arbiter.address)).to.equal(true);
    expect(await f.escrow.hasRole(ARBITER_ROLE, f.admin.address)).to.equal(false);
    expect(await f.escrow.hasRole(DEFAULT_ADMIN_ROLE, f.arbiter.address)).to.equal(false);
  });

  for (const fn of gated) {
    describe(fn.name, function () {
      for (const actor of ACTORS) {
        if (actor === fn.holder) {
          it(`succeeds for the ${fn.roleName} holder (${actor})`, async function () {
            const fx = await loadFixture(rolesFixture);
            await fn.check(fx, fn.call(fx, fx.actors[actor]));
          });
        } else {
          it(`reverts AccessControlUnauthorizedAccount(${actor}, ${fn.roleName})`, async function () {
            const fx = await loadFixture(rolesFixture);
            const caller = fx.actors[actor];
            await expect(fn.call(fx, caller))
              .to.be.revertedWithCustomError(fx.f.escrow, "AccessControlUnauthorizedAccount")
              .withArgs(caller.address, fn.role);
          });
        }
      }
    });
  }

  describe("default admin rules", function () {
    it("refuses grantRole / revokeRole of DEFAULT_ADMIN_ROLE even by the admin", async function () {
      const { f } = await loadFixture(rolesFixture);
      await expect(
        f.escrow.connect(f.admin).grantRole(DEFAULT_ADMIN_ROLE, f.stranger.address),
      ).to.be.revertedWithCustomError(f.escrow, "AccessControlEnforcedDefaultAdminRules");
      await expect(
        f.escrow.connect(f.admin).revokeRole(DEFAULT_ADMIN_ROLE, f.admin.address),
      ).to.be.revertedWithCustomError(f.escrow, "AccessControlEnforcedDefaultAdminRules");
    });

    it("lets the arbiter renounce its role", async function () {
      const { f, disputed } = await loadFixture(rolesFixture);
      await expect(f.escrow.connect(f.arbiter).renounceRole(ARBITER_ROLE, f.arbiter.address))
        .to.emit(f.escrow, "RoleRevoked")
        .withArgs(ARBITER_ROLE, f.arbiter.address, f.arbiter.address);
      await expect(f.escrow.connect(f.arbiter).resolveDispute(disputed.payment, 0n))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.arbiter.address, ARBITER_ROLE);
    });

    it("only the admin begins a transfer", async function () {
      const { f, actors } = await loadFixture(rolesFixture);
      for (const actor of ACTORS.filter((a) => a !== "admin")) {
        const caller = actors[actor];
        await expect(f.escrow.connect(caller).beginDefaultAdminTransfer(caller.address))
          .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
    });

    it("transfers the admin in two steps, only after the delay", async function () {
      const { f } = await loadFixture(rolesFixture);
      const newAdmin = f.stranger;
      const tx = await f.escrow.connect(f.admin).beginDefaultAdminTransfer(newAdmin.address);
      const schedule = BigInt((await tx.getBlock())!.timestamp) + ADMIN_DELAY;
      await expect(tx).to.emit(f.escrow, "DefaultAdminTransferScheduled").withArgs(newAdmin.address, schedule);
      const [pending, pendingSchedule] = await f.escrow.pendingDefaultAdmin();
      expect(pending).to.equal(newAdmin.address);
      expect(pendingSchedule).to.equal(schedule);

      // Too early (right away, and exactly at the schedule).
      await expect(f.escrow.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await atNextBlock(schedule);
      await expect(f.escrow.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      // Not the pending admin.
      await expect(f.escrow.connect(f.arbiter).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlInvalidDefaultAdmin")
        .withArgs(f.arbiter.address);
      // The old admin keeps its powers until the transfer is accepted.
      await expect(f.escrow.connect(f.admin).setDisputeTimeout(5n * ONE_DAY)).to.emit(
        f.escrow,
        "DisputeTimeoutUpdated",
      );

      await expect(f.escrow.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.emit(f.escrow, "RoleGranted")
        .withArgs(DEFAULT_ADMIN_ROLE, newAdmin.address, newAdmin.address);
      expect(await f.escrow.defaultAdmin()).to.equal(newAdmin.address);
      expect(await f.escrow.hasRole(DEFAULT_ADMIN_ROLE, f.admin.address)).to.equal(false);

      await expect(f.escrow.connect(f.admin).setFeeRecipient(f.admin.address))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.admin.address, DEFAULT_ADMIN_ROLE);
      await expect(f.escrow.connect(newAdmin).setFeeRecipient(newAdmin.address))
        .to.emit(f.escrow, "FeeRecipientUpdated")
        .withArgs(f.feeRecipient.address, newAdmin.address);
      await expect(f.escrow.connect(newAdmin).grantRole(ARBITER_ROLE, f.relayer.address))
        .to.emit(f.escrow, "RoleGranted")
        .withArgs(ARBITER_ROLE, f.relayer.address, newAdmin.address);
    });

    it("a cancelled transfer cannot be accepted", async function () {
      const { f } = await loadFixture(rolesFixture);
      await f.escrow.connect(f.admin).beginDefaultAdminTransfer(f.stranger.address);
      await f.escrow.connect(f.admin).cancelDefaultAdminTransfer();
      await time.increase(ADMIN_DELAY + 1n);
      await expect(f.escrow.connect(f.stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.escrow, "AccessControlInvalidDefaultAdmin")
        .withArgs(f.stranger.address);
      expect(await f.escrow.defaultAdmin()).to.equal(f.admin.address);
    });
  });
});
