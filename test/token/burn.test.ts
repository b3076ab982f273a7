import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { INITIAL_BALANCE, MINTER_ALLOWANCE, deployTokenFixture, usd } from "./fixtures";
import type { TokenFixture } from "./fixtures";

/** The fixture's minter holding 100 tokens of its own (e.g. redeemed by a customer). */
async function minterHoldsTokensFixture(): Promise<TokenFixture> {
  const f = await deployTokenFixture();
  await f.token.connect(f.minter).mint(f.minter.address, usd(100));
  return f;
}

describe("SettlementToken: burn", function () {
  it("burns the minter's own balance, emits Burn and Transfer to zero, lowers the supply", async function () {
    const { token, minter } = await loadFixture(minterHoldsTokensFixture);
    const supply = await token.totalSupply();
    const tx = token.connect(minter).burn(usd(40));
    await expect(tx).to.emit(token, "Burn").withArgs(minter.address, usd(40));
    await expect(tx).to.emit(token, "Transfer").withArgs(minter.address, ethers.ZeroAddress, usd(40));
    expect(await token.balanceOf(minter.address)).to.equal(usd(60));
    expect(await token.totalSupply()).to.equal(supply - usd(40));
  });

  it("does not restore the mint allowance", async function () {
    const { token, minter } = await loadFixture(minterHoldsTokensFixture);
    const allowance = await token.minterAllowance(minter.address);
    expect(allowance).to.equal(MINTER_ALLOWANCE - 2n * INITIAL_BALANCE - usd(100));
    await token.connect(minter).burn(usd(100));
    expect(await token.minterAllowance(minter.address)).to.equal(allowance);
  });

  it("reverts beyond the balance with ERC20InsufficientBalance", async function () {
    const { token, minter } = await loadFixture(minterHoldsTokensFixture);
    await expect(token.connect(minter).burn(usd(100) + 1n))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
      .withArgs(minter.address, usd(100), usd(100) + 1n);
  });

  it("reverts for a zero amount with ZeroAmount", async function () {
    const { token, minter } = await loadFixture(minterHoldsTokensFixture);
    await expect(token.connect(minter).burn(0n)).to.be.revertedWithCustomError(token, "ZeroAmount");
  });

  it("reverts for a non-minter holder with CallerNotMinter", async function () {
    const f = await loadFixture(minterHoldsTokensFixture);
    for (const caller of [f.alice, f.admin, f.masterMinter, f.pauser, f.blocklister, f.rescuer]) {
      await expect(f.token.connect(caller).burn(1n))
        .to.be.revertedWithCustomError(f.token, "CallerNotMinter")
        .withArgs(caller.address);
    }
  });

  it("reverts for a removed minter even with a balance", async function () {
    const { token, masterMinter, minter } = await loadFixture(minterHoldsTokensFixture);
    await token.connect(masterMinter).removeMinter(minter.address);
    await expect(token.connect(minter).burn(1n))
      .to.be.revertedWithCustomError(token, "CallerNotMinter")
      .withArgs(minter.address);
  });

  it("reverts while paused with EnforcedPause", async function () {
    const { token, minter, pauser } = await loadFixture(minterHoldsTokensFixture);
    await token.connect(pauser).pause();
    await expect(token.connect(minter).burn(1n)).to.be.revertedWithCustomError(token, "EnforcedPause");
  });

  it("reverts for a blocklisted minter with AccountBlocklisted", async function () {
    const { token, minter, blocklister } = await loadFixture(minterHoldsTokensFixture);
    await token.connect(blocklister).blocklist(minter.address);
    await expect(token.connect(minter).burn(1n))
      .to.be.revertedWithCustomError(token, "AccountBlocklisted")
      .withArgs(minter.address);
  });
});
