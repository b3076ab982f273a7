import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { CUSTOMER_DEPOSIT, MAX_UINT128, usd } from "./fixtures";
import {
  deployFeeTokenFixture,
  deployFundsFixture,
  expectLedger,
  fundsState,
  NEWCOMER_FUNDS,
  type FundsFixture,
} from "./funds.helpers";

const INITIAL_TOTAL = 4n * CUSTOMER_DEPOSIT;

async function approve(f: FundsFixture, amount: bigint) {
  await f.token.connect(f.newcomer).approve(f.escrowAddress, amount);
}

describe("PaymentEscrow.deposit", function () {
  describe("with an allowance", function () {
    it("pulls the amount, credits the caller's free balance and emits Deposited(account, account, amount)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const amount = usd(123.45);
      await approve(f, amount);

      const tx = f.escrow.connect(f.newcomer).deposit(amount);
      await expect(tx).to.emit(f.escrow, "Deposited").withArgs(f.newcomer.address, f.newcomer.address, amount);
      await expect(tx).to.changeTokenBalances(f.token, [f.newcomer, f.escrow], [-amount, amount]);

      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(amount);
      expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL + amount);
    });

    it("spends only the amount from a larger allowance and accumulates successive deposits", async function () {
      const f = await loadFixture(deployFundsFixture);
      await approve(f, usd(300));
      await f.escrow.connect(f.newcomer).deposit(usd(100));
      expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(usd(200));

      await expect(f.escrow.connect(f.newcomer).deposit(usd(50)))
        .to.emit(f.escrow, "Deposited")
        .withArgs(f.newcomer.address, f.newcomer.address, usd(50));
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(150));
      expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(usd(150));
      expect(await f.token.balanceOf(f.newcomer.address)).to.equal(NEWCOMER_FUNDS - usd(150));
      await expectLedger(f, INITIAL_TOTAL + usd(150));
    });

    it("does not touch the nonce window or another customer's balance", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await approve(f, usd(10));
      await f.escrow.connect(f.newcomer).deposit(usd(10));
      expect(await f.escrow.nonceWindow(f.newcomer.address)).to.deep.equal([0n, 0n]);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectLedger(f, INITIAL_TOTAL + usd(10));
    });

    it("accepts the largest valid amount, 2^128 - 1", async function () {
      const f = await loadFixture(deployFundsFixture);
      await f.token.connect(f.admin).configureMinter(f.admin.address, MAX_UINT128);
      await f.token.connect(f.admin).mint(f.newcomer.address, MAX_UINT128 - NEWCOMER_FUNDS);
      // Customer balances total must stay within uint128: take the four fixture deposits out first.
      for (const c of f.customers) await f.escrow.connect(c).withdraw(CUSTOMER_DEPOSIT, c.address);
      await expectLedger(f, 0n);

      await approve(f, MAX_UINT128);
      await expect(f.escrow.connect(f.newcomer).deposit(MAX_UINT128))
        .to.emit(f.escrow, "Deposited")
        .withArgs(f.newcomer.address, f.newcomer.address, MAX_UINT128);
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(MAX_UINT128);
      await expectLedger(f, MAX_UINT128);
    });

    it("reverts with an arithmetic overflow when the uint128 customer total would overflow", async function () {
      const f = await loadFixture(deployFundsFixture);
      await f.token.connect(f.admin).configureMinter(f.admin.address, MAX_UINT128);
      await f.token.connect(f.admin).mint(f.newcomer.address, MAX_UINT128 - NEWCOMER_FUNDS);
      await approve(f, MAX_UINT128);
      // The newcomer's own balance fits, but 4 x 1,000 already deposited + 2^128 - 1 does not.
      await expect(f.escrow.connect(f.newcomer).deposit(MAX_UINT128)).to.be.revertedWithPanic(0x11);
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  describe("invalid amounts", function () {
    for (const [label, amount] of [
      ["zero", 0n],
      ["2^128", MAX_UINT128 + 1n],
      ["2^256 - 1", ethers.MaxUint256],
    ] as const) {
      it(`reverts InvalidAmount(${label}) and moves nothing`, async function () {
        const f = await loadFixture(deployFundsFixture);
        await approve(f, ethers.MaxUint256);
        const before = await fundsState(f, [f.newcomer.address]);
        await expect(f.escrow.connect(f.newcomer).deposit(amount))
          .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
          .withArgs(amount);
        expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
        await expectLedger(f, INITIAL_TOTAL);
      });
    }
  });

  describe("token-side failures", function () {
    it("reverts with the token's ERC20InsufficientAllowance(escrow, allowance, amount) without an allowance", async function () {
      const f = await loadFixture(deployFundsFixture);
      await expect(f.escrow.connect(f.newcomer).deposit(usd(1)))
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
        .withArgs(f.escrowAddress, 0n, usd(1));
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("reverts with ERC20InsufficientAllowance when the allowance is one unit short", async function () {
      const f = await loadFixture(deployFundsFixture);
      await approve(f, usd(10) - 1n);
      const before = await fundsState(f, [f.newcomer.address]);
      await expect(f.escrow.connect(f.newcomer).deposit(usd(10)))
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
        .withArgs(f.escrowAddress, usd(10) - 1n, usd(10));
      expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("reverts with ERC20InsufficientBalance(account, balance, amount) when the wallet holds too little", async function () {
      const f = await loadFixture(deployFundsFixture);
      await approve(f, NEWCOMER_FUNDS + 1n);
      await expect(f.escrow.connect(f.newcomer).deposit(NEWCOMER_FUNDS + 1n))
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientBalance")
        .withArgs(f.newcomer.address, NEWCOMER_FUNDS, NEWCOMER_FUNDS + 1n);
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  describe("fee-on-transfer token", function () {
    it("reverts UnexpectedTokenDelta(expected, received) when the escrow receives less than asked", async function () {
      const f = await loadFixture(deployFeeTokenFixture);
      const amount = usd(100);
      const received = amount - (await f.token.feeOf(amount));
      expect(received).to.equal(usd(99));
      await expect(f.escrow.connect(f.customer).deposit(amount))
        .to.be.revertedWithCustomError(f.escrow, "UnexpectedTokenDelta")
        .withArgs(amount, received);
      expect(await f.escrow.balanceOf(f.customer.address)).to.equal(0n);
      expect(await f.token.balanceOf(f.customer.address)).to.equal(usd(1_000));
      await expectLedger(f, 0n);
    });

    it("credits an amount whose fee rounds to zero (exact delta) and rejects one unit more", async function () {
      const f = await loadFixture(deployFeeTokenFixture);
      // 99 units at 1%: fee rounds down to 0, the escrow receives exactly what was asked.
      expect(await f.token.feeOf(99n)).to.equal(0n);
      await expect(f.escrow.connect(f.customer).deposit(99n))
        .to.emit(f.escrow, "Deposited")
        .withArgs(f.customer.address, f.customer.address, 99n);
      // 100 units: fee 1, the escrow gets 99.
      await expect(f.escrow.connect(f.customer).deposit(100n))
        .to.be.revertedWithCustomError(f.escrow, "UnexpectedTokenDelta")
        .withArgs(100n, 99n);
      expect(await f.escrow.balanceOf(f.customer.address)).to.equal(99n);
      await expectLedger(f, 99n);
    });
  });

  describe("token pause", function () {
    it("reverts with the token's EnforcedPause while paused, changes nothing, and works after unpause", async function () {
      const f = await loadFixture(deployFundsFixture);
      await approve(f, usd(40));
      await f.token.connect(f.operator).pause();
      const before = await fundsState(f, [f.newcomer.address]);

      await expect(f.escrow.connect(f.newcomer).deposit(usd(40))).to.be.revertedWithCustomError(
        f.token,
        "EnforcedPause",
      );
      expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
      expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(usd(40));
      await expectLedger(f, INITIAL_TOTAL);

      await f.token.connect(f.operator).unpause();
      await expect(f.escrow.connect(f.newcomer).deposit(usd(40)))
        .to.emit(f.escrow, "Deposited")
        .withArgs(f.newcomer.address, f.newcomer.address, usd(40));
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(40));
      await expectLedger(f, INITIAL_TOTAL + usd(40));
    });
  });

  describe("token blocklist", function () {
    it("a blocklisted customer cannot deposit (AccountBlocklisted(customer)), even with an allowance set before", async function () {
      const f = await loadFixture(deployFundsFixture);
      await approve(f, usd(40));
      await f.token.connect(f.operator).blocklist(f.newcomer.address);
      const before = await fundsState(f, [f.newcomer.address]);

      await expect(f.escrow.connect(f.newcomer).deposit(usd(40)))
        .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
        .withArgs(f.newcomer.address);
      expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
      await expectLedger(f, INITIAL_TOTAL);

      await f.token.connect(f.operator).unBlocklist(f.newcomer.address);
      await f.escrow.connect(f.newcomer).deposit(usd(40));
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(40));
      await expectLedger(f, INITIAL_TOTAL + usd(40));
    });
  });
});
