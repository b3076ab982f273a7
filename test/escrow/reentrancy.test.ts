/**
 * Reentrancy through token hooks: the escrow runs on CallbackToken, which calls
 * `onTokenReceived` on contract recipients, and merchant 1's payout address is a ReentrantWallet
 * that calls back into the escrow (settle / claim / withdraw) when it receives tokens.
 *
 * Funding note: CallbackToken also calls `onTokenReceived` on the *escrow* when customers deposit,
 * and the escrow implements no such hook, so `deposit` on this token reverts. To still fund
 * customers through the escrow's own `deposit` (the accounting under test), {depositAs} swaps the
 * token's runtime code for SettlementToken's (same ERC-20 storage layout: balances, allowances,
 * supply in slots 0-2; its pause and blocklist slots read as empty) for the deposit only, then puts
 * CallbackToken's code back. If CallbackToken is ever fixed to tolerate receivers without the hook,
 * the plain deposit succeeds and no swap happens.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  CallbackToken__factory,
  ReentrantWallet__factory,
  SettlementToken__factory,
  type CallbackToken,
  type MerchantRegistry,
  type PaymentEscrow,
  type ReentrantWallet,
} from "../../typechain-types";
import { deployStablePay } from "../../src/chain/deploy";
import {
  ADMIN_DELAY,
  DISPUTE_TIMEOUT,
  FEE_BPS,
  HOLD_PERIOD,
  MAX_HOLD,
  MIN_HOLD,
  REGISTRAR_ROLE,
  feeOf,
  usd,
} from "./fixtures";
import { expectInvariant, liabilitiesOf, merchantBalancesOf, payBatchOf } from "./settle.helpers";

interface CallbackFixture {
  token: CallbackToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  wallet: ReentrantWallet;
  admin: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  feeRecipient: HardhatEthersSigner;
  /** m1 is paid to the ReentrantWallet, m2 to an EOA. */
  m1: { id: bigint; owner: HardhatEthersSigner; payout: string };
  m2: { id: bigint; owner: HardhatEthersSigner; payout: string };
  customers: HardhatEthersSigner[];
  chainId: bigint;
  /** Runtime code of CallbackToken and of a SettlementToken (see the funding note above). */
  callbackCode: string;
  plainCode: string;
}

/** Runs `deposit` (which must make the escrow pull tokens), swapping in plain ERC-20 code if the hook would block it. */
async function depositAs(f: CallbackFixture, probe: () => Promise<unknown>, deposit: () => Promise<unknown>) {
  const hookBlocksDeposit = await probe().then(
    () => false,
    () => true,
  );
  if (!hookBlocksDeposit) {
    await deposit();
    return;
  }
  const tokenAddress = await f.token.getAddress();
  await setCode(tokenAddress, f.plainCode);
  try {
    await deposit();
  } finally {
    await setCode(tokenAddress, f.callbackCode);
  }
}

/** Mints to `customer`, approves and deposits `amount` into the escrow. */
async function fundCustomer(f: CallbackFixture, customer: HardhatEthersSigner, amount: bigint): Promise<void> {
  await f.token.mint(customer.address, amount);
  await f.token.connect(customer).approve(await f.escrow.getAddress(), amount);
  await depositAs(
    f,
    () => f.escrow.connect(customer).deposit.staticCall(amount),
    () => f.escrow.connect(customer).deposit(amount),
  );
}

/** Gives the ReentrantWallet itself a free balance in the escrow (approve + deposit through execute). */
async function fundWallet(f: CallbackFixture, amount: bigint): Promise<void> {
  const escrowAddress = await f.escrow.getAddress();
  await f.token.mint(await f.wallet.getAddress(), amount);
  await f.wallet.approveToken(await f.token.getAddress(), escrowAddress, amount);
  const data = f.escrow.interface.encodeFunctionData("deposit", [amount]);
  await depositAs(
    f,
    () => f.wallet.execute.staticCall(escrowAddress, data),
    () => f.wallet.execute(escrowAddress, data),
  );
}

