/**
 * Helpers for the payBatch / payWithAuthorization / signature tests: a fixture extending
 * deployEscrowFixture with contract-wallet payers and a second escrow on the same token and
 * registry, builders of signed payments, and decoders of a batch transaction's events so tests can
 * assert exactly which ids were escrowed or rejected (and that nothing else happened).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Signature, getBytes, hexlify, toBeHex } from "ethers";
import type { ContractTransactionResponse, Signer, TransactionReceipt } from "ethers";
import {
  CustomerFunds__factory,
  Flipping1271Wallet__factory,
  GasBurner1271Wallet__factory,
  MockERC1271Wallet__factory,
  PaymentEscrow__factory,
  PaymentLifecycle__factory,
  Settlement__factory,
  type Flipping1271Wallet,
  type GasBurner1271Wallet,
  type MockERC1271Wallet,
  type PaymentEscrow,
} from "../../typechain-types";
import { SECP256K1_N, type Hex, type Payment, encodeBatch } from "../../src/protocol";
import {
  ADMIN_DELAY,
  DISPUTE_TIMEOUT,
  buildPayment,
  deployEscrowFixture,
  domainOf,
  expectInvariant,
  idOf,
  liabilitiesOf,
  mint,
  signPayment,
  usd,
  type EscrowFixture,
  type SignedPaymentInput,
  type Liabilities,
} from "./fixtures";

export { expectInvariant };
/** Escrow balance given to each contract wallet in the fixture. */
export const WALLET_DEPOSIT = usd(500);

export interface PayBatchFixture extends EscrowFixture {
  /** EOA owning both contract wallets. */
  walletOwner: HardhatEthersSigner;
  /** ERC-1271 wallet accepting `walletOwner`'s ECDSA signatures; WALLET_DEPOSIT in the escrow. */
  wallet: MockERC1271Wallet;
  /** ERC-1271 wallet whose isValidSignature burns all the gas it gets; WALLET_DEPOSIT in the escrow. */
  burner: GasBurner1271Wallet;
  /** A second escrow deployment on the same token and registry (different EIP-712 verifyingContract). */
  otherEscrow: PaymentEscrow;
  /** Accounts with no role, no tokens and no escrow balance. */
  spare: HardhatEthersSigner[];
}

/** Makes a contract wallet (any test wallet with an owner-only execute) deposit `amount` via its execute. */
export async function depositFromWallet(
  f: EscrowFixture,
  wallet: MockERC1271Wallet | GasBurner1271Wallet | Flipping1271Wallet,
  owner: Signer,
  amount: bigint,
): Promise<void> {
  const walletAddress = await wallet.getAddress();
  const escrowAddress = await f.escrow.getAddress();
  await mint(f, walletAddress, amount);
  await wallet
    .connect(owner)
    .execute(await f.token.getAddress(), f.token.interface.encodeFunctionData("approve", [escrowAddress, amount]));
  await wallet.connect(owner).execute(escrowAddress, f.escrow.interface.encodeFunctionData("deposit", [amount]));
}

/** A second PaymentEscrow on `f`'s token and registry (fresh linked libraries, same constructor terms). */
export async function deployOtherEscrow(f: EscrowFixture): Promise<PaymentEscrow> {
  const customerFunds = await new CustomerFunds__factory(f.admin).deploy();
  const paymentLifecycle = await new PaymentLifecycle__factory(f.admin).deploy();
  const settlement = await new Settlement__factory(f.admin).deploy();
  const escrow = await new PaymentEscrow__factory(
    {
      "contracts/libraries/CustomerFunds.sol:CustomerFunds": await customerFunds.getAddress(),
      "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle": await paymentLifecycle.getAddress(),
      "contracts/libraries/Settlement.sol:Settlement": await settlement.getAddress(),
    },
    f.admin,
  ).deploy(
    await f.token.getAddress(),
    await f.registry.getAddress(),
    f.feeRecipient.address,
    DISPUTE_TIMEOUT,
    ADMIN_DELAY,
    f.admin.address,
  );
  await escrow.waitForDeployment();
  return escrow;
}

/** A Flipping1271Wallet of `owner` (not burning) with `amount` in the escrow. */
export async function deployFlippingWallet(
  f: EscrowFixture,
  owner: HardhatEthersSigner,
  amount: bigint,
): Promise<Flipping1271Wallet> {
  const wallet = await new Flipping1271Wallet__factory(f.admin).deploy(owner.address);
  await depositFromWallet(f, wallet, owner, amount);
  return wallet;
}

