import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  rawEcrecover,
  signReceiveAuthorization,
  signTransferAuthorization,
  toHighS,
  transferAuthorizationDigest,
} from "../helpers/eip3009";
import {
  INITIAL_BALANCE,
  SIG_FORMS,
  authorization,
  deployTokenFixture,
  deployTwoTokensFixture,
  signedCancel,
  signedTransfer,
  submitCancel,
  submitTransfer,
  usd,
} from "./fixtures";

describe("SettlementToken: transferWithAuthorization (EIP-3009)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      it("moves the tokens for any submitter, marks the nonce used, emits AuthorizationUsed and Transfer", async function () {
        const { token, alice, carol, relayer } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, usd(30));
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(false);
        const tx = submitTransfer(token.connect(relayer), form, auth, sig);
        await expect(tx).to.emit(token, "AuthorizationUsed").withArgs(alice.address, auth.nonce);
        await expect(tx).to.emit(token, "Transfer").withArgs(alice.address, carol.address, usd(30));
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(true);
        expect(await token.balanceOf(alice.address)).to.equal(INITIAL_BALANCE - usd(30));
        expect(await token.balanceOf(carol.address)).to.equal(usd(30));
        expect(await token.balanceOf(relayer.address)).to.equal(0n);
      });

      it("is not yet valid in the block whose timestamp equals validAfter", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validAfter = (await time.latest()) + 100;
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n, { validAfter });
        await time.setNextBlockTimestamp(validAfter);
        await expect(submitTransfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationNotYetValid")
          .withArgs(validAfter);
      });

      it("is valid one second after validAfter", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validAfter = (await time.latest()) + 100;
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n, { validAfter });
        await time.setNextBlockTimestamp(validAfter + 1);
        await expect(submitTransfer(token, form, auth, sig)).to.emit(token, "AuthorizationUsed");
      });

      it("is valid one second before validBefore", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validBefore = (await time.latest()) + 100;
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n, { validBefore });
        await time.setNextBlockTimestamp(validBefore - 1);
        await expect(submitTransfer(token, form, auth, sig)).to.emit(token, "AuthorizationUsed");
      });

      it("has expired in the block whose timestamp equals validBefore", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validBefore = (await time.latest()) + 100;
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n, { validBefore });
        await time.setNextBlockTimestamp(validBefore);
        await expect(submitTransfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationExpired")
          .withArgs(validBefore);
      });

      it("cannot be replayed", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n);
        await submitTransfer(token, form, auth, sig);
        await expect(submitTransfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, auth.nonce);
      });

      it("cannot be used once cancelled", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const cancel = await signedCancel(token, alice);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n, { nonce: cancel.nonce });
        await submitCancel(token, form, alice.address, cancel.nonce, cancel.sig);
        await expect(submitTransfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, auth.nonce);
      });

      it("nonces are per authorizer: the same nonce is free for another account", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const first = await signedTransfer(token, alice, carol.address, 1n);
        await submitTransfer(token, form, first.auth, first.sig);
        const second = await signedTransfer(token, bob, carol.address, 1n, { nonce: first.auth.nonce });
        await expect(submitTransfer(token, form, second.auth, second.sig))
          .to.emit(token, "AuthorizationUsed")
          .withArgs(bob.address, first.auth.nonce);
      });

      it("rejects a signature by another account", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signTransferAuthorization(bob, token, auth);
        await expect(submitTransfer(token, form, auth, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects tampered fields (value, to, validBefore, nonce)", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 5n);
        for (const tampered of [
          { ...auth, value: 6n },
          { ...auth, to: bob.address },
          { ...auth, validBefore: BigInt(auth.validBefore) + 1n },
          { ...auth, nonce: ethers.ZeroHash },
        ]) {
          await expect(submitTransfer(token, form, tampered, sig)).to.be.revertedWithCustomError(
            token,
            "InvalidSignature",
          );
        }
      });

      it("rejects a ReceiveWithAuthorization signature (different typehash)", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signReceiveAuthorization(alice, token, auth);
        await expect(submitTransfer(token, form, auth, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects a signature for another chain id", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signTransferAuthorization(alice, token, auth, { chainId: 1n });
        await expect(submitTransfer(token, form, auth, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects a signature for another token contract", async function () {
        const { token, otherToken, alice, carol } = await loadFixture(deployTwoTokensFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signTransferAuthorization(alice, otherToken, auth);
        await expect(submitTransfer(token, form, auth, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
        await expect(submitTransfer(otherToken, form, auth, sig)).to.emit(otherToken, "AuthorizationUsed");
      });

      it("rejects the malleable high-s twin of a valid signature", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n);
        const twin = toHighS(sig);
        const { chainId } = await ethers.provider.getNetwork();
        const digest = await transferAuthorizationDigest(token, chainId, auth);
        expect(await rawEcrecover(ethers.provider, digest, twin)).to.equal(alice.address);
        await expect(submitTransfer(token, form, auth, twin)).to.be.revertedWithCustomError(token, "InvalidSignature");
        await expect(submitTransfer(token, form, auth, sig)).to.emit(token, "AuthorizationUsed");
      });

      it("reverts beyond the balance with ERC20InsufficientBalance, leaving the nonce unused", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, INITIAL_BALANCE + 1n);
        await expect(submitTransfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
          .withArgs(alice.address, INITIAL_BALANCE, INITIAL_BALANCE + 1n);
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(false);
      });

      it("reverts to the zero address with ERC20InvalidReceiver", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, ethers.ZeroAddress, 1n);
        await expect(submitTransfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
          .withArgs(ethers.ZeroAddress);
      });
    });
  }
});
