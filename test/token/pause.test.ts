import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { signPermit } from "../helpers/eip3009";
import {
  SIG_FORMS,
  deployTokenFixture,
  deployTwoTokensFixture,
  signedCancel,
  signedReceive,
  signedTransfer,
  submitCancel,
  submitPermit,
  submitReceive,
  submitTransfer,
  usd,
} from "./fixtures";
import type { TokenFixture } from "./fixtures";

/** The fixture with alice's allowance to carol, the minter holding tokens, then paused. */
async function pausedFixture(): Promise<TokenFixture> {
  const f = await deployTokenFixture();
  await f.token.connect(f.alice).approve(f.carol.address, usd(100));
  await f.token.connect(f.minter).mint(f.minter.address, usd(10));
  await f.token.connect(f.pauser).pause();
  return f;
}

describe("SettlementToken: pause", function () {
  describe("pause and unpause", function () {
    it("pause emits Paused and unpause emits Unpaused", async function () {
      const { token, pauser } = await loadFixture(deployTokenFixture);
      await expect(token.connect(pauser).pause()).to.emit(token, "Paused").withArgs(pauser.address);
      expect(await token.paused()).to.equal(true);
      await expect(token.connect(pauser).unpause()).to.emit(token, "Unpaused").withArgs(pauser.address);
      expect(await token.paused()).to.equal(false);
    });

    it("pausing twice reverts with EnforcedPause; unpausing when not paused with ExpectedPause", async function () {
      const { token, pauser } = await loadFixture(deployTokenFixture);
      await expect(token.connect(pauser).unpause()).to.be.revertedWithCustomError(token, "ExpectedPause");
      await token.connect(pauser).pause();
      await expect(token.connect(pauser).pause()).to.be.revertedWithCustomError(token, "EnforcedPause");
    });
  });

  describe("every movement path reverts with EnforcedPause while paused", function () {
    it("transfer", async function () {
      const { token, alice, bob } = await loadFixture(pausedFixture);
      await expect(token.connect(alice).transfer(bob.address, 1n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
    });

    it("transferFrom", async function () {
      const { token, alice, bob, carol } = await loadFixture(pausedFixture);
      await expect(token.connect(carol).transferFrom(alice.address, bob.address, 1n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
    });

    it("increaseAllowance and decreaseAllowance (as FiatToken v2.2)", async function () {
      const { token, alice, carol } = await loadFixture(pausedFixture);
      await expect(token.connect(alice).increaseAllowance(carol.address, 1n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
      await expect(token.connect(alice).decreaseAllowance(carol.address, 1n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
    });

    it("approve (as USDC)", async function () {
      const { token, alice, carol } = await loadFixture(pausedFixture);
      await expect(token.connect(alice).approve(carol.address, 0n)).to.be.revertedWithCustomError(
        token,
        "EnforcedPause",
      );
    });

    for (const form of SIG_FORMS) {
      it(`permit (${form})`, async function () {
        const { token, alice, carol } = await loadFixture(pausedFixture);
        const p = { owner: alice.address, spender: carol.address, value: 1n, deadline: (await time.latest()) + 600 };
        const sig = await signPermit(alice, token, p);
        await expect(submitPermit(token, form, p, sig)).to.be.revertedWithCustomError(token, "EnforcedPause");
      });

      it(`transferWithAuthorization (${form})`, async function () {
        const { token, alice, bob, relayer } = await loadFixture(pausedFixture);
        const { auth, sig } = await signedTransfer(token, alice, bob.address, 1n);
        await expect(submitTransfer(token.connect(relayer), form, auth, sig)).to.be.revertedWithCustomError(
          token,
          "EnforcedPause",
        );
      });

      it(`receiveWithAuthorization (${form})`, async function () {
        const { token, alice, bob } = await loadFixture(pausedFixture);
        const { auth, sig } = await signedReceive(token, alice, bob.address, 1n);
        await expect(submitReceive(token.connect(bob), form, auth, sig)).to.be.revertedWithCustomError(
          token,
          "EnforcedPause",
        );
      });

      it(`cancelAuthorization (${form})`, async function () {
        const { token, alice } = await loadFixture(pausedFixture);
        const { nonce, sig } = await signedCancel(token, alice);
        await expect(submitCancel(token, form, alice.address, nonce, sig)).to.be.revertedWithCustomError(
          token,
          "EnforcedPause",
        );
      });
    }

    it("mint", async function () {
      const { token, minter, carol } = await loadFixture(pausedFixture);
      await expect(token.connect(minter).mint(carol.address, 1n)).to.be.revertedWithCustomError(token, "EnforcedPause");
    });

    it("burn", async function () {
      const { token, minter } = await loadFixture(pausedFixture);
      await expect(token.connect(minter).burn(1n)).to.be.revertedWithCustomError(token, "EnforcedPause");
    });

    it("rescue of this token held by the contract", async function () {
      const { token, rescuer, carol } = await loadFixture(pausedFixture);
      await expect(
        token.connect(rescuer).rescueERC20(await token.getAddress(), carol.address, 0n),
      ).to.be.revertedWithCustomError(token, "EnforcedPause");
    });
  });

  describe("while paused, administration still works", function () {
    it("views, blocklisting, minter removal, role changes and rescue of other tokens", async function () {
      const f = await loadFixture(deployTwoTokensFixture);
      const tokenAddress = await f.token.getAddress();
      await f.otherToken.connect(f.alice).transfer(tokenAddress, usd(1));
      await f.token.connect(f.pauser).pause();

      expect(await f.token.balanceOf(f.alice.address)).to.be.greaterThan(0n);
      await expect(f.token.connect(f.blocklister).blocklist(f.carol.address)).to.emit(f.token, "Blocklisted");
      await expect(f.token.connect(f.masterMinter).removeMinter(f.minter.address)).to.emit(f.token, "MinterRemoved");
      await expect(f.token.connect(f.admin).revokeRole(await f.token.PAUSER_ROLE(), f.blocklister.address)).not.to.be
        .reverted;
      await expect(f.token.connect(f.rescuer).rescueERC20(await f.otherToken.getAddress(), f.bob.address, usd(1)))
        .to.emit(f.token, "TokensRescued")
        .withArgs(await f.otherToken.getAddress(), f.bob.address, usd(1));
    });
  });

  describe("after unpause", function () {
    it("movements work again", async function () {
      const { token, pauser, alice, bob, carol, minter, relayer } = await loadFixture(pausedFixture);
      await token.connect(pauser).unpause();
      await expect(token.connect(alice).transfer(bob.address, 1n)).to.emit(token, "Transfer");
      await expect(token.connect(carol).transferFrom(alice.address, bob.address, 1n)).to.emit(token, "Transfer");
      await expect(token.connect(minter).mint(carol.address, 1n)).to.emit(token, "Mint");
      await expect(token.connect(minter).burn(1n)).to.emit(token, "Burn");
      const { auth, sig } = await signedTransfer(token, alice, bob.address, 1n);
      await expect(submitTransfer(token.connect(relayer), "vrs", auth, sig)).to.emit(token, "AuthorizationUsed");
    });
  });
});
