import { expect } from "chai";
import fc from "fast-check";
import {
  ONCHAIN_REJECT_REASONS,
  PaymentState,
  SignatureKind,
  type Hex,
  type PaymentRecord,
} from "../../../src/relayer/domain";
import type { SqliteStore } from "../../../src/relayer/store/sqlite";
import {
  WriterThread,
  decodeInsert,
  decodeReply,
  encodeInsert,
  encodeInsertFailed,
  encodeInserted,
  insertedIds,
} from "../../../src/relayer/store/sqlite/writerThread";
import { ADDRESS_A, makePayment, tempStore } from "./helpers";

describe("SQLite store: the intake writer thread", function () {
  this.timeout(60_000);

  describe("messages", function () {
    const hexBytes = (min: number, max: number) =>
      fc.uint8Array({ minLength: min, maxLength: max }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
    // Intake stores schema-checked values; any other text must still arrive exactly as sent.
    const text = fc.oneof(fc.string(), fc.constantFrom("", ",", "a,b", "[", "\n", '"'));
    const uint = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
    const int = fc.oneof(fc.integer(), fc.maxSafeNat());
    const record: fc.Arbitrary<PaymentRecord> = fc.record({
      id: fc.oneof(hexBytes(32, 32), text),
      currency: fc.oneof(fc.constantFrom("USD", "EUR", "USDC"), text),
      payer: fc.oneof(hexBytes(20, 20), text),
      merchantId: uint,
      amount: uint,
      orderRef: fc.oneof(hexBytes(32, 32), text),
      nonce: uint,
      validAfter: uint,
      deadline: uint,
      hold: uint,
      signature: fc.oneof(hexBytes(0, 100), text),
      state: fc.oneof(fc.constantFrom(...Object.values(PaymentState)), text),
      rejectReason: fc.option(fc.oneof(fc.constantFrom(...ONCHAIN_REJECT_REASONS, "simulation_failed"), text), {
        nil: null,
      }),
      batchKey: fc.option(int, { nil: null }),
      batchId: fc.option(uint, { nil: null }),
      leafIndex: fc.option(int, { nil: null }),
      txHash: fc.option(fc.oneof(hexBytes(32, 32), text), { nil: null }),
      refunded: uint,
      releaseAt: fc.option(uint, { nil: null }),
      requestId: fc.option(fc.oneof(fc.constant("req_abc-DEF_1"), text), { nil: null }),
      signatureKind: fc.option(fc.oneof(fc.constantFrom(...Object.values(SignatureKind)), text), { nil: null }),
      createdAt: int,
      updatedAt: int,
      // Only the chain watcher writes a timer: an insert carries none, and decodes as null.
      timer: fc.constant(null),
    }) as fc.Arbitrary<PaymentRecord>;

    it("a request carries its payments exactly, whatever their values", function () {
      fc.assert(
        fc.property(fc.nat(), fc.array(record, { maxLength: 12 }), (seq, payments) => {
          expect(decodeInsert(encodeInsert(seq, payments))).to.deep.equal({ seq, payments });
        }),
        { numRuns: 300 },
      );
      expect(decodeInsert(encodeInsert(4, []))).to.deep.equal({ seq: 4, payments: [] });
    });

    it("a request of payments as intake stores them is one line of comma-separated fields", function () {
      const p = makePayment(1, { requestId: "req_x" });
      expect(encodeInsert(3, [p])).to.equal(
        [
          3,
          p.id,
          "USD",
          p.payer,
          1,
          p.amount,
          p.orderRef,
          1,
          0,
          p.deadline,
          p.signature,
          "accepted",
          "",
          "",
          "",
          "",
          "",
        ]
          .concat([0, "", "req_x", "ecdsa", p.createdAt, p.updatedAt, p.hold])
          .join(","),
      );
    });

    it("a large request goes as several strings of at most 200 payments, and arrives whole", function () {
      const payments = Array.from({ length: 450 }, (_, n) => makePayment(n, { requestId: n === 300 ? "a,b" : null }));
      const message = encodeInsert(12, payments);
      expect(Array.isArray(message) ? message.length : 1).to.equal(3);
      expect(decodeInsert(message)).to.deep.equal({ seq: 12, payments });
    });

    it("a reply names the payments inserted (lowercase ids, duplicates once) or the error", function () {
      const payments = [makePayment(1), makePayment(2, { id: makePayment(2).id.toUpperCase() as Hex }), makePayment(3)];
      const lower = (p: PaymentRecord) => p.id.toLowerCase() as Hex;
      const reply = encodeInserted(8, payments, new Set([lower(payments[1]), lower(payments[2])]));
      expect(reply).to.equal("8,011");
      const answer = decodeReply(reply);
      expect(answer).to.deep.equal({ seq: 8, result: "011" });
      expect(insertedIds(payments, "011")).to.deep.equal(new Set([lower(payments[1]), lower(payments[2])]));
      expect(
        decodeReply(encodeInsertFailed(9, "NOT NULL constraint failed: payments.created_at, or ,!")),
      ).to.deep.equal({ seq: 9, error: "NOT NULL constraint failed: payments.created_at, or ,!" });
      expect(decodeReply(encodeInserted(10, [], new Set()))).to.deep.equal({ seq: 10, result: "" });
    });
  });

  describe("on its thread", function () {
    let store: SqliteStore;
    let file: string;
    let cleanup: () => Promise<void>;
    let writer: WriterThread | null = null;

    beforeEach(async () => {
      ({ store, file, cleanup } = await tempStore());
    });
    afterEach(async () => {
      await writer?.close();
      writer = null;
      await cleanup();
    });

    it("inserts as payments.insertAccepted does: new ids only, first of duplicates wins", async () => {
      writer = new WriterThread(file);
      const first = await writer.insertAccepted([makePayment(1), makePayment(2, { requestId: "a,b" })]);
      expect([...first].sort()).to.deep.equal([makePayment(1).id, makePayment(2).id].sort());
      // A request id with a comma goes as JSON, and arrives the same.
      expect(await store.payments.get(makePayment(2).id)).to.deep.equal(
        makePayment(2, { requestId: "a,b", payer: ADDRESS_A.toLowerCase() as Hex }),
      );
      const retry = await writer.insertAccepted([makePayment(2, { amount: 5n }), makePayment(3), makePayment(3)]);
      expect([...retry]).to.deep.equal([makePayment(3).id]);
      expect((await store.payments.get(makePayment(2).id))!.amount).to.equal(makePayment(2).amount);
      expect(await writer.insertAccepted([])).to.deep.equal(new Set());
    });

    it("fails a group the store refuses, as a whole, and keeps serving", async () => {
      writer = new WriterThread(file);
      const bad = makePayment(6, { createdAt: null as unknown as number });
      const error = await writer.insertAccepted([makePayment(5), bad]).then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/^intake writer: .*NOT NULL/);
      expect(await store.payments.get(makePayment(5).id)).to.equal(null);
      expect([...(await writer.insertAccepted([makePayment(5)]))]).to.deep.equal([makePayment(5).id]);
    });

    it("fails the inserts in flight when the thread dies, and inserts again on a new one", async () => {
      writer = new WriterThread(file);
      await writer.insertAccepted([makePayment(1)]);
      const { worker } = (writer as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread;
      // A large group, still being inserted when the thread dies.
      const inFlight = writer.insertAccepted(Array.from({ length: 500 }, (_, n) => makePayment(100 + n))).then(
        () => "inserted",
        (e: Error) => e.message,
      );
      await worker.terminate();
      expect(await inFlight).to.match(/intake writer thread exited/);
      expect([...(await writer.insertAccepted([makePayment(3)]))]).to.deep.equal([makePayment(3).id]);
    });

    it("waits for the inserts in flight on close, then refuses new ones", async () => {
      writer = new WriterThread(file);
      const pending = writer.insertAccepted(Array.from({ length: 450 }, (_, n) => makePayment(10 + n)));
      await writer.close();
      expect((await pending).size).to.equal(450);
      const error = await writer.insertAccepted([makePayment(1)]).then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).to.equal("intake writer is closed");
    });
  });
});
