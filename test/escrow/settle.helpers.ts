/**
 * Helpers shared by the settlement, claim, fee-collection, reentrancy and property tests:
 * a fixture whose admin may also pause and blocklist on the token, a batch builder that signs
 * payments of several payers to several merchants (fresh nonces, deterministic order refs), and
 * state readers used to prove that a reverted call changed nothing.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Addressable, ContractTransactionReceipt, Interface, Signer } from "ethers";
import type { PaymentEscrow } from "../../typechain-types";
import { BatchTree, encodeBatch } from "../../src/protocol";
import type { Address, Hex, Payment } from "../../src/protocol";
import {
  deployEscrowFixture,
  expectInvariant,
  idOf,
  liabilitiesOf,
  signPayment,
  HOLD_PERIOD,
  ONE_DAY,
  type EscrowFixture,
  type EscrowedBatch,
} from "./fixtures";

export { expectInvariant, liabilitiesOf };

/** {deployEscrowFixture} plus PAUSER_ROLE and BLOCKLISTER_ROLE on the token for the admin. */
export async function settleFixture(): Promise<EscrowFixture> {
  const f = await deployEscrowFixture();
  await f.token.connect(f.admin).grantRole(await f.token.PAUSER_ROLE(), f.admin.address);
  await f.token.connect(f.admin).grantRole(await f.token.BLOCKLISTER_ROLE(), f.admin.address);
  return f;
}

/** What a batch builder needs: the escrow (for the domain and nonces), the chain id, a submitter. */
export interface BatchContext {
  escrow: PaymentEscrow;
  chainId: bigint;
  relayer: Signer;
}

export interface PaySpec {
  payer: HardhatEthersSigner;
  merchantId: bigint;
  amount: bigint;
  /** The payment's hold (default: the fixtures' HOLD_PERIOD). */
  hold?: bigint;
}

/** A submitted batch; `tree` is absent when every item was rejected. */
export type SubmittedBatch = Omit<EscrowedBatch, "tree"> & { tree?: BatchTree };

let orderSeq = 0n;

/** Deterministic, unique order reference (high bit set so it never meets fixtures.ts's counter). */
export function nextOrderRef(): Hex {
  orderSeq += 1n;
  return ethers.zeroPadValue(ethers.toBeHex((1n << 255n) | orderSeq), 32) as Hex;
}

/** Lowest nonces of `payer` that are available on chain and not in `taken`. */
async function freshNonce(escrow: PaymentEscrow, payer: string, taken: Set<bigint>): Promise<bigint> {
  let [n] = await escrow.nonceWindow(payer);
  while (taken.has(n) || !(await escrow.isNonceAvailable(payer, n))) n += 1n;
  taken.add(n);
  return n;
}

/**
 * Signs one payment per spec (fresh nonce per payer, deadline one day ahead) and submits them in
 * one payBatch. `accepted[i]` says whether the escrow is expected to accept item i (default all).
 */
export async function payBatchOf(
  ctx: BatchContext,
  specs: PaySpec[],
  accepted: boolean[] = specs.map(() => true),
): Promise<SubmittedBatch> {
  const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
  const taken = new Map<string, Set<bigint>>();
  const items: { payment: Payment; signature: Hex }[] = [];
  for (const spec of specs) {
    if (!taken.has(spec.payer.address)) taken.set(spec.payer.address, new Set());
    const payment: Payment = {
      payer: spec.payer.address as Address,
      merchantId: spec.merchantId,
      amount: spec.amount,
      orderRef: nextOrderRef(),
      nonce: await freshNonce(ctx.escrow, spec.payer.address, taken.get(spec.payer.address)!),
      validAfter: 0n,
      deadline: BigInt(latest) + 365n * ONE_DAY,
      hold: spec.hold ?? HOLD_PERIOD,
    };
    items.push({ payment, signature: await signPayment(ctx, spec.payer, payment) });
  }
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  const tx = await ctx.escrow.connect(ctx.relayer).payBatch(encodeBatch(items));
  const kept = items.filter((_, i) => accepted[i]);
  const ids = await Promise.all(kept.map((item) => idOf(ctx, item.payment)));
  // A batch whose every item was rejected has no tree (and payBatch returned 0).
  const tree = ids.length > 0 ? new BatchTree(ids) : undefined;
  return {
    batchId,
    tx,
    tree,
    payments: kept.map((item, i) => ({
      payment: item.payment,
      id: ids[i],
      inclusion: { batchId, proof: tree!.proof(i) },
    })),
  };
}

export async function merchantBalancesOf(
  escrow: PaymentEscrow,
  merchantId: bigint,
): Promise<{ released: bigint; claimable: bigint }> {
  const [released, claimable] = await escrow.merchantBalances(merchantId);
  return { released, claimable };
}

export async function trancheOf(
  escrow: PaymentEscrow,
  batchId: bigint,
  merchantId: bigint,
): Promise<{ amount: bigint; releaseAt: bigint; feeBps: bigint }> {
  const t = await escrow.tranche(batchId, merchantId);
  return { amount: t.amount, releaseAt: t.releaseAt, feeBps: t.feeBps };
}

/**
 * Everything a settlement can touch, as plain values: liabilities, the merchants' escrow balances
 * and payout wallets, the tranches of `batchIds`, the escrow's token balance.
 */
export async function settlementState(
  f: Pick<EscrowFixture, "escrow" | "token" | "registry">,
  merchantIds: bigint[],
  batchIds: bigint[],
): Promise<unknown> {
  const merchants = [];
  for (const id of merchantIds) {
    const payout = await f.registry.payoutOf(id);
    merchants.push({
      id,
      balances: await merchantBalancesOf(f.escrow, id),
      payoutBalance: await f.token.balanceOf(payout),
      tranches: await Promise.all(batchIds.map((b) => trancheOf(f.escrow, b, id))),
    });
  }
  return {
    liabilities: await liabilitiesOf(f.escrow),
    escrowBalance: await f.token.balanceOf(await f.escrow.getAddress()),
    merchants,
  };
}

/** Number of token Transfer logs in `receipt` sent from `from`. */
export function transfersFrom(
  receipt: ContractTransactionReceipt,
  token: { interface: Interface; target: string | Addressable },
  from: string,
): { to: string; value: bigint }[] {
  const out: { to: string; value: bigint }[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== String(token.target).toLowerCase()) continue;
    const parsed = token.interface.parseLog(log);
    if (parsed?.name === "Transfer" && (parsed.args.from as string).toLowerCase() === from.toLowerCase()) {
      out.push({ to: parsed.args.to as string, value: parsed.args.value as bigint });
    }
  }
  return out;
}

/** Names of the escrow events in `receipt`, in order (for "nothing happened" checks). */
export function escrowEventNames(receipt: ContractTransactionReceipt, escrow: PaymentEscrow): string[] {
  const names: string[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== String(escrow.target).toLowerCase()) continue;
    const parsed = escrow.interface.parseLog(log);
    if (parsed) names.push(parsed.name);
  }
  return names;
}
