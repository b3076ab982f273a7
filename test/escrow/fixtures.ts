/**
 * Typed fixtures and builders for PaymentEscrow tests: a deployed network (token, registry,
 * escrow) with merchants and funded customers, and builders that sign payments and escrow batches
 * the way the relayer does, returning everything needed to act on a payment afterwards.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse, Signer } from "ethers";
import type { MerchantRegistry, PaymentEscrow, SettlementToken } from "../../typechain-types";
import { deployStablePay } from "../../src/chain/deploy";
import {
  confirmationTypes,
  disputeTypes,
  escrowDomain,
  ethersTypes,
  paymentTypes,
  refundTypes,
  withdrawalTypes,
  encodeBatch,
} from "../../src/protocol";
import type { Address, Hex, Payment, Withdrawal } from "../../src/protocol";
import { paymentId } from "../../src/protocol";
import { BatchTree, EscrowPaymentStatus, REJECT_REASON_NAMES, feeOf as protocolFeeOf } from "../../src/protocol";
import { BUCKET_NAMES, emptyBuckets, sumBuckets, type Buckets } from "../../src/auditor/types";

export const ONE_DAY = 24n * 3600n;
export const ADMIN_DELAY = 3n * ONE_DAY;
export const DISPUTE_TIMEOUT = 30n * ONE_DAY;
/** The hold a payment built by {@link buildPayment} asks for, within every fixture merchant's bounds. */
export const HOLD_PERIOD = 7n * ONE_DAY;
/** Every fixture merchant's hold bounds. */
export const MIN_HOLD = ONE_DAY;
export const MAX_HOLD = 30n * ONE_DAY;
export const FEE_BPS = 250n; // 2.5%
export const usd = (amount: number | string): bigint => ethers.parseUnits(String(amount), 6);
export const CUSTOMER_DEPOSIT = usd(1_000);
export const ARBITER_ROLE = ethers.id("ARBITER_ROLE");
export const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");
export const MAX_UINT128 = (1n << 128n) - 1n;

/** IPaymentEscrow.RejectReason by name (the value is the enum index), from src/protocol. */
export const RejectReason = Object.fromEntries(REJECT_REASON_NAMES.map((name, i) => [name, i])) as {
  readonly [K in (typeof REJECT_REASON_NAMES)[number]]: number;
};

export const PaymentStatus = EscrowPaymentStatus;

export interface MerchantAccount {
  id: bigint;
  owner: HardhatEthersSigner;
  payout: HardhatEthersSigner;
}

export interface EscrowFixture {
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  admin: HardhatEthersSigner;
  arbiter: HardhatEthersSigner;
  registrar: HardhatEthersSigner;
  feeRecipient: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  merchants: MerchantAccount[];
  customers: HardhatEthersSigner[];
  chainId: bigint;
}

/** Mints `amount` to `to` (the admin is the fixture's minter). */
export async function mint(f: Pick<EscrowFixture, "token" | "admin">, to: string, amount: bigint): Promise<void> {
  await f.token.connect(f.admin).mint(to, amount);
}

/** Mints to `customer`, approves and deposits into the escrow. */
export async function fundCustomer(f: EscrowFixture, customer: HardhatEthersSigner, amount: bigint): Promise<void> {
  await mint(f, customer.address, amount);
  await f.token.connect(customer).approve(await f.escrow.getAddress(), amount);
  await f.escrow.connect(customer).deposit(amount);
}

