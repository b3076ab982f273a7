import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { permitDigest, rawEcrecover, signPermit, toHighS } from "../helpers/eip3009";
import { SIG_FORMS, deployTokenFixture, deployTwoTokensFixture, usd, submit } from "./fixtures";

describe("SettlementToken: permit (EIP-2612)", function () {
  for (const form of SIG_FORMS) {
    describe(`${form} overload`, function () {
      async function permitParams(owner: string, spender: string, value = usd(50), ttl = 600) {
        return { owner, spender, value, deadline: BigInt((await time.latest()) + ttl) };
      }

      it("sets the allowance, emits Approval and increments the nonce", async function () {
        const { token, alice, carol, relayer } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, p);
        expect(await token.nonces(alice.address)).to.equal(0n);
        await expect(submit.permit(token.connect(relayer), form, p, sig))
          .to.emit(token, "Approval")
          .withArgs(alice.address, carol.address, p.value);
        expect(await token.allowance(alice.address, carol.address)).to.equal(p.value);
        expect(await token.nonces(alice.address)).to.equal(1n);
        await expect(token.connect(carol).transferFrom(alice.address, carol.address, p.value)).to.emit(
          token,
          "Transfer",
        );
      });

      it("accepts the maximum deadline", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = { owner: alice.address, spender: carol.address, value: 1n, deadline: ethers.MaxUint256 };
        await expect(submit.permit(token, form, p, await signPermit(alice, token, p))).to.emit(token, "Approval");
      });

      it("is valid in the block whose timestamp equals the deadline", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address, 1n, 100);
        const sig = await signPermit(alice, token, p);
        await time.setNextBlockTimestamp(p.deadline);
        await expect(submit.permit(token, form, p, sig)).to.emit(token, "Approval");
      });

      it("reverts one second after the deadline with ERC2612ExpiredSignature", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address, 1n, 100);
        const sig = await signPermit(alice, token, p);
        await time.setNextBlockTimestamp(p.deadline + 1n);
        await expect(submit.permit(token, form, p, sig))
          .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
          .withArgs(p.deadline);
      });

      it("rejects a signature by another account", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(bob, token, p);
        await expect(submit.permit(token, form, p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects tampered fields (value, spender)", async function () {
        const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, p);
        await expect(submit.permit(token, form, { ...p, value: p.value + 1n }, sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
        await expect(submit.permit(token, form, { ...p, spender: bob.address }, sig)).to.be.revertedWithCustomError(
          token,
          "InvalidSignature",
        );
      });

      it("cannot be replayed (the nonce was consumed)", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, p);
        await submit.permit(token, form, p, sig);
        await expect(submit.permit(token, form, p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects a signature for a future nonce", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, { ...p, nonce: 1n });
        await expect(submit.permit(token, form, p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects a signature for another chain id", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, p, { chainId: 1n });
        await expect(submit.permit(token, form, p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects a signature for another token contract", async function () {
        const { token, otherToken, alice, carol } = await loadFixture(deployTwoTokensFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, otherToken, p);
        await expect(submit.permit(token, form, p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
        await expect(submit.permit(otherToken, form, p, sig)).to.emit(otherToken, "Approval");
      });

      it('rejects a signature under domain version "1" (OpenZeppelin\'s default)', async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, p, { version: "1" });
        await expect(submit.permit(token, form, p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("rejects the malleable high-s twin of a valid signature", async function () {
        const { token, alice, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, carol.address);
        const sig = await signPermit(alice, token, p);
        const twin = toHighS(sig);
        const { chainId } = await ethers.provider.getNetwork();
        const digest = await permitDigest(token, chainId, { ...p, nonce: 0n });
        // Raw ecrecover accepts the twin: only the low-s rule stops it.
        expect(await rawEcrecover(ethers.provider, digest, twin)).to.equal(alice.address);
        await expect(submit.permit(token, form, p, twin)).to.be.revertedWithCustomError(token, "InvalidSignature");
        await expect(submit.permit(token, form, p, sig)).to.emit(token, "Approval");
      });

      it("rejects a signature whose recovery fails, even for owner = address(0)", async function () {
        const { token, carol } = await loadFixture(deployTokenFixture);
        const p = await permitParams(ethers.ZeroAddress, carol.address);
        const junk = { v: 27, r: ethers.ZeroHash, s: ethers.ZeroHash, signature: "0x" + "00".repeat(64) + "1b" };
        await expect(submit.permit(token, form, p, junk)).to.be.revertedWithCustomError(token, "InvalidSignature");
      });

      it("a valid permit to the zero spender reverts with ERC20InvalidSpender", async function () {
        const { token, alice } = await loadFixture(deployTokenFixture);
        const p = await permitParams(alice.address, ethers.ZeroAddress);
        const sig = await signPermit(alice, token, p);
        await expect(submit.permit(token, form, p, sig))
          .to.be.revertedWithCustomError(token, "ERC20InvalidSpender")
          .withArgs(ethers.ZeroAddress);
      });
    });
  }

  describe("bytes overload only", function () {
    it("rejects a signature that is not 65 bytes", async function () {
      const { token, alice, carol } = await loadFixture(deployTokenFixture);
      const p = { owner: alice.address, spender: carol.address, value: 1n, deadline: ethers.MaxUint256 };
      const sig = await signPermit(alice, token, p);
      await expect(
        token["permit(address,address,uint256,uint256,bytes)"](
          p.owner,
          p.spender,
          p.value,
          p.deadline,
          sig.signature.slice(0, -2),
        ),
      ).to.be.revertedWithCustomError(token, "InvalidSignature");
    });
  });
});
