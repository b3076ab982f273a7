import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { MerchantRegistry } from "../../typechain-types";
import {
  DEFAULTS,
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  type MerchantStatusValue,
  UNKNOWN_ID,
  activeMerchantFixture,
  closedMerchantFixture,
  expectMerchant,
  register,
  registration,
} from "./fixtures";

type StatusOperation = "suspend" | "reactivate" | "close";

/** Status each operation moves a merchant to. */
const TARGET: Record<StatusOperation, MerchantStatusValue> = {
  suspend: MerchantStatus.Suspended,
  reactivate: MerchantStatus.Active,
  close: MerchantStatus.Closed,
};

/** The allowed transitions; every other (from, operation) pair must revert. */
const ALLOWED: Record<StatusOperation, MerchantStatusValue[]> = {
  suspend: [MerchantStatus.Active],
  reactivate: [MerchantStatus.Suspended],
  close: [MerchantStatus.Active, MerchantStatus.Suspended],
};

const OPERATIONS = Object.keys(TARGET) as StatusOperation[];

function statusName(status: MerchantStatusValue): string {
  return Object.entries(MerchantStatus).find(([, value]) => value === status)?.[0] ?? String(status);
}

function call(registry: MerchantRegistry, operation: StatusOperation, merchantId: bigint) {
  return registry[operation](merchantId);
}

describe("MerchantRegistry: status transitions", function () {
  for (const { name, status: from, fixture } of MERCHANT_FIXTURES_BY_STATUS) {
    for (const operation of OPERATIONS) {
      const to = TARGET[operation];
      if (ALLOWED[operation].includes(from)) {
        it(`${operation}: ${name} -> ${statusName(to)} emits MerchantStatusChanged and changes only the status`, async function () {
          const { registry, registrar, merchantId, merchantOwner, payout } = await loadFixture(fixture);
          await expect(call(registry.connect(registrar), operation, merchantId))
            .to.emit(registry, "MerchantStatusChanged")
            .withArgs(merchantId, from, to);

          await expectMerchant(registry, merchantId, {
            status: to,
            owner: merchantOwner.address,
            payout: payout.address,
          });
        });
      } else {
        it(`${operation}: ${name} reverts with InvalidStatusTransition(id, ${name}, ${statusName(to)})`, async function () {
          const { registry, registrar, merchantId } = await loadFixture(fixture);
          await expect(call(registry.connect(registrar), operation, merchantId))
            .to.be.revertedWithCustomError(registry, "InvalidStatusTransition")
            .withArgs(merchantId, from, to);
          expect((await registry.terms(merchantId)).status).to.equal(from);
        });
      }
    }
  }

  for (const operation of OPERATIONS) {
    for (const id of [0n, 2n, UNKNOWN_ID]) {
      it(`${operation}: reverts with UnknownMerchant for id ${id}`, async function () {
        const { registry, registrar } = await loadFixture(activeMerchantFixture);
        await expect(call(registry.connect(registrar), operation, id))
          .to.be.revertedWithCustomError(registry, "UnknownMerchant")
          .withArgs(id);
      });
    }
  }

  it("goes round Active -> Suspended -> Active -> Suspended -> Closed with one event per step", async function () {
    const { registry, registrar, merchantId } = await loadFixture(activeMerchantFixture);
    const steps: [StatusOperation, MerchantStatusValue, MerchantStatusValue][] = [
      ["suspend", MerchantStatus.Active, MerchantStatus.Suspended],
      ["reactivate", MerchantStatus.Suspended, MerchantStatus.Active],
      ["suspend", MerchantStatus.Active, MerchantStatus.Suspended],
      ["close", MerchantStatus.Suspended, MerchantStatus.Closed],
    ];
    for (const [operation, from, to] of steps) {
      await expect(call(registry.connect(registrar), operation, merchantId))
        .to.emit(registry, "MerchantStatusChanged")
        .withArgs(merchantId, from, to);
      expect((await registry.terms(merchantId)).status).to.equal(to);
    }
  });

  it("changes only the merchant it names", async function () {
    const { registry, registrar, merchantId, others } = await loadFixture(activeMerchantFixture);
    await register(registry.connect(registrar), registration({ merchantOwner: others[0], payout: others[1] }));
    await registry.connect(registrar).close(2n);
    await registry.connect(registrar).suspend(merchantId);
    expect((await registry.terms(merchantId)).status).to.equal(MerchantStatus.Suspended);
    expect((await registry.terms(2n)).status).to.equal(MerchantStatus.Closed);
  });

  describe("Closed is final", function () {
    it("no operation leaves Closed", async function () {
      const { registry, registrar, merchantId } = await loadFixture(closedMerchantFixture);
      for (const operation of OPERATIONS) {
        await expect(call(registry.connect(registrar), operation, merchantId))
          .to.be.revertedWithCustomError(registry, "InvalidStatusTransition")
          .withArgs(merchantId, MerchantStatus.Closed, TARGET[operation]);
      }
    });

    it("freezes terms, metadata and owner key but lets the owner key rotate the payout", async function () {
      const { registry, registrar, merchantId, merchantOwner, payout, others } =
        await loadFixture(closedMerchantFixture);
      await expect(registry.connect(registrar).setTerms(merchantId, 0, DEFAULTS.minHold, DEFAULTS.maxHold))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
      await expect(registry.connect(registrar).setMetadata(merchantId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
      await expect(registry.connect(merchantOwner).setMetadata(merchantId, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
      await expect(registry.connect(merchantOwner).rotateOwner(merchantId, others[0].address))
        .to.be.revertedWithCustomError(registry, "MerchantClosed")
        .withArgs(merchantId);
      await expect(registry.connect(merchantOwner).rotatePayout(merchantId, others[1].address))
        .to.emit(registry, "MerchantPayoutRotated")
        .withArgs(merchantId, payout.address, others[1].address);
      expect(await registry.payoutOf(merchantId)).to.equal(others[1].address);
    });
  });
});
