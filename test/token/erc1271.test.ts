import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  randomNonce,
  signCancelAuthorization,
  signPermit,
  signReceiveAuthorization,
  signTransferAuthorization,
  toHighS,
} from "../helpers/eip3009";
import { INITIAL_BALANCE, authorization, deployWalletFixture, submit, usd } from "./fixtures";

describe("SettlementToken: ERC-1271 smart-contract wallets", function () {
  describe("the mock wallet", function () {
    it("accepts its owner's ECDSA signature of the exact hash and rejects others", async function () {
      const { wallet, walletOwner, alice } = await loadFixture(deployWalletFixture);
      const message = ethers.getBytes(ethers.id("payload"));
      const digest = ethers.hashMessage(message);
      const ownerSig = await walletOwner.signMessage(message);
      expect(await wallet.isValidSignature(digest, ownerSig)).to.equal("0x1626ba7e");
      expect(await wallet.isValidSignature(ethers.id("other"), ownerSig)).to.equal("0xffffffff");
      expect(await wallet.isValidSignature(digest, await alice.signMessage(message))).to.equal("0xffffffff");
      expect(await wallet.isValidSignature(digest, "0x1234")).to.equal("0xffffffff");
    });

    it("execute is owner-only", async function () {
      const { wallet, token, alice } = await loadFixture(deployWalletFixture);
      const data = token.interface.encodeFunctionData("transfer", [alice.address, 1n]);
      await expect(wallet.connect(alice).execute(await token.getAddress(), data))
        .to.be.revertedWithCustomError(wallet, "NotOwner")
        .withArgs(alice.address);
    });
  });

  describe("permit (bytes overload)", function () {
    it("accepts the wallet's ERC-1271 signature", async function () {
      const { token, walletAddress, walletOwner, carol } = await loadFixture(deployWalletFixture);
      const p = { owner: walletAddress, spender: carol.address, value: usd(10), deadline: ethers.MaxUint256 };
      const sig = await signPermit(walletOwner, token, p);
      await expect(submit.permit(token, "bytes", p, sig))
        .to.emit(token, "Approval")
        .withArgs(walletAddress, carol.address, usd(10));
      expect(await token.nonces(walletAddress)).to.equal(1n);
      await token.connect(carol).transferFrom(walletAddress, carol.address, usd(10));
      expect(await token.balanceOf(carol.address)).to.equal(usd(10));
    });

    it("rejects a signature the wallet does not accept", async function () {
      const { token, walletAddress, alice, carol } = await loadFixture(deployWalletFixture);
      const p = { owner: walletAddress, spender: carol.address, value: usd(10), deadline: ethers.MaxUint256 };
      const sig = await signPermit(alice, token, p);
      await expect(submit.permit(token, "bytes", p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
    });

    it("the wallet owner's signature does not count as the owner EOA's own permit", async function () {
      const { token, walletAddress, walletOwner, carol } = await loadFixture(deployWalletFixture);
      const p = { owner: walletOwner.address, spender: carol.address, value: 1n, deadline: ethers.MaxUint256 };
      const sig = await signPermit(walletOwner, token, { ...p, owner: walletAddress });
      await expect(submit.permit(token, "bytes", p, sig)).to.be.revertedWithCustomError(token, "InvalidSignature");
    });
  });

  describe("transferWithAuthorization (bytes overload)", function () {
    it("moves the wallet's tokens on its ERC-1271 signature", async function () {
      const { token, walletAddress, walletOwner, bob, relayer } = await loadFixture(deployWalletFixture);
      const auth = await authorization(walletAddress, bob.address, usd(7));
      const sig = await signTransferAuthorization(walletOwner, token, auth);
      const tx = submit.transfer(token.connect(relayer), "bytes", auth, sig);
      await expect(tx).to.emit(token, "AuthorizationUsed").withArgs(walletAddress, auth.nonce);
      await expect(tx).to.emit(token, "Transfer").withArgs(walletAddress, bob.address, usd(7));
      expect(await token.balanceOf(walletAddress)).to.equal(INITIAL_BALANCE - usd(7));
    });

    it("rejects a signature the wallet does not accept (wrong key, high-s twin)", async function () {
      const { token, walletAddress, walletOwner, alice, bob } = await loadFixture(deployWalletFixture);
      const auth = await authorization(walletAddress, bob.address, usd(7));
      const wrong = await signTransferAuthorization(alice, token, auth);
      await expect(submit.transfer(token, "bytes", auth, wrong)).to.be.revertedWithCustomError(
        token,
        "InvalidSignature",
      );
      const twin = toHighS(await signTransferAuthorization(walletOwner, token, auth));
      await expect(submit.transfer(token, "bytes", auth, twin)).to.be.revertedWithCustomError(
        token,
        "InvalidSignature",
      );
    });

    it("time window and replay rules apply to wallets too", async function () {
      const { token, walletAddress, walletOwner, bob } = await loadFixture(deployWalletFixture);
      const now = await time.latest();
      const late = await authorization(walletAddress, bob.address, 1n, { validBefore: now });
      await expect(submit.transfer(token, "bytes", late, await signTransferAuthorization(walletOwner, token, late)))
        .to.be.revertedWithCustomError(token, "AuthorizationExpired")
        .withArgs(now);
      const auth = await authorization(walletAddress, bob.address, 1n);
      const sig = await signTransferAuthorization(walletOwner, token, auth);
      await submit.transfer(token, "bytes", auth, sig);
      await expect(submit.transfer(token, "bytes", auth, sig))
        .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
        .withArgs(walletAddress, auth.nonce);
    });

    it("the (v, r, s) overload also reaches ERC-1271 for a contract signer (as USDC v2.2)", async function () {
      const { token, walletAddress, walletOwner, bob } = await loadFixture(deployWalletFixture);
      const auth = await authorization(walletAddress, bob.address, 1n);
      const sig = await signTransferAuthorization(walletOwner, token, auth);
      await expect(submit.transfer(token, "vrs", auth, sig)).to.emit(token, "AuthorizationUsed");
    });
  });

  describe("receiveWithAuthorization (bytes overload)", function () {
    it("the payee pulls from the wallet on its ERC-1271 signature", async function () {
      const { token, walletAddress, walletOwner, bob, relayer } = await loadFixture(deployWalletFixture);
      const auth = await authorization(walletAddress, bob.address, usd(3));
      const sig = await signReceiveAuthorization(walletOwner, token, auth);
      await expect(submit.receive(token.connect(relayer), "bytes", auth, sig))
        .to.be.revertedWithCustomError(token, "CallerMustBePayee")
        .withArgs(relayer.address, bob.address);
      await expect(submit.receive(token.connect(bob), "bytes", auth, sig))
        .to.emit(token, "Transfer")
        .withArgs(walletAddress, bob.address, usd(3));
    });

    it("rejects a signature the wallet does not accept", async function () {
      const { token, walletAddress, bob } = await loadFixture(deployWalletFixture);
      const auth = await authorization(walletAddress, bob.address, usd(3));
      const sig = await signReceiveAuthorization(bob, token, auth);
      await expect(submit.receive(token.connect(bob), "bytes", auth, sig)).to.be.revertedWithCustomError(
        token,
        "InvalidSignature",
      );
    });

    it("a wallet can be the payee, submitting through execute", async function () {
      const { token, wallet, walletAddress, walletOwner, alice } = await loadFixture(deployWalletFixture);
      const auth = await authorization(alice.address, walletAddress, usd(4));
      const sig = await signReceiveAuthorization(alice, token, auth);
      const data = token.interface.encodeFunctionData(
        "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)",
        [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, sig.signature],
      );
      await expect(wallet.connect(walletOwner).execute(await token.getAddress(), data))
        .to.emit(token, "Transfer")
        .withArgs(alice.address, walletAddress, usd(4));
      expect(await token.balanceOf(walletAddress)).to.equal(INITIAL_BALANCE + usd(4));
    });
  });

  describe("cancelAuthorization (bytes overload)", function () {
    it("cancels a wallet's nonce on its ERC-1271 signature", async function () {
      const { token, walletAddress, walletOwner, bob } = await loadFixture(deployWalletFixture);
      const nonce = randomNonce();
      const sig = await signCancelAuthorization(walletOwner, token, { authorizer: walletAddress, nonce });
      await expect(submit.cancel(token, "bytes", walletAddress, nonce, sig))
        .to.emit(token, "AuthorizationCanceled")
        .withArgs(walletAddress, nonce);
      const auth = await authorization(walletAddress, bob.address, 1n, { nonce });
      await expect(submit.transfer(token, "bytes", auth, await signTransferAuthorization(walletOwner, token, auth)))
        .to.be.revertedWithCustomError(token, "AuthorizationUsedOrCanceled")
        .withArgs(walletAddress, nonce);
    });

    it("rejects a signature the wallet does not accept", async function () {
      const { token, walletAddress, alice } = await loadFixture(deployWalletFixture);
      const nonce = randomNonce();
      const sig = await signCancelAuthorization(alice, token, { authorizer: walletAddress, nonce });
      await expect(submit.cancel(token, "bytes", walletAddress, nonce, sig)).to.be.revertedWithCustomError(
        token,
        "InvalidSignature",
      );
    });
  });
});
