/**
 * Batcher: when a batch closes (size, age), how it is sized (gas model checked against
 * eth_estimateGas), and the pre-send simulation that drops what the escrow would reject.
 */
import { expect } from "chai";
import { BatchState, PaymentState, SignatureKind } from "../../../src/relayer/domain";
import { makePayment } from "../store/helpers";
import { encodePayBatch } from "../../../src/relayer/chain/calldata";
import { Batcher, PAY_BATCH_GAS, PayBatchGasModel, groupByMerchant, modelGas } from "../../../src/relayer/jobs/batcher";
import { usd } from "../../escrow/fixtures";
import { fundedPayers, latestTimestamp, usePipelineFixture, statesOf, tickUntil, type PaySpec } from "../helpers/chain";

describe("relayer pipeline: batcher", function () {
  const setup = usePipelineFixture();

  it("drops expired and would-be-rejected payments before sending; the escrow then rejects nothing", async () => {
    const fx = await setup();
    const [c0, c1, c2, c3] = fx.customers;
    const [m1, m2, m3] = fx.merchants.map((m) => m.id);
    await fx.registry.connect(fx.registrar).suspend(m3);
    await fx.escrow.connect(c1).cancelNonce(5n);
    const now = await latestTimestamp();

    const [good1, expired, zero, tooMuch, inactive, spent, good2, reused, first600, then500, later] = await fx.accept([
      { payer: c0, merchantId: m1 },
      { payer: c0, deadline: now },
      { payer: c1, amount: 0n },
      { payer: c1, amount: usd(1_001) },
      { payer: c2, merchantId: m3 },
      { payer: c1, nonce: 5n },
      { payer: c2, merchantId: m2, nonce: 40n },
      { payer: c3, merchantId: m2, nonce: 40n, amount: usd(1) },
      { payer: c3, merchantId: m1, nonce: 0n, amount: usd(600) },
      // Only visible by carrying the batch's own debits forward: 600 + 500 > 1,000.
      { payer: c3, merchantId: m1, nonce: 1n, amount: usd(500) },
      { payer: c0, validAfter: now + 3_600n },
    ]);
    // A second payment of c3 with nonce 40 (the first one takes it).
    const [twin] = await fx.accept([{ payer: c3, merchantId: m2, nonce: 40n, amount: usd(2) }]);

    const batcher = new Batcher({ store: fx.store, chain: fx.chain, config: fx.config, clock: fx.clock });
    await batcher.tick();

    expect(batcher.lastBuilt).to.have.length(1);
    const [built] = batcher.lastBuilt;
    expect(built.paymentIds).to.deep.equal(groupByMerchant([good1, first600, good2, reused]).map((p) => p.id));
    expect(built.rejected).to.equal(6);
    const reasons = async (ids: string[]) =>
      Promise.all(ids.map(async (id) => (await fx.store.payments.get(id as `0x${string}`))!.rejectReason));
    expect(await statesOf(fx.store, [expired])).to.deep.equal([PaymentState.Expired]);
    expect(await statesOf(fx.store, [zero, tooMuch, inactive, spent, then500, twin])).to.deep.equal(
      Array(6).fill(PaymentState.Rejected),
    );
    expect(await reasons([zero.id, tooMuch.id, inactive.id, spent.id, then500.id, twin.id])).to.deep.equal([
      "invalid_amount",
      "insufficient_balance",
      "merchant_not_active",
      "nonce_unavailable",
      "insufficient_balance",
      "nonce_unavailable",
    ]);
    // Not valid yet: neither sent nor rejected, it waits.
    expect(await statesOf(fx.store, [later])).to.deep.equal([PaymentState.Accepted]);

    const pipeline = fx.pipeline();
    const included = [good1, first600, good2, reused];
    await tickUntil(pipeline, "escrowed", async () =>
      (await statesOf(fx.store, included)).every((s) => s === PaymentState.Escrowed),
    );
    const [batch] = await fx.store.batches.listByState([BatchState.Submitted, BatchState.Confirmed]);
    const receipt = (await fx.chain.receipt((await fx.store.payments.get(good1.id))!.txHash!))!;
    const names = receipt.logs.map((l) => fx.escrow.interface.parseLog(l)?.name);
    expect(names.filter((n) => n === "PaymentRejected")).to.have.length(0);
    expect(names.filter((n) => n === "PaymentEscrowed")).to.have.length(4);
    expect(batch.paymentIds).to.deep.equal(built.paymentIds);
    expect(await statesOf(fx.store, [later])).to.deep.equal([PaymentState.Accepted]);
  });

  it("takes one hold per merchant per batch: a merchant's payments with two holds are escrowed in two batches, each tranche released at its block time + its hold", async () => {
    const fx = await setup();
    const [c0, c1, c2, c3] = fx.customers;
    const [m1, m2] = fx.merchants.map((m) => m.id);
    const DAY = 86_400n;
    // Merchant 1 lets each payment ask 1 to 30 days.
    await fx.registry.connect(fx.registrar).setTerms(m1, 250, DAY, 30n * DAY);
    const [short1, long1, short2, other, tooLong] = await fx.accept([
      { payer: c0, merchantId: m1, hold: 3n * DAY },
      { payer: c1, merchantId: m1, hold: 10n * DAY },
      { payer: c2, merchantId: m1, hold: 3n * DAY },
      { payer: c3, merchantId: m2 },
      // Outside merchant 1's bounds (stored as if accepted before the terms changed): the escrow would reject it.
      { payer: c3, merchantId: m1, hold: 31n * DAY },
    ]);

    const batcher = new Batcher({ store: fx.store, chain: fx.chain, config: fx.config, clock: fx.clock });
    await batcher.tick();
    // The first batch takes merchant 1's oldest payment's hold (3 days) and merchant 2's; the
    // 10-day payment waits for the next batch: the escrow would revert a merchant's second hold.
    const [first] = batcher.lastBuilt;
    expect(first.paymentIds).to.deep.equal([short1.id, short2.id, other.id]);
    expect((await fx.store.payments.get(tooLong.id))!.rejectReason).to.equal("hold_out_of_range");
    expect(batcher.lastBuilt.slice(1).map((b) => b.paymentIds)).to.deep.equal([[long1.id]]);

    const pipeline = fx.pipeline();
    const escrowed = [short1, long1, short2, other];
    await tickUntil(pipeline, "escrowed", async () =>
      (await statesOf(fx.store, escrowed)).every((s) => s === PaymentState.Escrowed),
    );
    const stored = await Promise.all(escrowed.map(async (p) => (await fx.store.payments.get(p.id))!));
    expect(stored[0].batchId).to.equal(stored[2].batchId);
    expect(stored[1].batchId).to.not.equal(stored[0].batchId);
    for (const p of stored) {
      const receipt = (await fx.chain.receipt(p.txHash!))!;
      const block = await fx.chain.provider.getBlock(receipt.blockNumber);
      const funded = receipt.logs
        .map((l) => fx.escrow.interface.parseLog(l))
        .find((e) => e?.name === "TrancheFunded" && e.args.merchantId === p.merchantId)!;
      // The tranche's release time is its block's time plus the payment's own hold; the store agrees.
      expect(funded.args.releaseAt).to.equal(BigInt(block!.timestamp) + p.hold);
      expect(p.releaseAt).to.equal(funded.args.releaseAt);
      expect((await fx.escrow.tranche(p.batchId!, p.merchantId)).releaseAt).to.equal(funded.args.releaseAt);
    }
    expect(stored[1].releaseAt! - stored[0].releaseAt!).to.be.greaterThanOrEqual(7n * DAY);
    // Nothing the escrow rejected: the simulation kept the out-of-range hold out.
    for (const p of [stored[0], stored[1]]) {
      const receipt = (await fx.chain.receipt(p.txHash!))!;
      const names = receipt.logs.map((l) => fx.escrow.interface.parseLog(l)?.name);
      expect(names.filter((n) => n === "PaymentRejected")).to.have.length(0);
    }
  });

  it("closes a batch when it is full or its oldest payment is old enough, and waits for the submitter", async () => {
    const fx = await setup({ batchMaxSize: 4, batchMaxAgeMs: 60_000 });
    const batcher = new Batcher({ store: fx.store, chain: fx.chain, config: fx.config, clock: fx.clock });
    const payers = fx.customers;
    await fx.accept([{ payer: payers[0] }, { payer: payers[1] }, { payer: payers[2] }]);
    await batcher.tick();
    expect(batcher.lastBuilt, "3 young payments: no batch yet").to.deep.equal([]);

    fx.clock.advance(60_000);
    await batcher.tick();
    expect(batcher.lastBuilt.map((b) => b.paymentIds.length)).to.deep.equal([3]);

    // A built batch not yet sent holds the batcher back (its debits are not in the pending state yet).
    await fx.accept(Array.from({ length: 9 }, (_, i) => ({ payer: payers[i % 4] })));
    await batcher.tick();
    expect(batcher.lastBuilt).to.deep.equal([]);

    const pipeline = fx.pipeline();
    await pipeline.submitter.tick();
    await batcher.tick();
    // Two full batches in one tick; the ninth payment is young and waits.
    expect(batcher.lastBuilt.map((b) => b.paymentIds.length)).to.deep.equal([4, 4]);
    expect(await fx.store.payments.listByState(PaymentState.Accepted, 10)).to.have.length(1);
  });

  it("reads neither the chain nor more than one batch's rows on a tick that cannot close a batch", async () => {
    const fx = await setup({ batchMaxSize: 4, batchMaxAgeMs: 60_000 });
    const batcher = new Batcher({ store: fx.store, chain: fx.chain, config: fx.config, clock: fx.clock });
    const limits: number[] = [];
    const listByState = fx.store.payments.listByState.bind(fx.store.payments);
    fx.store.payments.listByState = (state, limit) => {
      limits.push(limit);
      return listByState(state, limit);
    };
    const requests = fx.bridge.requests;
    await batcher.tick();
    expect(limits, "empty queue: one probe").to.deep.equal([1]);

    await fx.accept(Array.from({ length: 3 }, (_, i) => ({ payer: fx.customers[i] })));
    limits.length = 0;
    await batcher.tick();
    expect(batcher.lastBuilt).to.deep.equal([]);
    expect(Math.max(...limits), "young and short of a batch: one batch's rows at most").to.be.at.most(5);
    expect(fx.bridge.requests, "no chain read").to.equal(requests);

    fx.clock.advance(60_000);
    await batcher.tick();
    expect(batcher.lastBuilt.map((b) => b.paymentIds.length)).to.deep.equal([3]);
    expect(fx.bridge.requests).to.be.greaterThan(requests);
  });

  it("looks past payments that are not valid yet or that the simulation drops, within one tick", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const [c0, c1, c2, c3] = fx.customers;
    const now = await latestTimestamp();
    const later = await fx.accept([c0, c1, c2].map((payer) => ({ payer, validAfter: now + 3_600n })));
    const good = await fx.accept([{ payer: c3 }, { payer: c3 }]);
    const batcher = new Batcher({ store: fx.store, chain: fx.chain, config: fx.config, clock: fx.clock });
    await batcher.tick();
    expect(batcher.lastBuilt.map((b) => b.paymentIds)).to.deep.equal([good.map((p) => p.id)]);
    expect(await statesOf(fx.store, later)).to.deep.equal(Array(3).fill(PaymentState.Accepted));

    // Three the escrow would reject ahead of two it accepts: one full batch, as with a longer listing.
    const zero = await fx.accept([c0, c1, c2].map((payer) => ({ payer, amount: 0n })));
    const next = await fx.accept([{ payer: c0 }, { payer: c1 }]);
    await fx.pipeline().submitter.tick();
    await batcher.tick();
    expect(batcher.lastBuilt.map((b) => [b.paymentIds, b.rejected])).to.deep.equal([[next.map((p) => p.id), 3]]);
    expect(await statesOf(fx.store, zero)).to.deep.equal(Array(3).fill(PaymentState.Rejected));
  });

  it("sizes batches under the gas budget; the per-payment model stays above eth_estimateGas", async () => {
    const fx = await setup({ batchMaxSize: 100 });
    const payers = await fundedPayers(fx, 40, usd(100));
    const [m1, m2, m3] = fx.merchants.map((m) => m.id);
    const merchantOf = (i: number, runs: number) => [m1, m2, m3][i % runs];
    const measured: { payments: number; runs: number; estimate: bigint; model: bigint }[] = [];
    for (const [count, runs] of [
      [1, 1],
      [10, 1],
      [40, 1],
      [40, 3],
    ] as const) {
      const records = await fx.accept(
        payers.slice(0, count).map((payer, i) => ({ payer, merchantId: merchantOf(i, runs) })),
      );
      const ordered = groupByMerchant(records);
      const estimate = await fx.chain.estimateGas(fx.addresses.escrow, encodePayBatch(ordered));
      measured.push({ payments: count, runs, estimate, model: modelGas(count, runs) });
      await fx.store.payments.setState(
        records.map((r) => r.id),
        PaymentState.Expired,
      );
    }
    for (const m of measured) {
      expect(m.model >= m.estimate, `model ${m.model} < estimate ${m.estimate} for ${m.payments}x${m.runs}`).to.equal(
        true,
      );
    }
    const perPayment = (measured[2].estimate - measured[1].estimate) / 30n;
    const perRun = (measured[3].estimate - measured[2].estimate) / 2n;
    // The model is an upper bound, not a wild one: within 20% per payment.
    expect(perPayment <= PAY_BATCH_GAS.perPayment && perPayment * 120n >= PAY_BATCH_GAS.perPayment * 100n).to.equal(
      true,
    );
    expect(perRun <= PAY_BATCH_GAS.perMerchantRun).to.equal(true);
    console.log(
      `      measured payBatch gas: ${perPayment} per payment, ${perRun} per merchant run, ${measured[0].estimate} for one payment`,
    );

    // A budget for 7 payments in one run: 20 accepted payments become batches of 7, 7, 6.
    const budget = modelGas(7, 1);
    const batcher = new Batcher({
      store: fx.store,
      chain: fx.chain,
      config: fx.config,
      clock: fx.clock,
      gasBudget: budget,
    });
    await fx.accept(payers.slice(0, 20).map((payer) => ({ payer })));
    await batcher.tick();
    expect(batcher.lastBuilt.map((b) => b.paymentIds.length)).to.deep.equal([7, 7, 6]);
    // The first batch checks the model against the node; it holds, so the next two need no estimate.
    expect(batcher.lastBuilt.map((b) => b.estimatedGas === null)).to.deep.equal([false, true, true]);
    for (const b of batcher.lastBuilt) {
      const stored = await fx.store.payments.getMany(b.paymentIds);
      const calldata = encodePayBatch(b.paymentIds.map((id) => stored.get(id)!));
      expect((await fx.chain.estimateGas(fx.addresses.escrow, calldata)) <= budget).to.equal(true);
    }
  });

  it("trusts the gas model only after the node agreed with it, and never after an estimate above it", () => {
    const model = new PayBatchGasModel();
    const ecdsa = [makePayment(1), makePayment(2)];
    const bound = modelGas(2, 1);
    expect(model.bounds(ecdsa)).to.equal(false);
    model.observe(ecdsa, 1, bound + 1n);
    expect(model.bounds(ecdsa)).to.equal(false);
    model.observe(ecdsa, 1, bound - 1n);
    expect(model.bounds(ecdsa), "once above the model, always estimated").to.equal(false);

    const agreed = new PayBatchGasModel();
    agreed.observe(ecdsa, 1, bound);
    expect(agreed.bounds(ecdsa)).to.equal(true);
    expect(agreed.bounds([...ecdsa, makePayment(3, { signatureKind: SignatureKind.Contract })])).to.equal(false);
    expect(agreed.bounds([makePayment(4, { signatureKind: null })])).to.equal(false);
    // A batch with ERC-1271 payers says nothing about the model.
    const untouched = new PayBatchGasModel();
    untouched.observe([makePayment(5, { signatureKind: SignatureKind.Contract })], 1, 10n ** 9n);
    untouched.observe(ecdsa, 1, bound);
    expect(untouched.bounds(ecdsa)).to.equal(true);
  });

  it("asks the node for a gas estimate only when the model does not bound a payment's gas", async () => {
    const fx = await setup({ batchMaxSize: 100 });
    const payers = await fundedPayers(fx, 4, usd(100));
    const batcher = new Batcher({ store: fx.store, chain: fx.chain, config: fx.config, clock: fx.clock });
    const estimates = () => fx.bridge.calls.filter((m) => m === "eth_estimateGas").length;

    const buildOne = async (specs: PaySpec[]) => {
      await fx.accept(specs);
      const before = estimates();
      await batcher.tick();
      expect(batcher.lastBuilt).to.have.length(1);
      // As if sent: the batcher builds nothing while a built batch waits.
      await fx.store.batches.update(batcher.lastBuilt[0].key, { state: BatchState.Submitted });
      return { built: batcher.lastBuilt[0], estimates: estimates() - before };
    };

    // The first ECDSA-signed batch checks the model against the node; the next one needs no estimate.
    const first = await buildOne([{ payer: payers[0] }]);
    expect(first.estimates).to.equal(1);
    expect(first.built.estimatedGas! <= modelGas(1, 1)).to.equal(true);
    const second = await buildOne([{ payer: payers[1] }]);
    expect(second.estimates).to.equal(0);
    expect(second.built.estimatedGas).to.equal(null);

    // One payment stored before intake recorded how it verified the signature: estimated.
    const mixed = await buildOne([{ payer: payers[2] }, { payer: payers[3], signatureKind: null }]);
    expect(mixed.estimates).to.equal(1);
    const { built } = mixed;
    const stored = await fx.store.payments.getMany(built.paymentIds);
    const calldata = encodePayBatch(built.paymentIds.map((id) => stored.get(id)!));
    expect(built.estimatedGas).to.equal(await fx.chain.estimateGas(fx.addresses.escrow, calldata));
    expect((await fx.store.batches.get(built.key))!.gasEstimate).to.equal(built.estimatedGas);
  });
});
