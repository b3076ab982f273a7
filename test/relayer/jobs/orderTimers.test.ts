/**
 * Order timers end to end on the in-process Hardhat chain: the watcher follows a payment a buyer
 * took out of its tranche (held, refund_requested, refund_rejected) with its timer and a webhook
 * event per step; the order-timer keeper releases it once its own timer ends (never while a refund
 * request is open or its merchant is suspended) and escalates a request the merchant left
 * unanswered; the settler pays the released balance out and the payment ends settled; a reorg that
 * drops a timer event puts the timer back as the new chain has it.
 */
import { expect } from "chai";
import { BatchTree, paymentFields, REFUND_REASONS } from "../../../src/protocol";
import { PaymentState, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { OrderTimerKeeper } from "../../../src/relayer/jobs/orderTimers";
import { feeOf, ONE_DAY, usd } from "../../escrow/fixtures";
import { makeEndpoint } from "../store/helpers";
import {
  advanceChainTime,
  latestTimestamp,
  mine,
  rpc,
  statesOf,
  tickUntil,
  usePipelineFixture,
  type PipelineFixture,
} from "../helpers/chain";
import type { Pipeline } from "../../../src/relayer/jobs";

/** PaymentLifecycle's windows. */
const REFUND_RESPONSE_WINDOW = 3n * ONE_DAY;
const ESCALATION_WINDOW = 7n * ONE_DAY;

describe("relayer pipeline: order timers", function () {
  const setup = usePipelineFixture();

  /** Escrows one payment per payer (merchant 1), every transaction final; returns them as stored. */
  async function escrowed(fx: PipelineFixture, pipeline: Pipeline, count: number): Promise<PaymentRecord[]> {
    const made = await fx.accept(fx.customers.slice(0, count).map((payer) => ({ payer })));
    await tickUntil(
      pipeline,
      "escrowed",
      async () =>
        (await statesOf(fx.store, made)).every((s) => s === PaymentState.Escrowed) &&
        (await fx.store.submissions.listPending()).length === 0,
    );
    return Promise.all(made.map(async (p) => (await fx.store.payments.get(p.id))!));
  }

  async function inclusionOf(fx: PipelineFixture, p: PaymentRecord) {
    const batch = (await fx.store.batches.get(p.batchKey!))!;
    return { batchId: p.batchId!, proof: new BatchTree(batch.paymentIds).proof(p.leafIndex!) };
  }

  const get = async (fx: PipelineFixture, p: Pick<PaymentRecord, "id">) => (await fx.store.payments.get(p.id))!;

  /** The webhook event types queued for `p`, in order, and their ids. */
  async function eventsOf(fx: PipelineFixture, p: Pick<PaymentRecord, "id">) {
    const rows = await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 10_000);
    return rows
      .map((r) => ({
        type: r.eventType,
        id: r.eventId,
        body: JSON.parse(r.payload) as { data: Record<string, unknown> },
      }))
      .filter((e) => e.body.data.id === p.id);
  }

  const untilState = (fx: PipelineFixture, pipeline: Pipeline, p: PaymentRecord, state: PaymentState) =>
    tickUntil(pipeline, state, async () => (await get(fx, p)).state === state);

  it("extend → held with its timer and payment.hold_extended; released by the keeper after releaseAt, then paid out and settled", async () => {
    const fx = await setup();
    const m1 = fx.merchants[0];
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: m1.id }));
    const pipeline = fx.pipeline();
    const [extended, untouched] = await escrowed(fx, pipeline, 2);
    const trancheReleaseAt = extended.releaseAt!;

    const tx = await fx.escrow
      .connect(fx.customers[0])
      .extendHold(paymentFields(extended), await inclusionOf(fx, extended), ONE_DAY);
    const extendedIn = BigInt((await tx.wait())!.blockNumber);
    await untilState(fx, pipeline, extended, PaymentState.Held);
    let stored = await get(fx, extended);
    expect(stored.releaseAt).to.equal(trancheReleaseAt + ONE_DAY);
    expect(stored.timer).to.deep.include({
      extensions: 1,
      refundRequests: 0,
      holdLeft: null,
      request: null,
      escalateBy: null,
      dueAt: trancheReleaseAt + ONE_DAY,
      block: extendedIn,
    });
    expect((await get(fx, untouched)).timer ?? null).to.equal(null);

    // A second extension keeps it held: its own event, a new id.
    await fx.escrow
      .connect(fx.customers[0])
      .extendHold(paymentFields(extended), await inclusionOf(fx, extended), ONE_DAY);
    await tickUntil(pipeline, "second extension", async () => (await get(fx, extended)).timer?.extensions === 2);
    stored = await get(fx, extended);
    expect(stored.state).to.equal(PaymentState.Held);
    expect(stored.releaseAt).to.equal(trancheReleaseAt + 2n * ONE_DAY);
    let events = await eventsOf(fx, extended);
    const extensions = events.filter((e) => e.type === "payment.hold_extended");
    expect(extensions.length).to.equal(2);
    expect(extensions[0].id).to.not.equal(extensions[1].id);
    expect(extensions[1].body.data.timer).to.deep.equal({
      releaseAt: `${trancheReleaseAt + 2n * ONE_DAY}`,
      extensions: 2,
      refundRequests: 0,
      holdLeft: null,
      refundRequest: null,
      escalateBy: null,
    });

    // The tranche's hold ends: the untouched payment settles, the extended one is still on its timer.
    await advanceChainTime(ONE_DAY + 1n);
    await untilState(fx, pipeline, untouched, PaymentState.Settled);
    await pipeline.tick();
    expect(pipeline.timers.lastSent, "nothing to release before its own releaseAt").to.deep.equal([]);
    expect((await get(fx, extended)).state).to.equal(PaymentState.Held);

    const payoutBefore = await fx.token.balanceOf(m1.payout.address);
    await advanceChainTime(2n * ONE_DAY);
    await pipeline.timers.tick();
    expect(pipeline.timers.lastSent.map((s) => [s.action, s.paymentId])).to.deep.equal([["release", extended.id]]);
    // Sent once: while its transaction is pending, a keeper started afresh (a restart) sends nothing more.
    const restarted = new OrderTimerKeeper({
      store: fx.store,
      chain: fx.chain,
      submitter: pipeline.submitter,
      config: fx.config,
    });
    await restarted.tick();
    expect(restarted.lastSent).to.deep.equal([]);
    expect((await fx.store.submissions.listPending()).map((s) => s.purpose)).to.deep.equal([`release:${extended.id}`]);
    await untilState(fx, pipeline, extended, PaymentState.Settled);
    expect((await fx.token.balanceOf(m1.payout.address)) - payoutBefore).to.equal(
      extended.amount - feeOf(extended.amount),
    );
    expect((await fx.escrow.merchantBalances(m1.id))[0]).to.equal(0n);
    const settlements = await fx.store.settlements.listByState(["confirmed"]);
    expect(settlements.map((s) => [s.merchantId, s.batchIds])).to.deep.equal([
      [m1.id, [extended.batchId]],
      [m1.id, []],
    ]);
    expect((await get(fx, extended)).timer!.dueAt).to.equal(null);
    events = await eventsOf(fx, extended);
    expect(events.map((e) => e.type)).to.deep.equal([
      "payment.accepted",
      "payment.batched",
      "payment.submitted",
      "payment.escrowed",
      "payment.hold_extended",
      "payment.hold_extended",
      "payment.released",
      "payment.settled",
    ]);
  });

  it("refund request → refund_requested (clock paused, never released); a partial refund resumes it (held) and the keeper releases the rest", async () => {
    const fx = await setup();
    const m1 = fx.merchants[0];
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: m1.id }));
    const pipeline = fx.pipeline();
    const [p] = await escrowed(fx, pipeline, 1);
    const inclusion = await inclusionOf(fx, p);

    await fx.escrow.connect(fx.customers[0]).requestRefund(paymentFields(p), inclusion, usd(4), REFUND_REASONS.damaged);
    const requestedAt = await latestTimestamp();
    await untilState(fx, pipeline, p, PaymentState.RefundRequested);
    const stored = await get(fx, p);
    expect(stored.releaseAt).to.equal(null);
    expect(stored.timer).to.deep.include({
      refundRequests: 1,
      holdLeft: p.releaseAt! - requestedAt,
      request: { amount: usd(4), reason: REFUND_REASONS.damaged, respondBy: requestedAt + REFUND_RESPONSE_WINDOW },
      dueAt: requestedAt + REFUND_RESPONSE_WINDOW,
    });
    const [requested] = (await eventsOf(fx, p)).filter((e) => e.type === "payment.refund_requested");
    expect(requested.body.data.timer).to.deep.include({
      releaseAt: null,
      refundRequest: {
        amount: `${usd(4)}`,
        reason: REFUND_REASONS.damaged,
        reasonName: "damaged",
        respondBy: `${requestedAt + REFUND_RESPONSE_WINDOW}`,
      },
    });

    // Past the tranche's hold, before respondBy: the open request blocks the release.
    await advanceChainTime(ONE_DAY + 1n);
    await pipeline.tick();
    expect(pipeline.timers.lastSent).to.deep.equal([]);
    expect((await get(fx, p)).state).to.equal(PaymentState.RefundRequested);

    // The merchant refunds part: the clock runs again with the hold that was left.
    await fx.escrow.connect(m1.owner).refund(paymentFields(p), inclusion, usd(4));
    const resumedAt = await latestTimestamp();
    await untilState(fx, pipeline, p, PaymentState.Held);
    const resumed = await get(fx, p);
    expect(resumed.refunded).to.equal(usd(4));
    expect(resumed.releaseAt).to.equal(resumedAt + stored.timer!.holdLeft!);
    expect(resumed.timer).to.deep.include({ holdLeft: null, request: null, dueAt: resumed.releaseAt });
    expect((await eventsOf(fx, p)).map((e) => e.type)).to.include("payment.hold_resumed");

    const payoutBefore = await fx.token.balanceOf(m1.payout.address);
    await advanceChainTime(stored.timer!.holdLeft! + 1n);
    await untilState(fx, pipeline, p, PaymentState.Settled);
    expect((await fx.token.balanceOf(m1.payout.address)) - payoutBefore).to.equal(usd(6) - feeOf(usd(6)));
    expect((await eventsOf(fx, p)).map((e) => e.type).slice(4)).to.deep.equal([
      "payment.refund_requested",
      "payment.hold_resumed",
      "payment.released",
      "payment.settled",
    ]);
  });

  it("a full refund answering a request → refunded; nothing left for the keeper", async () => {
    const fx = await setup();
    const pipeline = fx.pipeline();
    const [p] = await escrowed(fx, pipeline, 1);
    const inclusion = await inclusionOf(fx, p);
    await fx.escrow.connect(fx.customers[0]).requestRefund(paymentFields(p), inclusion, p.amount, REFUND_REASONS.other);
    await untilState(fx, pipeline, p, PaymentState.RefundRequested);
    await fx.escrow.connect(fx.merchants[0].owner).refund(paymentFields(p), inclusion, p.amount);
    await untilState(fx, pipeline, p, PaymentState.Refunded);
    expect((await get(fx, p)).timer!.dueAt).to.equal(null);
    await advanceChainTime(REFUND_RESPONSE_WINDOW + 1n);
    await pipeline.tick();
    expect(pipeline.timers.lastSent).to.deep.equal([]);
  });

  it("reject → refund_rejected (released only after the escalation window); the payer escalates → disputed", async () => {
    const fx = await setup();
    const m1 = fx.merchants[0];
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: m1.id }));
    const pipeline = fx.pipeline();
    const [p] = await escrowed(fx, pipeline, 1);
    await fx.escrow
      .connect(fx.customers[0])
      .requestRefund(paymentFields(p), await inclusionOf(fx, p), usd(10), REFUND_REASONS.not_received);
    await untilState(fx, pipeline, p, PaymentState.RefundRequested);
    await fx.escrow.connect(m1.owner).rejectRefundRequest(paymentFields(p));
    const rejectedAt = await latestTimestamp();
    await untilState(fx, pipeline, p, PaymentState.RefundRejected);
    const rejected = await get(fx, p);
    // The hold left (under a day) is shorter than the escalation window: releasable when it ends.
    expect(rejected.releaseAt).to.equal(rejectedAt + ESCALATION_WINDOW);
    expect(rejected.timer).to.deep.include({ escalateBy: rejectedAt + ESCALATION_WINDOW, holdLeft: null });
    expect(rejected.timer!.request!.amount).to.equal(usd(10));
    const [event] = (await eventsOf(fx, p)).filter((e) => e.type === "payment.refund_request_rejected");
    expect(event.body.data.state).to.equal(PaymentState.RefundRejected);

    // Within the window the keeper leaves it.
    await advanceChainTime(ONE_DAY + 1n);
    await pipeline.tick();
    expect(pipeline.timers.lastSent).to.deep.equal([]);

    await fx.escrow.connect(fx.customers[0]).escalateRefundRequest(paymentFields(p));
    await untilState(fx, pipeline, p, PaymentState.Disputed);
    expect((await get(fx, p)).timer!.dueAt).to.equal(null);
    expect((await eventsOf(fx, p)).map((e) => e.type).slice(-1)).to.deep.equal(["payment.disputed"]);
    await advanceChainTime(ESCALATION_WINDOW);
    await pipeline.tick();
    expect(pipeline.timers.lastSent).to.deep.equal([]);
  });

  it("the keeper escalates a request the merchant left unanswered past respondBy, not before", async () => {
    const fx = await setup();
    const pipeline = fx.pipeline();
    const [p] = await escrowed(fx, pipeline, 1);
    await fx.escrow
      .connect(fx.customers[0])
      .requestRefund(paymentFields(p), await inclusionOf(fx, p), usd(2), REFUND_REASONS.not_as_described);
    await untilState(fx, pipeline, p, PaymentState.RefundRequested);
    const respondBy = (await get(fx, p)).timer!.request!.respondBy;

    await advanceChainTime(respondBy - (await latestTimestamp()) - 10n);
    await pipeline.tick();
    expect(pipeline.timers.lastSent, "not due yet").to.deep.equal([]);

    await advanceChainTime(10n);
    await pipeline.timers.tick();
    expect(pipeline.timers.lastSent.map((s) => [s.action, s.paymentId])).to.deep.equal([["escalate", p.id]]);
    await untilState(fx, pipeline, p, PaymentState.Disputed);
    expect((await fx.escrow.paymentRecord(p.id)).status).to.equal(3n);
  });

  it("does not release a suspended merchant's payment (skipped, others still released); releases it once reactivated", async () => {
    const fx = await setup();
    const pipeline = fx.pipeline();
    const [a] = await escrowed(fx, pipeline, 1);
    const b = (
      await fx.accept([{ payer: fx.customers[1], merchantId: fx.merchants[1].id }]).then(async (made) => {
        await tickUntil(
          pipeline,
          "b escrowed",
          async () => (await statesOf(fx.store, made))[0] === PaymentState.Escrowed,
        );
        return made;
      })
    )[0];
    const bStored = await get(fx, b);
    await fx.escrow.connect(fx.customers[0]).extendHold(paymentFields(a), await inclusionOf(fx, a), ONE_DAY);
    await fx.escrow
      .connect(fx.customers[1])
      .extendHold(paymentFields(bStored), await inclusionOf(fx, bStored), ONE_DAY);
    await tickUntil(pipeline, "both held", async () =>
      (await statesOf(fx.store, [a, b])).every((s) => s === PaymentState.Held),
    );
    await fx.registry.connect(fx.registrar).suspend(fx.merchants[0].id);
    await advanceChainTime(3n * ONE_DAY);

    const keeper = new OrderTimerKeeper({
      store: fx.store,
      chain: fx.chain,
      submitter: pipeline.submitter,
      config: fx.config,
      maxCalls: 1,
    });
    await keeper.tick();
    expect(keeper.lastSkipped).to.deep.equal([{ paymentId: a.id, reason: "merchant_suspended" }]);
    expect(
      keeper.lastSent.map((s) => s.paymentId),
      "the suspended merchant does not crowd out the other",
    ).to.deep.equal([b.id]);
    await untilState(fx, pipeline, bStored, PaymentState.Settled);
    expect((await get(fx, a)).state).to.equal(PaymentState.Held);

    await fx.registry.connect(fx.registrar).reactivate(fx.merchants[0].id);
    await untilState(fx, pipeline, a, PaymentState.Settled);
  });

  it("a reorg that drops an extension puts the payment back as the new chain has it (a refund request instead)", async () => {
    const fx = await setup();
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: fx.merchants[0].id }));
    const pipeline = fx.pipeline();
    const [p] = await escrowed(fx, pipeline, 1);
    const inclusion = await inclusionOf(fx, p);
    const snapshot = await rpc<string>("evm_snapshot");

    await fx.escrow.connect(fx.customers[0]).extendHold(paymentFields(p), inclusion, ONE_DAY);
    await untilState(fx, pipeline, p, PaymentState.Held);
    const cursor = (await pipeline.watcher.cursor())!;

    // The new chain has no extension; the payer asks for a refund there instead.
    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    await fx.escrow.connect(fx.customers[0]).requestRefund(paymentFields(p), inclusion, usd(1), REFUND_REASONS.other);
    const height = BigInt(await rpc<string>("eth_blockNumber"));
    await mine(Number(cursor.blockNumber - height) + 2);

    await pipeline.watcher.tick();
    expect(pipeline.watcher.lastTick.reorg!.timersRestored).to.equal(1);
    await untilState(fx, pipeline, p, PaymentState.RefundRequested);
    const stored = await get(fx, p);
    expect(stored.timer).to.deep.include({ extensions: 0, refundRequests: 1 });
    expect(stored.timer!.request!.amount).to.equal(usd(1));
    expect((await eventsOf(fx, p)).map((e) => e.type).slice(4)).to.deep.equal([
      "payment.hold_extended",
      "payment.escrowed",
      "payment.refund_requested",
    ]);
  });

  it("re-reading every block from the deployment changes no timer and queues no event", async () => {
    const fx = await setup();
    await fx.store.webhooks.create(makeEndpoint("wh1", { merchantId: fx.merchants[0].id }));
    const pipeline = fx.pipeline();
    const [held, requested] = await escrowed(fx, pipeline, 2);
    await fx.escrow.connect(fx.customers[0]).extendHold(paymentFields(held), await inclusionOf(fx, held), ONE_DAY);
    await fx.escrow
      .connect(fx.customers[1])
      .requestRefund(paymentFields(requested), await inclusionOf(fx, requested), usd(3), REFUND_REASONS.other);
    await fx.escrow
      .connect(fx.merchants[0].owner)
      .refund(paymentFields(requested), await inclusionOf(fx, requested), usd(1));
    await tickUntil(pipeline, "both held", async () =>
      (await statesOf(fx.store, [held, requested])).every((s) => s === PaymentState.Held),
    );
    const snapshot = await Promise.all([held, requested].map((p) => get(fx, p)));
    const events = (await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 10_000)).length;
    const before = (await fx.chain.block(fx.addresses.startBlock - 1n))!;
    await fx.store.chainCursor.set("escrow", BigInt(before.number), before.hash as Hex);
    await tickUntil(pipeline, "caught up", async () => {
      const cursor = await pipeline.watcher.cursor();
      return cursor!.blockNumber >= (await fx.chain.blockNumber()) - 1n;
    });
    expect(await Promise.all([held, requested].map((p) => get(fx, p)))).to.deep.equal(snapshot);
    expect((await fx.store.outbox.due(Number.MAX_SAFE_INTEGER, 10_000)).length).to.equal(events);
  });
});
