import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { SIG_FORMS, deployTokenFixture, usd, signed, submit } from "./fixtures";
import { RECEIVE, itEnforcesAuthorization } from "./signedActions";

describe("SettlementToken: receiveWithAuthorization (EIP-3009)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      it("the payee pulls the tokens; the nonce is marked used; AuthorizationUsed and Transfer", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.receive(token, alice, carol.address, usd(30));
        const tx = submit.receive(token.connect(carol), form, auth, sig);
        await expect(tx).to.emit(token, "AuthorizationUsed").withArgs(alice.address, auth.nonce);
        await expect(tx).to.emit(token, "Transfer").withArgs(alice.address, carol.address, usd(30));
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(true);
        expect(await token.balanceOf(carol.address)).to.equal(usd(30));
      });

      it("reverts when the caller is not the payee with CallerMustBePayee (front-running guard)", async function () {
        const { token, alice, carol, relayer } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.receive(token, alice, carol.address, 1n);
        await expect(submit.receive(token.connect(relayer), form, auth, sig))
          .to.be.revertedWithCustomError(token, "CallerMustBePayee")
          .withArgs(relayer.address, carol.address);
        await expect(submit.receive(token.connect(alice), form, auth, sig))
          .to.be.revertedWithCustomError(token, "CallerMustBePayee")
          .withArgs(alice.address, carol.address);
      });

      it("rejects tampered fields (value, validAfter)", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.receive(token, alice, carol.address, 5n);
        for (const tampered of [
          { ...auth, value: 6n },
          { ...auth, validAfter: 1n },
        ]) {
          await expect(submit.receive(token.connect(carol), form, tampered, sig)).to.be.revertedWithCustomError(
            token,
            "InvalidSignature",
          );
        }
      });

      itEnforcesAuthorization(RECEIVE, form);
    });
  }
});
