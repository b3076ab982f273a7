import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { MerchantRegistry } from "../../typechain-types";

/** Mirrors `IMerchantRegistry.MerchantStatus`; ethers decodes enums as bigint. */
export const MerchantStatus = {
  None: 0n,
  Active: 1n,
  Suspended: 2n,
  Closed: 3n,
} as const;
export type MerchantStatusValue = (typeof MerchantStatus)[keyof typeof MerchantStatus];

export const ONE_DAY = 24 * 60 * 60;
/** Delay of the two-step DEFAULT_ADMIN_ROLE transfer in these fixtures. */
export const ADMIN_DELAY = 3 * ONE_DAY;

export const MAX_FEE_BPS = 1000;
export const MIN_HOLD_PERIOD = 60;
export const MAX_HOLD_PERIOD = 180 * ONE_DAY;

export const DEFAULT_FEE_BPS = 250;
export const DEFAULT_HOLD_PERIOD = 7 * ONE_DAY;
export const DEFAULT_METADATA = ethers.id("ipfs://merchant-1-profile");

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
  const { registry, registrar, merchantOwner, payout } = base;
  await registry
    .connect(registrar)
    .registerMerchant(merchantOwner.address, payout.address, DEFAULT_FEE_BPS, DEFAULT_HOLD_PERIOD, DEFAULT_METADATA);
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
