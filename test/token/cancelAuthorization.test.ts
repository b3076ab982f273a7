import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { randomNonce } from "../helpers/eip3009";
import { SIG_FORMS, deployTokenFixture, signed, submit } from "./fixtures";
import { CANCEL, itRejectsForeignSignatures } from "./signedActions";

describe("SettlementToken: cancelAuthorization (EIP-3009)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      it("marks the nonce, emits AuthorizationCanceled; any account may submit", async function () {
        const { token, alice, relayer } = await loadFixture(deployTokenFixture);
        const { nonce, sig } = await signed.cancel(token, alice);
        await expect(submit.cancel(token.connect(relayer), form, alice.address, nonce, sig))
          .to.emit(token, "AuthorizationCanceled")
          .withArgs(alice.address, nonce);
        expect(await token.authorizationState(alice.address, nonce)).to.equal(true);
      });

      it("blocks both a transfer and a receive authorization with that nonce", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { nonce, sig } = await signed.cancel(token, alice);
        const transfer = await signed.transfer(token, alice, carol.address, 1n, { nonce });
        const receive = await signed.receive(token, alice, carol.address, 1n, { nonce });
        await submit.cancel(token, form, alice.address, nonce, sig);
        await expect(submit.transfer(token, form, transfer.auth, transfer.sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, nonce);
        await expect(submit.receive(token.connect(carol), form, receive.auth, receive.sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, nonce);
      });

      it("cannot cancel twice", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const { nonce, sig } = await signed.cancel(token, alice);
        await submit.cancel(token, form, alice.address, nonce, sig);
        await expect(submit.cancel(token, form, alice.address, nonce, sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, nonce);
      });

      it("cannot cancel a used authorization", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.transfer(token, alice, carol.address, 1n);
        await submit.transfer(token, form, auth, sig);
        const cancel = await signed.cancel(token, alice, auth.nonce);
        await expect(submit.cancel(token, form, alice.address, auth.nonce, cancel.sig))
          .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
          .withArgs(alice.address, auth.nonce);
      });

      it("rejects a signature for another nonce", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const { sig } = await signed.cancel(token, alice);
        await expect(submit.cancel(token, form, alice.address, randomNonce(), sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      itRejectsForeignSignatures(CANCEL, form);
    });
  }
});
