/**
 * The checks every EIP-3009 signed action shares (transfer, receive, cancel), declared once and run
 * per action and overload: a signature must be the authorizer's, for this chain and this token, low-s;
 * an authorization is valid only inside its window and only once.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import type { SettlementToken } from "../../typechain-types";
import {
  cancelAuthorizationDigest,
  randomNonce,
  rawEcrecover,
  receiveAuthorizationDigest,
  signCancelAuthorization,
  signReceiveAuthorization,
  signTransferAuthorization,
  toHighS,
  transferAuthorizationDigest,
  type AuthorizationParams,
  type CancelAuthorizationParams,
  type DomainOverrides,
  type SplitSignature,
} from "../helpers/eip3009";
import {
  INITIAL_BALANCE,
  authorization,
  deployTokenFixture,
  deployTwoTokensFixture,
  signed,
  submit,
  type SigForm,
  type TokenFixture,
} from "./fixtures";

/** Chain ids a signature must not be valid for (the test chain is 31337). */
const FOREIGN_CHAIN_IDS = [1n, 31338n];

/** One kind of signed action, as the shared checks drive it. */
export interface SignedAction<P> {
  /** What alice authorizes (to carol, fresh nonce), with field overrides. */
  params(f: TokenFixture, overrides?: Partial<AuthorizationParams>): Promise<P>;
  sign(
    signer: HardhatEthersSigner,
    token: SettlementToken,
    params: P,
    domain?: DomainOverrides,
  ): Promise<SplitSignature>;
  digest(token: SettlementToken, chainId: bigint, params: P): Promise<string>;
  /** Sends it from the account this action expects (receive: the payee). */
  submit(
    f: TokenFixture,
    token: SettlementToken,
    form: SigForm,
    params: P,
    sig: SplitSignature,
  ): Promise<ContractTransactionResponse>;
  /** The event a successful submission emits. */
  event: "AuthorizationUsed" | "AuthorizationCanceled";
}

export const TRANSFER: SignedAction<AuthorizationParams> = {
  params: (f, overrides) => authorization(f.alice.address, f.carol.address, 1n, overrides),
  sign: signTransferAuthorization,
  digest: transferAuthorizationDigest,
  submit: (_f, token, form, a, sig) => submit.transfer(token, form, a, sig),
  event: "AuthorizationUsed",
};

export const RECEIVE: SignedAction<AuthorizationParams> = {
  params: (f, overrides) => authorization(f.alice.address, f.carol.address, 1n, overrides),
  sign: signReceiveAuthorization,
  digest: receiveAuthorizationDigest,
  submit: (f, token, form, a, sig) => submit.receive(token.connect(f.carol), form, a, sig),
  event: "AuthorizationUsed",
};

export const CANCEL: SignedAction<CancelAuthorizationParams> = {
  params: async (f) => ({ authorizer: f.alice.address, nonce: randomNonce() }),
  sign: signCancelAuthorization,
  digest: cancelAuthorizationDigest,
  submit: (_f, token, form, p, sig) => submit.cancel(token, form, p.authorizer, p.nonce, sig),
  event: "AuthorizationCanceled",
};

/** Rejects signatures by another account, for another chain or token, and the high-s twin. */
export function itRejectsForeignSignatures<P>(action: SignedAction<P>, form: SigForm): void {
  it("rejects a signature by another account", async function () {
    const f = await loadFixture(deployTokenFixture);
    const params = await action.params(f);
    const sig = await action.sign(f.bob, f.token, params);
    await expect(action.submit(f, f.token, form, params, sig)).to.be.revertedWithCustomError(
      f.token,
      "InvalidSignature",
    );
  });

  it("rejects a signature for another chain id", async function () {
    const f = await loadFixture(deployTokenFixture);
    for (const chainId of FOREIGN_CHAIN_IDS) {
      const params = await action.params(f);
      const sig = await action.sign(f.alice, f.token, params, { chainId });
      await expect(action.submit(f, f.token, form, params, sig), `chain ${chainId}`).to.be.revertedWithCustomError(
        f.token,
        "InvalidSignature",
      );
    }
  });

  it("rejects a signature for another token contract", async function () {
    const f = await loadFixture(deployTwoTokensFixture);
    const params = await action.params(f);
    const sig = await action.sign(f.alice, f.otherToken, params);
    await expect(action.submit(f, f.token, form, params, sig)).to.be.revertedWithCustomError(
      f.token,
      "InvalidSignature",
    );
    await expect(action.submit(f, f.otherToken, form, params, sig)).to.emit(f.otherToken, action.event);
  });

  it("rejects the malleable high-s twin of a valid signature", async function () {
    const f = await loadFixture(deployTokenFixture);
    const params = await action.params(f);
    const sig = await action.sign(f.alice, f.token, params);
    const twin = toHighS(sig);
    const { chainId } = await ethers.provider.getNetwork();
    const digest = await action.digest(f.token, chainId, params);
    expect(await rawEcrecover(ethers.provider, digest, twin)).to.equal(f.alice.address);
    await expect(action.submit(f, f.token, form, params, twin)).to.be.revertedWithCustomError(
      f.token,
      "InvalidSignature",
    );
    await expect(action.submit(f, f.token, form, params, sig)).to.emit(f.token, action.event);
  });
}

