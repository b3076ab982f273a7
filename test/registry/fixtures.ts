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

/**
 * What {@link registration} registers unless told otherwise. The hold bounds are distinct and away
 * from the limits, so a swapped or dropped bound shows.
 */
export const DEFAULTS = {
  feeBps: 250,
  minHold: ONE_DAY,
  maxHold: 14 * ONE_DAY,
  metadata: ethers.id("ipfs://merchant-1-profile"),
} as const;

/** Hold bounds both registerMerchant and setTerms accept: each limit at its edge, and min == max. */
export const ACCEPTED_HOLD_BOUNDS: readonly { title: string; minHold: number; maxHold: number }[] = [
  { title: "minHold at exactly MIN_HOLD_PERIOD", minHold: LIMITS.minHoldPeriod, maxHold: DEFAULTS.maxHold },
  { title: "maxHold at exactly MAX_HOLD_PERIOD", minHold: DEFAULTS.minHold, maxHold: LIMITS.maxHoldPeriod },
  {
    title: "the widest bounds [MIN_HOLD_PERIOD, MAX_HOLD_PERIOD]",
    minHold: LIMITS.minHoldPeriod,
    maxHold: LIMITS.maxHoldPeriod,
  },
  { title: "minHold == maxHold (a fixed hold)", minHold: 3 * ONE_DAY, maxHold: 3 * ONE_DAY },
  { title: "minHold == maxHold == MIN_HOLD_PERIOD", minHold: LIMITS.minHoldPeriod, maxHold: LIMITS.minHoldPeriod },
  { title: "minHold == maxHold == MAX_HOLD_PERIOD", minHold: LIMITS.maxHoldPeriod, maxHold: LIMITS.maxHoldPeriod },
  { title: "minHold one second below maxHold", minHold: 3 * ONE_DAY - 1, maxHold: 3 * ONE_DAY },
];

/** Hold bounds both registerMerchant and setTerms refuse with HoldBoundsOutOfRange. */
export const REJECTED_HOLD_BOUNDS: readonly { title: string; minHold: number; maxHold: number }[] = [
  { title: "minHold one second below MIN_HOLD_PERIOD", minHold: LIMITS.minHoldPeriod - 1, maxHold: DEFAULTS.maxHold },
  { title: "minHold zero", minHold: 0, maxHold: DEFAULTS.maxHold },
  { title: "maxHold one second above MAX_HOLD_PERIOD", minHold: DEFAULTS.minHold, maxHold: LIMITS.maxHoldPeriod + 1 },
  { title: "maxHold 2^32 - 1", minHold: DEFAULTS.minHold, maxHold: 2 ** 32 - 1 },
  { title: "minHold one second above maxHold", minHold: 3 * ONE_DAY + 1, maxHold: 3 * ONE_DAY },
  {
    title: "inverted bounds at the limits (MAX_HOLD_PERIOD, MIN_HOLD_PERIOD)",
    minHold: LIMITS.maxHoldPeriod,
    maxHold: LIMITS.minHoldPeriod,
  },
  {
    title: "min == max one second below MIN_HOLD_PERIOD",
    minHold: LIMITS.minHoldPeriod - 1,
    maxHold: LIMITS.minHoldPeriod - 1,
  },
  {
    title: "min == max one second above MAX_HOLD_PERIOD",
    minHold: LIMITS.maxHoldPeriod + 1,
    maxHold: LIMITS.maxHoldPeriod + 1,
  },
  { title: "both zero", minHold: 0, maxHold: 0 },
];

/** The HoldBoundsOutOfRange arguments a refused (minHold, maxHold) carries. */
export function holdBoundsError(b: { minHold: number; maxHold: number }) {
  return [b.minHold, b.maxHold, LIMITS.minHoldPeriod, LIMITS.maxHoldPeriod] as const;
}

export const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");
export const FX_QUOTER_ROLE = ethers.id("FX_QUOTER_ROLE");
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
  minHold: number;
  maxHold: number;
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
    minHold: DEFAULTS.minHold,
    maxHold: DEFAULTS.maxHold,
    metadata: DEFAULTS.metadata,
    ...overrides,
  };
}

/** Sends registerMerchant from `registry`'s runner (connect it to the caller first). */
export function register(registry: MerchantRegistry, r: Registration) {
  return registry.registerMerchant(r.owner, r.payout, r.feeBps, r.minHold, r.maxHold, r.metadata);
}

/** The MerchantRegistered arguments a registration emits as merchant `id`. */
export function registeredArgs(id: bigint, r: Registration) {
  return [id, r.owner, r.payout, r.feeBps, r.minHold, r.maxHold, r.metadata] as const;
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
 * Asserts merchant `id` as getMerchant, terms and payoutOf report it; fee, hold bounds and metadata
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
    minHold?: number;
    maxHold?: number;
    metadata?: string;
  },
): Promise<void> {
  const feeBps = BigInt(m.feeBps ?? DEFAULTS.feeBps);
  const minHold = BigInt(m.minHold ?? DEFAULTS.minHold);
  const maxHold = BigInt(m.maxHold ?? DEFAULTS.maxHold);
  const metadata = m.metadata ?? DEFAULTS.metadata;
  const t = await registry.terms(id);
  expect(t).to.deep.equal([m.status, feeBps, minHold, maxHold, m.owner]);
  expect([t.status, t.feeBps, t.minHold, t.maxHold, t.merchantOwner]).to.deep.equal([
    m.status,
    feeBps,
    minHold,
    maxHold,
    m.owner,
  ]);
  const merchant = await registry.getMerchant(id);
  // Positional too: the struct's ABI order is owner, feeBps, minHold, status, maxHold, payout, metadata.
  expect(merchant).to.deep.equal([m.owner, feeBps, minHold, m.status, maxHold, m.payout, metadata]);
  expect(merchant.owner).to.equal(m.owner);
  expect(merchant.payout).to.equal(m.payout);
  expect(merchant.status).to.equal(m.status);
  expect(merchant.feeBps).to.equal(feeBps);
  expect(merchant.minHold).to.equal(minHold);
  expect(merchant.maxHold).to.equal(maxHold);
  expect(merchant.metadata).to.equal(metadata);
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
