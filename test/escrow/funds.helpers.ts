/**
 * Fixtures and helpers for the customer-funds tests (deposit, deposit by permit / EIP-3009
 * authorization, withdraw, signed withdrawal, nonces): the standard network plus token operators,
 * an ERC-1271 wallet and spare accounts; an escrow on a fee-on-transfer token; an escrow on the
 * CallbackToken with a ReentrantWallet customer; ledger and invariant assertions.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Signer } from "ethers";
import {
  CallbackToken__factory,
  FeeOnTransferToken__factory,
  MockERC1271Wallet__factory,
  ReentrantWallet__factory,
  type CallbackToken,
  type FeeOnTransferToken,
  type MockERC1271Wallet,
  type PaymentEscrow,
  type ReentrantWallet,
  type SettlementToken,
} from "../../typechain-types";
import { deployStablePay } from "../../src/chain/deploy";
import type { Address, Hex, Withdrawal } from "../../src/protocol";
import { depositNonce } from "../../src/sdk/eip3009";
import {
  randomNonce,
  signReceiveAuthorization,
  type AuthorizationParams,
  type SplitSignature,
} from "../helpers/eip3009";
import { deployEscrowFixture, mint, usd, ONE_DAY, type EscrowFixture } from "./fixtures";

export const PAUSER_ROLE = ethers.id("PAUSER_ROLE");
export const BLOCKLISTER_ROLE = ethers.id("BLOCKLISTER_ROLE");
export const MAX_UINT64 = (1n << 64n) - 1n;
export const NONCE_WINDOW = 64n;

/** Overloads of the token's EIP-3009 / EIP-2612 functions, by full signature. */
export const TOKEN_FN = {
  permitVrs: "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  receiveBytes: "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)",
  transferBytes: "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)",
} as const;

export interface FundsFixture extends EscrowFixture {
  /** Holds PAUSER_ROLE and BLOCKLISTER_ROLE on the token. */
  operator: HardhatEthersSigner;
  /** Has usd(500) in its wallet, nothing in the escrow, no allowance. */
  newcomer: HardhatEthersSigner;
  /** Owner EOA of `wallet`. */
  walletOwner: HardhatEthersSigner;
  /** ERC-1271 wallet holding usd(500) of tokens, nothing in the escrow. */
  wallet: MockERC1271Wallet;
  walletAddress: Address;
  /** Escrow address (checksummed). */
  escrowAddress: Address;
}

export const NEWCOMER_FUNDS = usd(500);
export const WALLET_FUNDS = usd(500);

/** The standard network (4 customers with 1,000 deposited each) plus operators, a newcomer and an ERC-1271 wallet. */
export async function deployFundsFixture(): Promise<FundsFixture> {
  const base = await deployEscrowFixture();
  const signers = await ethers.getSigners();
  const [walletOwner, newcomer, operator] = [signers[16], signers[17], signers[18]];
  await base.token.connect(base.admin).grantRole(PAUSER_ROLE, operator.address);
  await base.token.connect(base.admin).grantRole(BLOCKLISTER_ROLE, operator.address);
  const wallet = await new MockERC1271Wallet__factory(walletOwner).deploy(walletOwner.address);
  await wallet.waitForDeployment();
  const walletAddress = (await wallet.getAddress()) as Address;
  await mint(base, walletAddress, WALLET_FUNDS);
  await mint(base, newcomer.address, NEWCOMER_FUNDS);
  const escrowAddress = (await base.escrow.getAddress()) as Address;
  return { ...base, operator, newcomer, walletOwner, wallet, walletAddress, escrowAddress };
}

/** Makes the ERC-1271 wallet approve the escrow and deposit `amount` (the owner drives the wallet). */
export async function walletDeposit(f: FundsFixture, amount: bigint): Promise<void> {
  const approve = f.token.interface.encodeFunctionData("approve", [f.escrowAddress, amount]);
  await f.wallet.connect(f.walletOwner).execute(await f.token.getAddress(), approve);
  const deposit = f.escrow.interface.encodeFunctionData("deposit", [amount]);
  await f.wallet.connect(f.walletOwner).execute(f.escrowAddress, deposit);
}

// ------------------------------------------------------------------ ledger assertions

/** What the ledger assertions need: an escrow and its token (SettlementToken or a test token). */
export interface LedgerSubject {
  escrow: PaymentEscrow;
  token: Pick<SettlementToken, "balanceOf">;
}

