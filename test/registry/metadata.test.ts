import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULTS,
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  UNKNOWN_ID,
  activeMerchantFixture,
  closedMerchantFixture,
  expectNotMerchantOwner,
} from "./fixtures";

const NEW_METADATA = ethers.id("ipfs://merchant-1-profile-v2");

describe("MerchantRegistry: setMetadata", function () {
  for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS.filter(
    (f) => f.status !== MerchantStatus.Closed,
  )) {
    for (const who of ["merchantOwner", "registrar"] as const) {
      it(`lets the ${who} set the metadata of a ${name} merchant`, async function () {
        const f = await loadFixture(fixture);
        const { registry, merchantId, merchantOwner, payout } = f;
        await expect(registry.connect(f[who]).setMetadata(merchantId, NEW_METADATA))
          .to.emit(registry, "MerchantMetadataUpdated")
          .withArgs(merchantId, NEW_METADATA);

        const merchant = await registry.getMerchant(merchantId);
        expect(merchant.metadata).to.equal(NEW_METADATA);
        expect(merchant.owner).to.equal(merchantOwner.address);
        expect(merchant.payout).to.equal(payout.address);
        expect(merchant.status).to.equal(status);
        expect(merchant.feeBps).to.equal(BigInt(DEFAULTS.feeBps));
        expect(merchant.minHold).to.equal(BigInt(DEFAULTS.minHold));
        expect(merchant.maxHold).to.equal(BigInt(DEFAULTS.maxHold));
      });
    }
  }

  it("allows clearing the metadata to zero", async function () {
    const { registry, merchantId, merchantOwner } = await loadFixture(activeMerchantFixture);
    await expect(registry.connect(merchantOwner).setMetadata(merchantId, ethers.ZeroHash))
      .to.emit(registry, "MerchantMetadataUpdated")
      .withArgs(merchantId, ethers.ZeroHash);
    expect((await registry.getMerchant(merchantId)).metadata).to.equal(ethers.ZeroHash);
  });

  it("reverts with NotMerchantOwner for the admin, the payout address and strangers", async function () {
    const { registry, merchantId, admin, payout, stranger } = await loadFixture(activeMerchantFixture);
    for (const caller of [admin, payout, stranger]) {
      await expectNotMerchantOwner(registry, merchantId, caller, [(r) => r.setMetadata(merchantId, NEW_METADATA)]);
    }
  });

  it("reverts with MerchantClosed for a Closed merchant, for the owner key and the registrar", async function () {
    const { registry, merchantId, merchantOwner, registrar } = await loadFixture(closedMerchantFixture);
    for (const caller of [merchantOwner, registrar]) {
      await expect(registry.connect(caller).setMetadata(merchantId, NEW_METADATA))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
    }
  });

  it("checks the caller before the Closed status", async function () {
    const { registry, merchantId, stranger } = await loadFixture(closedMerchantFixture);
    await expectNotMerchantOwner(registry, merchantId, stranger, [(r) => r.setMetadata(merchantId, NEW_METADATA)]);
  });

  for (const id of [0n, 2n, UNKNOWN_ID]) {
    it(`reverts with UnknownMerchant for id ${id}, whoever calls`, async function () {
      const { registry, merchantOwner, registrar, stranger } = await loadFixture(activeMerchantFixture);
      for (const caller of [merchantOwner, registrar, stranger]) {
        await expect(registry.connect(caller).setMetadata(id, NEW_METADATA))
          .to.be.revertedWithCustomError(registry, "UnknownMerchant")
          .withArgs(id);
      }
    });
  }
});
