/**
 * Several currencies (docs/CURRENCIES.md): one PaymentEscrow per token over one MerchantRegistry,
 * as deployStablePay deploys them. What the design promises: a merchant registered once is paid
 * in each currency by that currency's escrow; a signature made for one currency acts in no other;
 * one token's trouble (a pause) stays in its own escrow; the shared registry's verdicts (a
 * suspension) hold in every currency; and each escrow's liabilities equal its own token balance.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deployStablePay } from "../../src/chain/deploy";
import { encodeBatch, type Hex } from "../../src/protocol";
import {
  ADMIN_DELAY,
  ARBITER_ROLE,
  DISPUTE_TIMEOUT,
  FEE_BPS,
  HOLD_PERIOD,
  MAX_HOLD,
  MIN_HOLD,
  ONE_DAY,
  REGISTRAR_ROLE,
  RejectReason,
  buildPayment,
  expectInvariant,
  feeOf,
  fundCustomer,
  idOf,
  liabilitiesOf,
  nextNonce,
  signConfirmation,
  signPayment,
  submitBatch,
  usd,
  type EscrowFixture,
  type EscrowedPayment,
} from "./fixtures";

interface TwoCurrencies {
  usd: EscrowFixture;
  eur: EscrowFixture;
}

/** USD and EUR over one registry: 1 merchant (registered once), 2 customers funded in both. */
async function twoCurrenciesFixture(): Promise<TwoCurrencies> {
  const signers = await ethers.getSigners();
  const [admin, arbiter, registrar, feeRecipient, relayer, stranger, owner, payout] = signers;
  const customers = signers.slice(8, 10);
  const deployed = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: feeRecipient.address,
    adminDelay: ADMIN_DELAY,
    disputeTimeout: DISPUTE_TIMEOUT,
    currencies: [{ code: "USD" }, { code: "EUR" }],
  });
  const { registry } = deployed;
  await registry.connect(admin).grantRole(REGISTRAR_ROLE, registrar.address);
  await registry
    .connect(registrar)
    .registerMerchant(owner.address, payout.address, FEE_BPS, MIN_HOLD, MAX_HOLD, ethers.ZeroHash);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const fixtures = [];
  for (const { token, escrow } of deployed.currencies) {
    await token.connect(admin).grantRole(await token.MASTER_MINTER_ROLE(), admin.address);
    await token.connect(admin).configureMinter(admin.address, usd(1_000_000_000));
    await escrow.connect(admin).grantRole(ARBITER_ROLE, arbiter.address);
    const f: EscrowFixture = {
      token,
      registry,
      escrow,
      admin,
      arbiter,
      registrar,
      feeRecipient,
      relayer,
      stranger,
      merchants: [{ id: 1n, owner, payout }],
      customers,
      chainId,
    };
    for (const customer of customers) await fundCustomer(f, customer, usd(1_000));
    fixtures.push(f);
  }
  return { usd: fixtures[0], eur: fixtures[1] };
}

/** Escrows one payment of `payer` for `amount` in `f`'s currency, in its own batch. */
async function pay(f: EscrowFixture, payer: HardhatEthersSigner, amount: bigint): Promise<EscrowedPayment> {
  const payment = await buildPayment(f, payer, { amount, nonce: await nextNonce(f, payer.address) });
  const batch = await submitBatch(f, [{ payment, signature: await signPayment(f, payer, payment) }]);
  return batch.payments[0];
}

