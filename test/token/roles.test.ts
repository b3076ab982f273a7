import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import type { SettlementToken } from "../../typechain-types";
import {
  ADMIN_DELAY,
  BLOCKLISTER_ROLE,
  DEFAULT_ADMIN_ROLE,
  MASTER_MINTER_ROLE,
  ONE_DAY,
  PAUSER_ROLE,
  RESCUER_ROLE,
  deployTokenFixture,
} from "./fixtures";
import type { TokenFixture } from "./fixtures";

type RoleName = "admin" | "masterMinter" | "pauser" | "blocklister" | "rescuer";

interface GatedCall {
  name: string;
  role: string;
  holder: RoleName;
  call: (token: SettlementToken, f: TokenFixture) => Promise<ContractTransactionResponse>;
}

const GATED: GatedCall[] = [
  {
    name: "configureMinter",
    role: MASTER_MINTER_ROLE,
    holder: "masterMinter",
    call: (t, f) => t.configureMinter(f.carol.address, 1n),
  },
  { name: "removeMinter", role: MASTER_MINTER_ROLE, holder: "masterMinter", call: (t, f) => t.removeMinter(f.minter) },
  { name: "pause", role: PAUSER_ROLE, holder: "pauser", call: (t) => t.pause() },
  { name: "unpause", role: PAUSER_ROLE, holder: "pauser", call: (t) => t.unpause() },
  { name: "blocklist", role: BLOCKLISTER_ROLE, holder: "blocklister", call: (t, f) => t.blocklist(f.carol.address) },
  {
    name: "unBlocklist",
    role: BLOCKLISTER_ROLE,
    holder: "blocklister",
    call: (t, f) => t.unBlocklist(f.carol.address),
  },
  {
    name: "rescueERC20",
    role: RESCUER_ROLE,
    holder: "rescuer",
    call: async (t, f) => t.rescueERC20(await t.getAddress(), f.carol.address, 0n),
  },
  { name: "grantRole", role: DEFAULT_ADMIN_ROLE, holder: "admin", call: (t, f) => t.grantRole(PAUSER_ROLE, f.carol) },
  {
    name: "revokeRole",
    role: DEFAULT_ADMIN_ROLE,
    holder: "admin",
    call: (t, f) => t.revokeRole(PAUSER_ROLE, f.pauser),
  },
  {
    name: "beginDefaultAdminTransfer",
    role: DEFAULT_ADMIN_ROLE,
    holder: "admin",
    call: (t, f) => t.beginDefaultAdminTransfer(f.carol.address),
  },
  {
    name: "cancelDefaultAdminTransfer",
    role: DEFAULT_ADMIN_ROLE,
    holder: "admin",
    call: (t) => t.cancelDefaultAdminTransfer(),
  },
  {
    name: "changeDefaultAdminDelay",
    role: DEFAULT_ADMIN_ROLE,
    holder: "admin",
    call: (t) => t.changeDefaultAdminDelay(ONE_DAY),
  },
  {
    name: "rollbackDefaultAdminDelay",
    role: DEFAULT_ADMIN_ROLE,
    holder: "admin",
    call: (t) => t.rollbackDefaultAdminDelay(),
  },
];

const ROLE_HOLDERS: RoleName[] = ["admin", "masterMinter", "pauser", "blocklister", "rescuer"];