/** deployEscrowFixture plus two funded contract wallets and a second escrow. */
export async function deployPayBatchFixture(): Promise<PayBatchFixture> {
  const f = await deployEscrowFixture();
  const signers = await ethers.getSigners();
  const walletOwner = signers[16];
  const wallet = await new MockERC1271Wallet__factory(f.admin).deploy(walletOwner.address);
  const burner = await new GasBurner1271Wallet__factory(f.admin).deploy(walletOwner.address);
  await depositFromWallet(f, wallet, walletOwner, WALLET_DEPOSIT);
  await depositFromWallet(f, burner, walletOwner, WALLET_DEPOSIT);
  const otherEscrow = await deployOtherEscrow(f);
  return { ...f, walletOwner, wallet, burner, otherEscrow, spare: signers.slice(17) };
}

/** Builds a payment of `payer` (default: 10.00 to merchant 1, nonce 0) and has `signer` (default: payer) sign it. */
export async function signed(
  f: EscrowFixture,
  payer: HardhatEthersSigner | { address: string },
  overrides: Partial<Payment> = {},
  signer?: Signer,
): Promise<SignedPaymentInput> {
  const payment = await buildPayment(f, payer, overrides);
  const by = signer ?? (payer as Signer);
  return { payment, signature: await signPayment(f, by, payment) };
}

// ------------------------------------------------------------------ signature variants

/** The malleable twin of a valid 65-byte signature: s' = n - s, v flipped (27 <-> 28). */
export function toHighS(signature: Hex): Hex {
  const bytes = getBytes(signature);
  if (bytes.length !== 65) throw new Error(`expected 65 bytes, got ${bytes.length}`);
  const s = BigInt(hexlify(bytes.slice(32, 64)));
  const v = bytes[64] === 27 ? 28 : 27;
  return hexlify(new Uint8Array([...bytes.slice(0, 32), ...getBytes(toBeHex(SECP256K1_N - s, 32)), v])) as Hex;
}

/** The 64-byte EIP-2098 compact form (r ‖ yParityAndS) of a valid 65-byte signature. */
export function toCompact(signature: Hex): Hex {
  return Signature.from(signature).compactSerialized as Hex;
}

// ------------------------------------------------------------------ state snapshots

export interface AccountState {
  balance: bigint;
  nonceBase: bigint;
  nonceBitmap: bigint;
}

export async function accountState(f: Pick<EscrowFixture, "escrow">, account: string): Promise<AccountState> {
  const [nonceBase, nonceBitmap] = await f.escrow.nonceWindow(account);
  return { balance: await f.escrow.balanceOf(account), nonceBase, nonceBitmap };
}

export interface EscrowState {
  liabilities: Liabilities;
  batchCount: bigint;
  tokenBalance: bigint;
}

export async function escrowState(f: Pick<EscrowFixture, "escrow" | "token">): Promise<EscrowState> {
  return {
    liabilities: await liabilitiesOf(f.escrow),
    batchCount: await f.escrow.batchCount(),
    tokenBalance: await f.token.balanceOf(await f.escrow.getAddress()),
  };
}

/** Sets the timestamp of the next mined block to `delta` seconds after the latest one and returns it. */
export async function nextTimestamp(delta = 10n): Promise<bigint> {
  const t = BigInt(await time.latest()) + delta;
  await time.setNextBlockTimestamp(t);
  return t;
}

// ------------------------------------------------------------------ event decoding

export interface EscrowedEvent {
  id: string;
  payer: string;
  merchantId: bigint;
  batchId: bigint;
  amount: bigint;
}

export interface RejectedEvent {
  id: string;
  payer: string;
  reason: bigint;
}

export interface TrancheEvent {
  batchId: bigint;
  merchantId: bigint;
  amount: bigint;
  releaseAt: bigint;
  feeBps: bigint;
}

export interface BatchEvent {
  batchId: bigint;
  root: string;
  paymentCount: bigint;
  total: bigint;
  submitter: string;
}

export interface BatchEvents {
  escrowed: EscrowedEvent[];
  rejected: RejectedEvent[];
  tranches: TrancheEvent[];
  batches: BatchEvent[];
  receipt: TransactionReceipt;
}

