import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import type { Payment } from "../../src/protocol";
import { randomNonce, signReceiveAuthorization } from "../helpers/eip3009";
import {
  CUSTOMER_DEPOSIT,
  FEE_BPS,
  HOLD_PERIOD,
  PaymentStatus,
  RejectReason,
  buildPayment,
  feeOf,
  idOf,
  mint,
  signPayment,
  usd,
  type EscrowFixture,
} from "./fixtures";
import {
  accountState,
  deployPayBatchFixture,
  escrowState,
  expectInvariant,
  type PayBatchFixture,
} from "./batch.helpers";
import { encodeBatch } from "../../src/protocol";

const WALLET_FUNDS = usd(100);

/** deployPayBatchFixture with WALLET_FUNDS of tokens in alice's and bob's own wallets (outside the escrow). */
async function deployPayWithAuthorizationFixture(): Promise<PayBatchFixture> {
  const f = await deployPayBatchFixture();
  const [alice, bob] = f.customers;
  await mint(f, alice.address, WALLET_FUNDS);
  await mint(f, bob.address, WALLET_FUNDS);
  return f;
}

interface AuthorizationOptions {
  value?: bigint;
  nonce?: string;
  validAfter?: bigint;
  validBefore?: bigint;
  to?: string;
}

interface Authorized {
  payment: Payment;
  id: string;
  validAfter: bigint;
  validBefore: bigint;
  signature: string;
}

/**
 * `signer`'s EIP-3009 ReceiveWithAuthorization for `payment`: to = escrow, value = amount,
 * nonce = payment id, valid over [0, MaxUint256) unless overridden (to forge mismatched ones).
 */
async function authorize(
  f: EscrowFixture,
  signer: Signer,
  payment: Payment,
  opts: AuthorizationOptions = {},
): Promise<Authorized> {
  const id = await idOf(f, payment);
  const validAfter = opts.validAfter ?? 0n;
  const validBefore = opts.validBefore ?? ethers.MaxUint256;
  const { signature } = await signReceiveAuthorization(signer, f.token, {
    from: payment.payer,
    to: opts.to ?? (await f.escrow.getAddress()),
    value: opts.value ?? payment.amount,
    validAfter,
    validBefore,
    nonce: opts.nonce ?? id,
  });
  return { payment, id, validAfter, validBefore, signature };
}

function submit(f: EscrowFixture, a: Authorized, submitter: Signer = f.relayer) {
  return f.escrow.connect(submitter).payWithAuthorization(a.payment, a.validAfter, a.validBefore, a.signature);
}

/** Everything a failed payWithAuthorization must leave untouched. */
async function snapshot(f: EscrowFixture, payer: string, id: string) {
  return {
    escrow: await escrowState(f),
    account: await accountState(f, payer),
    wallet: await f.token.balanceOf(payer),
    authorizationUsed: await f.token.authorizationState(payer, id),
  };
}

