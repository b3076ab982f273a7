import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { INITIAL_BALANCE, SIG_FORMS, deployTokenFixture, usd, signed, submit } from "./fixtures";
import { TRANSFER, itEnforcesAuthorization } from "./signedActions";

describe("SettlementToken: transferWithAuthorization (EIP-3009)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      it("moves the tokens for any submitter, marks the nonce used, emits AuthorizationUsed and Transfer", async function () {
        const { token, alice, carol, relayer } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.transfer(token, alice, carol.address, usd(30));
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(false);
        const tx = submit.transfer(token.connect(relayer), form, auth, sig);
        await expect(tx).to.emit(token, "AuthorizationUsed").withArgs(alice.address, auth.nonce);
        await expect(tx).to.emit(token, "Transfer").withArgs(alice.address, carol.address, usd(30));
        expect(await token.authorizationState(alice.address, auth.nonce)).to.equal(true);
        expect(await token.balanceOf(alice.address)).to.equal(INITIAL_BALANCE - usd(30));
        expect(await token.balanceOf(carol.address)).to.equal(usd(30));
        expect(await token.balanceOf(relayer.address)).to.equal(0n);
      });

      it("nonces are per authorizer: the same nonce is free for another account", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const first = await signed.transfer(token, alice, carol.address, 1n);
        await submit.transfer(token, form, first.auth, first.sig);
        const second = await signed.transfer(token, bob, carol.address, 1n, { nonce: first.auth.nonce });
        await expect(submit.transfer(token, form, second.auth, second.sig))
          .to.emit(token, "AuthorizationUsed")
          .withArgs(bob.address, first.auth.nonce);
      });

      it("rejects tampered fields (value, to, validBefore, nonce)", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.transfer(token, alice, carol.address, 5n);
        for (const tampered of [
          { ...auth, value: 6n },
          { ...auth, to: bob.address },
          { ...auth, validBefore: BigInt(auth.validBefore) + 1n },
          { ...auth, nonce: ethers.ZeroHash },
        ]) {
          await expect(submit.transfer(token, form, tampered, sig)).to.be.revertedWithCustomError(
            token,
            "InvalidSignature",
          );
        }
      });

      it("reverts to the zero address with ERC20InvalidReceiver", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const { auth, sig } = await signed.transfer(token, alice, ethers.ZeroAddress, 1n);
        await expect(submit.transfer(token, form, auth, sig))
          .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
          .withArgs(ethers.ZeroAddress);
      });

      itEnforcesAuthorization(TRANSFER, form);
    });
  }
});
