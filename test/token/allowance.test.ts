import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployTokenFixture, usd } from "./fixtures";

describe("SettlementToken: increaseAllowance and decreaseAllowance (FiatToken v2.2)", function () {
  it("increaseAllowance adds to the allowance and emits Approval with the new total", async function () {
    const { token, alice, carol } = await loadFixture(deployTokenFixture);
    await token.connect(alice).approve(carol.address, usd(10));
    await expect(token.connect(alice).increaseAllowance(carol.address, usd(5)))
      .to.emit(token, "Approval")
      .withArgs(alice.address, carol.address, usd(15));
    expect(await token.allowance(alice.address, carol.address)).to.equal(usd(15));
  });

  it("increaseAllowance past 2^256-1 reverts with an arithmetic overflow", async function () {
    const { token, alice, carol } = await loadFixture(deployTokenFixture);
    await token.connect(alice).approve(carol.address, 2n ** 256n - 1n);
    await expect(token.connect(alice).increaseAllowance(carol.address, 1n)).to.be.revertedWithPanic(0x11);
  });

  it("decreaseAllowance subtracts, down to zero inclusive", async function () {
    const { token, alice, carol } = await loadFixture(deployTokenFixture);
    await token.connect(alice).approve(carol.address, usd(10));
    await expect(token.connect(alice).decreaseAllowance(carol.address, usd(4)))
      .to.emit(token, "Approval")
      .withArgs(alice.address, carol.address, usd(6));
    await token.connect(alice).decreaseAllowance(carol.address, usd(6));
    expect(await token.allowance(alice.address, carol.address)).to.equal(0n);
  });

  it("decreaseAllowance below zero reverts AllowanceBelowZero(spender, allowance, decrement)", async function () {
    const { token, alice, carol } = await loadFixture(deployTokenFixture);
    await token.connect(alice).approve(carol.address, usd(3));
    await expect(token.connect(alice).decreaseAllowance(carol.address, usd(3) + 1n))
      .to.be.revertedWithCustomError(token, "AllowanceBelowZero")
      .withArgs(carol.address, usd(3), usd(3) + 1n);
    expect(await token.allowance(alice.address, carol.address)).to.equal(usd(3));
  });
});
