import { expect } from "chai";
import { artifacts, ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULTS,
  LIMITS,
  MERCHANT_FIXTURES_BY_STATUS,
  MerchantStatus,
  REGISTRAR_ROLE,
  UNKNOWN_ID,
  activeMerchantFixture,
  deployRegistryFixture,
} from "./fixtures";

/** Function selectors in a compiled contract's ABI (inherited functions included). */
async function selectorsOf(fullyQualifiedName: string): Promise<Set<string>> {
  const iface = new ethers.Interface((await artifacts.readArtifact(fullyQualifiedName)).abi);
  const selectors = new Set<string>();
  iface.forEachFunction((fn) => selectors.add(fn.selector));
  return selectors;
}

/**
 * ERC-165 id of a compiled interface: XOR of the selectors it declares itself, that is of its
 * ABI minus the functions of the interfaces it inherits from.
 */
async function interfaceId(fullyQualifiedName: string, ...inherited: string[]): Promise<string> {
  const own = await selectorsOf(fullyQualifiedName);
  for (const base of inherited) {
    for (const selector of await selectorsOf(base)) own.delete(selector);
  }
  let id = 0n;
  for (const selector of own) id ^= BigInt(selector);
  return ethers.toBeHex(id, 4);
}

interface StructLog {
  op: string;
}

/** Storage reads (SLOAD opcodes) a call executes, from a debug_traceCall struct log. */
async function countSloads(to: string, data: string): Promise<number> {
  const trace = (await network.provider.send("debug_traceCall", [{ to, data }, "latest"])) as {
    structLogs: StructLog[];
  };
  return trace.structLogs.filter((log) => log.op === "SLOAD").length;
}