/** Asserts the escrow's token balance equals the sum of every bucket it owes. */
export async function expectInvariant(f: LedgerSubject): Promise<void> {
  const l = await f.escrow.liabilities();
  const owed = l.customerBalances + l.held + l.disputed + l.released + l.claimable + l.fees;
  const balance = await f.token.balanceOf(await f.escrow.getAddress());
  expect(balance, "escrow token balance == sum of liabilities").to.equal(owed);
}

/**
 * Asserts liabilities().customerBalances equals `customerTotal`, held equals `held`, that no other
 * bucket is funded (these tests never go past escrowing a payment) and the invariant.
 */
export async function expectLedger(f: LedgerSubject, customerTotal: bigint, held: bigint = 0n): Promise<void> {
  const l = await f.escrow.liabilities();
  expect(l.customerBalances, "liabilities().customerBalances").to.equal(customerTotal);
  expect(l.held, "liabilities().held").to.equal(held);
  expect([l.disputed, l.released, l.claimable, l.fees], "other buckets").to.deep.equal([0n, 0n, 0n, 0n]);
  await expectInvariant(f);
}

/** Everything a failed call must leave unchanged for `accounts`: token balances, escrow balances, nonce windows. */
export async function fundsState(f: LedgerSubject, accounts: string[]) {
  const escrowAddress = await f.escrow.getAddress();
  const rows = [];
  for (const a of [...accounts, escrowAddress]) {
    const [base, bitmap] = await f.escrow.nonceWindow(a);
    rows.push({ account: a, token: await f.token.balanceOf(a), escrow: await f.escrow.balanceOf(a), base, bitmap });
  }
  const l = await f.escrow.liabilities();
  return { rows, customerBalances: l.customerBalances };
}

// ------------------------------------------------------------------ signed messages

/** A withdrawal of `payer`'s balance to `payer` for usd(100), nonce 0, valid one day; override any field. */
export async function buildWithdrawal(
  payer: { address: string },
  overrides: Partial<Withdrawal> = {},
): Promise<Withdrawal> {
  return {
    payer: payer.address as Address,
    to: payer.address as Address,
    amount: usd(100),
    nonce: 0n,
    deadline: BigInt(await time.latest()) + ONE_DAY,
    ...overrides,
  };
}

export interface SignedAuthorization {
  /** `salt` is what the escrow is given; the signed `nonce` is derived from it (depositNonce). */
  auth: AuthorizationParams & { value: bigint; validAfter: bigint; validBefore: bigint; salt: string };
  sig: SplitSignature;
}

/**
 * `signer`'s EIP-3009 ReceiveWithAuthorization of `value` from `from` (default: the signer) to the
 * escrow, valid from now-1 for an hour, with a random salt and the deposit nonce derived from it;
 * override any field (an overridden `nonce` is signed as is, to forge mismatched authorizations).
 */
export async function signDepositAuthorization(
  f: Pick<FundsFixture, "token" | "escrowAddress">,
  signer: Signer,
  value: bigint,
  overrides: Partial<SignedAuthorization["auth"]> = {},
): Promise<SignedAuthorization> {
  const now = BigInt(await time.latest());
  const from = overrides.from ?? (await signer.getAddress());
  const salt = overrides.salt ?? randomNonce();
  const auth = {
    from,
    to: f.escrowAddress as string,
    value,
    validAfter: 0n,
    validBefore: now + 3600n,
    nonce: depositNonce(from as Address, overrides.value ?? value, salt as Hex),
    salt,
    ...overrides,
  };
  return { auth, sig: await signReceiveAuthorization(signer, f.token, auth) };
}

/** Submits an authorization to escrow.depositWithAuthorization as `submitter`. */
export function submitDepositAuthorization(
  f: Pick<FundsFixture, "escrow">,
  submitter: Signer,
  { auth, sig }: SignedAuthorization,
  amount: bigint = auth.value,
) {
  return f.escrow
    .connect(submitter)
    .depositWithAuthorization(auth.from, amount, auth.validAfter, auth.validBefore, auth.salt, sig.signature);
}

// ------------------------------------------------------------------ escrows on test tokens

export interface FeeTokenFixture {
  token: FeeOnTransferToken;
  escrow: PaymentEscrow;
  customer: HardhatEthersSigner;
}

/** An escrow deployed on a token that burns 1% of every transfer; the customer holds usd(1,000) and approved it. */
export async function deployFeeTokenFixture(): Promise<FeeTokenFixture> {
  const [admin, , , feeRecipient] = await ethers.getSigners();
  const customer = (await ethers.getSigners())[12];
  const token = await new FeeOnTransferToken__factory(admin).deploy(100n);
  await token.waitForDeployment();
  const { escrow } = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: feeRecipient.address,
    currencies: [{ code: "USD", existingToken: await token.getAddress() }],
  });
  await token.mint(customer.address, usd(1_000));
  await token.connect(customer).approve(await escrow.getAddress(), usd(1_000));
  return { token, escrow, customer };
}

