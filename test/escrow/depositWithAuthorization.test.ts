import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { randomNonce, signCancelAuthorization } from "../helpers/eip3009";
import { CUSTOMER_DEPOSIT, MAX_UINT128, usd } from "./fixtures";
import {
  deployFundsFixture,
  expectLedger,
  fundsState,
  signDepositAuthorization,
  submitDepositAuthorization,
  TOKEN_FN,
  WALLET_FUNDS,
  type FundsFixture,
  type SignedAuthorization,
} from "./funds.helpers";

const INITIAL_TOTAL = 4n * CUSTOMER_DEPOSIT;

/** Calls the token's receive/transferWithAuthorization (bytes overload) directly with a deposit authorization. */
function callToken(f: FundsFixture, fn: "receiveBytes" | "transferBytes", { auth, sig }: SignedAuthorization) {
  return f.token
    .connect(f.stranger)
    [TOKEN_FN[fn]](auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, sig.signature);
}

describe("PaymentEscrow.depositWithAuthorization", function () {
  it("anyone submits the payer's ReceiveWithAuthorization; `from` is credited, Deposited(from, submitter, amount)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(321);
    const signed = await signDepositAuthorization(f, f.newcomer, amount);

    const tx = submitDepositAuthorization(f, f.relayer, signed);
    await expect(tx).to.emit(f.escrow, "Deposited").withArgs(f.newcomer.address, f.relayer.address, amount);
    await expect(tx).to.emit(f.token, "AuthorizationUsed").withArgs(f.newcomer.address, signed.auth.nonce);
    await expect(tx).to.changeTokenBalances(f.token, [f.newcomer, f.escrow, f.relayer], [-amount, amount, 0n]);

    expect(await f.token.authorizationState(f.newcomer.address, signed.auth.nonce)).to.equal(true);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(amount);
    expect(await f.escrow.balanceOf(f.relayer.address)).to.equal(0n);
    expect(await f.escrow.nonceWindow(f.newcomer.address)).to.deep.equal([0n, 0n]);
    await expectLedger(f, INITIAL_TOTAL + amount);
  });

  it("the payer may submit its own authorization: Deposited(from, from, amount)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const signed = await signDepositAuthorization(f, f.newcomer, usd(5));
    await expect(submitDepositAuthorization(f, f.newcomer, signed))
      .to.emit(f.escrow, "Deposited")
      .withArgs(f.newcomer.address, f.newcomer.address, usd(5));
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(5));
    await expectLedger(f, INITIAL_TOTAL + usd(5));
  });

  describe("funds can never be stranded outside the escrow", function () {
    it("relaying the authorization straight to the token's receiveWithAuthorization reverts (caller must be payee)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.newcomer, usd(40));
      await expect(callToken(f, "receiveBytes", signed))
        .to.be.revertedWithCustomError(f.token, "CallerMustBePayee")
        .withArgs(f.stranger.address, f.escrowAddress);
      expect(await f.token.authorizationState(f.newcomer.address, signed.auth.nonce)).to.equal(false);
      expect(await f.token.balanceOf(f.escrowAddress)).to.equal(INITIAL_TOTAL);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("the same signature is no TransferWithAuthorization (different typehash): InvalidSignature", async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.newcomer, usd(40));
      await expect(callToken(f, "transferBytes", signed)).to.be.revertedWithCustomError(f.token, "InvalidSignature");
      expect(await f.token.authorizationState(f.newcomer.address, signed.auth.nonce)).to.equal(false);
      expect(await f.token.balanceOf(f.escrowAddress)).to.equal(INITIAL_TOTAL);
      await expectLedger(f, INITIAL_TOTAL);

      // Both attempts left the authorization unused: it still deposits through the escrow.
      await expect(submitDepositAuthorization(f, f.relayer, signed))
        .to.emit(f.escrow, "Deposited")
        .withArgs(f.newcomer.address, f.relayer.address, usd(40));
      await expectLedger(f, INITIAL_TOTAL + usd(40));
    });
  });

  it("a replayed authorization reverts AuthorizationUsedOrCanceled(from, nonce) and credits nothing more", async function () {
    const f = await loadFixture(deployFundsFixture);
    const signed = await signDepositAuthorization(f, f.newcomer, usd(10));
    await submitDepositAuthorization(f, f.relayer, signed);
    await expect(submitDepositAuthorization(f, f.stranger, signed))
      .to.be.revertedWithCustomError(f.token, "AuthorizationUsedOrCanceled")
      .withArgs(f.newcomer.address, signed.auth.nonce);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(10));
    await expectLedger(f, INITIAL_TOTAL + usd(10));
  });

  it("an authorization the payer cancelled at the token reverts AuthorizationUsedOrCanceled", async function () {
    const f = await loadFixture(deployFundsFixture);
    const signed = await signDepositAuthorization(f, f.newcomer, usd(10));
    const cancel = await signCancelAuthorization(f.newcomer, f.token, {
      authorizer: f.newcomer.address,
      nonce: signed.auth.nonce,
    });
    await f.token["cancelAuthorization(address,bytes32,bytes)"](
      f.newcomer.address,
      signed.auth.nonce,
      cancel.signature,
    );
    await expect(submitDepositAuthorization(f, f.relayer, signed))
      .to.be.revertedWithCustomError(f.token, "AuthorizationUsedOrCanceled")
      .withArgs(f.newcomer.address, signed.auth.nonce);
    await expectLedger(f, INITIAL_TOTAL);
  });

  describe("validity window", function () {
    it("expired: reverts AuthorizationExpired(validBefore) at validBefore, worked one second earlier", async function () {
      const f = await loadFixture(deployFundsFixture);
      const validBefore = BigInt(await time.latest()) + 100n;
      const a = await signDepositAuthorization(f, f.newcomer, usd(1), { validBefore });
      const b = await signDepositAuthorization(f, f.newcomer, usd(2), { validBefore });

      await time.setNextBlockTimestamp(validBefore - 1n);
      await submitDepositAuthorization(f, f.relayer, a);
      await time.setNextBlockTimestamp(validBefore);
      await expect(submitDepositAuthorization(f, f.relayer, b))
        .to.be.revertedWithCustomError(f.token, "AuthorizationExpired")
        .withArgs(validBefore);
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(1));
      await expectLedger(f, INITIAL_TOTAL + usd(1));
    });

    it("not yet valid: reverts AuthorizationNotYetValid(validAfter) at validAfter, works one second later", async function () {
      const f = await loadFixture(deployFundsFixture);
      const validAfter = BigInt(await time.latest()) + 100n;
      const signed = await signDepositAuthorization(f, f.newcomer, usd(3), {
        validAfter,
        validBefore: validAfter + 3600n,
      });

      await time.setNextBlockTimestamp(validAfter);
      await expect(submitDepositAuthorization(f, f.relayer, signed))
        .to.be.revertedWithCustomError(f.token, "AuthorizationNotYetValid")
        .withArgs(validAfter);
      await expectLedger(f, INITIAL_TOTAL);

      await time.setNextBlockTimestamp(validAfter + 1n);
      await expect(submitDepositAuthorization(f, f.relayer, signed))
        .to.emit(f.escrow, "Deposited")
        .withArgs(f.newcomer.address, f.relayer.address, usd(3));
      await expectLedger(f, INITIAL_TOTAL + usd(3));
    });
  });

  describe("mismatched submissions revert with the token's InvalidSignature", function () {
    it("an authorization whose nonce is not derived from the deposit tag (nonce given as the salt)", async function () {
      const f = await loadFixture(deployFundsFixture);
      // Any other authorization to the escrow (e.g. one signed for another purpose) is no deposit.
      const nonce = randomNonce();
      const signed = await signDepositAuthorization(f, f.newcomer, usd(10), { nonce, salt: nonce });
      const before = await fundsState(f, [f.newcomer.address]);
      await expect(submitDepositAuthorization(f, f.relayer, signed))
        .to.be.revertedWithCustomError(f.token, "InvalidSignature")
        .withArgs();
      expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
      expect(await f.token.authorizationState(f.newcomer.address, nonce)).to.equal(false);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("the signed nonce is keccak256(abi.encode(keccak256('StablePay.Deposit'), from, amount, salt))", async function () {
      const f = await loadFixture(deployFundsFixture);
      const salt = randomNonce();
      const nonce = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "address", "uint256", "bytes32"],
          [ethers.id("StablePay.Deposit"), f.newcomer.address, usd(7), salt],
        ),
      );
      const signed = await signDepositAuthorization(f, f.newcomer, usd(7), { nonce, salt });
      await expect(submitDepositAuthorization(f, f.relayer, signed))
        .to.emit(f.token, "AuthorizationUsed")
        .withArgs(f.newcomer.address, nonce);
    });

    it("an amount other than the signed value", async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.newcomer, usd(10));
      const before = await fundsState(f, [f.newcomer.address]);
      await expect(submitDepositAuthorization(f, f.relayer, signed, usd(10) + 1n)).to.be.revertedWithCustomError(
        f.token,
        "InvalidSignature",
      );
      expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("an authorization whose payee is not the escrow", async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.newcomer, usd(10), { to: f.relayer.address });
      await expect(submitDepositAuthorization(f, f.relayer, signed)).to.be.revertedWithCustomError(
        f.token,
        "InvalidSignature",
      );
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("another `from` than the signer (cannot credit or debit someone else)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.stranger, usd(10), { from: f.newcomer.address });
      await expect(submitDepositAuthorization(f, f.stranger, signed)).to.be.revertedWithCustomError(
        f.token,
        "InvalidSignature",
      );
      expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  for (const [label, amount] of [
    ["0", 0n],
    ["2^128", MAX_UINT128 + 1n],
  ] as const) {
    it(`reverts InvalidAmount(${label}) before the token is called`, async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.newcomer, amount);
      await expect(submitDepositAuthorization(f, f.relayer, signed))
        .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
        .withArgs(amount);
      expect(await f.token.authorizationState(f.newcomer.address, signed.auth.nonce)).to.equal(false);
      await expectLedger(f, INITIAL_TOTAL);
    });
  }

  describe("ERC-1271 wallet as `from`", function () {
    it("deposits from a contract wallet whose owner signed; the wallet is credited", async function () {
      const f = await loadFixture(deployFundsFixture);
      const amount = usd(123);
      const signed = await signDepositAuthorization(f, f.walletOwner, amount, { from: f.walletAddress });
      const tx = submitDepositAuthorization(f, f.relayer, signed);
      await expect(tx).to.emit(f.escrow, "Deposited").withArgs(f.walletAddress, f.relayer.address, amount);
      await expect(tx).to.changeTokenBalances(f.token, [f.walletAddress, f.escrowAddress], [-amount, amount]);
      expect(await f.escrow.balanceOf(f.walletAddress)).to.equal(amount);
      expect(await f.escrow.balanceOf(f.walletOwner.address)).to.equal(0n);
      expect(await f.token.balanceOf(f.walletAddress)).to.equal(WALLET_FUNDS - amount);
      await expectLedger(f, INITIAL_TOTAL + amount);
    });

    it("rejects a wallet authorization signed by a key other than the owner", async function () {
      const f = await loadFixture(deployFundsFixture);
      const signed = await signDepositAuthorization(f, f.stranger, usd(1), { from: f.walletAddress });
      await expect(submitDepositAuthorization(f, f.relayer, signed)).to.be.revertedWithCustomError(
        f.token,
        "InvalidSignature",
      );
      expect(await f.escrow.balanceOf(f.walletAddress)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  it("reverts with the token's EnforcedPause while paused; the same authorization works after unpause", async function () {
    const f = await loadFixture(deployFundsFixture);
    const signed = await signDepositAuthorization(f, f.newcomer, usd(15));
    await f.token.connect(f.operator).pause();
    const before = await fundsState(f, [f.newcomer.address]);
    await expect(submitDepositAuthorization(f, f.relayer, signed)).to.be.revertedWithCustomError(
      f.token,
      "EnforcedPause",
    );
    expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
    expect(await f.token.authorizationState(f.newcomer.address, signed.auth.nonce)).to.equal(false);
    await expectLedger(f, INITIAL_TOTAL);

    await f.token.connect(f.operator).unpause();
    await submitDepositAuthorization(f, f.relayer, signed);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(usd(15));
    await expectLedger(f, INITIAL_TOTAL + usd(15));
  });

  it("a blocklisted payer's authorization reverts AccountBlocklisted(from)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const signed = await signDepositAuthorization(f, f.newcomer, usd(15));
    await f.token.connect(f.operator).blocklist(f.newcomer.address);
    await expect(submitDepositAuthorization(f, f.relayer, signed))
      .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
      .withArgs(f.newcomer.address);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
    await expectLedger(f, INITIAL_TOTAL);
  });
});