describe("MerchantRegistry: views", function () {
  describe("constants", function () {
    it("exposes the bounds and the registrar role", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      expect(await registry.MAX_FEE_BPS()).to.equal(BigInt(LIMITS.maxFeeBps));
      expect(await registry.MIN_HOLD_PERIOD()).to.equal(60n);
      expect(await registry.MAX_HOLD_PERIOD()).to.equal(BigInt(180 * 24 * 60 * 60));
      expect(await registry.MIN_HOLD_PERIOD()).to.equal(BigInt(LIMITS.minHoldPeriod));
      expect(await registry.MAX_HOLD_PERIOD()).to.equal(BigInt(LIMITS.maxHoldPeriod));
      expect(await registry.REGISTRAR_ROLE()).to.equal(REGISTRAR_ROLE);
    });
  });

  describe("merchantCount", function () {
    it("is zero on a fresh registry and one after the first registration", async function () {
      expect(await (await loadFixture(deployRegistryFixture)).registry.merchantCount()).to.equal(0n);
      expect(await (await loadFixture(activeMerchantFixture)).registry.merchantCount()).to.equal(1n);
    });
  });

  describe("getMerchant", function () {
    for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS) {
      it(`returns the full record of a ${name} merchant`, async function () {
        const { registry, merchantId, merchantOwner, payout } = await loadFixture(fixture);
        const merchant = await registry.getMerchant(merchantId);
        expect(merchant.owner).to.equal(merchantOwner.address);
        expect(merchant.feeBps).to.equal(BigInt(DEFAULTS.feeBps));
        expect(merchant.holdPeriod).to.equal(BigInt(DEFAULTS.holdPeriod));
        expect(merchant.status).to.equal(status);
        expect(merchant.payout).to.equal(payout.address);
        expect(merchant.metadata).to.equal(DEFAULTS.metadata);
      });
    }

    for (const id of [0n, 2n, UNKNOWN_ID, 2n ** 64n - 1n]) {
      it(`reverts with UnknownMerchant for id ${id}`, async function () {
        const { registry } = await loadFixture(activeMerchantFixture);
        await expect(registry.getMerchant(id)).to.be.revertedWithCustomError(registry, "UnknownMerchant").withArgs(id);
      });
    }
  });

  describe("terms", function () {
    for (const { name, status, fixture } of MERCHANT_FIXTURES_BY_STATUS) {
      it(`returns status, fee, hold period and owner of a ${name} merchant`, async function () {
        const { registry, merchantId, merchantOwner } = await loadFixture(fixture);
        const result = await registry.terms(merchantId);
        expect(result).to.deep.equal([
          status,
          BigInt(DEFAULTS.feeBps),
          BigInt(DEFAULTS.holdPeriod),
          merchantOwner.address,
        ]);
        expect(result.status).to.equal(status);
        expect(result.feeBps).to.equal(BigInt(DEFAULTS.feeBps));
        expect(result.holdPeriod).to.equal(BigInt(DEFAULTS.holdPeriod));
        // The implementation names the owner output `merchantOwner` (an output called `owner`
        // would shadow ERC-5313 `owner()`); through the interface ABI it is `owner`.
        expect(result.merchantOwner).to.equal(merchantOwner.address);
        const viaInterface = await ethers.getContractAt("IMerchantRegistry", await registry.getAddress());
        expect((await viaInterface.terms(merchantId)).owner).to.equal(merchantOwner.address);
      });
    }

    for (const id of [0n, 2n, UNKNOWN_ID, 2n ** 64n - 1n]) {
      it(`returns status None and zeros for unknown id ${id} instead of reverting`, async function () {
        const { registry } = await loadFixture(activeMerchantFixture);
        expect(await registry.terms(id)).to.deep.equal([MerchantStatus.None, 0n, 0n, ethers.ZeroAddress]);
      });
    }

    it("unpacks extreme values exactly as getMerchant reports them", async function () {
      const { registry, registrar } = await loadFixture(deployRegistryFixture);
      const allOnes = ethers.getAddress("0x" + "ff".repeat(20));
      const lowBit = ethers.getAddress("0x" + "00".repeat(19) + "01");
      await registry
        .connect(registrar)
        .registerMerchant(
          allOnes,
          allOnes,
          LIMITS.maxFeeBps,
          LIMITS.maxHoldPeriod,
          ethers.toBeHex(ethers.MaxUint256, 32),
        );
      await registry.connect(registrar).registerMerchant(lowBit, lowBit, 0, LIMITS.minHoldPeriod, ethers.ZeroHash);
      await registry.connect(registrar).close(1n);
      await registry.connect(registrar).suspend(2n);

      for (const id of [1n, 2n]) {
        const merchant = await registry.getMerchant(id);
        expect(await registry.terms(id)).to.deep.equal([
          merchant.status,
          merchant.feeBps,
          merchant.holdPeriod,
          merchant.owner,
        ]);
      }
      expect(await registry.terms(1n)).to.deep.equal([
        MerchantStatus.Closed,
        BigInt(LIMITS.maxFeeBps),
        BigInt(LIMITS.maxHoldPeriod),
        allOnes,
      ]);
      expect(await registry.terms(2n)).to.deep.equal([
        MerchantStatus.Suspended,
        0n,
        BigInt(LIMITS.minHoldPeriod),
        lowBit,
      ]);
    });

    it("reads exactly one storage slot", async function () {
      const { registry, merchantId } = await loadFixture(activeMerchantFixture);
      const target = await registry.getAddress();
      for (const id of [merchantId, UNKNOWN_ID]) {
        const data = registry.interface.encodeFunctionData("terms", [id]);
        expect(await countSloads(target, data)).to.equal(1);
      }
    });
  });

  describe("payoutOf", function () {
    for (const { name, fixture } of MERCHANT_FIXTURES_BY_STATUS) {
      it(`returns the payout address of a ${name} merchant`, async function () {
        const { registry, merchantId, payout } = await loadFixture(fixture);
        expect(await registry.payoutOf(merchantId)).to.equal(payout.address);
      });
    }

    for (const id of [0n, 2n, UNKNOWN_ID, 2n ** 64n - 1n]) {
      it(`returns the zero address for unknown id ${id} instead of reverting`, async function () {
        const { registry } = await loadFixture(activeMerchantFixture);
        expect(await registry.payoutOf(id)).to.equal(ethers.ZeroAddress);
      });
    }
  });

  describe("supportsInterface", function () {
    it("reports IMerchantRegistry, IAccessControlDefaultAdminRules, IAccessControl and IERC165", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      const accessControl = "@openzeppelin/contracts/access/IAccessControl.sol:IAccessControl";
      const supported = await Promise.all([
        interfaceId("contracts/interfaces/IMerchantRegistry.sol:IMerchantRegistry"),
        interfaceId(
          "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol:IAccessControlDefaultAdminRules",
          accessControl,
        ),
        interfaceId(accessControl),
        interfaceId("@openzeppelin/contracts/utils/introspection/IERC165.sol:IERC165"),
      ]);
      expect(supported[2]).to.equal("0x7965db0b");
      expect(supported[3]).to.equal("0x01ffc9a7");
      for (const id of supported) {
        expect(await registry.supportsInterface(id), id).to.equal(true);
      }
    });

    it("rejects 0xffffffff and unrelated ids", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
      expect(await registry.supportsInterface("0x80ac58cd")).to.equal(false); // ERC-721
    });
  });
});