describe("PaymentEscrow.payWithAuthorization", function () {
  describe("valid authorization", function () {
    it("escrows the payment from the payer's wallet as a one-payment batch", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const m = f.merchants[0];
      const payment = await buildPayment(f, alice, { amount: usd(40), nonce: 0n });
      const a = await authorize(f, alice, payment);
      const before = await escrowState(f);

      expect(
        await f.escrow
          .connect(f.relayer)
          .payWithAuthorization.staticCall(payment, a.validAfter, a.validBefore, a.signature),
      ).to.equal(1n);
      const t = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(t);
      const tx = await submit(f, a);
      await expect(tx).to.emit(f.escrow, "Deposited").withArgs(alice.address, alice.address, usd(40));
      await expect(tx).to.emit(f.escrow, "PaymentEscrowed").withArgs(a.id, alice.address, m.id, 1n, usd(40));
      await expect(tx)
        .to.emit(f.escrow, "TrancheFunded")
        .withArgs(1n, m.id, usd(40), t + HOLD_PERIOD, FEE_BPS);
      await expect(tx).to.emit(f.escrow, "BatchEscrowed").withArgs(1n, a.id, 1n, usd(40), f.relayer.address);
      await expect(tx).to.emit(f.token, "AuthorizationUsed").withArgs(alice.address, a.id);
      await expect(tx).to.changeTokenBalances(f.token, [alice, f.escrow, f.relayer], [-usd(40), usd(40), 0n]);

      expect(await f.escrow.batchCount()).to.equal(1n);
      expect(await f.escrow.batchRoot(1n)).to.equal(a.id);
      const tr = await f.escrow.tranche(1n, m.id);
      expect([tr.amount, tr.releaseAt, tr.feeBps]).to.deep.equal([usd(40), t + HOLD_PERIOD, FEE_BPS]);
      // The free balance is untouched (pass-through deposit); the escrow nonce is spent.
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(false);
      expect(await f.token.authorizationState(alice.address, a.id)).to.equal(true);
      const after = await escrowState(f);
      expect(after.liabilities).to.deep.equal({ ...before.liabilities, held: before.liabilities.held + usd(40) });
      expect(after.tokenBalance).to.equal(before.tokenBalance + usd(40));
      await expectInvariant(f);
    });

    it("takes the next batch id after payBatch batches, and anyone may submit", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice, bob] = f.customers;
      const p1 = await buildPayment(f, alice);
      await f.escrow
        .connect(f.relayer)
        .payBatch(encodeBatch([{ payment: p1, signature: await signPayment(f, alice, p1) }]));
      const a = await authorize(f, bob, await buildPayment(f, bob));
      await expect(submit(f, a, f.stranger))
        .to.emit(f.escrow, "BatchEscrowed")
        .withArgs(2n, a.id, 1n, usd(10), f.stranger.address);
      expect(await f.escrow.batchRoot(2n)).to.equal(a.id);
      await expectInvariant(f);
    });

    it("accepts a payment whose deadline equals the block timestamp", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const t = BigInt(await time.latest()) + 100n;
      const a = await authorize(f, alice, await buildPayment(f, alice, { deadline: t, validAfter: t }));
      await time.setNextBlockTimestamp(t);
      await expect(submit(f, a)).to.emit(f.escrow, "PaymentEscrowed").withArgs(a.id, alice.address, 1n, 1n, usd(10));
      await expectInvariant(f);
    });

    it("an ERC-1271 wallet payer pays with its owner's authorization", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const walletAddress = await f.wallet.getAddress();
      await mint(f, walletAddress, usd(30));
      const a = await authorize(
        f,
        f.walletOwner,
        await buildPayment(f, { address: walletAddress }, { amount: usd(30) }),
      );
      const tx = await submit(f, a);
      await expect(tx).to.emit(f.escrow, "PaymentEscrowed").withArgs(a.id, walletAddress, 1n, 1n, usd(30));
      await expect(tx).to.changeTokenBalances(f.token, [walletAddress, f.escrow], [-usd(30), usd(30)]);
      await expectInvariant(f);
    });

    it("the escrowed payment is confirmed by its payer with an empty proof", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const m = f.merchants[0];
      const a = await authorize(f, alice, await buildPayment(f, alice, { amount: usd(40) }));
      await submit(f, a);
      await expect(f.escrow.connect(alice).confirm(a.payment, { batchId: 1n, proof: [] }))
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(a.id, m.id, 1n, usd(40) - feeOf(usd(40)), feeOf(usd(40)));
      expect((await f.escrow.paymentRecord(a.id)).status).to.equal(PaymentStatus.Confirmed);
      expect((await f.escrow.merchantBalances(m.id)).released).to.equal(usd(40) - feeOf(usd(40)));
      expect((await f.escrow.tranche(1n, m.id)).amount).to.equal(0n);
      await expectInvariant(f);
    });

    it("the escrowed payment is refunded by the merchant with an empty proof", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const m = f.merchants[0];
      const a = await authorize(f, alice, await buildPayment(f, alice, { amount: usd(40) }));
      await submit(f, a);
      await expect(f.escrow.connect(m.owner).refund(a.payment, { batchId: 1n, proof: [] }, usd(40)))
        .to.emit(f.escrow, "PaymentRefunded")
        .withArgs(a.id, m.id, alice.address, 1n, usd(40), usd(40));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT + usd(40));
      expect((await f.escrow.paymentRecord(a.id)).status).to.equal(PaymentStatus.Refunded);
      await expectInvariant(f);
    });
  });

  describe("one payment, one path: the escrow nonce is shared with payBatch", function () {
    it("after payWithAuthorization, the same signed payment is rejected by payBatch (NonceUnavailable)", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const payment = await buildPayment(f, alice, { nonce: 0n });
      const a = await authorize(f, alice, payment);
      await submit(f, a);
      const before = await snapshot(f, alice.address, a.id);
      const tx = await f.escrow
        .connect(f.relayer)
        .payBatch(encodeBatch([{ payment, signature: await signPayment(f, alice, payment) }]));
      await expect(tx)
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(a.id, alice.address, RejectReason.NonceUnavailable);
      await expect(tx).not.to.emit(f.escrow, "BatchEscrowed");
      expect(await snapshot(f, alice.address, a.id)).to.deep.equal(before);
      await expectInvariant(f);
    });

    it("after payBatch, the authorization path reverts NonceUnavailable", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const payment = await buildPayment(f, alice, { nonce: 0n });
      await f.escrow
        .connect(f.relayer)
        .payBatch(encodeBatch([{ payment, signature: await signPayment(f, alice, payment) }]));
      const a = await authorize(f, alice, payment);
      const before = await snapshot(f, alice.address, a.id);
      await expect(submit(f, a))
        .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
        .withArgs(alice.address, 0n);
      expect(await snapshot(f, alice.address, a.id)).to.deep.equal(before);
      expect(before.authorizationUsed).to.equal(false);
      await expectInvariant(f);
    });

    it("the same authorization cannot be submitted twice", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const a = await authorize(f, alice, await buildPayment(f, alice, { nonce: 4n }));
      await submit(f, a);
      await expect(submit(f, a))
        .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
        .withArgs(alice.address, 4n);
      expect(await f.escrow.batchCount()).to.equal(1n);
    });

    it("reverts NonceUnavailable for a cancelled nonce", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      await f.escrow.connect(alice).cancelNonce(2n);
      const a = await authorize(f, alice, await buildPayment(f, alice, { nonce: 2n }));
      await expect(submit(f, a))
        .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
        .withArgs(alice.address, 2n);
    });
  });

  describe("front-running the authorization", function () {
    it("attack: the payment's authorization submitted to depositWithAuthorization reverts InvalidSignature; the payment still goes through", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const a = await authorize(f, alice, await buildPayment(f, alice, { amount: usd(40), nonce: 0n }));
      // The front-runner passes the payment id where the deposit salt goes: the escrow derives a
      // deposit nonce from it, which is not what the payer signed.
      const before = await snapshot(f, alice.address, a.id);
      await expect(
        f.escrow
          .connect(f.stranger)
          .depositWithAuthorization(alice.address, usd(40), a.validAfter, a.validBefore, a.id, a.signature),
      )
        .to.be.revertedWithCustomError(f.token, "InvalidSignature")
        .withArgs();
      expect(await snapshot(f, alice.address, a.id)).to.deep.equal(before);
      expect(await f.token.authorizationState(alice.address, a.id)).to.equal(false);

      await expect(submit(f, a))
        .to.emit(f.escrow, "PaymentEscrowed")
        .withArgs(a.id, alice.address, a.payment.merchantId, 1n, usd(40));
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectInvariant(f);
    });
  });

  describe("authorization that does not match the payment (the token refuses it)", function () {
    async function expectTokenRejects(f: PayBatchFixture, a: Authorized, error: string, args: unknown[] = []) {
      const payer = a.payment.payer;
      const before = await snapshot(f, payer, a.id);
      await expect(submit(f, a))
        .to.be.revertedWithCustomError(f.token, error)
        .withArgs(...args);
      expect(await snapshot(f, payer, a.id)).to.deep.equal(before);
    }

    it("an authorization whose nonce is not the payment id", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const payment = await buildPayment(f, alice);
      await expectTokenRejects(f, await authorize(f, alice, payment, { nonce: randomNonce() }), "InvalidSignature");
    });

    it("an authorization of the id of another payment", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const payment = await buildPayment(f, alice, { amount: usd(10) });
      const cheaper = { ...payment, amount: usd(1) };
      const signedForCheaper = await authorize(f, alice, cheaper);
      await expectTokenRejects(f, { ...signedForCheaper, payment, id: await idOf(f, payment) }, "InvalidSignature");
    });

    it("an authorization for a different amount", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const payment = await buildPayment(f, alice, { amount: usd(10) });
      await expectTokenRejects(f, await authorize(f, alice, payment, { value: usd(10) - 1n }), "InvalidSignature");
    });

    it("an authorization to another payee", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const payment = await buildPayment(f, alice);
      await expectTokenRejects(f, await authorize(f, alice, payment, { to: f.relayer.address }), "InvalidSignature");
    });

    it("an authorization signed by someone other than the payer", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice, bob] = f.customers;
      const payment = await buildPayment(f, alice);
      await expectTokenRejects(f, await authorize(f, bob, payment), "InvalidSignature");
    });

    it("an authorization past its validBefore", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const validBefore = BigInt(await time.latest()) + 1n;
      const a = await authorize(f, alice, await buildPayment(f, alice), { validBefore });
      await expectTokenRejects(f, a, "AuthorizationExpired", [validBefore]);
    });

    it("a payer without enough tokens in the wallet", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const a = await authorize(f, alice, await buildPayment(f, alice, { amount: WALLET_FUNDS + 1n }));
      await expectTokenRejects(f, a, "ERC20InsufficientBalance", [alice.address, WALLET_FUNDS, WALLET_FUNDS + 1n]);
    });
  });

  describe("payment checks", function () {
    async function expectEscrowRejects(f: PayBatchFixture, a: Authorized, error: string, args: unknown[]) {
      const payer = a.payment.payer;
      const before = await snapshot(f, payer, a.id);
      await expect(submit(f, a))
        .to.be.revertedWithCustomError(f.escrow, error)
        .withArgs(...args);
      expect(await snapshot(f, payer, a.id)).to.deep.equal(before);
    }

    it("reverts SignatureExpired for a payment past its deadline", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const deadline = BigInt(await time.latest());
      const a = await authorize(f, alice, await buildPayment(f, alice, { deadline }));
      await expectEscrowRejects(f, a, "SignatureExpired", [deadline]);
    });

    it("reverts SignatureNotYetValid for a payment before its validAfter", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const validAfter = BigInt(await time.latest()) + 3600n;
      const a = await authorize(f, alice, await buildPayment(f, alice, { validAfter }));
      await expectEscrowRejects(f, a, "SignatureNotYetValid", [validAfter]);
    });

    it("reverts MerchantNotActive for a suspended merchant", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const m = f.merchants[1];
      await f.registry.connect(f.registrar).suspend(m.id);
      const a = await authorize(f, alice, await buildPayment(f, alice, { merchantId: m.id }));
      await expectEscrowRejects(f, a, "MerchantNotActive", [m.id]);
    });

    it("reverts MerchantNotActive for a closed or unknown merchant", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const m = f.merchants[2];
      await f.registry.connect(f.registrar).close(m.id);
      const closed = await authorize(f, alice, await buildPayment(f, alice, { merchantId: m.id }));
      await expectEscrowRejects(f, closed, "MerchantNotActive", [m.id]);
      const unknown = await authorize(f, alice, await buildPayment(f, alice, { merchantId: 99n }));
      await expectEscrowRejects(f, unknown, "MerchantNotActive", [99n]);
    });

    it("reverts InvalidAmount for amount 0", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const a = await authorize(f, alice, await buildPayment(f, alice, { amount: 0n }));
      await expectEscrowRejects(f, a, "InvalidAmount", [0n]);
    });

    it("reverts InvalidAmount for amount 2^128", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      const a = await authorize(f, alice, await buildPayment(f, alice, { amount: 1n << 128n }));
      await expectEscrowRejects(f, a, "InvalidAmount", [1n << 128n]);
    });
  });

  describe("token paused", function () {
    it("reverts (the token refuses the transfer) and nothing changes", async function () {
      const f = await loadFixture(deployPayWithAuthorizationFixture);
      const [alice] = f.customers;
      await f.token.connect(f.admin).grantRole(await f.token.PAUSER_ROLE(), f.admin.address);
      await f.token.connect(f.admin).pause();
      const a = await authorize(f, alice, await buildPayment(f, alice, { nonce: 0n }));
      const before = await snapshot(f, alice.address, a.id);
      await expect(submit(f, a)).to.be.revertedWithCustomError(f.token, "EnforcedPause");
      expect(await snapshot(f, alice.address, a.id)).to.deep.equal(before);
      expect(await f.escrow.batchCount()).to.equal(0n);
      expect(await f.escrow.batchRoot(1n)).to.equal(ethers.ZeroHash);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);

      // Once unpaused the very same authorization goes through.
      await f.token.connect(f.admin).unpause();
      await expect(submit(f, a)).to.emit(f.escrow, "BatchEscrowed").withArgs(1n, a.id, 1n, usd(10), f.relayer.address);
      await expectInvariant(f);
    });
  });
});