/** Network with 3 active merchants (2.5% fee, holds of 1 to 30 days) and 4 customers holding 1,000 each in the escrow. */
export async function deployEscrowFixture(): Promise<EscrowFixture> {
  const signers = await ethers.getSigners();
  const [admin, arbiter, registrar, feeRecipient, relayer, stranger] = signers;
  const merchantSigners = signers.slice(6, 12);
  const customers = signers.slice(12, 16);

  const { token, registry, escrow } = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: feeRecipient.address,
    adminDelay: ADMIN_DELAY,
    disputeTimeout: DISPUTE_TIMEOUT,
  });
  await token.connect(admin).grantRole(await token.MASTER_MINTER_ROLE(), admin.address);
  await token.connect(admin).configureMinter(admin.address, usd(1_000_000_000));
  await registry.connect(admin).grantRole(REGISTRAR_ROLE, registrar.address);
  await escrow.connect(admin).grantRole(ARBITER_ROLE, arbiter.address);

  const merchants: MerchantAccount[] = [];
  for (let i = 0; i < 3; i++) {
    const owner = merchantSigners[2 * i];
    const payout = merchantSigners[2 * i + 1];
    await registry
      .connect(registrar)
      .registerMerchant(owner.address, payout.address, FEE_BPS, MIN_HOLD, MAX_HOLD, ethers.ZeroHash);
    merchants.push({ id: BigInt(i + 1), owner, payout });
  }
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const f: EscrowFixture = {
    token,
    registry,
    escrow,
    admin,
    arbiter,
    registrar,
    feeRecipient,
    relayer,
    stranger,
    merchants,
    customers,
    chainId,
  };
  for (const customer of customers) await fundCustomer(f, customer, CUSTOMER_DEPOSIT);
  return f;
}

let orderCounter = 0n;

/** A valid payment of `payer` to merchant 1 for 10.00, held 7 days, with a fresh order reference; override any field. */
export async function buildPayment(
  f: EscrowFixture,
  payer: { address: string },
  overrides: Partial<Payment> = {},
): Promise<Payment> {
  const now = BigInt(await time.latest());
  orderCounter += 1n;
  return {
    payer: payer.address as Address,
    merchantId: f.merchants[0].id,
    amount: usd(10),
    orderRef: ethers.zeroPadValue(ethers.toBeHex(orderCounter), 32) as Hex,
    nonce: 0n,
    validAfter: 0n,
    deadline: now + ONE_DAY,
    hold: HOLD_PERIOD,
    ...overrides,
  };
}

export async function domainOf(f: Pick<EscrowFixture, "escrow" | "chainId">, chainId?: bigint) {
  return escrowDomain(chainId ?? f.chainId, (await f.escrow.getAddress()) as Address);
}

/** The payer's EIP-712 signature over `payment` (domain overridable to forge wrong-domain signatures). */
export async function signPayment(
  f: Pick<EscrowFixture, "escrow" | "chainId">,
  signer: Signer,
  payment: Payment,
  domain?: Awaited<ReturnType<typeof domainOf>>,
): Promise<Hex> {
  return (await signer.signTypedData(domain ?? (await domainOf(f)), ethersTypes(paymentTypes), payment)) as Hex;
}

export async function idOf(f: Pick<EscrowFixture, "escrow" | "chainId">, payment: Payment): Promise<Hex> {
  return paymentId(await domainOf(f), payment);
}

export interface SignedPaymentInput {
  payment: Payment;
  signature: Hex;
}

export interface EscrowedPayment {
  payment: Payment;
  id: Hex;
  inclusion: { batchId: bigint; proof: Hex[] };
}

export interface EscrowedBatch {
  batchId: bigint;
  tx: ContractTransactionResponse;
  tree: BatchTree;
  payments: EscrowedPayment[];
}

/**
 * Submits `items` with payBatch and returns the batch with an inclusion proof per accepted payment.
 * `accepted` (default: all) says which items the caller expects the escrow to accept, in order.
 */
export async function submitBatch(
  f: EscrowFixture,
  items: SignedPaymentInput[],
  accepted: boolean[] = items.map(() => true),
  submitter: Signer = f.relayer,
): Promise<EscrowedBatch> {
  const batchId = (await f.escrow.batchCount()) + 1n;
  const tx = await f.escrow.connect(submitter).payBatch(encodeBatch(items));
  const acceptedItems = items.filter((_, i) => accepted[i]);
  const ids = await Promise.all(acceptedItems.map((item) => idOf(f, item.payment)));
  const tree = new BatchTree(ids);
  return {
    batchId,
    tx,
    tree,
    payments: acceptedItems.map((item, i) => ({
      payment: item.payment,
      id: ids[i],
      inclusion: { batchId, proof: tree.proof(i) },
    })),
  };
}

/** Signs and escrows one payment of `payer` (default: 10.00 to merchant 1) in its own batch. */
export async function escrowOne(
  f: EscrowFixture,
  payer: HardhatEthersSigner,
  overrides: Partial<Payment> = {},
): Promise<EscrowedPayment & { batch: EscrowedBatch }> {
  const payment = await buildPayment(f, payer, { nonce: await nextNonce(f, payer.address), ...overrides });
  const batch = await submitBatch(f, [{ payment, signature: await signPayment(f, payer, payment) }]);
  return { ...batch.payments[0], batch };
}

