import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { signPermit } from "../helpers/eip3009";
import { INITIAL_BALANCE, SIG_FORMS, deployTokenFixture, signed, submit, usd } from "./fixtures";
import type { TokenFixture } from "./fixtures";

/** alice approved carol for 100, then `blocked` (a fixture account) is blocklisted. */
function blocklistedFixture(blocked: "alice" | "bob" | "carol" | "relayer") {
  const named = {
    [`${blocked}BlocklistedFixture`]: async (): Promise<TokenFixture> => {
      const f = await deployTokenFixture();
      await f.token.connect(f.alice).approve(f.carol.address, usd(100));
      await f.token.connect(f.blocklister).blocklist(f[blocked].address);
      return f;
    },
  };
  return named[`${blocked}BlocklistedFixture`];
}
const aliceBlocklisted = blocklistedFixture("alice");
const bobBlocklisted = blocklistedFixture("bob");
const carolBlocklisted = blocklistedFixture("carol");
const relayerBlocklisted = blocklistedFixture("relayer");

/** alice approved carol for an infinite allowance, then carol is blocklisted. */
async function carolBlocklistedWithInfiniteAllowance(): Promise<TokenFixture> {
  const f = await deployTokenFixture();
  await f.token.connect(f.alice).approve(f.carol.address, 2n ** 256n - 1n);
  await f.token.connect(f.blocklister).blocklist(f.carol.address);
  return f;
}

