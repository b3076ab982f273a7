import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { MerchantRegistry } from "../../typechain-types";
import { MerchantStatus as ProtocolMerchantStatus } from "../../src/protocol";

/** src/protocol's MerchantStatus as bigint, the way ethers decodes enums. */
export const MerchantStatus = {
  None: BigInt(ProtocolMerchantStatus.None),
  Active: BigInt(ProtocolMerchantStatus.Active),
  Suspended: BigInt(ProtocolMerchantStatus.Suspended),
  Closed: BigInt(ProtocolMerchantStatus.Closed),
} as const;
export type MerchantStatusValue = (typeof MerchantStatus)[keyof typeof MerchantStatus];

export const ONE_DAY = 24 * 60 * 60;
/** Delay of the two-step DEFAULT_ADMIN_ROLE transfer in these fixtures. */
export const ADMIN_DELAY = 3 * ONE_DAY;

/** The registry's bounds on a merchant's terms (its LIMITS.maxFeeBps, LIMITS.minHoldPeriod, LIMITS.maxHoldPeriod). */
export const LIMITS = { maxFeeBps: 1000, minHoldPeriod: 60, maxHoldPeriod: 180 * ONE_DAY } as const;

/** What {@link registration} registers unless told otherwise. */
export const DEFAULTS = {
  feeBps: 250,
  holdPeriod: 7 * ONE_DAY,
  metadata: ethers.id("ipfs://merchant-1-profile"),
} as const;

export const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");
export const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/** Ids the fixtures hand out; `UNKNOWN_ID` is never registered. */
export const MERCHANT_ID = 1n;
export const UNKNOWN_ID = 999n;

export interface RegistryFixture {
  registry: MerchantRegistry;
  /** Holds DEFAULT_ADMIN_ROLE only. */
  admin: HardhatEthersSigner;
  /** Holds REGISTRAR_ROLE only. */
  registrar: HardhatEthersSigner;
  /** Owner key of merchant 1 in the merchant fixtures; no role. */
  merchantOwner: HardhatEthersSigner;
  /** Payout address of merchant 1 in the merchant fixtures. */
  payout: HardhatEthersSigner;
  /** No role and no merchant. */
  stranger: HardhatEthersSigner;
  /** Spare accounts (new owner keys, new payouts, new admins). */
  others: HardhatEthersSigner[];
}

export interface MerchantFixture extends RegistryFixture {
  merchantId: bigint;
}

/** The arguments of registerMerchant, in order. */
export interface Registration {
  owner: string;
  payout: string;
  feeBps: number;
  holdPeriod: number;
  metadata: string;
}

/** Merchant 1's registration: the fixture's owner and payout on the default terms, with overrides. */
export function registration(
  f: Pick<RegistryFixture, "merchantOwner" | "payout">,
  overrides: Partial<Registration> = {},
): Registration {
  return {
    owner: f.merchantOwner.address,
    payout: f.payout.address,
    feeBps: DEFAULTS.feeBps,
    holdPeriod: DEFAULTS.holdPeriod,
    metadata: DEFAULTS.metadata,
    ...overrides,
  };
}

/** Sends registerMerchant from `registry`'s runner (connect it to the caller first). */
export function register(registry: MerchantRegistry, r: Registration) {
  return registry.registerMerchant(r.owner, r.payout, r.feeBps, r.holdPeriod, r.metadata);
}

/** The MerchantRegistered arguments a registration emits as merchant `id`. */
export function registeredArgs(id: bigint, r: Registration) {
  return [id, r.owner, r.payout, r.feeBps, r.holdPeriod, r.metadata] as const;
}

/** A fresh registry: `admin` is the default admin, `registrar` holds REGISTRAR_ROLE. */
export async function deployRegistryFixture(): Promise<RegistryFixture> {
  const [admin, registrar, merchantOwner, payout, stranger, ...others] = await ethers.getSigners();
  const registry = await ethers.deployContract("MerchantRegistry", [ADMIN_DELAY, admin.address]);
  await registry.waitForDeployment();
  await registry.connect(admin).grantRole(REGISTRAR_ROLE, registrar.address);
  return { registry, admin, registrar, merchantOwner, payout, stranger, others };
}

/** Registry with merchant 1 Active on the default terms. */
export async function activeMerchantFixture(): Promise<MerchantFixture> {
  const base = await deployRegistryFixture();
  await register(base.registry.connect(base.registrar), registration(base));
  return { ...base, merchantId: MERCHANT_ID };
}

/** Registry with merchant 1 Suspended. */
export async function suspendedMerchantFixture(): Promise<MerchantFixture> {
  const fixture = await activeMerchantFixture();
  await fixture.registry.connect(fixture.registrar).suspend(fixture.merchantId);
  return fixture;
}

/** Registry with merchant 1 Closed. */
export async function closedMerchantFixture(): Promise<MerchantFixture> {
  const fixture = await activeMerchantFixture();
  await fixture.registry.connect(fixture.registrar).close(fixture.merchantId);
  return fixture;
}

/** One merchant fixture per reachable status, for tests that run across all of them. */
export const MERCHANT_FIXTURES_BY_STATUS = [
  { name: "Active", status: MerchantStatus.Active, fixture: activeMerchantFixture },
  { name: "Suspended", status: MerchantStatus.Suspended, fixture: suspendedMerchantFixture },
  { name: "Closed", status: MerchantStatus.Closed, fixture: closedMerchantFixture },
] as const;

/**
 * Asserts merchant `id` as getMerchant, terms and payoutOf report it; fee, hold period and metadata
 * default to the fixtures' registration.
 */
export async function expectMerchant(
  registry: MerchantRegistry,
  id: bigint,
  m: {
    status: MerchantStatusValue;
    owner: string;
    payout: string;
    feeBps?: number;
    holdPeriod?: number;
    metadata?: string;
  },
): Promise<void> {
  const feeBps = BigInt(m.feeBps ?? DEFAULTS.feeBps);
  const holdPeriod = BigInt(m.holdPeriod ?? DEFAULTS.holdPeriod);
  expect(await registry.terms(id)).to.deep.equal([m.status, feeBps, holdPeriod, m.owner]);
  const merchant = await registry.getMerchant(id);
  expect(merchant.owner).to.equal(m.owner);
  expect(merchant.payout).to.equal(m.payout);
  expect(merchant.status).to.equal(m.status);
  expect(merchant.feeBps).to.equal(feeBps);
  expect(merchant.holdPeriod).to.equal(holdPeriod);
  expect(merchant.metadata).to.equal(m.metadata ?? DEFAULTS.metadata);
  expect(await registry.payoutOf(id)).to.equal(m.payout);
}

/** Asserts that each call, sent by `caller`, reverts with NotMerchantOwner(merchantId, caller): only the owner key may act. */
export async function expectNotMerchantOwner(
  registry: MerchantRegistry,
  merchantId: bigint,
  caller: HardhatEthersSigner,
  calls: ((asCaller: MerchantRegistry) => Promise<unknown>)[],
): Promise<void> {
  for (const call of calls) {
    await expect(call(registry.connect(caller)))
      .to.be.revertedWithCustomError(registry, "NotMerchantOwner")
      .withArgs(merchantId, caller.address);
  }
}
