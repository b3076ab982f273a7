import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULTS,
  LIMITS,
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  UNKNOWN_ID,
  activeMerchantFixture,
  closedMerchantFixture,
  register,
  registration,
} from "./fixtures";

/** A valid and an out-of-bounds (fee, hold period): checks that must come first fire on both. */
const VALID_AND_INVALID_TERMS = [
  [DEFAULTS.feeBps, DEFAULTS.holdPeriod],
  [LIMITS.maxFeeBps + 1, 0],
];

describe("MerchantRegistry: setTerms", function () {
  for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS.filter(
    (f) => f.status !== MerchantStatus.Closed,
  )) {
    it(`lets the registrar change the fee and hold period of a ${name} merchant`, async function () {
      const { registry, registrar, merchantId, merchantOwner, payout } = await loadFixture(fixture);
      await expect(registry.connect(registrar).setTerms(merchantId, 500, 2 * DEFAULTS.holdPeriod))
        .to.emit(registry, "MerchantTermsUpdated")
        .withArgs(merchantId, 500, 2 * DEFAULTS.holdPeriod);

      expect(await registry.terms(merchantId)).to.deep.equal([
        status,
        500n,
        BigInt(2 * DEFAULTS.holdPeriod),
        merchantOwner.address,
      ]);
      const merchant = await registry.getMerchant(merchantId);
      expect(merchant.payout).to.equal(payout.address);
      expect(merchant.metadata).to.equal(DEFAULTS.metadata);
    });
  }

  it("only touches the merchant it names", async function () {
    const { registry, registrar, merchantId, others } = await loadFixture(activeMerchantFixture);
    await register(registry.connect(registrar), registration({ merchantOwner: others[0], payout: others[1] }));
    await registry.connect(registrar).setTerms(2n, 0, LIMITS.minHoldPeriod);
    const first = await registry.terms(merchantId);
    expect(first.feeBps).to.equal(BigInt(DEFAULTS.feeBps));
    expect(first.holdPeriod).to.equal(BigInt(DEFAULTS.holdPeriod));
  });

  it("accepts unchanged terms and emits", async function () {
    const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
    await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, DEFAULTS.holdPeriod))
      .to.emit(registry, "MerchantTermsUpdated")
      .withArgs(merchantId, DEFAULTS.feeBps, DEFAULTS.holdPeriod);
  });

  describe("bounds", function () {
    for (const fee of [0, LIMITS.maxFeeBps]) {
      it(`accepts a fee of ${fee}`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, fee, DEFAULTS.holdPeriod))
          .to.emit(registry, "MerchantTermsUpdated")
          .withArgs(merchantId, fee, DEFAULTS.holdPeriod);
        expect((await registry.terms(merchantId)).feeBps).to.equal(BigInt(fee));
      });
    }

    for (const fee of [LIMITS.maxFeeBps + 1, 65_535]) {
      it(`reverts with FeeTooHigh for a fee of ${fee}`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, fee, DEFAULTS.holdPeriod))
          .to.be.revertedWithCustomError(registry, "FeeTooHigh")
          .withArgs(fee, LIMITS.maxFeeBps);
      });
    }

    for (const hold of [LIMITS.minHoldPeriod, LIMITS.maxHoldPeriod]) {
      it(`accepts a hold period of exactly ${hold}s`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, hold))
          .to.emit(registry, "MerchantTermsUpdated")
          .withArgs(merchantId, DEFAULTS.feeBps, hold);
        expect((await registry.terms(merchantId)).holdPeriod).to.equal(BigInt(hold));
      });
    }

    for (const hold of [0, LIMITS.minHoldPeriod - 1, LIMITS.maxHoldPeriod + 1, 2 ** 32 - 1]) {
      it(`reverts with HoldPeriodOutOfRange for a hold period of ${hold}s`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, DEFAULTS.feeBps, hold))
          .to.be.revertedWithCustomError(registry, "HoldPeriodOutOfRange")
          .withArgs(hold, LIMITS.minHoldPeriod, LIMITS.maxHoldPeriod);
      });
    }

    it("checks the fee before the hold period", async function () {
      const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(registrar).setTerms(merchantId, LIMITS.maxFeeBps + 1, 0))
        .to.be.revertedWithCustomError(registry, "FeeTooHigh")
        .withArgs(LIMITS.maxFeeBps + 1, LIMITS.maxFeeBps);
    });
  });

  it("reverts with MerchantClosed for a Closed merchant, before checking the terms", async function () {
    const { registry, registrar, merchantId } = await loadFixture(closedMerchantFixture);
    for (const [fee, hold] of VALID_AND_INVALID_TERMS) {
      await expect(registry.connect(registrar).setTerms(merchantId, fee, hold))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
    }
  });

  for (const id of [0n, 2n, UNKNOWN_ID]) {
    it(`reverts with UnknownMerchant for id ${id}, before checking the terms`, async function () {
      const { registry, registrar } = await loadFixture(activeMerchantFixture);
      for (const [fee, hold] of VALID_AND_INVALID_TERMS) {
        await expect(registry.connect(registrar).setTerms(id, fee, hold))
          .to.be.revertedWithCustomError(registry, "UnknownMerchant")
          .withArgs(id);
      }
    });
  }
});