async function callbackEscrowFixture(): Promise<CallbackFixture> {
  const signers = await ethers.getSigners();
  const [admin, , registrar, feeRecipient, relayer, stranger] = signers;
  const token = await new CallbackToken__factory(admin).deploy();
  const { registry, escrow } = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: feeRecipient.address,
    adminDelay: ADMIN_DELAY,
    disputeTimeout: DISPUTE_TIMEOUT,
    currencies: [{ code: "USD", existingToken: await token.getAddress() }],
  });
  await registry.connect(admin).grantRole(REGISTRAR_ROLE, registrar.address);
  const wallet = await new ReentrantWallet__factory(admin).deploy();
  const [o1, o2, p2] = signers.slice(6, 9);
  await registry
    .connect(registrar)
    .registerMerchant(o1.address, await wallet.getAddress(), FEE_BPS, MIN_HOLD, MAX_HOLD, ethers.ZeroHash);
  await registry
    .connect(registrar)
    .registerMerchant(o2.address, p2.address, FEE_BPS, MIN_HOLD, MAX_HOLD, ethers.ZeroHash);

  const reference = await new SettlementToken__factory(admin).deploy("Reference", "REF", ADMIN_DELAY, admin.address);
  const f: CallbackFixture = {
    token,
    registry,
    escrow,
    wallet,
    admin,
    relayer,
    stranger,
    feeRecipient,
    m1: { id: 1n, owner: o1, payout: await wallet.getAddress() },
    m2: { id: 2n, owner: o2, payout: p2.address },
    customers: signers.slice(12, 15),
    chainId: (await ethers.provider.getNetwork()).chainId,
    callbackCode: await ethers.provider.getCode(await token.getAddress()),
    plainCode: await ethers.provider.getCode(await reference.getAddress()),
  };
  for (const c of f.customers) await fundCustomer(f, c, usd(1_000));
  return f;
}

/** One batch paying m1 `a1` and m2 `a2`, hold period elapsed. Returns the batch id and the net payouts. */
async function releasableBatch(f: CallbackFixture, a1: bigint, a2: bigint) {
  const [alice, bob] = f.customers;
  const batch = await payBatchOf(f, [
    { payer: alice, merchantId: f.m1.id, amount: a1 },
    { payer: bob, merchantId: f.m2.id, amount: a2 },
  ]);
  await time.increase(HOLD_PERIOD);
  return {
    entries: [
      { merchantId: f.m1.id, batchIds: [batch.batchId] },
      { merchantId: f.m2.id, batchIds: [batch.batchId] },
    ],
    p1: a1 - feeOf(a1),
    p2: a2 - feeOf(a2),
  };
}

/** Defers m1's payout once (wallet re-entering settle) so that m1 has a claimable balance. Returns it. */
async function deferOnce(f: CallbackFixture, a1: bigint = usd(10)): Promise<bigint> {
  const { entries, p1 } = await releasableBatch(f, a1, usd(1));
  await f.wallet.arm(await f.escrow.getAddress(), f.escrow.interface.encodeFunctionData("settle", [[]]));
  await expect(f.escrow.settle(entries)).to.emit(f.escrow, "PayoutDeferred").withArgs(f.m1.id, f.m1.payout, p1);
  await f.wallet.disarm();
  return p1;
}