describe("SettlementToken: roles and access control", function () {
  describe("every role-gated function rejects every other role", function () {
    for (const gated of GATED) {
      it(`${gated.name} is ${gated.holder}-only`, async function () {
        const f = await loadFixture(deployTokenFixture);
        const callers: HardhatEthersSigner[] = [
          ...ROLE_HOLDERS.filter((r) => r !== gated.holder).map((r) => f[r]),
          f.minter,
          f.alice,
        ];
        for (const caller of callers) {
          await expect(gated.call(f.token.connect(caller), f))
            .to.be.revertedWithCustomError(f.token, "AccessControlUnauthorizedAccount")
            .withArgs(caller.address, gated.role);
        }
      });
    }

    it("each holder can call its own gated functions", async function () {
      const f = await loadFixture(deployTokenFixture);
      // Ordered so every call is valid in the state the previous ones leave.
      for (const name of [
        "configureMinter",
        "removeMinter",
        "pause",
        "unpause",
        "blocklist",
        "unBlocklist",
        "rescueERC20",
        "grantRole",
        "revokeRole",
        "changeDefaultAdminDelay",
        "rollbackDefaultAdminDelay",
        "beginDefaultAdminTransfer",
        "cancelDefaultAdminTransfer",
      ]) {
        const gated = GATED.find((g) => g.name === name)!;
        await expect(gated.call(f.token.connect(f[gated.holder]), f)).not.to.be.reverted;
      }
    });
  });

  describe("grant, revoke, renounce", function () {
    it("the admin grants and revokes roles, with RoleGranted / RoleRevoked", async function () {
      const { token, admin, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(admin).grantRole(BLOCKLISTER_ROLE, carol.address))
        .to.emit(token, "RoleGranted")
        .withArgs(BLOCKLISTER_ROLE, carol.address, admin.address);
      expect(await token.hasRole(BLOCKLISTER_ROLE, carol.address)).to.equal(true);
      await expect(token.connect(carol).blocklist(carol.address)).to.emit(token, "Blocklisted");
      await expect(token.connect(admin).revokeRole(BLOCKLISTER_ROLE, carol.address))
        .to.emit(token, "RoleRevoked")
        .withArgs(BLOCKLISTER_ROLE, carol.address, admin.address);
      await expect(token.connect(carol).unBlocklist(carol.address))
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(carol.address, BLOCKLISTER_ROLE);
    });

    it("a holder renounces its own role; not another account's", async function () {
      const { token, pauser, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(carol).renounceRole(PAUSER_ROLE, pauser.address)).to.be.revertedWithCustomError(
        token,
        "AccessControlBadConfirmation",
      );
      await expect(token.connect(pauser).renounceRole(PAUSER_ROLE, pauser.address))
        .to.emit(token, "RoleRevoked")
        .withArgs(PAUSER_ROLE, pauser.address, pauser.address);
      expect(await token.hasRole(PAUSER_ROLE, pauser.address)).to.equal(false);
    });

    it("DEFAULT_ADMIN_ROLE cannot be granted or revoked directly", async function () {
      const { token, admin, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(admin).grantRole(DEFAULT_ADMIN_ROLE, carol.address)).to.be.revertedWithCustomError(
        token,
        "AccessControlEnforcedDefaultAdminRules",
      );
      await expect(token.connect(admin).revokeRole(DEFAULT_ADMIN_ROLE, admin.address)).to.be.revertedWithCustomError(
        token,
        "AccessControlEnforcedDefaultAdminRules",
      );
    });

    it("the admin holds no operational role: it cannot pause, blocklist, mint or rescue by itself", async function () {
      const { token, admin } = await loadFixture(deployTokenFixture);
      await expect(token.connect(admin).pause())
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, PAUSER_ROLE);
      await expect(token.connect(admin).mint(admin.address, 1n))
        .to.be.revertedWithCustomError(token, "CallerNotMinter")
        .withArgs(admin.address);
    });
  });

  describe("two-step default admin transfer with delay", function () {
    it("begin schedules the transfer after the delay", async function () {
      const { token, admin, carol } = await loadFixture(deployTokenFixture);
      const tx = await token.connect(admin).beginDefaultAdminTransfer(carol.address);
      const schedule = (await time.latest()) + ADMIN_DELAY;
      await expect(tx).to.emit(token, "DefaultAdminTransferScheduled").withArgs(carol.address, schedule);
      const [pending, pendingSchedule] = await token.pendingDefaultAdmin();
      expect(pending).to.equal(carol.address);
      expect(pendingSchedule).to.equal(schedule);
    });

    it("accepting before the delay has passed reverts, at the schedule itself too", async function () {
      const { token, admin, carol } = await loadFixture(deployTokenFixture);
      await token.connect(admin).beginDefaultAdminTransfer(carol.address);
      const schedule = (await time.latest()) + ADMIN_DELAY;
      await expect(token.connect(carol).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(token, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.setNextBlockTimestamp(schedule);
      await expect(token.connect(carol).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(token, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
    });

    it("only the pending admin can accept", async function () {
      const { token, admin, carol, bob } = await loadFixture(deployTokenFixture);
      await token.connect(admin).beginDefaultAdminTransfer(carol.address);
      await time.increase(ADMIN_DELAY + 1);
      await expect(token.connect(bob).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(token, "AccessControlInvalidDefaultAdmin")
        .withArgs(bob.address);
    });

    it("accepting after the delay moves DEFAULT_ADMIN_ROLE to the new admin", async function () {
      const { token, admin, carol } = await loadFixture(deployTokenFixture);
      await token.connect(admin).beginDefaultAdminTransfer(carol.address);
      const schedule = (await time.latest()) + ADMIN_DELAY;
      await time.setNextBlockTimestamp(schedule + 1);
      const tx = token.connect(carol).acceptDefaultAdminTransfer();
      await expect(tx).to.emit(token, "RoleRevoked").withArgs(DEFAULT_ADMIN_ROLE, admin.address, carol.address);
      await expect(tx).to.emit(token, "RoleGranted").withArgs(DEFAULT_ADMIN_ROLE, carol.address, carol.address);
      expect(await token.defaultAdmin()).to.equal(carol.address);
      expect(await token.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(false);
      await expect(token.connect(admin).grantRole(PAUSER_ROLE, admin.address))
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, DEFAULT_ADMIN_ROLE);
      await expect(token.connect(carol).grantRole(PAUSER_ROLE, carol.address)).to.emit(token, "RoleGranted");
    });

    it("a cancelled transfer cannot be accepted", async function () {
      const { token, admin, carol } = await loadFixture(deployTokenFixture);
      await token.connect(admin).beginDefaultAdminTransfer(carol.address);
      await expect(token.connect(admin).cancelDefaultAdminTransfer()).to.emit(token, "DefaultAdminTransferCanceled");
      await time.increase(ADMIN_DELAY + 1);
      await expect(token.connect(carol).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(token, "AccessControlInvalidDefaultAdmin")
        .withArgs(carol.address);
      expect(await token.defaultAdmin()).to.equal(admin.address);
    });

    it("changing the delay is itself scheduled", async function () {
      const { token, admin } = await loadFixture(deployTokenFixture);
      const tx = await token.connect(admin).changeDefaultAdminDelay(ONE_DAY);
      // Decreasing waits for the difference between the delays.
      const effect = (await time.latest()) + (ADMIN_DELAY - ONE_DAY);
      await expect(tx).to.emit(token, "DefaultAdminDelayChangeScheduled").withArgs(ONE_DAY, effect);
      expect(await token.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      await time.increaseTo(effect + 1);
      expect(await token.defaultAdminDelay()).to.equal(ONE_DAY);
    });

    it("the admin can renounce only through a scheduled transfer to the zero address", async function () {
      const { token, admin } = await loadFixture(deployTokenFixture);
      await expect(token.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address))
        .to.be.revertedWithCustomError(token, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(0);
      await token.connect(admin).beginDefaultAdminTransfer(ethers.ZeroAddress);
      await time.increase(ADMIN_DELAY + 1);
      await token.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address);
      expect(await token.defaultAdmin()).to.equal(ethers.ZeroAddress);
    });
  });
});
