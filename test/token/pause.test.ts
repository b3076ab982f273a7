import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { signPermit } from "../helpers/eip3009";
import { SIG_FORMS, deployTokenFixture, deployTwoTokensFixture, signed, submit, usd } from "./fixtures";
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
    const PATHS: { name: string; calls: (f: TokenFixture) => Promise<Promise<unknown>[]> }[] = [
      { name: "transfer", calls: async (f) => [f.token.connect(f.alice).transfer(f.bob.address, 1n)] },
      {
        name: "transferFrom",
        calls: async (f) => [f.token.connect(f.carol).transferFrom(f.alice.address, f.bob.address, 1n)],
      },
      {
        name: "increaseAllowance and decreaseAllowance (as FiatToken v2.2)",
        calls: async (f) => [
          f.token.connect(f.alice).increaseAllowance(f.carol.address, 1n),
          f.token.connect(f.alice).decreaseAllowance(f.carol.address, 1n),
        ],
      },
      { name: "approve (as USDC)", calls: async (f) => [f.token.connect(f.alice).approve(f.carol.address, 0n)] },
      ...SIG_FORMS.flatMap((form) => [
        {
          name: `permit (${form})`,
          calls: async (f: TokenFixture) => {
            const p = {
              owner: f.alice.address,
              spender: f.carol.address,
              value: 1n,
              deadline: (await time.latest()) + 600,
            };
            return [submit.permit(f.token, form, p, await signPermit(f.alice, f.token, p))];
          },
        },
        {
          name: `transferWithAuthorization (${form})`,
          calls: async (f: TokenFixture) => {
            const { auth, sig } = await signed.transfer(f.token, f.alice, f.bob.address, 1n);
            return [submit.transfer(f.token.connect(f.relayer), form, auth, sig)];
          },
        },
        {
          name: `receiveWithAuthorization (${form})`,
          calls: async (f: TokenFixture) => {
            const { auth, sig } = await signed.receive(f.token, f.alice, f.bob.address, 1n);
            return [submit.receive(f.token.connect(f.bob), form, auth, sig)];
          },
        },
        {
          name: `cancelAuthorization (${form})`,
          calls: async (f: TokenFixture) => {
            const { nonce, sig } = await signed.cancel(f.token, f.alice);
            return [submit.cancel(f.token, form, f.alice.address, nonce, sig)];
          },
        },
      ]),
      { name: "mint", calls: async (f) => [f.token.connect(f.minter).mint(f.carol.address, 1n)] },
      { name: "burn", calls: async (f) => [f.token.connect(f.minter).burn(1n)] },
      {
        name: "rescue of this token held by the contract",
        calls: async (f) => [f.token.connect(f.rescuer).rescueERC20(await f.token.getAddress(), f.carol.address, 0n)],
      },
    ];

    for (const { name, calls } of PATHS) {
      it(name, async function () {
        const f = await loadFixture(pausedFixture);
        // The calls are already sent: each gets its handler at once (awaited one by one, a later
        // rejection could arrive unhandled while an earlier one is checked).
        const sent = await calls(f);
        await Promise.all(sent.map((call) => expect(call).to.be.revertedWithCustomError(f.token, "EnforcedPause")));
      });
    }
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
      const { auth, sig } = await signed.transfer(token, alice, bob.address, 1n);
      await expect(submit.transfer(token.connect(relayer), "vrs", auth, sig)).to.emit(token, "AuthorizationUsed");
    });
  });
});