export interface CallbackFixture {
  token: CallbackToken;
  escrow: PaymentEscrow;
  /** Customer contract wallet with CALLBACK_BALANCE in the escrow; not armed. */
  wallet: ReentrantWallet;
  walletAddress: Address;
  /** An EOA customer with CALLBACK_BALANCE in the escrow. */
  customer: HardhatEthersSigner;
}

export const CALLBACK_BALANCE = usd(300);

/**
 * Credits `amount` to `account`'s free balance (and to liabilities().customerBalances) by writing
 * the escrow's storage, and mints the backing tokens to the escrow, so the invariant holds.
 *
 * Needed because the CallbackToken calls `onTokenReceived` on every contract recipient, the escrow
 * included, and the escrow has no such function: no transfer into an escrow on the CallbackToken
 * can succeed, so deposits are impossible there. Minting to the escrow has no hook. Slots are
 * located at run time (the account mapping through a cancelled nonce; the totals by probing), and
 * every write is checked through the escrow's own views.
 */
export async function seedCustomerBalance(
  escrow: PaymentEscrow,
  token: CallbackToken,
  prober: Signer,
  accounts: string[],
  amount: bigint,
): Promise<void> {
  const escrowAddress = await escrow.getAddress();
  const provider = ethers.provider;
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const read = async (slot: bigint) => BigInt(await provider.getStorage(escrowAddress, slot));
  const write = (slot: bigint, value: bigint) =>
    network.provider.send("hardhat_setStorageAt", [escrowAddress, ethers.toQuantity(slot), ethers.toBeHex(value, 32)]);
  const accountSlot = (account: string, mappingSlot: bigint) =>
    BigInt(ethers.keccak256(coder.encode(["address", "uint256"], [account, mappingSlot])));

  // The account mapping: the prober marks a nonce used, so its entry becomes non-zero.
  await escrow.connect(prober).cancelNonce(1n);
  const proberAddress = await prober.getAddress();
  let mappingSlot = -1n;
  for (let i = 0n; i < 64n && mappingSlot < 0n; i++) {
    if ((await read(accountSlot(proberAddress, i))) !== 0n) mappingSlot = i;
  }
  if (mappingSlot < 0n) throw new Error("seedCustomerBalance: account mapping slot not found");

  const mask128 = (1n << 128n) - 1n;
  for (const account of accounts) {
    const slot = accountSlot(account, mappingSlot);
    const current = await read(slot);
    await write(slot, (current & ~mask128) | amount);
    if ((await escrow.balanceOf(account)) !== amount)
      throw new Error("seedCustomerBalance: balance not at the low 128 bits");
  }

  // The totals: find the (zero) slot whose low or high half is liabilities().customerBalances.
  const total = amount * BigInt(accounts.length);
  let found = false;
  for (let i = 0n; i < mappingSlot && !found; i++) {
    if ((await read(i)) !== 0n) continue;
    for (const value of [total, total << 128n]) {
      await write(i, value);
      const l = await escrow.liabilities();
      const rest = l.held + l.disputed + l.released + l.claimable + l.fees;
      if (l.customerBalances === total && rest === 0n) {
        found = true;
        break;
      }
      await write(i, 0n);
    }
  }
  if (!found) throw new Error("seedCustomerBalance: totals slot not found");
  await token.mint(escrowAddress, total);
}

/** An escrow on the CallbackToken, with a ReentrantWallet customer and an EOA customer (balances seeded). */
export async function deployCallbackFixture(): Promise<CallbackFixture> {
  const signers = await ethers.getSigners();
  const [admin, , , feeRecipient] = signers;
  const customer = signers[12];
  const token = await new CallbackToken__factory(admin).deploy();
  await token.waitForDeployment();
  const { escrow } = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: feeRecipient.address,
    currencies: [{ code: "USD", existingToken: await token.getAddress() }],
  });
  const wallet = await new ReentrantWallet__factory(admin).deploy();
  await wallet.waitForDeployment();
  const walletAddress = (await wallet.getAddress()) as Address;
  await seedCustomerBalance(escrow, token, signers[19], [walletAddress, customer.address], CALLBACK_BALANCE);
  return { token, escrow, wallet, walletAddress, customer };
}
