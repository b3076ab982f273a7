import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { CUSTOMER_DEPOSIT, MAX_UINT128, escrowOne, signWithdrawal, usd } from "./fixtures";
import {
  CALLBACK_BALANCE,
  deployCallbackFixture,
  buildWithdrawal,
  deployFundsFixture,
  expectLedger,
  fundsState,
  type CallbackFixture,
} from "./funds.helpers";

const INITIAL_TOTAL = 4n * CUSTOMER_DEPOSIT;

describe("PaymentEscrow.withdraw", function () {
  it("pays the caller's own free balance to the caller: Withdrawn(account, account, amount)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice] = f.customers;
    const amount = usd(250.5);
    const tx = f.escrow.connect(alice).withdraw(amount, alice.address);
    await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(alice.address, alice.address, amount);
    await expect(tx).to.changeTokenBalances(f.token, [alice, f.escrow], [amount, -amount]);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - amount);
    expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([0n, 0n]);
    await expectLedger(f, INITIAL_TOTAL - amount);
  });

  it("pays to another address: Withdrawn(account, to, amount), the recipient's escrow balance is untouched", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice, bob] = f.customers;
    const amount = usd(40);
    const tx = f.escrow.connect(alice).withdraw(amount, bob.address);
    await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(alice.address, bob.address, amount);
    await expect(tx).to.changeTokenBalances(f.token, [alice, bob, f.escrow], [0n, amount, -amount]);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - amount);
    expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT);
    await expectLedger(f, INITIAL_TOTAL - amount);
  });

  it("withdraws the whole balance, after which one more unit is InsufficientBalance(account, 0, 1)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice] = f.customers;
    await f.escrow.connect(alice).withdraw(CUSTOMER_DEPOSIT, alice.address);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(0n);
    await expectLedger(f, INITIAL_TOTAL - CUSTOMER_DEPOSIT);
    await expect(f.escrow.connect(alice).withdraw(1n, alice.address))
      .to.be.revertedWithCustomError(f.escrow, "InsufficientBalance")
      .withArgs(alice.address, 0n, 1n);
  });

  describe("reverts", function () {
    it("InvalidRecipient(escrow) for to = the escrow itself: the customer's tokens are not stranded", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const escrow = await f.escrow.getAddress();
      await expect(f.escrow.connect(alice).withdraw(usd(1), escrow))
        .to.be.revertedWithCustomError(f.escrow, "InvalidRecipient")
        .withArgs(escrow);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("ZeroAddress for to = 0", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await expect(f.escrow.connect(alice).withdraw(usd(1), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.escrow,
        "ZeroAddress",
      );
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("InsufficientBalance(account, balance, needed) one unit above the balance", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await expect(f.escrow.connect(alice).withdraw(CUSTOMER_DEPOSIT + 1n, alice.address))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientBalance")
        .withArgs(alice.address, CUSTOMER_DEPOSIT, CUSTOMER_DEPOSIT + 1n);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("InsufficientBalance(stranger, 0, amount) for an account that never deposited", async function () {
      const f = await loadFixture(deployFundsFixture);
      await expect(f.escrow.connect(f.stranger).withdraw(usd(1), f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientBalance")
        .withArgs(f.stranger.address, 0n, usd(1));
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("InsufficientBalance counts only the free balance, not escrowed payments", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await escrowOne(f, alice, { amount: usd(10) });
      await expectLedger(f, INITIAL_TOTAL - usd(10), usd(10));
      await expect(f.escrow.connect(alice).withdraw(CUSTOMER_DEPOSIT, alice.address))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientBalance")
        .withArgs(alice.address, CUSTOMER_DEPOSIT - usd(10), CUSTOMER_DEPOSIT);
      await f.escrow.connect(alice).withdraw(CUSTOMER_DEPOSIT - usd(10), alice.address);
      await expectLedger(f, INITIAL_TOTAL - CUSTOMER_DEPOSIT, usd(10));
    });

    for (const [label, amount] of [
      ["0", 0n],
      ["2^128", MAX_UINT128 + 1n],
    ] as const) {
      it(`InvalidAmount(${label})`, async function () {
        const f = await loadFixture(deployFundsFixture);
        const [alice] = f.customers;
        await expect(f.escrow.connect(alice).withdraw(amount, alice.address))
          .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
          .withArgs(amount);
        await expectLedger(f, INITIAL_TOTAL);
      });
    }
  });

  describe("token pause", function () {
    it("reverts with the token's EnforcedPause, changes nothing, and works after unpause", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice, bob] = f.customers;
      await f.token.connect(f.operator).pause();
      const before = await fundsState(f, [alice.address, bob.address]);
      await expect(f.escrow.connect(alice).withdraw(usd(10), bob.address)).to.be.revertedWithCustomError(
        f.token,
        "EnforcedPause",
      );
      expect(await fundsState(f, [alice.address, bob.address])).to.deep.equal(before);
      await expectLedger(f, INITIAL_TOTAL);

      await f.token.connect(f.operator).unpause();
      await expect(f.escrow.connect(alice).withdraw(usd(10), bob.address))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(alice.address, bob.address, usd(10));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
      await expectLedger(f, INITIAL_TOTAL - usd(10));
    });
  });

  describe("token blocklist", function () {
    it("a withdrawal to a blocklisted address reverts AccountBlocklisted(to) and the balance is kept", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await f.token.connect(f.operator).blocklist(f.stranger.address);
      const before = await fundsState(f, [alice.address, f.stranger.address]);
      await expect(f.escrow.connect(alice).withdraw(usd(10), f.stranger.address))
        .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
        .withArgs(f.stranger.address);
      expect(await fundsState(f, [alice.address, f.stranger.address])).to.deep.equal(before);
      await expectLedger(f, INITIAL_TOTAL);

      // The balance is still the customer's to withdraw elsewhere.
      await expect(f.escrow.connect(alice).withdraw(usd(10), alice.address)).to.changeTokenBalances(
        f.token,
        [alice, f.escrow],
        [usd(10), -usd(10)],
      );
      await expectLedger(f, INITIAL_TOTAL - usd(10));
    });
  });

  describe("blocklisted customer", function () {
    it("cannot move its escrow balance to a clean address: CustomerBlocklisted(account), balance frozen", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await f.token.connect(f.operator).blocklist(alice.address);
      const before = await fundsState(f, [alice.address, f.stranger.address]);
      await expect(f.escrow.connect(alice).withdraw(usd(10), f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "CustomerBlocklisted")
        .withArgs(alice.address);
      expect(await fundsState(f, [alice.address, f.stranger.address])).to.deep.equal(before);

      await f.token.connect(f.operator).unBlocklist(alice.address);
      await expect(f.escrow.connect(alice).withdraw(usd(10), f.stranger.address)).to.changeTokenBalances(
        f.token,
        [f.stranger, f.escrow],
        [usd(10), -usd(10)],
      );
      await expectLedger(f, INITIAL_TOTAL - usd(10));
    });

    it("a relayed signed withdrawal of a blocklisted customer reverts CustomerBlocklisted as well", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await f.token.connect(f.operator).blocklist(alice.address);
      const withdrawal = await buildWithdrawal(alice, { to: f.stranger.address as `0x${string}`, amount: usd(10) });
      const signature = await signWithdrawal(f, alice, withdrawal);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(withdrawal, signature))
        .to.be.revertedWithCustomError(f.escrow, "CustomerBlocklisted")
        .withArgs(alice.address);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  describe("reentrancy (escrow on the CallbackToken)", function () {
    const withdrawCall = (c: CallbackFixture, amount: bigint, to: string) =>
      c.escrow.interface.encodeFunctionData("withdraw", [amount, to]);

    it("an unarmed contract wallet withdraws normally (the token calls back into it)", async function () {
      const c = await loadFixture(deployCallbackFixture);
      await expectLedger(c, 2n * CALLBACK_BALANCE);
      const tx = c.wallet.execute(await c.escrow.getAddress(), withdrawCall(c, usd(100), c.walletAddress));
      await expect(tx).to.emit(c.escrow, "Withdrawn").withArgs(c.walletAddress, c.walletAddress, usd(100));
      await expect(tx).to.changeTokenBalances(
        c.token,
        [c.walletAddress, await c.escrow.getAddress()],
        [usd(100), -usd(100)],
      );
      expect(await c.wallet.received()).to.equal(usd(100));
      expect(await c.escrow.balanceOf(c.walletAddress)).to.equal(CALLBACK_BALANCE - usd(100));
      await expectLedger(c, 2n * CALLBACK_BALANCE - usd(100));
    });

    it("re-entering withdraw during the wallet's own withdrawal reverts ReentrancyGuardReentrantCall; nothing changes", async function () {
      const c = await loadFixture(deployCallbackFixture);
      const escrowAddress = await c.escrow.getAddress();
      await c.wallet.arm(escrowAddress, withdrawCall(c, usd(100), c.walletAddress));
      const before = await fundsState(c, [c.walletAddress, c.customer.address]);

      await expect(
        c.wallet.execute(escrowAddress, withdrawCall(c, usd(100), c.walletAddress)),
      ).to.be.revertedWithCustomError(c.escrow, "ReentrancyGuardReentrantCall");

      expect(await fundsState(c, [c.walletAddress, c.customer.address])).to.deep.equal(before);
      expect(await c.escrow.balanceOf(c.walletAddress)).to.equal(CALLBACK_BALANCE);
      expect(await c.wallet.received()).to.equal(0n);
      await expectLedger(c, 2n * CALLBACK_BALANCE);

      // Disarmed, the same withdrawal goes through once.
      await c.wallet.disarm();
      await c.wallet.execute(escrowAddress, withdrawCall(c, usd(100), c.walletAddress));
      expect(await c.escrow.balanceOf(c.walletAddress)).to.equal(CALLBACK_BALANCE - usd(100));
      await expectLedger(c, 2n * CALLBACK_BALANCE - usd(100));
    });

    it("re-entering deposit from the payout hook is refused as well", async function () {
      const c = await loadFixture(deployCallbackFixture);
      const escrowAddress = await c.escrow.getAddress();
      await c.wallet.arm(escrowAddress, c.escrow.interface.encodeFunctionData("deposit", [1n]));
      await expect(
        c.wallet.execute(escrowAddress, withdrawCall(c, usd(50), c.walletAddress)),
      ).to.be.revertedWithCustomError(c.escrow, "ReentrancyGuardReentrantCall");
      expect(await c.escrow.balanceOf(c.walletAddress)).to.equal(CALLBACK_BALANCE);
      await expectLedger(c, 2n * CALLBACK_BALANCE);
    });

    it("a customer paying out to an armed wallet cannot be drained by its re-entry; the customer's balance is kept", async function () {
      const c = await loadFixture(deployCallbackFixture);
      const escrowAddress = await c.escrow.getAddress();
      await c.wallet.arm(escrowAddress, withdrawCall(c, CALLBACK_BALANCE, c.walletAddress));
      await expect(c.escrow.connect(c.customer).withdraw(usd(10), c.walletAddress)).to.be.revertedWithCustomError(
        c.escrow,
        "ReentrancyGuardReentrantCall",
      );
      expect(await c.escrow.balanceOf(c.customer.address)).to.equal(CALLBACK_BALANCE);
      expect(await c.escrow.balanceOf(c.walletAddress)).to.equal(CALLBACK_BALANCE);
      await expectLedger(c, 2n * CALLBACK_BALANCE);
    });
  });
});