/** Every escrow event of a mined transaction, in log order, by kind. */
export async function batchEvents(
  f: Pick<EscrowFixture, "escrow">,
  tx: ContractTransactionResponse,
): Promise<BatchEvents> {
  const receipt = (await tx.wait())!;
  const escrowAddress = (await f.escrow.getAddress()).toLowerCase();
  const out: BatchEvents = { escrowed: [], rejected: [], tranches: [], batches: [], receipt };
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== escrowAddress) continue;
    const parsed = f.escrow.interface.parseLog(log);
    if (!parsed) continue;
    const a = parsed.args;
    switch (parsed.name) {
      case "PaymentEscrowed":
        out.escrowed.push({ id: a[0], payer: a[1], merchantId: a[2], batchId: a[3], amount: a[4] });
        break;
      case "PaymentRejected":
        out.rejected.push({ id: a[0], payer: a[1], reason: a[2] });
        break;
      case "TrancheFunded":
        out.tranches.push({ batchId: a[0], merchantId: a[1], amount: a[2], releaseAt: a[3], feeBps: a[4] });
        break;
      case "BatchEscrowed":
        out.batches.push({ batchId: a[0], root: a[1], paymentCount: a[2], total: a[3], submitter: a[4] });
        break;
      default:
        break;
    }
  }
  return out;
}

/** Ids of `items` under `f`'s escrow domain. */
export async function idsOf(f: Pick<EscrowFixture, "escrow" | "chainId">, items: SignedPaymentInput[]): Promise<Hex[]> {
  return Promise.all(items.map((item) => idOf(f, item.payment)));
}

/** The escrow's domain for another chain id or another escrow address (to forge wrong-domain signatures). */
export async function foreignDomain(
  f: Pick<EscrowFixture, "escrow" | "chainId">,
  overrides: { chainId?: bigint; verifyingContract?: string },
) {
  const domain = await domainOf(f, overrides.chainId);
  return overrides.verifyingContract ? { ...domain, verifyingContract: overrides.verifyingContract as Hex } : domain;
}

/**
 * Submits `[good, bad]` and asserts the escrow accepted exactly `good` and rejected exactly `bad` for
 * `reason`, and that `bad`'s payer (if not `good`'s) is untouched: same balance and nonce window.
 * Returns the batch transaction's decoded events.
 */
export async function expectRejectedBesideValid(
  f: EscrowFixture,
  good: SignedPaymentInput,
  bad: SignedPaymentInput,
  reason: number,
  submitter: Signer = f.relayer,
): Promise<BatchEvents> {
  const [goodId, badId] = await idsOf(f, [good, bad]);
  const badPayer = bad.payment.payer;
  const separatePayers = badPayer.toLowerCase() !== good.payment.payer.toLowerCase();
  const badBefore = await accountState(f, badPayer);
  const before = await escrowState(f);
  const batchId = before.batchCount + 1n;

  const tx = await f.escrow.connect(submitter).payBatch(encodeBatch([good, bad]));
  await expect(tx).to.emit(f.escrow, "PaymentRejected").withArgs(badId, badPayer, reason);
  const events = await batchEvents(f, tx);
  expect(events.rejected).to.deep.equal([{ id: badId, payer: ethers.getAddress(badPayer), reason: BigInt(reason) }]);
  expect(events.escrowed.map((e) => e.id)).to.deep.equal([goodId]);
  expect(events.batches).to.have.length(1);
  expect(events.batches[0].paymentCount).to.equal(1n);
  expect(events.batches[0].total).to.equal(good.payment.amount);
  // A single-leaf batch: the root is the accepted id itself.
  expect(await f.escrow.batchRoot(batchId)).to.equal(goodId);

  if (separatePayers) expect(await accountState(f, badPayer)).to.deep.equal(badBefore);
  const after = await escrowState(f);
  expect(after.batchCount).to.equal(batchId);
  expect(after.tokenBalance).to.equal(before.tokenBalance);
  expect(after.liabilities).to.deep.equal({
    ...before.liabilities,
    customerBalances: before.liabilities.customerBalances - good.payment.amount,
    held: before.liabilities.held + good.payment.amount,
  });
  await expectInvariant(f);
  return events;
}