describe("SettlementToken: blocklist", function () {
  describe("blocklist and unBlocklist", function () {
    it("blocklist emits Blocklisted, unBlocklist emits UnBlocklisted, isBlocklisted follows", async function () {
      const { token, blocklister, carol } = await loadFixture(deployTokenFixture);
      expect(await token.isBlocklisted(carol.address)).to.equal(false);
      await expect(token.connect(blocklister).blocklist(carol.address))
        .to.emit(token, "Blocklisted")
        .withArgs(carol.address);
      expect(await token.isBlocklisted(carol.address)).to.equal(true);
      await expect(token.connect(blocklister).unBlocklist(carol.address))
        .to.emit(token, "UnBlocklisted")
        .withArgs(carol.address);
      expect(await token.isBlocklisted(carol.address)).to.equal(false);
    });

    it("blocklisting keeps the balance (no seizure) and unBlocklist restores transfers", async function () {
      const { token, blocklister, alice, bob } = await loadFixture(aliceBlocklisted);
      expect(await token.balanceOf(alice.address)).to.equal(INITIAL_BALANCE);
      await token.connect(blocklister).unBlocklist(alice.address);
      await expect(token.connect(alice).transfer(bob.address, 1n)).to.emit(token, "Transfer");
    });
  });

  // Each row: who is blocklisted, the movement, and the account AccountBlocklisted must name.
  const send = (f: TokenFixture) => f.token.connect(f.alice).transfer(f.bob.address, 1n);
  const pull = (f: TokenFixture) => f.token.connect(f.carol).transferFrom(f.alice.address, f.bob.address, 1n);
  const REFUSED_MOVES = {
    transfer: [
      { name: "a blocklisted sender cannot send", fixture: aliceBlocklisted, move: send, blocked: "alice" },
      { name: "a blocklisted recipient cannot receive", fixture: bobBlocklisted, move: send, blocked: "bob" },
    ],
    transferFrom: [
      {
        name: "a blocklisted spender (msg.sender) cannot spend an allowance",
        fixture: carolBlocklisted,
        move: pull,
        blocked: "carol",
      },
      {
        name: "a blocklisted spender cannot spend an infinite allowance either",
        fixture: carolBlocklistedWithInfiniteAllowance,
        move: pull,
        blocked: "carol",
      },
      {
        name: "funds of a blocklisted owner cannot be pulled",
        fixture: aliceBlocklisted,
        move: pull,
        blocked: "alice",
      },
      { name: "a blocklisted recipient cannot be paid", fixture: bobBlocklisted, move: pull, blocked: "bob" },
    ],
  } as const;

  for (const [path, cases] of Object.entries(REFUSED_MOVES)) {
    describe(path, function () {
      for (const c of cases) {
        it(c.name, async function () {
          const f = await loadFixture(c.fixture);
          await expect(c.move(f))
            .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
            .withArgs(f[c.blocked].address);
        });
      }
    });
  }

  // FiatToken v2.2 refuses approvals only while paused: a blocklisted owner or spender may set an
  // allowance, which then cannot move anything (transferFrom checks spender, owner and recipient).
  describe("approvals (as FiatToken v2.2): allowed for blocklisted parties, but never spendable", function () {
    const SETTERS = [
      {
        name: "approve",
        set: (f: TokenFixture, owner: TokenFixture["alice"], spender: string) =>
          f.token.connect(owner).approve(spender, usd(5)),
      },
      {
        name: "increaseAllowance",
        set: (f: TokenFixture, owner: TokenFixture["alice"], spender: string) =>
          f.token.connect(owner).increaseAllowance(spender, usd(5)),
      },
      ...SIG_FORMS.map((form) => ({
        name: `permit (${form})`,
        set: async (f: TokenFixture, owner: TokenFixture["alice"], spender: string) => {
          const p = { owner: owner.address, spender, value: usd(5), deadline: (await time.latest()) + 600 };
          return submit.permit(f.token, form, p, await signPermit(owner, f.token, p));
        },
      })),
    ];

    for (const { name, set } of SETTERS) {
      it(`${name} by a blocklisted owner succeeds; the spender cannot pull: AccountBlocklisted(owner)`, async function () {
        const f = await loadFixture(aliceBlocklisted);
        const { token, alice, bob, relayer } = f;
        await expect(set(f, alice, relayer.address))
          .to.emit(token, "Approval")
          .withArgs(alice.address, relayer.address, usd(5));
        await expect(token.connect(relayer).transferFrom(alice.address, bob.address, 1n))
          .to.be.revertedWithCustomError(token, "AccountBlocklisted")
          .withArgs(alice.address);
      });

      it(`${name} to a blocklisted spender succeeds; it cannot spend: AccountBlocklisted(spender)`, async function () {
        const f = await loadFixture(bobBlocklisted);
        const { token, alice, bob, relayer } = f;
        await expect(set(f, alice, bob.address))
          .to.emit(token, "Approval")
          .withArgs(alice.address, bob.address, usd(5));
        await expect(token.connect(bob).transferFrom(alice.address, relayer.address, 1n))
          .to.be.revertedWithCustomError(token, "AccountBlocklisted")
          .withArgs(bob.address);
      });
    }

    it("decreaseAllowance works for a blocklisted owner and a blocklisted spender (lowering risk is never refused)", async function () {
      const f = await loadFixture(carolBlocklisted);
      const { token, alice, carol } = f;
      await expect(token.connect(alice).decreaseAllowance(carol.address, usd(40)))
        .to.emit(token, "Approval")
        .withArgs(alice.address, carol.address, usd(60));
      await token.connect(carol).approve(alice.address, usd(3));
      await expect(token.connect(carol).decreaseAllowance(alice.address, usd(1)))
        .to.emit(token, "Approval")
        .withArgs(carol.address, alice.address, usd(2));
    });
  });

  describe("mint and burn", function () {
    it("cannot mint to a blocklisted account, nor mint or burn as a blocklisted minter", async function () {
      const { token, blocklister, minter, carol } = await loadFixture(carolBlocklisted);
      await expect(token.connect(minter).mint(carol.address, 1n))
        .to.be.revertedWithCustomError(token, "AccountBlocklisted")
        .withArgs(carol.address);
      await token.connect(minter).mint(minter.address, 1n);
      await token.connect(blocklister).blocklist(minter.address);
      await expect(token.connect(minter).mint(minter.address, 1n))
        .to.be.revertedWithCustomError(token, "AccountBlocklisted")
        .withArgs(minter.address);
      await expect(token.connect(minter).burn(1n))
        .to.be.revertedWithCustomError(token, "AccountBlocklisted")
        .withArgs(minter.address);
    });
  });

  describe("authorizations", function () {
    for (const form of SIG_FORMS) {
      it(`transferWithAuthorization (${form}) from or to a blocklisted account`, async function () {
        const { token, alice, bob, relayer } = await loadFixture(bobBlocklisted);
        const toBob = await signed.transfer(token, alice, bob.address, 1n);
        await expect(submit.transfer(token.connect(relayer), form, toBob.auth, toBob.sig))
          .to.be.revertedWithCustomError(token, "AccountBlocklisted")
          .withArgs(bob.address);
        const fromBob = await signed.transfer(token, bob, alice.address, 1n);
        await expect(submit.transfer(token.connect(relayer), form, fromBob.auth, fromBob.sig))
          .to.be.revertedWithCustomError(token, "AccountBlocklisted")
          .withArgs(bob.address);
      });

      it(`receiveWithAuthorization (${form}) from or to a blocklisted account`, async function () {
        const { token, alice, bob } = await loadFixture(bobBlocklisted);
        const toBob = await signed.receive(token, alice, bob.address, 1n);
        await expect(submit.receive(token.connect(bob), form, toBob.auth, toBob.sig))
          .to.be.revertedWithCustomError(token, "AccountBlocklisted")
          .withArgs(bob.address);
        const fromBob = await signed.receive(token, bob, alice.address, 1n);
        await expect(submit.receive(token.connect(alice), form, fromBob.auth, fromBob.sig))
          .to.be.revertedWithCustomError(token, "AccountBlocklisted")
          .withArgs(bob.address);
      });

      it(`a blocklisted relayer can still submit a transferWithAuthorization (${form}), as USDC`, async function () {
        const { token, alice, carol, relayer } = await loadFixture(relayerBlocklisted);
        const { auth, sig } = await signed.transfer(token, alice, carol.address, 1n);
        await expect(submit.transfer(token.connect(relayer), form, auth, sig))
          .to.emit(token, "Transfer")
          .withArgs(alice.address, carol.address, 1n);
      });

      it(`a blocklisted authorizer can still cancel (${form}), as USDC`, async function () {
        const { token, alice, relayer } = await loadFixture(aliceBlocklisted);
        const { nonce, sig } = await signed.cancel(token, alice);
        await expect(submit.cancel(token.connect(relayer), form, alice.address, nonce, sig))
          .to.emit(token, "AuthorizationCanceled")
          .withArgs(alice.address, nonce);
      });
    }
  });

  describe("rescue", function () {
    it("cannot rescue this token to a blocklisted account", async function () {
      const { token, rescuer, alice, carol } = await loadFixture(carolBlocklisted);
      await token.connect(alice).transfer(await token.getAddress(), 1n);
      await expect(token.connect(rescuer).rescueERC20(await token.getAddress(), carol.address, 1n))
        .to.be.revertedWithCustomError(token, "AccountBlocklisted")
        .withArgs(carol.address);
    });
  });
});