describe("PaymentEscrow: several currencies over one registry", function () {
  it("pays one merchant, registered once, in each currency; each escrow holds only its own token", async function () {
    const { usd: u, eur: e } = await loadFixture(twoCurrenciesFixture);
    const [alice] = u.customers;
    const inUsd = await pay(u, alice, usd(10));
    const inEur = await pay(e, alice, usd(30));
    expect(inUsd.id).to.not.equal(inEur.id);
    expect(inUsd.inclusion.batchId).to.equal(1n);
    expect(inEur.inclusion.batchId).to.equal(1n);

    expect(await u.escrow.balanceOf(alice.address)).to.equal(usd(990));
    expect(await e.escrow.balanceOf(alice.address)).to.equal(usd(970));
    expect((await liabilitiesOf(u.escrow)).held).to.equal(usd(10));
    expect((await liabilitiesOf(e.escrow)).held).to.equal(usd(30));
    // Each escrow holds exactly its customers' deposits, in its token only.
    expect(await u.token.balanceOf(await e.escrow.getAddress())).to.equal(0n);
    expect(await e.token.balanceOf(await u.escrow.getAddress())).to.equal(0n);

    await time.increase(HOLD_PERIOD);
    const [{ payout }] = u.merchants;
    for (const [f, amount] of [
      [u, usd(10)],
      [e, usd(30)],
    ] as const) {
      await expect(f.escrow.settle([{ merchantId: 1n, batchIds: [1n] }]))
        .to.emit(f.escrow, "MerchantPaid")
        .withArgs(1n, payout.address, amount - feeOf(amount));
      await expectInvariant(f);
    }
    expect(await u.token.balanceOf(payout.address)).to.equal(usd(10) - feeOf(usd(10)));
    expect(await e.token.balanceOf(payout.address)).to.equal(usd(30) - feeOf(usd(30)));
  });

  it("refuses in one currency a payment signed for another, and leaves the payer's nonce unused", async function () {
    const { usd: u, eur: e } = await loadFixture(twoCurrenciesFixture);
    const [alice] = u.customers;
    const payment = await buildPayment(u, alice, { nonce: 0n });
    const signedForUsd = await signPayment(u, alice, payment);
    // The same fields and the USD signature, sent to the EUR escrow: its domain gives another id.
    const eurId = await idOf(e, payment);
    await expect(e.escrow.payBatch(encode(payment, signedForUsd)))
      .to.emit(e.escrow, "PaymentRejected")
      .withArgs(eurId, alice.address, RejectReason.InvalidSignature);
    expect(await e.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
    expect(await e.escrow.balanceOf(alice.address)).to.equal(usd(1_000));
    // In its own currency it pays.
    await expect(u.escrow.payBatch(encode(payment, signedForUsd)))
      .to.emit(u.escrow, "PaymentEscrowed")
      .withArgs(await idOf(u, payment), alice.address, 1n, 1n, payment.amount);
  });

  it("a confirmation signed for a payment in one currency cannot confirm its twin in another", async function () {
    const { usd: u, eur: e } = await loadFixture(twoCurrenciesFixture);
    const [alice] = u.customers;
    // Twin payments: the same fields escrowed in both currencies (each signed for its own domain).
    const payment = await buildPayment(u, alice, { nonce: 0n });
    const inUsd = (await submitBatch(u, [{ payment, signature: await signPayment(u, alice, payment) }])).payments[0];
    const inEur = (await submitBatch(e, [{ payment, signature: await signPayment(e, alice, payment) }])).payments[0];
    const deadline = BigInt(await time.latest()) + ONE_DAY;
    const usdConfirmation = await signConfirmation(u, alice, inUsd.id, deadline);
    await expect(e.escrow.confirmWithSignature(payment, inEur.inclusion, deadline, usdConfirmation))
      .to.be.revertedWithCustomError(e.escrow, "InvalidSigner")
      .withArgs(alice.address);
    await expect(u.escrow.confirmWithSignature(payment, inUsd.inclusion, deadline, usdConfirmation)).to.emit(
      u.escrow,
      "PaymentConfirmed",
    );
    expect((await liabilitiesOf(e.escrow)).held).to.equal(payment.amount);
  });

  it("a paused token holds up its own currency's settlement only: the other currency pays and settles", async function () {
    const { usd: u, eur: e } = await loadFixture(twoCurrenciesFixture);
    const [alice] = u.customers;
    await pay(u, alice, usd(10));
    await pay(e, alice, usd(20));
    await u.token.connect(u.admin).grantRole(await u.token.PAUSER_ROLE(), u.admin.address);
    await u.token.connect(u.admin).pause();

    // EUR keeps working end to end: a new payment, then settlement to the payout address.
    await pay(e, alice, usd(5));
    await time.increase(HOLD_PERIOD);
    const [{ payout }] = u.merchants;
    await expect(e.escrow.settle([{ merchantId: 1n, batchIds: [1n, 2n] }]))
      .to.emit(e.escrow, "MerchantPaid")
      .withArgs(1n, payout.address, usd(20) - feeOf(usd(20)) + usd(5) - feeOf(usd(5)));
    // USD's settlement waits for its token (a pause must not turn every payout into a claim)...
    await expect(u.escrow.settle([{ merchantId: 1n, batchIds: [1n] }])).to.be.revertedWithCustomError(
      u.escrow,
      "TokenPaused",
    );
    expect((await liabilitiesOf(u.escrow)).held).to.equal(usd(10));
    // ...and goes through once the token resumes.
    await u.token.connect(u.admin).unpause();
    await expect(u.escrow.settle([{ merchantId: 1n, batchIds: [1n] }]))
      .to.emit(u.escrow, "MerchantPaid")
      .withArgs(1n, payout.address, usd(10) - feeOf(usd(10)));
    await expectInvariant(u);
    await expectInvariant(e);
  });

  it("a merchant suspended in the shared registry is frozen in every currency", async function () {
    const { usd: u, eur: e } = await loadFixture(twoCurrenciesFixture);
    const [alice, bob] = u.customers;
    await pay(u, alice, usd(10));
    await pay(e, alice, usd(10));
    await u.registry.connect(u.registrar).suspend(1n);
    for (const f of [u, e]) {
      // No new payment is escrowed for it...
      const payment = await buildPayment(f, bob, { nonce: await nextNonce(f, bob.address) });
      await expect(f.escrow.payBatch(encode(payment, await signPayment(f, bob, payment))))
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(await idOf(f, payment), bob.address, RejectReason.MerchantNotActive);
    }
    await time.increase(HOLD_PERIOD);
    for (const f of [u, e]) {
      // ...and settlement skips it: its held funds stay held.
      await expect(f.escrow.settle([{ merchantId: 1n, batchIds: [1n] }])).to.not.emit(f.escrow, "MerchantPaid");
      expect((await liabilitiesOf(f.escrow)).held).to.equal(usd(10));
    }
  });
});

function encode(payment: Awaited<ReturnType<typeof buildPayment>>, signature: Hex): Hex {
  return encodeBatch([{ payment, signature }]);
}
