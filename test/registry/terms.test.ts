import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  ACCEPTED_HOLD_BOUNDS,
  DEFAULTS,
  LIMITS,
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  ONE_DAY,
  REJECTED_HOLD_BOUNDS,
  UNKNOWN_ID,
  activeMerchantFixture,
  closedMerchantFixture,
  expectMerchant,
  holdBoundsError,
  register,
  registration,
} from "./fixtures";

/** A valid and an out-of-bounds (fee, minHold, maxHold): checks that must come first fire on both. */
const VALID_AND_INVALID_TERMS = [
  [DEFAULTS.feeBps, DEFAULTS.minHold, DEFAULTS.maxHold],
  [LIMITS.maxFeeBps + 1, 0, 0],
  [DEFAULTS.feeBps, DEFAULTS.maxHold, DEFAULTS.minHold],
] as const;

describe("MerchantRegistry: setTerms", function () {
  for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS.filter(
    (f) => f.status !== MerchantStatus.Closed,
  )) {
    it(`lets the registrar change the fee and both hold bounds of a ${name} merchant`, async function () {
      const { registry, registrar, merchantId, merchantOwner, payout } = await loadFixture(fixture);
      const [minHold, maxHold] = [2 * DEFAULTS.minHold, 2 * DEFAULTS.maxHold];
      await expect(registry.connect(registrar).setTerms(merchantId, 500, minHold, maxHold))
        .to.emit(registry, "MerchantTermsUpdated")
        .withArgs(merchantId, 500, minHold, maxHold);

      await expectMerchant(registry, merchantId, {
        status,
        owner: merchantOwner.address,
        payout: payout.address,
        feeBps: 500,
        minHold,
        maxHold,
      });
    });
  }

  it("only touches the merchant it names", async function () {
    const { registry, registrar, merchantId, merchantOwner, payout, others } = await loadFixture(activeMerchantFixture);
    await register(registry.connect(registrar), registration({ merchantOwner: others[0], payout: others[1] }));
    await registry.connect(registrar).setTerms(2n, 0, LIMITS.minHoldPeriod, LIMITS.maxHoldPeriod);
    await expectMerchant(registry, merchantId, {
      status: MerchantStatus.Active,
      owner: merchantOwner.address,
      payout: payout.address,
    });
    await expectMerchant(registry, 2n, {
      status: MerchantStatus.Active,
      owner: others[0].address,
      payout: others[1].address,
      feeBps: 0,
      minHold: LIMITS.minHoldPeriod,
      maxHold: LIMITS.maxHoldPeriod,
    });
  });

  it("accepts unchanged terms and emits", async function () {
    const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
    await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, DEFAULTS.minHold, DEFAULTS.maxHold))
      .to.emit(registry, "MerchantTermsUpdated")
      .withArgs(merchantId, DEFAULTS.feeBps, DEFAULTS.minHold, DEFAULTS.maxHold);
  });

  it("overwrites every bit of the previous bounds and fee, downwards and upwards", async function () {
    const { registry, registrar, merchantId, merchantOwner, payout } = await loadFixture(activeMerchantFixture);
    const steps = [
      { feeBps: LIMITS.maxFeeBps, minHold: LIMITS.maxHoldPeriod, maxHold: LIMITS.maxHoldPeriod },
      { feeBps: 0, minHold: LIMITS.minHoldPeriod, maxHold: LIMITS.minHoldPeriod },
      { feeBps: LIMITS.maxFeeBps, minHold: LIMITS.minHoldPeriod, maxHold: LIMITS.maxHoldPeriod },
      { feeBps: 1, minHold: LIMITS.maxHoldPeriod - 1, maxHold: LIMITS.maxHoldPeriod - 1 },
    ];
    for (const step of steps) {
      await expect(registry.connect(registrar).setTerms(merchantId, step.feeBps, step.minHold, step.maxHold))
        .to.emit(registry, "MerchantTermsUpdated")
        .withArgs(merchantId, step.feeBps, step.minHold, step.maxHold);
      await expectMerchant(registry, merchantId, {
        status: MerchantStatus.Active,
        owner: merchantOwner.address,
        payout: payout.address,
        ...step,
      });
    }
  });

  describe("bounds", function () {
    for (const fee of [0, LIMITS.maxFeeBps]) {
      it(`accepts a fee of ${fee}`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, fee, DEFAULTS.minHold, DEFAULTS.maxHold))
          .to.emit(registry, "MerchantTermsUpdated")
          .withArgs(merchantId, fee, DEFAULTS.minHold, DEFAULTS.maxHold);
        expect((await registry.terms(merchantId)).feeBps).to.equal(BigInt(fee));
      });
    }

    for (const fee of [LIMITS.maxFeeBps + 1, 65_535]) {
      it(`reverts with FeeTooHigh for a fee of ${fee}`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, fee, DEFAULTS.minHold, DEFAULTS.maxHold))
          .to.be.revertedWithCustomError(registry, "FeeTooHigh")
          .withArgs(fee, LIMITS.maxFeeBps);
      });
    }

    for (const { title, minHold, maxHold } of ACCEPTED_HOLD_BOUNDS) {
      it(`accepts ${title} and stores and emits both bounds`, async function () {
        const { registry, registrar, merchantId, merchantOwner, payout } = await loadFixture(activeMerchantFixture);
        // A fee other than the registered one, so that every case changes the record.
        await expect(registry.connect(registrar).setTerms(merchantId, LIMITS.maxFeeBps, minHold, maxHold))
          .to.emit(registry, "MerchantTermsUpdated")
          .withArgs(merchantId, LIMITS.maxFeeBps, minHold, maxHold);
        await expectMerchant(registry, merchantId, {
          status: MerchantStatus.Active,
          owner: merchantOwner.address,
          payout: payout.address,
          feeBps: LIMITS.maxFeeBps,
          minHold,
          maxHold,
        });
      });
    }

    for (const bounds of REJECTED_HOLD_BOUNDS) {
      it(`reverts with HoldBoundsOutOfRange for ${bounds.title} (${bounds.minHold}s, ${bounds.maxHold}s)`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, bounds.minHold, bounds.maxHold))
          .to.be.revertedWithCustomError(registry, "HoldBoundsOutOfRange")
          .withArgs(...holdBoundsError(bounds));
      });
    }

    it("judges new bounds on their own, not against the registered ones", async function () {
      const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
      // New bounds wholly above, then wholly below, the registered [DEFAULTS.minHold, DEFAULTS.maxHold].
      await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, 15 * ONE_DAY, 20 * ONE_DAY))
        .to.emit(registry, "MerchantTermsUpdated")
        .withArgs(merchantId, DEFAULTS.feeBps, 15 * ONE_DAY, 20 * ONE_DAY);
      const [minHold, maxHold] = [LIMITS.minHoldPeriod, 2 * LIMITS.minHoldPeriod];
      await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, minHold, maxHold))
        .to.emit(registry, "MerchantTermsUpdated")
        .withArgs(merchantId, DEFAULTS.feeBps, minHold, maxHold);
    });

    it("checks the fee before the hold bounds", async function () {
      const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(registrar).setTerms(merchantId, LIMITS.maxFeeBps + 1, 0, 0))
        .to.be.revertedWithCustomError(registry, "FeeTooHigh")
        .withArgs(LIMITS.maxFeeBps + 1, LIMITS.maxFeeBps);
    });
  });

  it("reverts with MerchantClosed for a Closed merchant, before checking the terms", async function () {
    const { registry, registrar, merchantId } = await loadFixture(closedMerchantFixture);
    for (const [fee, minHold, maxHold] of VALID_AND_INVALID_TERMS) {
      await expect(registry.connect(registrar).setTerms(merchantId, fee, minHold, maxHold))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
    }
  });

  for (const id of [0n, 2n, UNKNOWN_ID]) {
    it(`reverts with UnknownMerchant for id ${id}, before checking the terms`, async function () {
      const { registry, registrar } = await loadFixture(activeMerchantFixture);
      for (const [fee, minHold, maxHold] of VALID_AND_INVALID_TERMS) {
        await expect(registry.connect(registrar).setTerms(id, fee, minHold, maxHold))
          .to.be.revertedWithCustomError(registry, "UnknownMerchant")
          .withArgs(id);
      }
    });
  }
});
