import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import type { MerchantRegistry } from "../../typechain-types";
import {
  ADMIN_DELAY,
  DEFAULT_ADMIN_ROLE,
  DEFAULTS,
  FX_QUOTER_ROLE,
  type MerchantFixture,
  MerchantStatus,
  ONE_DAY,
  REGISTRAR_ROLE,
  UNKNOWN_ID,
  activeMerchantFixture,
  deployRegistryFixture,
  expectNotMerchantOwner,
  register,
  registration,
  suspendedMerchantFixture,
  registeredArgs,
} from "./fixtures";

type Role = "admin" | "registrar" | "merchantOwner" | "payout" | "stranger";
const ALL_ROLES: Role[] = ["admin", "registrar", "merchantOwner", "payout", "stranger"];

interface GatedCall {
  name: string;
  /** State in which the authorised caller's call succeeds. */
  fixture: () => Promise<MerchantFixture>;
  /** Callers that may make the call. */
  allowed: Role[];
  invoke: (registry: MerchantRegistry, f: MerchantFixture) => Promise<ContractTransactionResponse>;
}

const REGISTRAR_CALLS: GatedCall[] = [
  {
    name: "registerMerchant",
    fixture: activeMerchantFixture,
    allowed: ["registrar"],
    invoke: (r, f) => register(r, registration(f)),
  },
  {
    name: "setTerms",
    fixture: activeMerchantFixture,
    allowed: ["registrar"],
    invoke: (r, f) => r.setTerms(f.merchantId, 100, DEFAULTS.minHold, DEFAULTS.maxHold),
  },
  {
    name: "suspend",
    fixture: activeMerchantFixture,
    allowed: ["registrar"],
    invoke: (r, f) => r.suspend(f.merchantId),
  },
  {
    name: "reactivate",
    fixture: suspendedMerchantFixture,
    allowed: ["registrar"],
    invoke: (r, f) => r.reactivate(f.merchantId),
  },
  { name: "close", fixture: activeMerchantFixture, allowed: ["registrar"], invoke: (r, f) => r.close(f.merchantId) },
];

const OWNER_CALLS: GatedCall[] = [
  {
    name: "rotateOwner",
    fixture: activeMerchantFixture,
    allowed: ["merchantOwner"],
    invoke: (r, f) => r.rotateOwner(f.merchantId, f.others[0].address),
  },
  {
    name: "rotatePayout",
    fixture: activeMerchantFixture,
    allowed: ["merchantOwner"],
    invoke: (r, f) => r.rotatePayout(f.merchantId, f.others[1].address),
  },
  {
    name: "setMetadata",
    fixture: activeMerchantFixture,
    allowed: ["merchantOwner", "registrar"],
    invoke: (r, f) => r.setMetadata(f.merchantId, ethers.id("new")),
  },
];

const ADMIN_CALLS: GatedCall[] = [
  {
    name: "grantRole",
    fixture: activeMerchantFixture,
    allowed: ["admin"],
    invoke: (r, f) => r.grantRole(REGISTRAR_ROLE, f.others[0].address),
  },
  {
    name: "revokeRole",
    fixture: activeMerchantFixture,
    allowed: ["admin"],
    invoke: (r, f) => r.revokeRole(REGISTRAR_ROLE, f.registrar.address),
  },
  {
    name: "beginDefaultAdminTransfer",
    fixture: activeMerchantFixture,
    allowed: ["admin"],
    invoke: (r, f) => r.beginDefaultAdminTransfer(f.others[0].address),
  },
  {
    name: "cancelDefaultAdminTransfer",
    fixture: activeMerchantFixture,
    allowed: ["admin"],
    invoke: (r) => r.cancelDefaultAdminTransfer(),
  },
  {
    name: "changeDefaultAdminDelay",
    fixture: activeMerchantFixture,
    allowed: ["admin"],
    invoke: (r) => r.changeDefaultAdminDelay(ONE_DAY),
  },
  {
    name: "rollbackDefaultAdminDelay",
    fixture: activeMerchantFixture,
    allowed: ["admin"],
    invoke: (r) => r.rollbackDefaultAdminDelay(),
  },
];