/**
 * The validity window (validAfter exclusive, validBefore exclusive), single use, cancellation and the
 * balance check of a transfer or receive authorization, plus {@link itRejectsForeignSignatures}.
 */
export function itEnforcesAuthorization(action: SignedAction<AuthorizationParams>, form: SigForm): void {
  const signedAuth = async (f: TokenFixture, overrides: Partial<AuthorizationParams> = {}) => {
    const auth = await action.params(f, overrides);
    return { auth, sig: await action.sign(f.alice, f.token, auth) };
  };

  it("is not yet valid in the block whose timestamp equals validAfter, valid one second later", async function () {
    const f = await loadFixture(deployTokenFixture);
    const validAfter = (await time.latest()) + 100;
    const { auth, sig } = await signedAuth(f, { validAfter });
    await time.setNextBlockTimestamp(validAfter);
    await expect(action.submit(f, f.token, form, auth, sig))
      .to.be.revertedWithCustomError(f.token, "AuthorizationNotYetValid")
      .withArgs(validAfter);
    await time.setNextBlockTimestamp(validAfter + 1);
    await expect(action.submit(f, f.token, form, auth, sig)).to.emit(f.token, "AuthorizationUsed");
  });

  it("is valid one second before validBefore", async function () {
    const f = await loadFixture(deployTokenFixture);
    const validBefore = (await time.latest()) + 100;
    const { auth, sig } = await signedAuth(f, { validBefore });
    await time.setNextBlockTimestamp(validBefore - 1);
    await expect(action.submit(f, f.token, form, auth, sig)).to.emit(f.token, "AuthorizationUsed");
  });

  it("has expired in the block whose timestamp equals validBefore", async function () {
    const f = await loadFixture(deployTokenFixture);
    const validBefore = (await time.latest()) + 100;
    const { auth, sig } = await signedAuth(f, { validBefore });
    await time.setNextBlockTimestamp(validBefore);
    await expect(action.submit(f, f.token, form, auth, sig))
      .to.be.revertedWithCustomError(f.token, "AuthorizationExpired")
      .withArgs(validBefore);
  });

  it("cannot be replayed", async function () {
    const f = await loadFixture(deployTokenFixture);
    const { auth, sig } = await signedAuth(f);
    await action.submit(f, f.token, form, auth, sig);
    await expect(action.submit(f, f.token, form, auth, sig))
      .to.be.revertedWithCustomError(f.token, "AuthorizationUsedOrCanceled")
      .withArgs(f.alice.address, auth.nonce);
  });

  it("cannot be used once cancelled", async function () {
    const f = await loadFixture(deployTokenFixture);
    const cancel = await signed.cancel(f.token, f.alice);
    const { auth, sig } = await signedAuth(f, { nonce: cancel.nonce });
    await submit.cancel(f.token, form, f.alice.address, cancel.nonce, cancel.sig);
    await expect(action.submit(f, f.token, form, auth, sig))
      .to.be.revertedWithCustomError(f.token, "AuthorizationUsedOrCanceled")
      .withArgs(f.alice.address, auth.nonce);
  });

  it("rejects a signature of the other authorization type (different typehash)", async function () {
    const f = await loadFixture(deployTokenFixture);
    const auth = await action.params(f);
    const other = action === TRANSFER ? RECEIVE : TRANSFER;
    const sig = await other.sign(f.alice, f.token, auth);
    await expect(action.submit(f, f.token, form, auth, sig)).to.be.revertedWithCustomError(f.token, "InvalidSignature");
  });

  itRejectsForeignSignatures(action, form);

  it("reverts beyond the balance with ERC20InsufficientBalance, leaving the nonce unused", async function () {
    const f = await loadFixture(deployTokenFixture);
    const { auth, sig } = await signedAuth(f, { value: INITIAL_BALANCE + 1n });
    await expect(action.submit(f, f.token, form, auth, sig))
      .to.be.revertedWithCustomError(f.token, "ERC20InsufficientBalance")
      .withArgs(f.alice.address, INITIAL_BALANCE, INITIAL_BALANCE + 1n);
    expect(await f.token.authorizationState(f.alice.address, auth.nonce)).to.equal(false);
  });
}
