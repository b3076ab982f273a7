import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import { escrowDomain, withdrawalTypes, type Address, type Hex, type Withdrawal } from "../../src/protocol";
import { splitSignature, toHighS } from "../helpers/eip3009";
import { CUSTOMER_DEPOSIT, signWithdrawal, usd } from "./fixtures";
import {
  buildWithdrawal,
  deployFundsFixture,
  expectLedger,
  fundsState,
  walletDeposit,
  type FundsFixture,
} from "./funds.helpers";

const INITIAL_TOTAL = 4n * CUSTOMER_DEPOSIT;

async function signWithDomain(signer: Signer, domain: ReturnType<typeof escrowDomain>, w: Withdrawal): Promise<Hex> {
  return (await signer.signTypedData(domain, { Withdrawal: [...withdrawalTypes.Withdrawal] }, w)) as Hex;
}

describe("PaymentEscrow.withdrawWithSignature", function () {
  it("a stranger relays the payer's signed withdrawal: Withdrawn(payer, to, amount), nonce spent", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice, bob] = f.customers;
    const w = await buildWithdrawal(alice, { to: bob.address as Address, amount: usd(77) });
    const sig = await signWithdrawal(f, alice, w);

    const tx = f.escrow.connect(f.stranger).withdrawWithSignature(w, sig);
    await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(alice.address, bob.address, usd(77));
    await expect(tx).to.changeTokenBalances(f.token, [alice, bob, f.stranger, f.escrow], [0n, usd(77), 0n, -usd(77)]);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(77));
    expect(await f.escrow.balanceOf(f.stranger.address)).to.equal(0n);
    expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([1n, 0n]);
    expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(false);
    expect(await f.escrow.nonceWindow(f.stranger.address)).to.deep.equal([0n, 0n]);
    await expectLedger(f, INITIAL_TOTAL - usd(77));
  });

  it("the payer may submit it as well, and any nonce of the window works (out of order)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice] = f.customers;
    const w = await buildWithdrawal(alice, { nonce: 5n, amount: usd(1) });
    await expect(f.escrow.connect(alice).withdrawWithSignature(w, await signWithdrawal(f, alice, w)))
      .to.emit(f.escrow, "Withdrawn")
      .withArgs(alice.address, alice.address, usd(1));
    expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([0n, 1n << 5n]);
    await expectLedger(f, INITIAL_TOTAL - usd(1));
  });

  describe("deadline", function () {
    it("is inclusive: accepted at block.timestamp == deadline", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const deadline = BigInt(await time.latest()) + 60n;
      const w = await buildWithdrawal(alice, { deadline });
      const sig = await signWithdrawal(f, alice, w);
      await time.setNextBlockTimestamp(deadline);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(alice.address, alice.address, w.amount);
      await expectLedger(f, INITIAL_TOTAL - w.amount);
    });

    it("expired one second later: SignatureExpired(deadline), nonce not spent", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const deadline = BigInt(await time.latest()) + 60n;
      const w = await buildWithdrawal(alice, { deadline });
      const sig = await signWithdrawal(f, alice, w);
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig))
        .to.be.revertedWithCustomError(f.escrow, "SignatureExpired")
        .withArgs(deadline);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  describe("signature checks: InvalidSigner(payer), nothing changes", function () {
    type Forge = (f: FundsFixture, w: Withdrawal) => Promise<{ w: Withdrawal; sig: Hex }>;
    const cases: [string, Forge][] = [
      ["signed by another key", async (f, w) => ({ w, sig: await signWithdrawal(f, f.stranger, w) })],
      [
        "signed for another chain id",
        async (f, w) => ({
          w,
          sig: await signWithDomain(f.customers[0], escrowDomain(f.chainId + 1n, f.escrowAddress), w),
        }),
      ],
      [
        "signed for another contract (domain verifyingContract)",
        async (f, w) => {
          const other = (await f.registry.getAddress()) as Address;
          return { w, sig: await signWithDomain(f.customers[0], escrowDomain(f.chainId, other), w) };
        },
      ],
      [
        "high-s malleable twin of a valid signature",
        async (f, w) => ({
          w,
          sig: toHighS(splitSignature(await signWithdrawal(f, f.customers[0], w))).signature as Hex,
        }),
      ],
      [
        "redirected to another recipient",
        async (f, w) => ({
          w: { ...w, to: f.stranger.address as Address },
          sig: await signWithdrawal(f, f.customers[0], w),
        }),
      ],
      [
        "with a raised amount",
        async (f, w) => ({ w: { ...w, amount: w.amount + 1n }, sig: await signWithdrawal(f, f.customers[0], w) }),
      ],
      [
        "with another nonce",
        async (f, w) => ({ w: { ...w, nonce: w.nonce + 1n }, sig: await signWithdrawal(f, f.customers[0], w) }),
      ],
      [
        "with an extended deadline",
        async (f, w) => ({ w: { ...w, deadline: w.deadline + 1n }, sig: await signWithdrawal(f, f.customers[0], w) }),
      ],
    ];
    for (const [name, forge] of cases) {
      it(name, async function () {
        const f = await loadFixture(deployFundsFixture);
        const [alice] = f.customers;
        const forged = await forge(f, await buildWithdrawal(alice, { to: f.customers[1].address as Address }));
        const before = await fundsState(f, [alice.address, forged.w.to]);
        await expect(f.escrow.connect(f.relayer).withdrawWithSignature(forged.w, forged.sig))
          .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
          .withArgs(alice.address);
        expect(await fundsState(f, [alice.address, forged.w.to])).to.deep.equal(before);
        await expectLedger(f, INITIAL_TOTAL);
      });
    }

    it("the low-s original of the high-s twin is accepted (control)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const w = await buildWithdrawal(alice);
      const sig = await signWithdrawal(f, alice, w);
      expect(BigInt(splitSignature(sig).s) < BigInt(toHighS(splitSignature(sig)).s)).to.equal(true);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig)).to.emit(f.escrow, "Withdrawn");
      await expectLedger(f, INITIAL_TOTAL - w.amount);
    });
  });

  it("a replay reverts NonceUnavailable(payer, nonce) and pays nothing more", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice] = f.customers;
    const w = await buildWithdrawal(alice, { nonce: 3n, amount: usd(10) });
    const sig = await signWithdrawal(f, alice, w);
    await f.escrow.connect(f.relayer).withdrawWithSignature(w, sig);
    await expect(f.escrow.connect(f.stranger).withdrawWithSignature(w, sig))
      .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
      .withArgs(alice.address, 3n);
    expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));
    await expectLedger(f, INITIAL_TOTAL - usd(10));
  });

  it("a nonce at base + 64 is outside the window: NonceUnavailable(payer, 64)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const [alice] = f.customers;
    const w = await buildWithdrawal(alice, { nonce: 64n });
    await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, alice, w)))
      .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
      .withArgs(alice.address, 64n);
    await expectLedger(f, INITIAL_TOTAL);
  });

  describe("failed withdrawals leave the nonce unspent", function () {
    it("InsufficientBalance(payer, balance, amount); the same signature works once the balance suffices", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const w = await buildWithdrawal(alice, { amount: CUSTOMER_DEPOSIT + usd(1) });
      const sig = await signWithdrawal(f, alice, w);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientBalance")
        .withArgs(alice.address, CUSTOMER_DEPOSIT, CUSTOMER_DEPOSIT + usd(1));
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      await expectLedger(f, INITIAL_TOTAL);

      await f.token.connect(f.admin).mint(alice.address, usd(1));
      await f.token.connect(alice).approve(f.escrowAddress, usd(1));
      await f.escrow.connect(alice).deposit(usd(1));
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(alice.address, alice.address, CUSTOMER_DEPOSIT + usd(1));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL - CUSTOMER_DEPOSIT);
    });

    it("InvalidRecipient(escrow) for a signed to = the escrow, nonce not spent", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const escrow = (await f.escrow.getAddress()) as Address;
      const w = await buildWithdrawal(alice, { to: escrow });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, alice, w)))
        .to.be.revertedWithCustomError(f.escrow, "InvalidRecipient")
        .withArgs(escrow);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("ZeroAddress for a signed to = 0", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const w = await buildWithdrawal(alice, { to: ethers.ZeroAddress as Address });
      await expect(
        f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, alice, w)),
      ).to.be.revertedWithCustomError(f.escrow, "ZeroAddress");
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("InvalidAmount(0) for a signed zero amount", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const w = await buildWithdrawal(alice, { amount: 0n });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, alice, w)))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(0n);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("token paused: EnforcedPause, nothing changes; the same signature works after unpause", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice, bob] = f.customers;
      const w = await buildWithdrawal(alice, { to: bob.address as Address, amount: usd(12) });
      const sig = await signWithdrawal(f, alice, w);
      await f.token.connect(f.operator).pause();
      const before = await fundsState(f, [alice.address, bob.address]);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig)).to.be.revertedWithCustomError(
        f.token,
        "EnforcedPause",
      );
      expect(await fundsState(f, [alice.address, bob.address])).to.deep.equal(before);
      await expectLedger(f, INITIAL_TOTAL);

      await f.token.connect(f.operator).unpause();
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(alice.address, bob.address, usd(12));
      expect(await f.escrow.nonceWindow(alice.address)).to.deep.equal([1n, 0n]);
      await expectLedger(f, INITIAL_TOTAL - usd(12));
    });

    it("blocklisted recipient: AccountBlocklisted(to), balance and nonce kept", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      await f.token.connect(f.operator).blocklist(f.stranger.address);
      const w = await buildWithdrawal(alice, { to: f.stranger.address as Address });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, alice, w)))
        .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
        .withArgs(f.stranger.address);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  describe("ERC-1271 wallet payer", function () {
    it("withdraws a contract wallet's balance with its owner's signature, relayed by a stranger", async function () {
      const f = await loadFixture(deployFundsFixture);
      await walletDeposit(f, usd(200));
      await expectLedger(f, INITIAL_TOTAL + usd(200));
      const w = await buildWithdrawal({ address: f.walletAddress }, { to: f.walletOwner.address as Address });
      const sig = await signWithdrawal(f, f.walletOwner, w);

      const tx = f.escrow.connect(f.stranger).withdrawWithSignature(w, sig);
      await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(f.walletAddress, f.walletOwner.address, w.amount);
      await expect(tx).to.changeTokenBalances(f.token, [f.walletOwner, f.escrow], [w.amount, -w.amount]);
      expect(await f.escrow.balanceOf(f.walletAddress)).to.equal(usd(200) - w.amount);
      expect(await f.escrow.nonceWindow(f.walletAddress)).to.deep.equal([1n, 0n]);
      await expectLedger(f, INITIAL_TOTAL + usd(200) - w.amount);
    });

    it("rejects a wallet withdrawal not signed by the wallet's owner: InvalidSigner(wallet)", async function () {
      const f = await loadFixture(deployFundsFixture);
      await walletDeposit(f, usd(200));
      const w = await buildWithdrawal({ address: f.walletAddress }, { to: f.stranger.address as Address });
      await expect(f.escrow.connect(f.stranger).withdrawWithSignature(w, await signWithdrawal(f, f.stranger, w)))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
        .withArgs(f.walletAddress);
      expect(await f.escrow.balanceOf(f.walletAddress)).to.equal(usd(200));
      await expectLedger(f, INITIAL_TOTAL + usd(200));
    });
  });
});