describe("MerchantRegistry: roles", function () {
  describe("deployment", function () {
    it("makes initialAdmin the only default admin, with the given delay and no registrar power", async function () {
      const { registry, admin, registrar } = await loadFixture(deployRegistryFixture);
      expect(await registry.defaultAdmin()).to.equal(admin.address);
      expect(await registry.owner()).to.equal(admin.address);
      expect(await registry.defaultAdminDelay()).to.equal(BigInt(ADMIN_DELAY));
      expect(await registry.pendingDefaultAdmin()).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(REGISTRAR_ROLE, admin.address)).to.equal(false);
      expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(true);
      expect(await registry.getRoleAdmin(REGISTRAR_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await registry.getRoleAdmin(DEFAULT_ADMIN_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("reverts with AccessControlInvalidDefaultAdmin for a zero initial admin", async function () {
      const factory = await ethers.getContractFactory("MerchantRegistry");
      await expect(factory.deploy(ADMIN_DELAY, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "AccessControlInvalidDefaultAdmin")
        .withArgs(ethers.ZeroAddress);
    });

    it("accepts a zero admin delay", async function () {
      const [deployer] = await ethers.getSigners();
      const registry = await ethers.deployContract("MerchantRegistry", [0, deployer.address]);
      expect(await registry.defaultAdminDelay()).to.equal(0n);
      expect(await registry.defaultAdmin()).to.equal(deployer.address);
    });
  });

  describe("access matrix", function () {
    // Each group of gated calls, and the error (with its arguments) a caller outside `allowed` gets.
    const REFUSALS = [
      {
        calls: REGISTRAR_CALLS,
        error: "AccessControlUnauthorizedAccount",
        label: (role: Role) => `AccessControlUnauthorizedAccount(${role}, REGISTRAR_ROLE)`,
        args: (_f: MerchantFixture, caller: HardhatEthersSigner) => [caller.address, REGISTRAR_ROLE],
      },
      {
        calls: OWNER_CALLS,
        error: "NotMerchantOwner",
        label: (role: Role) => `NotMerchantOwner(id, ${role})`,
        args: (f: MerchantFixture, caller: HardhatEthersSigner) => [f.merchantId, caller.address],
      },
      {
        calls: ADMIN_CALLS,
        error: "AccessControlUnauthorizedAccount",
        label: (role: Role) => `AccessControlUnauthorizedAccount(${role}, DEFAULT_ADMIN_ROLE)`,
        args: (_f: MerchantFixture, caller: HardhatEthersSigner) => [caller.address, DEFAULT_ADMIN_ROLE],
      },
    ];

    for (const { calls, error, label, args } of REFUSALS) {
      for (const gated of calls) {
        for (const role of ALL_ROLES.filter((r) => !gated.allowed.includes(r))) {
          it(`${gated.name} by ${role}: ${label(role)}`, async function () {
            const f = await loadFixture(gated.fixture);
            const caller = f[role];
            await expect(gated.invoke(f.registry.connect(caller), f))
              .to.be.revertedWithCustomError(f.registry, error)
              .withArgs(...args(f, caller));
          });
        }
      }
    }

    for (const gated of [...REGISTRAR_CALLS, ...OWNER_CALLS, ...ADMIN_CALLS]) {
      for (const role of gated.allowed) {
        it(`${gated.name} by ${role}: succeeds (control)`, async function () {
          const f = await loadFixture(gated.fixture);
          await expect(gated.invoke(f.registry.connect(f[role]), f)).not.to.be.reverted;
        });
      }
    }

    it("checks the registrar role before the merchant id and the arguments", async function () {
      const { registry, stranger } = await loadFixture(activeMerchantFixture);
      const attempts = [
        () =>
          registry
            .connect(stranger)
            .registerMerchant(ethers.ZeroAddress, ethers.ZeroAddress, 65_535, 0, 0, ethers.ZeroHash),
        () => registry.connect(stranger).setTerms(UNKNOWN_ID, 65_535, 0, 0),
        () => registry.connect(stranger).suspend(UNKNOWN_ID),
        () => registry.connect(stranger).reactivate(UNKNOWN_ID),
        () => registry.connect(stranger).close(UNKNOWN_ID),
      ];
      for (const attempt of attempts) {
        await expect(attempt())
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, REGISTRAR_ROLE);
      }
    });
  });

  describe("REGISTRAR_ROLE management", function () {
    it("admin grants the role (RoleGranted) and the grantee can onboard", async function () {
      const { registry, admin, merchantOwner, payout, others } = await loadFixture(deployRegistryFixture);
      const newRegistrar = others[0];
      await expect(registry.connect(admin).grantRole(REGISTRAR_ROLE, newRegistrar.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(REGISTRAR_ROLE, newRegistrar.address, admin.address);
      await expect(register(registry.connect(newRegistrar), registration({ merchantOwner, payout }))).to.emit(
        registry,
        "MerchantRegistered",
      );
    });

    it("admin can make itself a registrar", async function () {
      const { registry, admin, merchantOwner, payout } = await loadFixture(deployRegistryFixture);
      await registry.connect(admin).grantRole(REGISTRAR_ROLE, admin.address);
      await expect(register(registry.connect(admin), registration({ merchantOwner, payout })))
        .to.emit(registry, "MerchantRegistered")
        .withArgs(...registeredArgs(1n, registration({ merchantOwner, payout })));
    });

    it("admin revokes the role (RoleRevoked) and the former registrar loses every registrar power", async function () {
      const { registry, admin, registrar, merchantId } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(admin).revokeRole(REGISTRAR_ROLE, registrar.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(REGISTRAR_ROLE, registrar.address, admin.address);
      await expect(registry.connect(registrar).suspend(merchantId))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, REGISTRAR_ROLE);
      await expectNotMerchantOwner(registry, merchantId, registrar, [
        (r) => r.setMetadata(merchantId, ethers.ZeroHash),
      ]);
    });

    it("a registrar can renounce its own role but not someone else's", async function () {
      const { registry, registrar, stranger } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(stranger).renounceRole(REGISTRAR_ROLE, registrar.address))
        .to.be.revertedWithCustomError(registry, "AccessControlBadConfirmation")
        .withArgs();
      await expect(registry.connect(registrar).renounceRole(REGISTRAR_ROLE, registrar.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(REGISTRAR_ROLE, registrar.address, registrar.address);
      expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(false);
    });

    it("DEFAULT_ADMIN_ROLE cannot be granted or revoked directly", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(admin).grantRole(DEFAULT_ADMIN_ROLE, others[0].address))
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminRules")
        .withArgs();
      await expect(registry.connect(admin).revokeRole(DEFAULT_ADMIN_ROLE, admin.address))
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminRules")
        .withArgs();
    });
  });

  describe("FX_QUOTER_ROLE management", function () {
    it("is keccak256('FX_QUOTER_ROLE'), administered by the default admin, and held by nobody at deployment", async function () {
      const { registry, admin, registrar } = await loadFixture(deployRegistryFixture);
      expect(await registry.FX_QUOTER_ROLE()).to.equal(FX_QUOTER_ROLE);
      expect(await registry.getRoleAdmin(FX_QUOTER_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      for (const account of [admin, registrar]) {
        expect(await registry.hasRole(FX_QUOTER_ROLE, account.address)).to.equal(false);
      }
    });

    it("admin grants the role (RoleGranted) and revokes it (RoleRevoked); hasRole follows", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      const quoter = others[0];
      await expect(registry.connect(admin).grantRole(FX_QUOTER_ROLE, quoter.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(FX_QUOTER_ROLE, quoter.address, admin.address);
      expect(await registry.hasRole(FX_QUOTER_ROLE, quoter.address)).to.equal(true);
      await expect(registry.connect(admin).revokeRole(FX_QUOTER_ROLE, quoter.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(FX_QUOTER_ROLE, quoter.address, admin.address);
      expect(await registry.hasRole(FX_QUOTER_ROLE, quoter.address)).to.equal(false);
    });

    it("neither a registrar nor a quoter can grant or revoke it", async function () {
      const { registry, admin, registrar, others } = await loadFixture(deployRegistryFixture);
      const [quoter, candidate] = others;
      await registry.connect(admin).grantRole(FX_QUOTER_ROLE, quoter.address);
      for (const caller of [registrar, quoter]) {
        await expect(registry.connect(caller).grantRole(FX_QUOTER_ROLE, candidate.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
        await expect(registry.connect(caller).revokeRole(FX_QUOTER_ROLE, quoter.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
    });

    it("gives no registrar power: a quoter cannot onboard or suspend", async function () {
      const { registry, admin, merchantOwner, payout, others, merchantId } = await loadFixture(activeMerchantFixture);
      const quoter = others[0];
      await registry.connect(admin).grantRole(FX_QUOTER_ROLE, quoter.address);
      await expect(register(registry.connect(quoter), registration({ merchantOwner, payout })))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(quoter.address, REGISTRAR_ROLE);
      await expect(registry.connect(quoter).suspend(merchantId))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(quoter.address, REGISTRAR_ROLE);
    });

    it("a quoter can renounce its own role", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      const quoter = others[0];
      await registry.connect(admin).grantRole(FX_QUOTER_ROLE, quoter.address);
      await expect(registry.connect(quoter).renounceRole(FX_QUOTER_ROLE, quoter.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(FX_QUOTER_ROLE, quoter.address, quoter.address);
      expect(await registry.hasRole(FX_QUOTER_ROLE, quoter.address)).to.equal(false);
    });
  });

  describe("two-step default admin transfer", function () {
    async function beginTransfer(registry: MerchantRegistry, admin: HardhatEthersSigner, newAdmin: string) {
      await registry.connect(admin).beginDefaultAdminTransfer(newAdmin);
      return BigInt(await time.latest()) + BigInt(ADMIN_DELAY);
    }

    it("schedules the transfer and emits DefaultAdminTransferScheduled", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      const newAdmin = others[0];
      const beganAt = BigInt(await time.latest()) + 10n;
      const schedule = beganAt + BigInt(ADMIN_DELAY);
      await time.setNextBlockTimestamp(beganAt);
      await expect(registry.connect(admin).beginDefaultAdminTransfer(newAdmin.address))
        .to.emit(registry, "DefaultAdminTransferScheduled")
        .withArgs(newAdmin.address, schedule);
      expect(await registry.pendingDefaultAdmin()).to.deep.equal([newAdmin.address, schedule]);
      expect(await registry.defaultAdmin()).to.equal(admin.address);
    });

    it("cannot be accepted by anyone but the pending admin", async function () {
      const { registry, admin, registrar, stranger, others } = await loadFixture(deployRegistryFixture);
      const schedule = await beginTransfer(registry, admin, others[0].address);
      await time.increaseTo(schedule + 1n);
      for (const caller of [admin, registrar, stranger, others[1]]) {
        await expect(registry.connect(caller).acceptDefaultAdminTransfer())
          .to.be.revertedWithCustomError(registry, "AccessControlInvalidDefaultAdmin")
          .withArgs(caller.address);
      }
    });

    it("cannot be accepted until the delay has passed (schedule itself is too early)", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      const newAdmin = others[0];
      const schedule = await beginTransfer(registry, admin, newAdmin.address);

      await expect(registry.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.setNextBlockTimestamp(schedule);
      await expect(registry.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      expect(await registry.defaultAdmin()).to.equal(admin.address);
    });

    it("hands every admin power over after the delay and leaves registrars and merchants alone", async function () {
      const { registry, admin, registrar, merchantId, merchantOwner, others } =
        await loadFixture(activeMerchantFixture);
      const [newAdmin, candidate] = others;
      const schedule = await beginTransfer(registry, admin, newAdmin.address);
      await time.setNextBlockTimestamp(schedule + 1n);

      await expect(registry.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.emit(registry, "RoleRevoked")
        .withArgs(DEFAULT_ADMIN_ROLE, admin.address, newAdmin.address)
        .and.to.emit(registry, "RoleGranted")
        .withArgs(DEFAULT_ADMIN_ROLE, newAdmin.address, newAdmin.address);

      expect(await registry.defaultAdmin()).to.equal(newAdmin.address);
      expect(await registry.owner()).to.equal(newAdmin.address);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(false);
      expect(await registry.pendingDefaultAdmin()).to.deep.equal([ethers.ZeroAddress, 0n]);

      await expect(registry.connect(admin).grantRole(REGISTRAR_ROLE, candidate.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, DEFAULT_ADMIN_ROLE);
      await expect(registry.connect(newAdmin).grantRole(REGISTRAR_ROLE, candidate.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(REGISTRAR_ROLE, candidate.address, newAdmin.address);

      expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(true);
      await expect(registry.connect(registrar).suspend(merchantId))
        .to.emit(registry, "MerchantStatusChanged")
        .withArgs(merchantId, MerchantStatus.Active, MerchantStatus.Suspended);
      expect((await registry.getMerchant(merchantId)).owner).to.equal(merchantOwner.address);
    });

    it("can be cancelled (DefaultAdminTransferCanceled), after which nobody can accept", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      const newAdmin = others[0];
      const schedule = await beginTransfer(registry, admin, newAdmin.address);
      await expect(registry.connect(admin).cancelDefaultAdminTransfer()).to.emit(
        registry,
        "DefaultAdminTransferCanceled",
      );
      await time.increaseTo(schedule + 1n);
      await expect(registry.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(registry, "AccessControlInvalidDefaultAdmin")
        .withArgs(newAdmin.address);
      expect(await registry.defaultAdmin()).to.equal(admin.address);
    });

    it("a new begin replaces the pending admin and restarts the clock", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      const [first, second] = others;
      const firstSchedule = await beginTransfer(registry, admin, first.address);
      await time.increase(ONE_DAY);
      await expect(registry.connect(admin).beginDefaultAdminTransfer(second.address))
        .to.emit(registry, "DefaultAdminTransferCanceled")
        .and.to.emit(registry, "DefaultAdminTransferScheduled");
      const secondSchedule = BigInt(await time.latest()) + BigInt(ADMIN_DELAY);
      expect(await registry.pendingDefaultAdmin()).to.deep.equal([second.address, secondSchedule]);

      await time.increaseTo(firstSchedule + 1n);
      await expect(registry.connect(first).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(registry, "AccessControlInvalidDefaultAdmin")
        .withArgs(first.address);
      await expect(registry.connect(second).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(secondSchedule);
      await time.increaseTo(secondSchedule + 1n);
      await registry.connect(second).acceptDefaultAdminTransfer();
      expect(await registry.defaultAdmin()).to.equal(second.address);
    });

    it("the admin can renounce only through a scheduled transfer to zero", async function () {
      const { registry, admin } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address))
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(0n);
      const schedule = await beginTransfer(registry, admin, ethers.ZeroAddress);
      await expect(registry.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address))
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await registry.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address);
      expect(await registry.defaultAdmin()).to.equal(ethers.ZeroAddress);
    });
  });

  describe("admin delay changes", function () {
    it("a shorter delay takes effect after the difference and then governs transfers", async function () {
      const { registry, admin, others } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(admin).changeDefaultAdminDelay(ONE_DAY)).to.emit(
        registry,
        "DefaultAdminDelayChangeScheduled",
      );
      const effect = BigInt(await time.latest()) + BigInt(ADMIN_DELAY - ONE_DAY);
      expect(await registry.pendingDefaultAdminDelay()).to.deep.equal([BigInt(ONE_DAY), effect]);
      expect(await registry.defaultAdminDelay()).to.equal(BigInt(ADMIN_DELAY));

      await time.increaseTo(effect + 1n);
      expect(await registry.defaultAdminDelay()).to.equal(BigInt(ONE_DAY));

      await registry.connect(admin).beginDefaultAdminTransfer(others[0].address);
      const schedule = BigInt(await time.latest()) + BigInt(ONE_DAY);
      expect((await registry.pendingDefaultAdmin())[1]).to.equal(schedule);
    });

    it("a pending delay change can be rolled back (DefaultAdminDelayChangeCanceled)", async function () {
      const { registry, admin } = await loadFixture(deployRegistryFixture);
      await registry.connect(admin).changeDefaultAdminDelay(ONE_DAY);
      await expect(registry.connect(admin).rollbackDefaultAdminDelay()).to.emit(
        registry,
        "DefaultAdminDelayChangeCanceled",
      );
      expect(await registry.pendingDefaultAdminDelay()).to.deep.equal([0n, 0n]);
      await time.increase(ADMIN_DELAY);
      expect(await registry.defaultAdminDelay()).to.equal(BigInt(ADMIN_DELAY));
    });
  });
});
