/**
 * Shared helpers for the escrow lifecycle tests (confirm, refund, dispute, roles, admin):
 * multi-payment batches, bucket snapshots and the invariant assertion.
 */
import { expect } from "chai";
import { artifacts, ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Payment } from "../../src/protocol";
import {
  buildPayment,
  liabilitiesOf,
  nextNonce,
  signPayment,
  submitBatch,
  ONE_DAY,
  PaymentStatus,
  type EscrowFixture,
  type EscrowedBatch,
  type Liabilities,
} from "./fixtures";

export { expectInvariant } from "./fixtures";

export interface BatchEntry {
  payer: HardhatEthersSigner;
  overrides?: Partial<Payment>;
}

/**
 * Signs and escrows several payments in one batch (all expected to be accepted). Nonces are
 * assigned per payer in order from each payer's lowest unused nonce.
 */
export async function escrowBatch(f: EscrowFixture, entries: BatchEntry[]): Promise<EscrowedBatch> {
  const nonces = new Map<string, bigint>();
  const items = [];
  for (const { payer, overrides } of entries) {
    const nonce = nonces.get(payer.address) ?? (await nextNonce(f, payer.address));
    nonces.set(payer.address, nonce + 1n);
    const payment = await buildPayment(f, payer, { nonce, ...overrides });
    items.push({ payment, signature: await signPayment(f, payer, payment) });
  }
  const batch = await submitBatch(f, items);
  await expect(batch.tx).to.emit(f.escrow, "BatchEscrowed");
  return batch;
}

/**
 * Alice pays `aliceAmount` and Bob `bobAmount` to merchant 1 in one batch (one tranche of both):
 * the setup of the confirm, refund and dispute tests, where Bob's payment shows what stays untouched.
 */
export async function aliceAndBobBatch(f: EscrowFixture, aliceAmount: bigint, bobAmount: bigint) {
  const [alice, bob] = f.customers;
  const m = f.merchants[0];
  const batch = await escrowBatch(f, [
    { payer: alice, overrides: { amount: aliceAmount } },
    { payer: bob, overrides: { amount: bobAmount } },
  ]);
  const [a, b] = batch.payments;
  return { f, batch, a, b, alice, bob, m };
}

export type Buckets = Liabilities;

/** The escrow's liabilities as a plain object (comparable with deep equality). */
export const buckets = (f: Pick<EscrowFixture, "escrow">): Promise<Buckets> => liabilitiesOf(f.escrow);

/** `before` with the given per-bucket deltas applied. */
export function moved(before: Buckets, delta: Partial<Buckets>): Buckets {
  const out = { ...before };
  for (const key of Object.keys(delta) as (keyof Buckets)[]) out[key] += delta[key]!;
  return out;
}

/** A tranche as a plain object. */
export async function trancheOf(f: Pick<EscrowFixture, "escrow">, batchId: bigint, merchantId: bigint) {
  const t = await f.escrow.tranche(batchId, merchantId);
  return { amount: t.amount, releaseAt: t.releaseAt, feeBps: t.feeBps };
}

/** A payment record as a plain object. */
export async function recordOf(f: Pick<EscrowFixture, "escrow">, id: string) {
  const r = await f.escrow.paymentRecord(id);
  return { status: Number(r.status), disputedAt: r.disputedAt, feeBps: r.feeBps, refunded: r.refunded };
}

/** A payment record as {@link recordOf} returns it: no dispute, no ruling fee, nothing refunded unless told. */
export function paymentRecord(overrides: Partial<Awaited<ReturnType<typeof recordOf>>>) {
  return { status: PaymentStatus.None as number, disputedAt: 0n, feeBps: 0n, refunded: 0n, ...overrides };
}

/** The merchant's released balance (awaiting settlement). */
export async function releasedOf(f: Pick<EscrowFixture, "escrow">, merchantId: bigint): Promise<bigint> {
  const [released] = await f.escrow.merchantBalances(merchantId);
  return released;
}

/** A signature deadline `seconds` from the latest block. */
export async function deadlineIn(seconds: bigint = ONE_DAY): Promise<bigint> {
  return BigInt(await time.latest()) + seconds;
}

/** Moves time so that the next block has timestamp `ts`. */
export async function atNextBlock(ts: bigint): Promise<void> {
  await time.setNextBlockTimestamp(ts);
}

/** Link keys of PaymentEscrow__factory, as src/chain/deploy.ts uses them. */
export interface EscrowLibraryAddresses {
  "contracts/libraries/CustomerFunds.sol:CustomerFunds": string;
  "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle": string;
  "contracts/libraries/Settlement.sol:Settlement": string;
}

/**
 * The library addresses an already deployed escrow was linked against, read from its runtime code
 * at the artifact's link references (so a new escrow can be deployed against the same libraries).
 */
export async function linkedLibrariesOf(escrow: { getAddress(): Promise<string> }): Promise<EscrowLibraryAddresses> {
  const artifact = await artifacts.readArtifact("PaymentEscrow");
  const code = ethers.getBytes(await ethers.provider.getCode(await escrow.getAddress()));
  const out: Record<string, string> = {};
  for (const [source, libs] of Object.entries(artifact.deployedLinkReferences)) {
    for (const [name, refs] of Object.entries(libs)) {
      const addresses = new Set(
        refs.map((ref) => ethers.getAddress(ethers.hexlify(code.slice(ref.start, ref.start + ref.length)))),
      );
      expect(addresses.size, `${name} linked at one address`).to.equal(1);
      out[`${source}:${name}`] = [...addresses][0];
    }
  }
  const keys = Object.keys(out).sort();
  expect(keys).to.deep.equal([
    "contracts/libraries/CustomerFunds.sol:CustomerFunds",
    "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle",
    "contracts/libraries/Settlement.sol:Settlement",
  ]);
  return out as unknown as EscrowLibraryAddresses;
}
