import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULT_FEE_BPS,
  DEFAULT_HOLD_PERIOD,
  DEFAULT_METADATA,
  MAX_FEE_BPS,
  MAX_HOLD_PERIOD,
  MIN_HOLD_PERIOD,
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  UNKNOWN_ID,
  activeMerchantFixture,
  closedMerchantFixture,
  register,
  registration,
} from "./fixtures";

describe("MerchantRegistry: setTerms", function () {
  for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS.filter(
    (f) => f.status !== MerchantStatus.Closed,
  )) {
    it(`lets the registrar change the fee and hold period of a ${name} merchant`, async function () {
      const { registry, registrar, merchantId, merchantOwner, payout } = await loadFixture(fixture);
      await expect(registry.connect(registrar).setTerms(merchantId, 500, 2 * DEFAULT_HOLD_PERIOD))
        .to.emit(registry, "MerchantTermsUpdated")
        .withArgs(merchantId, 500, 2 * DEFAULT_HOLD_PERIOD);

      expect(await registry.terms(merchantId)).to.deep.equal([
        status,
        500n,
        BigInt(2 * DEFAULT_HOLD_PERIOD),
        merchantOwner.address,
      ]);
      const merchant = await registry.getMerchant(merchantId);
      expect(merchant.payout).to.equal(payout.address);
      expect(merchant.metadata).to.equal(DEFAULT_METADATA);
    });
  }

  it("only touches the merchant it names", async function () {
    const { registry, registrar, merchantId, others } = await loadFixture(activeMerchantFixture);
    await register(registry.connect(registrar), registration({ merchantOwner: others[0], payout: others[1] }));
    await registry.connect(registrar).setTerms(2n, 0, MIN_HOLD_PERIOD);
    const first = await registry.terms(merchantId);
    expect(first.feeBps).to.equal(BigInt(DEFAULT_FEE_BPS));
    expect(first.holdPeriod).to.equal(BigInt(DEFAULT_HOLD_PERIOD));
  });

  it("accepts unchanged terms and emits", async function () {
    const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
    await expect(registry.connect(registrar).setTerms(merchantId, DEFAULT_FEE_BPS, DEFAULT_HOLD_PERIOD))
      .to.emit(registry, "MerchantTermsUpdated")
      .withArgs(merchantId, DEFAULT_FEE_BPS, DEFAULT_HOLD_PERIOD);
  });

  describe("bounds", function () {
    for (const fee of [0, MAX_FEE_BPS]) {
      it(`accepts a fee of ${fee}`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, fee, DEFAULT_HOLD_PERIOD))
          .to.emit(registry, "MerchantTermsUpdated")
          .withArgs(merchantId, fee, DEFAULT_HOLD_PERIOD);
        expect((await registry.terms(merchantId)).feeBps).to.equal(BigInt(fee));
      });
    }

    for (const fee of [MAX_FEE_BPS + 1, 65_535]) {
      it(`reverts with FeeTooHigh for a fee of ${fee}`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, fee, DEFAULT_HOLD_PERIOD))
          .to.be.revertedWithCustomError(registry, "FeeTooHigh")
          .withArgs(fee, MAX_FEE_BPS);
      });
    }

    for (const hold of [MIN_HOLD_PERIOD, MAX_HOLD_PERIOD]) {
      it(`accepts a hold period of exactly ${hold}s`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, DEFAULT_FEE_BPS, hold))
          .to.emit(registry, "MerchantTermsUpdated")
          .withArgs(merchantId, DEFAULT_FEE_BPS, hold);
        expect((await registry.terms(merchantId)).holdPeriod).to.equal(BigInt(hold));
      });
    }

    for (const hold of [0, MIN_HOLD_PERIOD - 1, MAX_HOLD_PERIOD + 1, 2 ** 32 - 1]) {
      it(`reverts with HoldPeriodOutOfRange for a hold period of ${hold}s`, async function () {
        const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
        await expect(registry.connect(registrar).setTerms(merchantId, DEFAULT_FEE_BPS, hold))
          .to.be.revertedWithCustomError(registry, "HoldPeriodOutOfRange")
          .withArgs(hold, MIN_HOLD_PERIOD, MAX_HOLD_PERIOD);
      });
    }

    it("checks the fee before the hold period", async function () {
      const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
      await expect(registry.connect(registrar).setTerms(merchantId, MAX_FEE_BPS + 1, 0))
        .to.be.revertedWithCustomError(registry, "FeeTooHigh")
        .withArgs(MAX_FEE_BPS + 1, MAX_FEE_BPS);
    });
  });

  it("reverts with MerchantClosed for a Closed merchant, before checking the terms", async function () {
    const { registry, registrar, merchantId } = await loadFixture(closedMerchantFixture);
    for (const [fee, hold] of [
      [DEFAULT_FEE_BPS, DEFAULT_HOLD_PERIOD],
      [MAX_FEE_BPS + 1, 0],
    ]) {
      await expect(registry.connect(registrar).setTerms(merchantId, fee, hold))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
    }
  });

  for (const id of [0n, 2n, UNKNOWN_ID]) {
    it(`reverts with UnknownMerchant for id ${id}, before checking the terms`, async function () {
      const { registry, registrar } = await loadFixture(activeMerchantFixture);
      for (const [fee, hold] of [
        [DEFAULT_FEE_BPS, DEFAULT_HOLD_PERIOD],
        [MAX_FEE_BPS + 1, 0],
      ]) {
        await expect(registry.connect(registrar).setTerms(id, fee, hold))
          .to.be.revertedWithCustomError(registry, "UnknownMerchant")
          .withArgs(id);
      }
    });
  }
});