/** Lowest unused nonce of `account`. */
export async function nextNonce(f: Pick<EscrowFixture, "escrow">, account: string): Promise<bigint> {
  const [base] = await f.escrow.nonceWindow(account);
  return base;
}

export async function signWithdrawal(f: EscrowFixture, signer: Signer, withdrawal: Withdrawal): Promise<Hex> {
  return (await signer.signTypedData(await domainOf(f), ethersTypes(withdrawalTypes), withdrawal)) as Hex;
}

export async function signConfirmation(f: EscrowFixture, signer: Signer, id: Hex, deadline: bigint): Promise<Hex> {
  return (await signer.signTypedData(await domainOf(f), ethersTypes(confirmationTypes), {
    paymentId: id,
    deadline,
  })) as Hex;
}

export async function signRefund(
  f: EscrowFixture,
  signer: Signer,
  id: Hex,
  totalRefund: bigint,
  deadline: bigint,
): Promise<Hex> {
  return (await signer.signTypedData(await domainOf(f), ethersTypes(refundTypes), {
    paymentId: id,
    totalRefund,
    deadline,
  })) as Hex;
}

export async function signDispute(f: EscrowFixture, signer: Signer, id: Hex, deadline: bigint): Promise<Hex> {
  return (await signer.signTypedData(await domainOf(f), ethersTypes(disputeTypes), { paymentId: id, deadline })) as Hex;
}

/** The escrow's fee rule (src/protocol's feeOf), at the fixture's fee unless told. */
export const feeOf = (amount: bigint, bps: bigint = FEE_BPS): bigint => protocolFeeOf(amount, bps);

/** An escrow and its token (any token with balanceOf: the reentrancy tests use a callback token). */
export interface InvariantSubject {
  escrow: PaymentEscrow;
  token: { balanceOf(account: string): Promise<bigint> };
}

/**
 * The escrow's accounting invariant: its token balance equals the sum of every bucket it owes.
 * Returns both sides so a failing assertion shows the numbers.
 */
export async function invariant(f: InvariantSubject): Promise<{ balance: bigint; owed: bigint }> {
  const owed = sumBuckets(await liabilitiesOf(f.escrow));
  const balance = await f.token.balanceOf(await f.escrow.getAddress());
  return { balance, owed };
}

/** Asserts the accounting invariant: the escrow's token balance equals the sum of every bucket it owes. */
export async function expectInvariant(f: InvariantSubject): Promise<void> {
  const { balance, owed } = await invariant(f);
  expect(balance, "escrow token balance == sum of liabilities").to.equal(owed);
}

/** The escrow's liability buckets (IPaymentEscrow.liabilities), as the auditor names them. */
export type Liabilities = Buckets;

/** The escrow's liabilities as a plain object (comparable with deep equality). */
export async function liabilitiesOf(escrow: Pick<PaymentEscrow, "liabilities">): Promise<Liabilities> {
  const l = await escrow.liabilities();
  const buckets = emptyBuckets();
  for (const name of BUCKET_NAMES) buckets[name] = l[name];
  return buckets;
}

/** The EIP-712 digests the payer or merchant owner signs for a confirmation, refund or dispute (what {cancelSignedAction} takes). */
export async function confirmationDigest(f: EscrowFixture, id: Hex, deadline: bigint): Promise<Hex> {
  return ethers.TypedDataEncoder.hash(await domainOf(f), ethersTypes(confirmationTypes), {
    paymentId: id,
    deadline,
  }) as Hex;
}

export async function refundDigest(f: EscrowFixture, id: Hex, totalRefund: bigint, deadline: bigint): Promise<Hex> {
  return ethers.TypedDataEncoder.hash(await domainOf(f), ethersTypes(refundTypes), {
    paymentId: id,
    totalRefund,
    deadline,
  }) as Hex;
}

export async function disputeDigest(f: EscrowFixture, id: Hex, deadline: bigint): Promise<Hex> {
  return ethers.TypedDataEncoder.hash(await domainOf(f), ethersTypes(disputeTypes), { paymentId: id, deadline }) as Hex;
}
