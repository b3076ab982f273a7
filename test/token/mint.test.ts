import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { INITIAL_BALANCE, MINTER_ALLOWANCE, deployTokenFixture, usd } from "./fixtures";

/** What the fixture's minter has left after funding alice and bob. */
const REMAINING = MINTER_ALLOWANCE - 2n * INITIAL_BALANCE;

describe("SettlementToken: minters and mint", function () {
  describe("configureMinter", function () {
    it("enables a minter with an allowance and emits MinterConfigured", async function () {
      const { token, masterMinter, carol } = await loadFixture(deployTokenFixture);
      expect(await token.isMinter(carol.address)).to.equal(false);
      await expect(token.connect(masterMinter).configureMinter(carol.address, usd(50)))
        .to.emit(token, "MinterConfigured")
        .withArgs(carol.address, usd(50));
      expect(await token.isMinter(carol.address)).to.equal(true);
      expect(await token.minterAllowance(carol.address)).to.equal(usd(50));
    });

    it("re-configuring replaces the remaining allowance (not added to it)", async function () {
      const { token, masterMinter, minter } = await loadFixture(deployTokenFixture);
      await token.connect(masterMinter).configureMinter(minter.address, usd(7));
      expect(await token.minterAllowance(minter.address)).to.equal(usd(7));
      await token.connect(masterMinter).configureMinter(minter.address, 0n);
      expect(await token.isMinter(minter.address)).to.equal(true);
      expect(await token.minterAllowance(minter.address)).to.equal(0n);
    });

    it("rejects the zero address with InvalidMinter", async function () {
      const { token, masterMinter } = await loadFixture(deployTokenFixture);
      await expect(token.connect(masterMinter).configureMinter(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "InvalidMinter")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts while paused (as USDC)", async function () {
      const { token, masterMinter, pauser, carol } = await loadFixture(deployTokenFixture);
      await token.connect(pauser).pause();
      await expect(token.connect(masterMinter).configureMinter(carol.address, 1n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
    });
  });

  describe("removeMinter", function () {
    it("disables the minter, clears its allowance and emits MinterRemoved", async function () {
      const { token, masterMinter, minter } = await loadFixture(deployTokenFixture);
      await expect(token.connect(masterMinter).removeMinter(minter.address))
        .to.emit(token, "MinterRemoved")
        .withArgs(minter.address);
      expect(await token.isMinter(minter.address)).to.equal(false);
      expect(await token.minterAllowance(minter.address)).to.equal(0n);
      await expect(token.connect(minter).mint(minter.address, 1n))
        .to.be.revertedWithCustomError(token, "CallerNotMinter")
        .withArgs(minter.address);
    });

    it("works while paused, so a compromised minter can be cut off during an incident", async function () {
      const { token, masterMinter, pauser, minter } = await loadFixture(deployTokenFixture);
      await token.connect(pauser).pause();
      await expect(token.connect(masterMinter).removeMinter(minter.address))
        .to.emit(token, "MinterRemoved")
        .withArgs(minter.address);
    });
  });

  describe("mint", function () {
    it("mints, consumes the allowance, emits Mint and Transfer from zero", async function () {
      const { token, minter, carol } = await loadFixture(deployTokenFixture);
      const supply = await token.totalSupply();
      const tx = token.connect(minter).mint(carol.address, usd(25));
      await expect(tx).to.emit(token, "Mint").withArgs(minter.address, carol.address, usd(25));
      await expect(tx).to.emit(token, "Transfer").withArgs(ethers.ZeroAddress, carol.address, usd(25));
      expect(await token.balanceOf(carol.address)).to.equal(usd(25));
      expect(await token.totalSupply()).to.equal(supply + usd(25));
      expect(await token.minterAllowance(minter.address)).to.equal(REMAINING - usd(25));
    });

    it("can mint exactly the whole remaining allowance, then nothing more", async function () {
      const { token, minter, carol } = await loadFixture(deployTokenFixture);
      await token.connect(minter).mint(carol.address, REMAINING);
      expect(await token.minterAllowance(minter.address)).to.equal(0n);
      await expect(token.connect(minter).mint(carol.address, 1n))
        .to.be.revertedWithCustomError(token, "MinterAllowanceExceeded")
        .withArgs(minter.address, 0n, 1n);
    });

    it("reverts above the allowance with MinterAllowanceExceeded", async function () {
      const { token, minter, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(minter).mint(carol.address, REMAINING + 1n))
        .to.be.revertedWithCustomError(token, "MinterAllowanceExceeded")
        .withArgs(minter.address, REMAINING, REMAINING + 1n);
    });

    it("reverts for a non-minter with CallerNotMinter, whatever roles it holds", async function () {
      const f = await loadFixture(deployTokenFixture);
      for (const caller of [f.admin, f.masterMinter, f.pauser, f.blocklister, f.rescuer, f.alice]) {
        await expect(f.token.connect(caller).mint(caller.address, 1n))
          .to.be.revertedWithCustomError(f.token, "CallerNotMinter")
          .withArgs(caller.address);
      }
    });

    it("reverts for a zero amount with ZeroAmount", async function () {
      const { token, minter, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(minter).mint(carol.address, 0n)).to.be.revertedWithCustomError(token, "ZeroAmount");
    });

    it("reverts to the zero address with ERC20InvalidReceiver", async function () {
      const { token, minter } = await loadFixture(deployTokenFixture);
      await expect(token.connect(minter).mint(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts while paused with EnforcedPause, and the allowance is untouched", async function () {
      const { token, minter, pauser, carol } = await loadFixture(deployTokenFixture);
      await token.connect(pauser).pause();
      await expect(token.connect(minter).mint(carol.address, 1n)).to.be.revertedWithCustomError(token, "EnforcedPause");
      expect(await token.minterAllowance(minter.address)).to.equal(REMAINING);
    });

    it("reverts for a blocklisted minter or recipient with AccountBlocklisted", async function () {
      const { token, minter, blocklister, carol } = await loadFixture(deployTokenFixture);
      await token.connect(blocklister).blocklist(carol.address);
      await expect(token.connect(minter).mint(carol.address, 1n))
        .to.be.revertedWithCustomError(token, "AccountBlocklisted")
        .withArgs(carol.address);
      await token.connect(blocklister).blocklist(minter.address);
      await expect(token.connect(minter).mint(minter.address, 1n))
        .to.be.revertedWithCustomError(token, "AccountBlocklisted")
        .withArgs(minter.address);
    });

    it("minters are independent: each consumes only its own allowance", async function () {
      const { token, masterMinter, minter, carol } = await loadFixture(deployTokenFixture);
      await token.connect(masterMinter).configureMinter(carol.address, usd(3));
      await token.connect(carol).mint(carol.address, usd(3));
      expect(await token.minterAllowance(carol.address)).to.equal(0n);
      expect(await token.minterAllowance(minter.address)).to.equal(REMAINING);
    });
  });
});
