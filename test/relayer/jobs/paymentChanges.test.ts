/**
 * writePaymentChanges on both stores, without a chain: a page of the jobs' changes is written as
 * one group (payments.updateMany), each state change queues its event in order, and the ledger
 * hears of them once the transaction commits (never if it rolls back).
 */
import { expect } from "chai";
import { PaymentState, type PaymentRecord } from "../../../src/relayer/domain";
import type { LedgerListener } from "../../../src/relayer/ledger/listener";
import { writePaymentChanges, type PaymentStateChange } from "../../../src/relayer/jobs/paymentChanges";
import { paymentEventId } from "../../../src/relayer/webhooks/events";
import { hex32, makeEndpoint, makePayment } from "../store/helpers";
import { describeEachStoreWithFixture, type AnyStore } from "../store/stores";

describeEachStoreWithFixture("jobs: writePaymentChanges", (ctx) => {
  let store: AnyStore;
  let heard: PaymentStateChange[][];
  const ledger: LedgerListener = {
    paymentsChanged: (changes) => heard.push([...changes]),
    chainAdvanced() {},
    rewound() {},
  };
  const stored = async (n: number) => (await store.payments.get(makePayment(n).id))!;
  const events = async () =>
    (await store.outbox.due(Number.MAX_SAFE_INTEGER, 100))
      .sort((a, b) => a.id - b.id)
      .map((r) => {
        const body = JSON.parse(r.payload) as { id: string; type: string; sequence: number; data: { id: string } };
        return [body.type, body.sequence, body.data.id.slice(-1), body.id];
      });

  beforeEach(async () => {
    store = ctx.f.store;
    heard = [];
    await store.webhooks.create(makeEndpoint("we_1"));
    await store.payments.insertAccepted([1, 2, 3].map((n) => makePayment(n))); // payment.accepted #1 each
  });

  it("writes a page as one group: each payment's own values, its events in order, the ledger told after the commit", async () => {
    const [p1, p2, p3] = [await stored(1), await stored(2), await stored(3)];
    const now = p1.updatedAt + 1_000;
    // As the watcher's page does: a payment escrowed and released in one page, the second change
    // made on the record as the first left it.
    const escrowed1: PaymentRecord = { ...p1, state: PaymentState.Escrowed, leafIndex: 0, batchId: 5n, updatedAt: now };
    let insideTransaction: number | null = null;
    const written = await store.transaction(async () => {
      const result = await writePaymentChanges(
        store,
        [
          { payment: p1, state: PaymentState.Escrowed, fields: { leafIndex: 0, batchId: 5n } },
          { payment: p2, state: PaymentState.Escrowed, fields: { leafIndex: 1, batchId: 5n } },
          { payment: p3, fields: { txHash: hex32(3, "fe") } },
          { payment: escrowed1, state: PaymentState.Released },
        ],
        now,
        ledger,
      );
      insideTransaction = heard.length;
      return result;
    });
    expect(insideTransaction, "nothing reported before the commit").to.equal(0);

    const [s1, s2, s3] = [await stored(1), await stored(2), await stored(3)];
    expect([s1.state, s1.leafIndex, s1.batchId, s1.updatedAt]).to.deep.equal([PaymentState.Released, 0, 5n, now + 1]);
    expect([s2.state, s2.leafIndex, s2.batchId, s2.updatedAt]).to.deep.equal([PaymentState.Escrowed, 1, 5n, now]);
    expect([s3.state, s3.txHash, s3.updatedAt]).to.deep.equal([PaymentState.Accepted, hex32(3, "fe"), now]);
    expect(written.map((w) => [w.id, w.state, w.updatedAt])).to.deep.equal([
      [p1.id, PaymentState.Escrowed, now],
      [p2.id, PaymentState.Escrowed, now],
      [p3.id, PaymentState.Accepted, now],
      [p1.id, PaymentState.Released, now + 1],
    ]);

    expect(heard).to.have.length(1);
    expect(heard[0].map((c) => [c.before, c.after.id, c.after.state, c.after.updatedAt])).to.deep.equal([
      [PaymentState.Accepted, p1.id, PaymentState.Escrowed, now],
      [PaymentState.Accepted, p2.id, PaymentState.Escrowed, now],
      [PaymentState.Escrowed, p1.id, PaymentState.Released, now + 1],
    ]);

    // A field-only change queues no event; the others are numbered per payment in order.
    expect(await events()).to.deep.equal([
      ["payment.accepted", 1, "1", paymentEventId(p1, "payment.accepted")],
      ["payment.accepted", 1, "2", paymentEventId(p2, "payment.accepted")],
      ["payment.accepted", 1, "3", paymentEventId(p3, "payment.accepted")],
      ["payment.escrowed", 2, "1", paymentEventId({ id: p1.id, updatedAt: now }, "payment.escrowed")],
      ["payment.escrowed", 2, "2", paymentEventId({ id: p2.id, updatedAt: now }, "payment.escrowed")],
      ["payment.released", 3, "1", paymentEventId({ id: p1.id, updatedAt: now + 1 }, "payment.released")],
    ]);
  });

  it("a page whose transaction rolls back writes nothing, queues nothing and tells the ledger nothing", async () => {
    const [p1, p2] = [await stored(1), await stored(2)];
    const failure = await store
      .transaction(async () => {
        await writePaymentChanges(
          store,
          [
            { payment: p1, state: PaymentState.Escrowed, fields: { leafIndex: 0 } },
            { payment: p2, state: PaymentState.Rejected, fields: { rejectReason: "expired" } },
          ],
          p1.updatedAt + 1_000,
          ledger,
        );
        throw new Error("the cursor move failed");
      })
      .catch((error: Error) => error);
    expect(String(failure)).to.match(/cursor move failed/);
    expect([(await stored(1)).state, (await stored(2)).state]).to.deep.equal([
      PaymentState.Accepted,
      PaymentState.Accepted,
    ]);
    expect(await events()).to.have.length(3);
    expect(heard).to.deep.equal([]);
  });
});
