/**
 * One signature rule for accounts with code (EIP-7702 delegated EOAs) on every path: a signature
 * that ECDSA-recovers to the account is valid whatever code it has; otherwise its code is asked via
 * ERC-1271. The delegated EOA is simulated with hardhat_setCode: the EIP-7702 delegation designator
 * (0xef0100 ‖ delegate) on an account whose key the test holds, delegating to a MockERC1271Wallet
 * that accepts another key's signatures.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Wallet } from "ethers";
import { MockERC1271Wallet__factory } from "../../typechain-types";
import {
  CUSTOMER_DEPOSIT,
  buildPayment,
  deployEscrowFixture,
  idOf,
  mint,
  submitBatch,
  signConfirmation,
  signPayment,
  signWithdrawal,
  usd,
  RejectReason,
  type EscrowFixture,
} from "./fixtures";
import { buildWithdrawal } from "./funds.helpers";
import { deadlineIn } from "./lifecycle.helpers";
import { encodeBatch } from "../../src/protocol";

interface DelegatedFixture extends EscrowFixture {
  /** An EOA (own key) with CUSTOMER_DEPOSIT in the escrow whose account now carries a delegation designator. */
  delegated: Wallet;
  /** The key the delegate's ERC-1271 code accepts (not the account's own key). */
  codeKey: HardhatEthersSigner;
}

/**
 * The delegated account is a fresh key, not one of Hardhat's signers: code set on an account outlives
 * this fixture (a later fixture runs on the chain state it finds), and other tests sign with those.
 */
async function delegatedFixture(): Promise<DelegatedFixture> {
  const f = await deployEscrowFixture();
  const delegated = new Wallet(ethers.id("stablepay.test.delegated-eoa"), ethers.provider);
  await network.provider.send("hardhat_setBalance", [delegated.address, "0xDE0B6B3A7640000"]); // 1 ETH
  await mint(f, delegated.address, CUSTOMER_DEPOSIT);
  await f.token.connect(delegated).approve(await f.escrow.getAddress(), CUSTOMER_DEPOSIT);
  await f.escrow.connect(delegated).deposit(CUSTOMER_DEPOSIT);
  const codeKey = (await ethers.getSigners())[16];
  const delegate = await new MockERC1271Wallet__factory(f.admin).deploy(codeKey.address);
  const designator = ethers.concat(["0xef0100", await delegate.getAddress()]);
  await network.provider.send("hardhat_setCode", [delegated.address, designator]);
  return { ...f, delegated, codeKey };
}

/** One payment of the delegated account, signed with its own key, escrowed in its own batch. */
async function escrowOwn(f: DelegatedFixture) {
  const payment = await buildPayment(f, f.delegated);
  const batch = await submitBatch(f, [{ payment, signature: await signPayment(f, f.delegated, payment) }]);
  return batch.payments[0];
}

/** A payment of the delegated account signed by `signer`, submitted alone with payBatch (not awaited). */
async function payBatchSignedBy(f: DelegatedFixture, signer: Wallet | HardhatEthersSigner) {
  const p = await buildPayment(f, f.delegated);
  const tx = f.escrow
    .connect(f.relayer)
    .payBatch(encodeBatch([{ payment: p, signature: await signPayment(f, signer, p) }]));
  return { p, id: await idOf(f, p), tx };
}

describe("PaymentEscrow: accounts with code (EIP-7702 delegated EOAs)", function () {
  it("the account has code, and its code answers ERC-1271 for the delegate's key", async function () {
    const f = await loadFixture(delegatedFixture);
    expect(await ethers.provider.getCode(f.delegated.address)).to.have.length.greaterThan(2);
    const wallet = MockERC1271Wallet__factory.connect(f.delegated.address, ethers.provider);
    const p = await buildPayment(f, f.delegated);
    expect(await wallet.isValidSignature(await idOf(f, p), await signPayment(f, f.codeKey, p))).to.equal("0x1626ba7e");
    expect(await wallet.isValidSignature(await idOf(f, p), await signPayment(f, f.delegated, p))).to.equal(
      "0xffffffff",
    );
  });

  describe("payBatch", function () {
    const accepted = [
      { name: "the account's own ECDSA signature", signer: (f: DelegatedFixture) => f.delegated },
      { name: "a signature its code accepts (ERC-1271)", signer: (f: DelegatedFixture) => f.codeKey },
    ];
    for (const c of accepted) {
      it(`accepts ${c.name}`, async function () {
        const f = await loadFixture(delegatedFixture);
        const { p, id, tx } = await payBatchSignedBy(f, c.signer(f));
        await expect(tx)
          .to.emit(f.escrow, "PaymentEscrowed")
          .withArgs(id, f.delegated.address, p.merchantId, 1n, p.amount);
      });
    }

    it("rejects a signature neither its key nor its code accepts", async function () {
      const f = await loadFixture(delegatedFixture);
      const { id, tx } = await payBatchSignedBy(f, f.stranger);
      await expect(tx)
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(id, f.delegated.address, RejectReason.InvalidSignature);
    });
  });

  describe("signed single operations (the same rule)", function () {
    it("confirmWithSignature accepts the account's own ECDSA signature", async function () {
      const f = await loadFixture(delegatedFixture);
      const e = await escrowOwn(f);
      const deadline = await deadlineIn();
      const sig = await signConfirmation(f, f.delegated, e.id, deadline);
      await expect(f.escrow.connect(f.relayer).confirmWithSignature(e.payment, e.inclusion, deadline, sig)).to.emit(
        f.escrow,
        "PaymentConfirmed",
      );
    });

    it("withdrawWithSignature accepts the account's own ECDSA signature", async function () {
      const f = await loadFixture(delegatedFixture);
      const w = await buildWithdrawal(f.delegated, { amount: usd(100) });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, f.delegated, w)))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(f.delegated.address, f.delegated.address, usd(100));
      expect(await f.escrow.balanceOf(f.delegated.address)).to.equal(CUSTOMER_DEPOSIT - usd(100));
    });

    it("withdrawWithSignature accepts a signature its code accepts (ERC-1271)", async function () {
      const f = await loadFixture(delegatedFixture);
      const w = await buildWithdrawal(f.delegated, { amount: usd(100) });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, f.codeKey, w)))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(f.delegated.address, f.delegated.address, usd(100));
    });

    it("refuses a signature neither its key nor its code accepts: InvalidSigner(account)", async function () {
      const f = await loadFixture(delegatedFixture);
      const e = await escrowOwn(f);
      const deadline = await deadlineIn();
      const sig = await signConfirmation(f, f.stranger, e.id, deadline);
      await expect(f.escrow.connect(f.relayer).confirmWithSignature(e.payment, e.inclusion, deadline, sig))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
        .withArgs(f.delegated.address);
      const w = await buildWithdrawal(f.delegated, { amount: usd(100) });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, f.stranger, w)))
        .to.be.revertedWithCustomError(f.escrow, "InvalidSigner")
        .withArgs(f.delegated.address);
    });
  });
});
