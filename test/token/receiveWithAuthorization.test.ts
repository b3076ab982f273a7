import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  rawEcrecover,
  receiveAuthorizationDigest,
  signReceiveAuthorization,
  signTransferAuthorization,
  toHighS,
} from "../helpers/eip3009";
import {
  INITIAL_BALANCE,
  SIG_FORMS,
  authorization,
  deployTokenFixture,
  deployTwoTokensFixture,
  signedCancel,
  signedReceive,
  submitCancel,
  submitReceive,
  usd,
} from "./fixtures";

describe("SettlementToken: receiveWithAuthorization (EIP-3009)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      it("the payee pulls the tokens; the nonce is marked used; AuthorizationUsed and Transfer", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedReceive(token, alice, carol.address, usd(30));
        const tx = submitReceive(token.connect(carol), form, auth, sig);
        await expect(tx).to.emit(token, "AuthorizationUsed").withArgs(alice.address, auth.nonce);
        await expect(tx).to.emit(token, "Transfer").withArgs(alice.address, carol.address, usd(30));
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(true);
        expect(await token.balanceOf(carol.address)).to.equal(usd(30));
      });

      it("reverts when the caller is not the payee with CallerMustBePayee (front-running guard)", async function () {
        const { token, alice, carol, relayer } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n);
        await expect(submitReceive(token.connect(relayer), form, auth, sig))
          .to.be.revertedWithCustomError(token, "CallerMustBePayee")
          .withArgs(relayer.address, carol.address);
        await expect(submitReceive(token.connect(alice), form, auth, sig))
          .to.be.revertedWithCustomError(token, "CallerMustBePayee")
          .withArgs(alice.address, carol.address);
      });

      it("is not yet valid in the block whose timestamp equals validAfter, valid one second later", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validAfter = (await time.latest()) + 100;
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n, { validAfter });
        await time.setNextBlockTimestamp(validAfter);
        await expect(submitReceive(token.connect(carol), form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationNotYetValid")
          .withArgs(validAfter);
        await time.setNextBlockTimestamp(validAfter + 1);
        await expect(submitReceive(token.connect(carol), form, auth, sig)).to.emit(token, "AuthorizationUsed");
      });

      it("is valid one second before validBefore", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validBefore = (await time.latest()) + 100;
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n, { validBefore });
        await time.setNextBlockTimestamp(validBefore - 1);
        await expect(submitReceive(token.connect(carol), form, auth, sig)).to.emit(token, "AuthorizationUsed");
      });

      it("has expired in the block whose timestamp equals validBefore", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const validBefore = (await time.latest()) + 100;
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n, { validBefore });
        await time.setNextBlockTimestamp(validBefore);
        await expect(submitReceive(token.connect(carol), form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationExpired")
          .withArgs(validBefore);
      });

      it("cannot be replayed", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n);
        await submitReceive(token.connect(carol), form, auth, sig);
        await expect(submitReceive(token.connect(carol), form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, auth.nonce);
      });

      it("cannot be used once cancelled", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const cancel = await signedCancel(token, alice);
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n, { nonce: cancel.nonce });
        await submitCancel(token, form, alice.address, cancel.nonce, cancel.sig);
        await expect(submitReceive(token.connect(carol), form, auth, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, auth.nonce);
      });

      it("rejects a signature by another account", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signReceiveAuthorization(bob, token, auth);
        await expect(submitReceive(token.connect(carol), form, auth, sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      it("rejects tampered fields (value, validAfter)", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedReceive(token, alice, carol.address, 5n);
        for (const tampered of [
          { ...auth, value: 6n },
          { ...auth, validAfter: 1n },
        ]) {
          await expect(submitReceive(token.connect(carol), form, tampered, sig)).to.be.revertedWithCustomError(
            token,
            "InvalidSignature",
          );
        }
      });

      it("rejects a TransferWithAuthorization signature (different typehash)", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signTransferAuthorization(alice, token, auth);
        await expect(submitReceive(token.connect(carol), form, auth, sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      it("rejects a signature for another chain id", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signReceiveAuthorization(alice, token, auth, { chainId: 31338n });
        await expect(submitReceive(token.connect(carol), form, auth, sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      it("rejects a signature for another token contract", async function () {
        const { token, otherToken, alice, carol } = await loadFixture(deployTwoTokensFixture);
        const auth = await authorization(alice.address, carol.address, 1n);
        const sig = await signReceiveAuthorization(alice, otherToken, auth);
        await expect(submitReceive(token.connect(carol), form, auth, sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      it("rejects the malleable high-s twin of a valid signature", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedReceive(token, alice, carol.address, 1n);
        const twin = toHighS(sig);
        const { chainId } = await ethers.provider.getNetwork();
        const digest = await receiveAuthorizationDigest(token, chainId, auth);
        expect(await rawEcrecover(ethers.provider, digest, twin)).to.equal(alice.address);
        await expect(submitReceive(token.connect(carol), form, auth, twin)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      it("reverts beyond the balance with ERC20InsufficientBalance", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedReceive(token, alice, carol.address, INITIAL_BALANCE + 1n);
        await expect(submitReceive(token.connect(carol), form, auth, sig))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
          .withArgs(alice.address, INITIAL_BALANCE, INITIAL_BALANCE + 1n);
      });
    });
  }
});
