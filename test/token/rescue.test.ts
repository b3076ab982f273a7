import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployTwoTokensFixture, usd } from "./fixtures";
import type { TwoTokensFixture } from "./fixtures";

/** 5 tokens of each kind sent to the SettlementToken contract by mistake. */
async function strandedTokensFixture(): Promise<TwoTokensFixture & { tokenAddress: string; foreign: string }> {
  const f = await deployTwoTokensFixture();
  const tokenAddress = await f.token.getAddress();
  await f.otherToken.connect(f.alice).transfer(tokenAddress, usd(5));
  await f.token.connect(f.alice).transfer(tokenAddress, usd(5));
  return { ...f, tokenAddress, foreign: await f.otherToken.getAddress() };
}

describe("SettlementToken: rescueERC20", function () {
  it("sends another ERC-20 held by the contract to the recipient and emits TokensRescued", async function () {
    const { token, otherToken, rescuer, carol, tokenAddress, foreign } = await loadFixture(strandedTokensFixture);
    const tx = token.connect(rescuer).rescueERC20(foreign, carol.address, usd(2));
    await expect(tx).to.emit(token, "TokensRescued").withArgs(foreign, carol.address, usd(2));
    await expect(tx).to.emit(otherToken, "Transfer").withArgs(tokenAddress, carol.address, usd(2));
    expect(await otherToken.balanceOf(tokenAddress)).to.equal(usd(3));
    expect(await otherToken.balanceOf(carol.address)).to.equal(usd(2));
  });

  it("rescues this token itself when sent to the contract", async function () {
    const { token, rescuer, carol, tokenAddress } = await loadFixture(strandedTokensFixture);
    await expect(token.connect(rescuer).rescueERC20(tokenAddress, carol.address, usd(5)))
      .to.emit(token, "TokensRescued")
      .withArgs(tokenAddress, carol.address, usd(5));
    expect(await token.balanceOf(tokenAddress)).to.equal(0n);
    expect(await token.balanceOf(carol.address)).to.equal(usd(5));
  });

  it("reverts beyond the held amount with the token's own error", async function () {
    const { token, otherToken, rescuer, carol, tokenAddress, foreign } = await loadFixture(strandedTokensFixture);
    await expect(token.connect(rescuer).rescueERC20(foreign, carol.address, usd(6)))
      .to.be.revertedWithCustomError(otherToken, "ERC20InsufficientBalance")
      .withArgs(tokenAddress, usd(5), usd(6));
  });

  it("reverts for a recipient the token refuses (zero address)", async function () {
    const { token, otherToken, rescuer, foreign } = await loadFixture(strandedTokensFixture);
    await expect(token.connect(rescuer).rescueERC20(foreign, ethers.ZeroAddress, 1n))
      .to.be.revertedWithCustomError(otherToken, "ERC20InvalidReceiver")
      .withArgs(ethers.ZeroAddress);
  });

  it("reverts with SafeERC20FailedOperation for an address that is not a token", async function () {
    const { token, rescuer, carol } = await loadFixture(strandedTokensFixture);
    await expect(token.connect(rescuer).rescueERC20(carol.address, carol.address, 1n))
      .to.be.revertedWithCustomError(token, "SafeERC20FailedOperation")
      .withArgs(carol.address);
  });

  it("rescue of this token obeys pause and blocklist (it is a token movement)", async function () {
    const { token, pauser, blocklister, rescuer, carol, tokenAddress } = await loadFixture(strandedTokensFixture);
    await token.connect(blocklister).blocklist(carol.address);
    await expect(token.connect(rescuer).rescueERC20(tokenAddress, carol.address, 1n))
      .to.be.revertedWithCustomError(token, "AccountBlocklisted")
      .withArgs(carol.address);
    await token.connect(pauser).pause();
    await expect(token.connect(rescuer).rescueERC20(tokenAddress, carol.address, 1n)).to.be.revertedWithCustomError(
      token,
      "EnforcedPause",
    );
  });
});
