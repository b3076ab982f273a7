import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  confirmationDigest,
  deployEscrowFixture,
  disputeDigest,
  refundDigest,
  signConfirmation,
  signDispute,
  signRefund,
  usd,
  PaymentStatus,
} from "./fixtures";
import { deadlineIn, escrowBatch, expectInvariant, recordOf } from "./lifecycle.helpers";

/** Alice's payment to merchant 1 is held; she signed a confirmation and a dispute, the merchant a refund. */
async function signedActionsFixture() {
  const f = await deployEscrowFixture();
  const [alice] = f.customers;
  const m = f.merchants[0];
  const batch = await escrowBatch(f, [{ payer: alice, overrides: { amount: usd(10) } }]);
  const [a] = batch.payments;
  const deadline = await deadlineIn();
  return {
    f,
    a,
    alice,
    m,
    deadline,
    confirmation: {
      signature: await signConfirmation(f, alice, a.id, deadline),
      digest: await confirmationDigest(f, a.id, deadline),
    },
    dispute: { signature: await signDispute(f, alice, a.id, deadline), digest: await disputeDigest(f, a.id, deadline) },
    refund: {
      signature: await signRefund(f, m.owner, a.id, usd(4), deadline),
      digest: await refundDigest(f, a.id, usd(4), deadline),
    },
  };
}

describe("PaymentEscrow cancelSignedAction", function () {
  it("records the cancellation per signer and emits SignedActionCancelled(signer, digest)", async function () {
    const { f, alice, confirmation } = await loadFixture(signedActionsFixture);
    await expect(f.escrow.connect(alice).cancelSignedAction(confirmation.digest))
      .to.emit(f.escrow, "SignedActionCancelled")
      .withArgs(alice.address, confirmation.digest);
    expect(await f.escrow.isSignedActionCancelled(alice.address, confirmation.digest)).to.equal(true);
    expect(await f.escrow.isSignedActionCancelled(f.stranger.address, confirmation.digest)).to.equal(false);
  });

  it("a cancelled signed confirmation reverts SignatureCancelled(payer, digest) before its deadline", async function () {
    const { f, a, alice, deadline, confirmation } = await loadFixture(signedActionsFixture);
    await f.escrow.connect(alice).cancelSignedAction(confirmation.digest);
    await expect(
      f.escrow.connect(f.relayer).confirmWithSignature(a.payment, a.inclusion, deadline, confirmation.signature),
    )
      .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
      .withArgs(alice.address, confirmation.digest);
    expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.None);
    // The payer can still confirm directly.
    await expect(f.escrow.connect(alice).confirm(a.payment, a.inclusion)).to.emit(f.escrow, "PaymentConfirmed");
  });

  it("a cancelled signed dispute reverts SignatureCancelled(payer, digest)", async function () {
    const { f, a, alice, deadline, dispute } = await loadFixture(signedActionsFixture);
    await f.escrow.connect(alice).cancelSignedAction(dispute.digest);
    await expect(
      f.escrow.connect(f.stranger).openDisputeWithSignature(a.payment, a.inclusion, deadline, dispute.signature),
    )
      .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
      .withArgs(alice.address, dispute.digest);
    expect((await recordOf(f, a.id)).status).to.equal(PaymentStatus.None);
  });

  it("a cancelled signed refund reverts SignatureCancelled(owner, digest); only the owner key's cancellation counts", async function () {
    const { f, a, alice, m, deadline, refund } = await loadFixture(signedActionsFixture);
    // Cancelling someone else's signature does nothing.
    await f.escrow.connect(alice).cancelSignedAction(refund.digest);
    await f.escrow.connect(m.owner).cancelSignedAction(refund.digest);
    await expect(
      f.escrow.connect(alice).refundWithSignature(a.payment, a.inclusion, usd(4), deadline, refund.signature),
    )
      .to.be.revertedWithCustomError(f.escrow, "SignatureCancelled")
      .withArgs(m.owner.address, refund.digest);
    expect((await recordOf(f, a.id)).refunded).to.equal(0n);
    await expectInvariant(f);
  });

  it("a cancellation by another account leaves the signature usable", async function () {
    const { f, a, alice, m, deadline, confirmation } = await loadFixture(signedActionsFixture);
    await f.escrow.connect(m.owner).cancelSignedAction(confirmation.digest);
    await f.escrow.connect(f.stranger).cancelSignedAction(confirmation.digest);
    await expect(
      f.escrow.connect(f.relayer).confirmWithSignature(a.payment, a.inclusion, deadline, confirmation.signature),
    ).to.emit(f.escrow, "PaymentConfirmed");
    expect(await f.escrow.isSignedActionCancelled(alice.address, confirmation.digest)).to.equal(false);
  });
});