describe("PaymentEscrow reentrancy (CallbackToken + ReentrantWallet)", function () {
  it("settles on a token without paused(): the pause probe tolerates the missing function", async function () {
    const f = await loadFixture(callbackEscrowFixture);
    const pausedCall = new ethers.Interface(["function paused() view returns (bool)"]).encodeFunctionData("paused");
    await expect(ethers.provider.call({ to: await f.token.getAddress(), data: pausedCall })).to.be.reverted;

    const { entries, p1, p2 } = await releasableBatch(f, usd(10), usd(20));
    const tx = f.escrow.connect(f.stranger).settle(entries);
    await expect(tx)
      .to.emit(f.escrow, "MerchantPaid")
      .withArgs(f.m1.id, f.m1.payout, p1)
      .and.to.emit(f.escrow, "MerchantPaid")
      .withArgs(f.m2.id, f.m2.payout, p2);
    await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.m1.payout, f.m2.payout], [-(p1 + p2), p1, p2]);
    // The disarmed wallet saw the hook fire once for its payout.
    expect(await f.wallet.received()).to.equal(p1);
    await expectInvariant(f);
  });

  it("a hook that calls another contract (not the escrow) does not disturb the payout", async function () {
    const f = await loadFixture(callbackEscrowFixture);
    const { entries, p1 } = await releasableBatch(f, usd(10), usd(20));
    await f.wallet.arm(await f.token.getAddress(), f.token.interface.encodeFunctionData("balanceOf", [f.m2.payout]));
    await expect(f.escrow.settle(entries)).to.emit(f.escrow, "MerchantPaid").withArgs(f.m1.id, f.m1.payout, p1);
    expect(await f.token.balanceOf(f.m1.payout)).to.equal(p1);
    await expectInvariant(f);
  });

  type Reentry = "settle" | "claim" | "withdraw";
  const reentries: Reentry[] = ["settle", "claim", "withdraw"];

  for (const reentry of reentries) {
    it(`defers the payout of a wallet re-entering escrow.${reentry} during settle, pays the others, loses nothing; the disarmed wallet then claims`, async function () {
      const f = await loadFixture(callbackEscrowFixture);
      const escrowAddress = await f.escrow.getAddress();
      let previouslyClaimable = 0n;
      let data: string;
      if (reentry === "settle") {
        data = f.escrow.interface.encodeFunctionData("settle", [[]]);
      } else if (reentry === "claim") {
        // Give m1 a claimable balance first, so that the re-entered claim would succeed on its own.
        previouslyClaimable = await deferOnce(f);
        data = f.escrow.interface.encodeFunctionData("claim", [f.m1.id]);
      } else {
        // Give the wallet a free balance, so that the re-entered withdraw would succeed on its own.
        await fundWallet(f, usd(5));
        data = f.escrow.interface.encodeFunctionData("withdraw", [usd(1), f.m1.payout]);
      }
      // Control: outside any escrow call the same call is accepted (so only the guard can refuse it).
      await f.wallet.execute.staticCall(escrowAddress, data);

      const { entries, p1, p2 } = await releasableBatch(f, usd(10), usd(20));
      await f.wallet.arm(escrowAddress, data);
      const walletBefore = await f.token.balanceOf(f.m1.payout);
      const receivedBefore = await f.wallet.received();
      const before = await liabilitiesOf(f.escrow);

      const tx = f.escrow.connect(f.stranger).settle(entries);
      await expect(tx)
        .to.emit(f.escrow, "PayoutDeferred")
        .withArgs(f.m1.id, f.m1.payout, p1)
        .and.to.emit(f.escrow, "MerchantPaid")
        .withArgs(f.m2.id, f.m2.payout, p2);
      await expect(tx).to.changeTokenBalances(f.token, [f.escrow, f.m1.payout, f.m2.payout], [-p2, 0n, p2]);
      expect(await f.token.balanceOf(f.m1.payout)).to.equal(walletBefore);
      expect(await f.wallet.received()).to.equal(receivedBefore);
      const claimable = previouslyClaimable + p1;
      expect(await merchantBalancesOf(f.escrow, f.m1.id)).to.deep.equal({ released: 0n, claimable });
      const after = await liabilitiesOf(f.escrow);
      expect(after.claimable).to.equal(before.claimable + p1);
      expect(after.held).to.equal(before.held - usd(30));
      expect(after.fees).to.equal(before.fees + feeOf(usd(10)) + feeOf(usd(20)));
      expect(after.customerBalances).to.equal(before.customerBalances);
      await expectInvariant(f);

      await f.wallet.disarm();
      const claimTx = f.escrow.connect(f.stranger).claim(f.m1.id);
      await expect(claimTx).to.emit(f.escrow, "Claimed").withArgs(f.m1.id, f.m1.payout, claimable);
      await expect(claimTx).to.changeTokenBalances(f.token, [f.escrow, f.m1.payout], [-claimable, claimable]);
      expect(await f.wallet.received()).to.equal(receivedBefore + claimable);
      expect((await liabilitiesOf(f.escrow)).claimable).to.equal(0n);
      await expectInvariant(f);
    });
  }

  for (const reentry of ["claim", "settle"] as const) {
    it(`reverts the outer claim with ReentrancyGuardReentrantCall when the payout wallet re-enters escrow.${reentry}`, async function () {
      const f = await loadFixture(callbackEscrowFixture);
      const claimable = await deferOnce(f);
      const data =
        reentry === "claim"
          ? f.escrow.interface.encodeFunctionData("claim", [f.m1.id])
          : f.escrow.interface.encodeFunctionData("settle", [[]]);
      await f.wallet.arm(await f.escrow.getAddress(), data);
      const before = await liabilitiesOf(f.escrow);
      await expect(f.escrow.connect(f.stranger).claim(f.m1.id))
        .to.be.revertedWithCustomError(f.escrow, "ReentrancyGuardReentrantCall")
        .withArgs();
      expect(await merchantBalancesOf(f.escrow, f.m1.id)).to.deep.equal({ released: 0n, claimable });
      expect(await liabilitiesOf(f.escrow)).to.deep.equal(before);
      expect(await f.token.balanceOf(f.m1.payout)).to.equal(0n);
      await expectInvariant(f);

      await f.wallet.disarm();
      await expect(f.escrow.claim(f.m1.id)).to.emit(f.escrow, "Claimed").withArgs(f.m1.id, f.m1.payout, claimable);
      await expectInvariant(f);
    });
  }

  it("reverts a withdrawal to a wallet that re-enters escrow.withdraw with ReentrancyGuardReentrantCall, keeping the balance", async function () {
    const f = await loadFixture(callbackEscrowFixture);
    const alice = f.customers[0];
    const escrowAddress = await f.escrow.getAddress();
    await fundWallet(f, usd(5));
    await f.wallet.arm(escrowAddress, f.escrow.interface.encodeFunctionData("withdraw", [usd(1), f.m1.payout]));
    await expect(f.escrow.connect(alice).withdraw(usd(10), f.m1.payout))
      .to.be.revertedWithCustomError(f.escrow, "ReentrancyGuardReentrantCall")
      .withArgs();
    expect(await f.escrow.balanceOf(alice.address)).to.equal(usd(1_000));
    expect(await f.escrow.balanceOf(f.m1.payout)).to.equal(usd(5));
    await expectInvariant(f);
    await f.wallet.disarm();
    await expect(f.escrow.connect(alice).withdraw(usd(10), f.m1.payout)).to.changeTokenBalances(
      f.token,
      [f.escrow, f.m1.payout],
      [-usd(10), usd(10)],
    );
    await expectInvariant(f);
  });

  it("reverts collectFees to a fee recipient that re-enters the escrow, keeping the fees", async function () {
    const f = await loadFixture(callbackEscrowFixture);
    const { entries } = await releasableBatch(f, usd(10), usd(20));
    await f.escrow.settle(entries);
    const fees = feeOf(usd(10)) + feeOf(usd(20));
    expect((await liabilitiesOf(f.escrow)).fees).to.equal(fees);
    await f.escrow.connect(f.admin).setFeeRecipient(f.m1.payout);
    await f.wallet.arm(await f.escrow.getAddress(), f.escrow.interface.encodeFunctionData("collectFees"));
    await expect(f.escrow.collectFees())
      .to.be.revertedWithCustomError(f.escrow, "ReentrancyGuardReentrantCall")
      .withArgs();
    expect((await liabilitiesOf(f.escrow)).fees).to.equal(fees);
    await expectInvariant(f);
  });
});
