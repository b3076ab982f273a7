import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  ACCEPTED_HOLD_BOUNDS,
  DEFAULTS,
  LIMITS,
  MerchantStatus,
  deployRegistryFixture,
  expectMerchant,
  register,
  REJECTED_HOLD_BOUNDS,
  holdBoundsError,
  registration,
  type Registration,
  registeredArgs,
} from "./fixtures";

/** A fresh registry and a registrar-side `register(overrides)` for merchant 1's registration. */
async function registering() {
  const f = await loadFixture(deployRegistryFixture);
  const as = f.registry.connect(f.registrar);
  return { ...f, register: (overrides: Partial<Registration> = {}) => register(as, registration(f, overrides)) };
}

describe("MerchantRegistry: registerMerchant", function () {
  it("returns sequential ids starting at 1 and counts them", async function () {
    const { registry, registrar, merchantOwner, payout } = await loadFixture(deployRegistryFixture);
    expect(await registry.merchantCount()).to.equal(0n);

    for (const expectedId of [1n, 2n, 3n]) {
      const args = [
        merchantOwner.address,
        payout.address,
        DEFAULTS.feeBps,
        DEFAULTS.minHold,
        DEFAULTS.maxHold,
        DEFAULTS.metadata,
      ] as const;
      expect(await registry.connect(registrar).registerMerchant.staticCall(...args)).to.equal(expectedId);
      await registry.connect(registrar).registerMerchant(...args);
      expect(await registry.merchantCount()).to.equal(expectedId);
    }
  });

  it("stores the full record as Active", async function () {
    const f = await registering();
    await f.register();

    await expectMerchant(f.registry, 1n, {
      status: MerchantStatus.Active,
      owner: f.merchantOwner.address,
      payout: f.payout.address,
    });
  });

  it("emits MerchantRegistered with every field, both hold bounds included", async function () {
    const { registry, merchantOwner, payout, register } = await registering();
    await expect(register())
      .to.emit(registry, "MerchantRegistered")
      .withArgs(...registeredArgs(1n, registration({ merchantOwner, payout })));
  });

  it("keeps merchants independent of each other", async function () {
    const { registry, merchantOwner, others, register } = await registering();
    await register();
    await register({
      owner: others[0].address,
      payout: others[1].address,
      feeBps: 0,
      minHold: LIMITS.minHoldPeriod,
      maxHold: LIMITS.maxHoldPeriod,
      metadata: ethers.ZeroHash,
    });

    expect(await registry.terms(1n)).to.deep.equal([
      MerchantStatus.Active,
      BigInt(DEFAULTS.feeBps),
      BigInt(DEFAULTS.minHold),
      BigInt(DEFAULTS.maxHold),
      merchantOwner.address,
    ]);
    expect(await registry.terms(2n)).to.deep.equal([
      MerchantStatus.Active,
      0n,
      BigInt(LIMITS.minHoldPeriod),
      BigInt(LIMITS.maxHoldPeriod),
      others[0].address,
    ]);
    expect(await registry.payoutOf(2n)).to.equal(others[1].address);
  });

  it("allows one owner key for several merchants, owner == payout, zero fee and zero metadata", async function () {
    const { registry, merchantOwner, register } = await registering();
    for (const id of [1n, 2n]) {
      await expect(register({ payout: merchantOwner.address, feeBps: 0, metadata: ethers.ZeroHash }))
        .to.emit(registry, "MerchantRegistered")
        .withArgs(
          id,
          merchantOwner.address,
          merchantOwner.address,
          0,
          DEFAULTS.minHold,
          DEFAULTS.maxHold,
          ethers.ZeroHash,
        );
    }
  });

  describe("validation", function () {
    for (const field of ["owner", "payout"] as const) {
      it(`reverts with ZeroAddress for a zero ${field}`, async function () {
        const { registry, register } = await registering();
        await expect(register({ [field]: ethers.ZeroAddress }))
          .to.be.revertedWithCustomError(registry, "ZeroAddress")
          .withArgs();
      });
    }

    it("accepts a fee of exactly MAX_FEE_BPS", async function () {
      const f = await registering();
      const r = registration(f, { feeBps: LIMITS.maxFeeBps });
      await expect(register(f.registry.connect(f.registrar), r))
        .to.emit(f.registry, "MerchantRegistered")
        .withArgs(...registeredArgs(1n, r));
      await expectMerchant(f.registry, 1n, {
        status: MerchantStatus.Active,
        owner: f.merchantOwner.address,
        payout: f.payout.address,
        feeBps: LIMITS.maxFeeBps,
      });
    });

    for (const { title, minHold, maxHold } of ACCEPTED_HOLD_BOUNDS) {
      it(`accepts ${title} and stores and emits both bounds`, async function () {
        const f = await registering();
        const r = registration(f, { minHold, maxHold });
        await expect(register(f.registry.connect(f.registrar), r))
          .to.emit(f.registry, "MerchantRegistered")
          .withArgs(
            1n,
            f.merchantOwner.address,
            f.payout.address,
            DEFAULTS.feeBps,
            minHold,
            maxHold,
            DEFAULTS.metadata,
          );
        await expectMerchant(f.registry, 1n, {
          status: MerchantStatus.Active,
          owner: f.merchantOwner.address,
          payout: f.payout.address,
          minHold,
          maxHold,
        });
      });
    }

    for (const fee of [LIMITS.maxFeeBps + 1, 10_000, 65_535]) {
      it(`reverts with FeeTooHigh for a fee of ${fee}`, async function () {
        const { registry, register } = await registering();
        await expect(register({ feeBps: fee }))
          .to.be.revertedWithCustomError(registry, "FeeTooHigh")
          .withArgs(fee, LIMITS.maxFeeBps);
      });
    }

    for (const bounds of REJECTED_HOLD_BOUNDS) {
      it(`reverts with HoldBoundsOutOfRange for ${bounds.title} (${bounds.minHold}s, ${bounds.maxHold}s)`, async function () {
        const { registry, register } = await registering();
        await expect(register({ minHold: bounds.minHold, maxHold: bounds.maxHold }))
          .to.be.revertedWithCustomError(registry, "HoldBoundsOutOfRange")
          .withArgs(...holdBoundsError(bounds));
      });
    }

    it("checks addresses before terms, and the fee before the hold bounds", async function () {
      const { registry, register } = await registering();
      await expect(
        register({ owner: ethers.ZeroAddress, feeBps: LIMITS.maxFeeBps + 1, minHold: 0, maxHold: 0 }),
      ).to.be.revertedWithCustomError(registry, "ZeroAddress");
      await expect(register({ payout: ethers.ZeroAddress, minHold: 1, maxHold: 0 })).to.be.revertedWithCustomError(
        registry,
        "ZeroAddress",
      );
      await expect(register({ feeBps: LIMITS.maxFeeBps + 1, minHold: 0, maxHold: 0 }))
        .to.be.revertedWithCustomError(registry, "FeeTooHigh")
        .withArgs(LIMITS.maxFeeBps + 1, LIMITS.maxFeeBps);
    });

    it("does not consume an id when it reverts", async function () {
      const { registry, merchantOwner, payout, register } = await registering();
      await expect(register({ feeBps: LIMITS.maxFeeBps + 1 })).to.be.revertedWithCustomError(registry, "FeeTooHigh");
      expect(await registry.merchantCount()).to.equal(0n);
      await expect(register())
        .to.emit(registry, "MerchantRegistered")
        .withArgs(...registeredArgs(1n, registration({ merchantOwner, payout })));
    });
  });
});
