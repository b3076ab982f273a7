/**
 * The API's views of a payment on its own order timer, on the in-process chain: the payer extends
 * the hold and asks for a refund on chain, the chain's logs are applied to the store as the chain
 * watcher applies them, and GET /v1/payments/:id and the merchant's payment and timeline show the
 * timer (release time, extensions, the open request with its reason's name and respondBy, the
 * escalation deadline after a rejection). The signed actions accept the states in which the escrow
 * allows them: confirm and refund a payment on its timer; a dispute of a payment whose refund
 * request is open or rejected is refused (409 conflict), as the escrow refuses it.
 */
import { expect } from "chai";
import { BatchTree, paymentFields, REFUND_REASONS } from "../../../src/protocol";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { applyEscrowPage, decodeEscrowLogs } from "../../../src/relayer/jobs/logApplier";
import { NO_LEDGER } from "../../../src/relayer/ledger/listener";
import { ONE_DAY, signConfirmation, signDispute, signRefund, usd } from "../../escrow/fixtures";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";
import { escrowLogsSoFar } from "../helpers/chain";

describe("relayer API: order timers", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const nowSec = () => BigInt(Math.floor(h.clock() / 1000));

  /** Applies every escrow log so far to the store, as the chain watcher does (re-applying changes nothing). */
  async function applyChain(): Promise<void> {
    const raw = await escrowLogsSoFar(await h.f.escrow.getAddress());
    const page = decodeEscrowLogs(raw);
    await h.store.transaction(() =>
      applyEscrowPage(h.store, page, h.clock(), NO_LEDGER, h.f.relayer.address.toLowerCase() as Hex),
    );
  }

  /** A payment of `customer` to merchant 1, accepted by the API and escrowed on chain; its record and inclusion. */
  async function escrowedPayment(customer = 0) {
    const { body } = await signedPayment(h, customer);
    const paid = await h.request("POST", "/v1/payments", { body });
    expect(paid.status, paid.text).to.equal(201);
    const id = paid.body.id as Hex;
    const { batchId } = await escrowInStore(h, [id]);
    const record = (await h.store.payments.get(id))!;
    return { id, record, inclusion: { batchId, proof: new BatchTree([id]).proof(0) } };
  }

  it("GET payment and the merchant's payment and timeline show the timer: extension, open request, rejection", async function () {
    const key = (await h.issueKey(1n)).key;
    const { id, record, inclusion } = await escrowedPayment();
    const payer = h.f.customers[0];
    const untouched = await h.request("GET", `/v1/payments/${id}`);
    expect(untouched.body).to.deep.include({ state: "escrowed", timer: null });

    await h.f.escrow.connect(payer).extendHold(paymentFields(record), inclusion, ONE_DAY);
    await applyChain();
    const held = await h.request("GET", `/v1/payments/${id}`);
    expect(held.status, held.text).to.equal(200);
    expect(held.body.state).to.equal("held");
    // The tranche's release time (the batch block's time plus the signed hold) plus the extension.
    const receipt = (await h.f.escrow.runner!.provider!.getTransactionReceipt(record.txHash!))!;
    const escrowedAt = BigInt((await receipt.getBlock()).timestamp);
    expect(held.body.releaseAt).to.equal(`${escrowedAt + record.hold + ONE_DAY}`);
    expect(held.body.timer).to.deep.equal({
      releaseAt: held.body.releaseAt,
      extensions: 1,
      refundRequests: 0,
      holdLeft: null,
      refundRequest: null,
      escalateBy: null,
    });
    expect(held.body.inclusion, "still a leaf of its batch").to.not.equal(null);

    await h.f.escrow
      .connect(payer)
      .requestRefund(paymentFields(record), inclusion, usd(4), REFUND_REASONS.not_received);
    const requestedAt = BigInt((await h.f.escrow.runner!.provider!.getBlock("latest"))!.timestamp);
    await applyChain();
    const requested = await h.request("GET", `/v1/merchant/payments/${id}`, { key });
    expect(requested.status, requested.text).to.equal(200);
    expect(requested.body.state).to.equal("refund_requested");
    expect(requested.body.timer).to.deep.include({
      releaseAt: null,
      extensions: 1,
      refundRequests: 1,
      refundRequest: {
        amount: usd(4).toString(),
        reason: REFUND_REASONS.not_received,
        reasonName: "not_received",
        respondBy: `${requestedAt + 3n * ONE_DAY}`,
      },
      escalateBy: null,
    });

    expect(requested.body.timer.holdLeft, "the clock paused with what was left").to.equal(
      `${BigInt(held.body.releaseAt) - requestedAt}`,
    );

    await h.f.escrow.connect(h.f.merchants[0].owner).rejectRefundRequest(paymentFields(record));
    const rejectedAt = BigInt((await h.f.escrow.runner!.provider!.getBlock("latest"))!.timestamp);
    await applyChain();
    const timeline = await h.request("GET", `/v1/merchant/payments/${id}/timeline`, { key });
    expect(timeline.status, timeline.text).to.equal(200);
    expect(timeline.body.state).to.equal("refund_rejected");
    expect(timeline.body.entries.map((e: { kind: string }) => e.kind)).to.deep.equal([
      "accepted",
      "batched",
      "escrowed",
      "hold_extended",
      "refund_requested",
      "refund_request_rejected",
    ]);
    expect(timeline.body.entries[3].details.extensions).to.equal("1");
    expect(timeline.body.entries[4].details).to.deep.include({ amount: usd(4).toString(), reason: "not_received" });
    expect(timeline.body.entries[5].details.escalateBy).to.equal(
      new Date(Number(rejectedAt + 7n * ONE_DAY) * 1000).toISOString(),
    );
    // Releasable when both the hold that was left and the escalation window have run.
    const resumed = rejectedAt + BigInt(requested.body.timer.holdLeft);
    const escalateBy = rejectedAt + 7n * ONE_DAY;
    expect(timeline.body.timer).to.deep.include({
      escalateBy: `${escalateBy}`,
      releaseAt: `${resumed > escalateBy ? resumed : escalateBy}`,
      holdLeft: null,
    });
    expect(timeline.body.timer.refundRequest.reasonName).to.equal("not_received");
  });

  it("signed actions follow the escrow: dispute refused while a request is open (409), refund and confirm accepted on the timer", async function () {
    const key = (await h.issueKey(1n)).key;
    const { id, record, inclusion } = await escrowedPayment();
    const payer = h.f.customers[0];
    await h.f.escrow.connect(payer).requestRefund(paymentFields(record), inclusion, usd(4), REFUND_REASONS.damaged);
    await applyChain();
    expect((await h.store.payments.get(id))!.state).to.equal(PaymentState.RefundRequested);
    const deadline = nowSec() + 3600n;

    const dispute = await h.request("POST", `/v1/payments/${id}/dispute`, {
      body: { deadline: `${deadline}`, signature: await signDispute(h.f, payer, id, deadline) },
    });
    expect([dispute.status, dispute.body.error.code, dispute.body.error.details.state]).to.deep.equal([
      409,
      "conflict",
      "refund_requested",
    ]);

    // The merchant answers with a partial refund through its signed refund route: the clock resumes.
    const typed = await h.request("GET", `/v1/merchant/payments/${id}/refund-typed-data?totalRefund=${usd(4)}`, {
      key,
    });
    expect(typed.status, typed.text).to.equal(200);
    const refund = await h.request("POST", `/v1/merchant/payments/${id}/refunds`, {
      key,
      body: {
        totalRefund: usd(4).toString(),
        deadline: `${deadline}`,
        signature: await signRefund(h.f, h.f.merchants[0].owner, id, usd(4), deadline),
      },
    });
    expect(refund.status, refund.text).to.equal(202);
    await applyChain();
    expect((await h.store.payments.get(id))!.state).to.equal(PaymentState.Held);

    const confirm = await h.request("POST", `/v1/payments/${id}/confirm`, {
      body: { deadline: `${deadline}`, signature: await signConfirmation(h.f, payer, id, deadline) },
    });
    expect(confirm.status, confirm.text).to.equal(202);
    await applyChain();
    const confirmed = (await h.store.payments.get(id))!;
    expect(confirmed.state).to.equal(PaymentState.Released);
    expect(confirmed.timer!.dueAt).to.equal(null);
    expect((await h.f.escrow.paymentRecord(id)).status).to.equal(1n);
  });
});
