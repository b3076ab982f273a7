import { expect } from "chai";
import type { Hex } from "../../../src/relayer/domain";
import {
  decodeInsert,
  encodeGuardedInsert,
  encodeOutcomes,
  outcomesOf,
  WriterThread,
} from "../../../src/relayer/store/sqlite/writerThread";
import { GroupCommitWriter } from "../../../src/relayer/intake/groupCommit";
import { makePayment, tempStore } from "../store/helpers";

describe("intake: guarded inserts through the group commit and the writer thread", function () {
  this.timeout(120_000);

  it("a guarded request carries each payment's ceiling and its reply each outcome", () => {
    const items = [
      { record: makePayment(1), ceiling: 2n ** 80n },
      { record: makePayment(2, { requestId: "a,b" }), ceiling: 0n },
    ];
    const decoded = decodeInsert(encodeGuardedInsert(7, items));
    expect(decoded).to.deep.equal({ seq: 7, payments: items.map((i) => i.record), ceilings: [2n ** 80n, 0n] });
    const outcomes = new Map([
      [makePayment(1).id.toLowerCase() as Hex, "inserted" as const],
      [makePayment(2).id.toLowerCase() as Hex, "insufficient_balance" as const],
    ]);
    const reply = encodeOutcomes(7, decoded.payments, outcomes);
    expect(reply).to.equal("7,1b");
    expect(outcomesOf(decoded.payments, "1b")).to.deep.equal(outcomes);
    expect(() => outcomesOf(decoded.payments, "1?")).to.throw(/unknown outcome flag/);
  });

  it("two group commits (two instances) on one file, one on the writer thread: exactly the affordable payments", async () => {
    const { store, file, cleanup } = await tempStore();
    const writer = new WriterThread(file);
    try {
      const here = new GroupCommitWriter(store, undefined, { maxWaitMs: 1 });
      const there = new GroupCommitWriter(store, undefined, {
        maxWaitMs: 1,
        insertGuarded: (items) => writer.insertAcceptedGuarded(items),
      });
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? here : there).enqueueGuarded(makePayment(i + 1, { amount: 10n }), 125n),
        ),
      );
      expect(outcomes.filter((o) => o === "inserted")).to.have.length(12);
      expect(outcomes.filter((o) => o === "insufficient_balance")).to.have.length(8);
      expect(await store.payments.pendingAmountOf(makePayment(1).payer.toLowerCase() as Hex)).to.equal(120n);
      // A retry of a stored payment is a duplicate, on either path.
      expect(await there.enqueueGuarded(makePayment(1, { amount: 10n }), 0n)).to.equal("duplicate");
      expect(await here.enqueueGuarded(makePayment(1, { amount: 10n }), 0n)).to.equal("duplicate");
      await Promise.all([here.close(), there.close()]);
    } finally {
      await writer.close();
      await cleanup();
    }
  });
});
