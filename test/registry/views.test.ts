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
        expect(merchant.minHold).to.equal(BigInt(DEFAULTS.minHold));
        expect(merchant.maxHold).to.equal(BigInt(DEFAULTS.maxHold));
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
      it(`returns status, fee, hold bounds and owner of a ${name} merchant`, async function () {
        const { registry, merchantId, merchantOwner } = await loadFixture(fixture);
        const result = await registry.terms(merchantId);
        expect(result).to.deep.equal([
          status,
          BigInt(DEFAULTS.feeBps),
          BigInt(DEFAULTS.minHold),
          BigInt(DEFAULTS.maxHold),
          merchantOwner.address,
        ]);
        expect(result.status).to.equal(status);
        expect(result.feeBps).to.equal(BigInt(DEFAULTS.feeBps));
        expect(result.minHold).to.equal(BigInt(DEFAULTS.minHold));
        expect(result.maxHold).to.equal(BigInt(DEFAULTS.maxHold));
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
        expect(await registry.terms(id)).to.deep.equal([MerchantStatus.None, 0n, 0n, 0n, ethers.ZeroAddress]);
      });
    }

    /**
     * Records whose neighbouring fields differ at their shared edges, so a wrong shift or width in
     * terms' hand-unpacking of the packed slot pulls bits from a neighbour and shows. The largest
     * allowed hold (MAX_HOLD_PERIOD) sets bit 23 of a bound, the top set bit either bound can hold.
     */
    const EXTREMES = [
      {
        title: "every field at its largest: all-ones owner, MAX_FEE_BPS, both bounds MAX_HOLD_PERIOD, Closed",
        owner: "0x" + "ff".repeat(20),
        feeBps: LIMITS.maxFeeBps,
        minHold: LIMITS.maxHoldPeriod,
        maxHold: LIMITS.maxHoldPeriod,
        status: MerchantStatus.Closed,
      },
      {
        title: "every field at its smallest: owner 0x…01, fee 0, both bounds MIN_HOLD_PERIOD, Active",
        owner: "0x" + "00".repeat(19) + "01",
        feeBps: 0,
        minHold: LIMITS.minHoldPeriod,
        maxHold: LIMITS.minHoldPeriod,
        status: MerchantStatus.Active,
      },
      {
        title: "maxHold at MAX_HOLD_PERIOD beside a low status and minHold, MAX_FEE_BPS, all-ones owner",
        owner: "0x" + "ff".repeat(20),
        feeBps: LIMITS.maxFeeBps,
        minHold: LIMITS.minHoldPeriod,
        maxHold: LIMITS.maxHoldPeriod,
        status: MerchantStatus.Suspended,
      },
      {
        title: "maxHold one second below MAX_HOLD_PERIOD, minHold at MIN_HOLD_PERIOD, fee 1, owner 0x80…00",
        owner: "0x80" + "00".repeat(19),
        feeBps: 1,
        minHold: LIMITS.minHoldPeriod,
        maxHold: LIMITS.maxHoldPeriod - 1,
        status: MerchantStatus.Closed,
      },
      {
        title: "all-ones owner and MAX_FEE_BPS with small bounds, Suspended",
        owner: "0x" + "ff".repeat(20),
        feeBps: LIMITS.maxFeeBps,
        minHold: LIMITS.minHoldPeriod + 1,
        maxHold: LIMITS.minHoldPeriod + 2,
        status: MerchantStatus.Suspended,
      },
    ];

    for (const x of EXTREMES) {
      it(`unpacks ${x.title} exactly as set and as getMerchant reports it`, async function () {
        const { registry, registrar } = await loadFixture(deployRegistryFixture);
        const owner = ethers.getAddress(x.owner);
        // A neighbour registered first, on other terms, so that the record read is the one set.
        await registry
          .connect(registrar)
          .registerMerchant(registrar.address, registrar.address, 7, 120, 240, ethers.ZeroHash);
        const as = registry.connect(registrar);
        await as.registerMerchant(owner, owner, x.feeBps, x.minHold, x.maxHold, ethers.toBeHex(ethers.MaxUint256, 32));
        if (x.status === MerchantStatus.Suspended) await as.suspend(2n);
        if (x.status === MerchantStatus.Closed) await as.close(2n);

        const expected = [x.status, BigInt(x.feeBps), BigInt(x.minHold), BigInt(x.maxHold), owner];
        expect(await registry.terms(2n)).to.deep.equal(expected);
        const merchant = await registry.getMerchant(2n);
        expect([merchant.status, merchant.feeBps, merchant.minHold, merchant.maxHold, merchant.owner]).to.deep.equal(
          expected,
        );
        expect(await registry.terms(1n)).to.deep.equal([MerchantStatus.Active, 7n, 120n, 240n, registrar.address]);
      });
    }

    it("unpacks bounds set by setTerms, after a registration at the other extreme", async function () {
      const { registry, registrar } = await loadFixture(deployRegistryFixture);
      const allOnes = ethers.getAddress("0x" + "ff".repeat(20));
      const as = registry.connect(registrar);
      await as.registerMerchant(allOnes, allOnes, 0, LIMITS.minHoldPeriod, LIMITS.minHoldPeriod, ethers.ZeroHash);
      await as.suspend(1n);
      await as.setTerms(1n, LIMITS.maxFeeBps, LIMITS.minHoldPeriod, LIMITS.maxHoldPeriod);
      expect(await registry.terms(1n)).to.deep.equal([
        MerchantStatus.Suspended,
        BigInt(LIMITS.maxFeeBps),
        BigInt(LIMITS.minHoldPeriod),
        BigInt(LIMITS.maxHoldPeriod),
        allOnes,
      ]);
      await as.setTerms(1n, 0, LIMITS.maxHoldPeriod, LIMITS.maxHoldPeriod);
      expect(await registry.terms(1n)).to.deep.equal([
        MerchantStatus.Suspended,
        0n,
        BigInt(LIMITS.maxHoldPeriod),
        BigInt(LIMITS.maxHoldPeriod),
        allOnes,
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
