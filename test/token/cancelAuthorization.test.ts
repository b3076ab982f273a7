import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { randomNonce } from "../helpers/eip3009";
import {
  SIG_FORMS,
  deployTokenFixture,
  signedCancel,
  signedReceive,
  signedTransfer,
  submitCancel,
  submitReceive,
  submitTransfer,
} from "./fixtures";
import { CANCEL, itRejectsForeignSignatures } from "./signedActions";

describe("SettlementToken: cancelAuthorization (EIP-3009)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      it("marks the nonce, emits AuthorizationCanceled; any account may submit", async function () {
        const { token, alice, relayer } = await loadFixture(deployTokenFixture);
        const { nonce, sig } = await signedCancel(token, alice);
        await expect(submitCancel(token.connect(relayer), form, alice.address, nonce, sig))
          .to.emit(token, "AuthorizationCanceled")
          .withArgs(alice.address, nonce);
        expect(await token.authorizationState(alice.address, nonce)).to.equal(true);
      });

      it("blocks both a transfer and a receive authorization with that nonce", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { nonce, sig } = await signedCancel(token, alice);
        const transfer = await signedTransfer(token, alice, carol.address, 1n, { nonce });
        const receive = await signedReceive(token, alice, carol.address, 1n, { nonce });
        await submitCancel(token, form, alice.address, nonce, sig);
        await expect(submitTransfer(token, form, transfer.auth, transfer.sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, nonce);
        await expect(submitReceive(token.connect(carol), form, receive.auth, receive.sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, nonce);
      });

      it("cannot cancel twice", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const { nonce, sig } = await signedCancel(token, alice);
        await submitCancel(token, form, alice.address, nonce, sig);
        await expect(submitCancel(token, form, alice.address, nonce, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, nonce);
      });

      it("cannot cancel a used authorization", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signedTransfer(token, alice, carol.address, 1n);
        await submitTransfer(token, form, auth, sig);
        const cancel = await signedCancel(token, alice, auth.nonce);
        await expect(submitCancel(token, form, alice.address, auth.nonce, cancel.sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, auth.nonce);
      });

      it("rejects a signature for another nonce", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const { sig } = await signedCancel(token, alice);
        await expect(submitCancel(token, form, alice.address, randomNonce(), sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      itRejectsForeignSignatures(CANCEL, form);
    });
  }
});
