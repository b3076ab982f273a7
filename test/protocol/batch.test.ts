import { expect } from "chai";
import { ethers } from "hardhat";
import { TypedDataEncoder } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  BATCH_HEADER_BYTES,
  BATCH_ITEM_FIXED_BYTES,
  BATCH_RUN_HEADER_BYTES,
  BatchEncodingError,
  decodeBatch,
  encodeBatch,
  ethersTypes,
  paymentTypes,
  planBatch,
  type BatchItem,
  type Hex,
  type Payment,
} from "../../src/protocol";
import { EscrowTypeHashesHarness__factory } from "../../typechain-types";

const MAX = (bits: number) => (1n << BigInt(bits)) - 1n;

/** A payment with every field at a chosen value; `i` varies the payer and orderRef. */
function buildItem(i: number, overrides: Partial<Payment> = {}, signatureBytes = 65): BatchItem {
  const payment: Payment = {
    payer: ethers.getAddress(ethers.zeroPadValue(ethers.toBeHex(i + 1), 20)) as Hex,
    merchantId: 7n,
    amount: 1_000_000n + BigInt(i),
    orderRef: ethers.id(`order-${i}`) as Hex,
    nonce: BigInt(i),
    validAfter: 0n,
    deadline: 2_000_000_000n,
    hold: 3n * 86_400n,
    ...overrides,
  };
  return { payment, signature: `0x${"ab".repeat(signatureBytes)}` };
}

async function deployHarness() {
  const [deployer] = await ethers.getSigners();
  return new EscrowTypeHashesHarness__factory(deployer).deploy();
}

describe("protocol: packed batch encoding (src/protocol/batch.ts) against PackedBatch.sol", function () {
  it("decodes on chain to the same fields and struct hashes, at every field's limits", async function () {
    const harness = await loadFixture(deployHarness);
    const merchantId = MAX(64);
    for (const hold of [MAX(32), 0n, 60n]) {
      const items = [
        buildItem(0, { merchantId, hold, amount: MAX(128), nonce: MAX(64), validAfter: MAX(48), deadline: MAX(48) }),
        buildItem(1, { merchantId, hold, amount: 1n, nonce: 0n, validAfter: 0n, deadline: 0n }),
        buildItem(2, { merchantId, hold, payer: "0xffffffffffffffffffffffffffffffffffffffff" }, 0),
        buildItem(3, { merchantId, hold }, 300),
      ];
      const [count, onChainMerchant, onChainHold, decoded, signatures, hashes] = await harness.decodeFirstRun(
        encodeBatch(items),
      );
      expect(count).to.equal(4n);
      expect(onChainMerchant).to.equal(merchantId);
      // The run header's hold is what every item's struct hash (so its id) signs.
      expect(onChainHold).to.equal(hold);
      items.forEach(({ payment: p, signature }, k) => {
        expect(decoded[k].payer.toLowerCase()).to.equal(p.payer.toLowerCase());
        expect([decoded[k].amount, decoded[k].nonce, decoded[k].validAfter, decoded[k].deadline]).to.deep.equal([
          p.amount,
          p.nonce,
          p.validAfter,
          p.deadline,
        ]);
        expect(signatures[k]).to.equal(signature);
        expect(hashes[k]).to.equal(TypedDataEncoder.hashStruct("Payment", ethersTypes(paymentTypes), p));
      });
    }
  });

  it("writes each run's header as merchantId:uint64 hold:uint32 items:uint16", function () {
    const batch = encodeBatch([
      buildItem(0, { merchantId: 0x0102n, hold: 0x0a0b0c0dn }),
      buildItem(1, { merchantId: 0x0102n, hold: 0x0a0b0c0dn }),
    ]);
    const header = batch.slice(2 + BATCH_HEADER_BYTES * 2, 2 + (BATCH_HEADER_BYTES + BATCH_RUN_HEADER_BYTES) * 2);
    expect(BATCH_RUN_HEADER_BYTES).to.equal(14);
    expect(header).to.equal("0000000000000102" + "0a0b0c0d" + "0002");
  });

  it("round-trips, one run per stretch of consecutive payments to a merchant with one hold", function () {
    const items = [
      buildItem(0, { merchantId: 1n }),
      buildItem(1, { merchantId: 1n }),
      buildItem(2, { merchantId: 2n, hold: 10n * 86_400n }),
      buildItem(3, { merchantId: 1n }),
    ];
    const batch = encodeBatch(items);
    const runs = 3;
    expect((batch.length - 2) / 2).to.equal(
      BATCH_HEADER_BYTES + runs * BATCH_RUN_HEADER_BYTES + items.length * (BATCH_ITEM_FIXED_BYTES + 65),
    );
    const back = decodeBatch(batch);
    expect(
      back.map((b) => ({ ...b, payment: { ...b.payment, payer: ethers.getAddress(b.payment.payer) } })),
    ).to.deep.equal(items);
    expect(encodeBatch([])).to.equal("0x0000");
    expect(decodeBatch("0x0000")).to.deep.equal([]);
  });

  it("refuses a merchant with two holds in one batch (the escrow would revert ConflictingHold), naming the item", function () {
    const short = 3n * 86_400n;
    const long = 10n * 86_400n;
    // Adjacent: they would be two runs of one merchant; apart: the same.
    for (const items of [
      [buildItem(0, { hold: short }), buildItem(1, { hold: long })],
      [buildItem(0, { hold: short }), buildItem(1, { merchantId: 8n }), buildItem(2, { hold: long })],
    ]) {
      const index = items.length - 1;
      expect(() => encodeBatch(items))
        .to.throw(BatchEncodingError, `batch item ${index}: merchant 7 has payments held 259200 s and 864000 s`)
        .with.property("index", index);
    }
    // Two merchants with different holds, and one merchant's runs split but with one hold: fine.
    expect(() =>
      encodeBatch([buildItem(0), buildItem(1, { merchantId: 8n, hold: long }), buildItem(2)]),
    ).to.not.throw();
    // Tests of the escrow's own check may still encode it.
    const forced = encodeBatch([buildItem(0, { hold: short }), buildItem(1, { hold: long })], {
      allowConflictingHolds: true,
    });
    expect(decodeBatch(forced).map((b) => b.payment.hold)).to.deep.equal([short, long]);
  });

  it("planBatch keeps one hold per merchant (its oldest payment's) and defers the others", function () {
    const p = (merchantId: bigint, hold: bigint, tag: string) => ({ merchantId, hold, tag });
    const queue = [
      p(1n, 60n, "a"),
      p(2n, 90n, "b"),
      p(1n, 120n, "c"),
      p(1n, 60n, "d"),
      p(2n, 90n, "e"),
      p(2n, 60n, "f"),
    ];
    const { included, deferred } = planBatch(queue);
    // Grouped by merchant (merchants in order of their oldest payment), oldest first within each.
    expect(included.map((x) => x.tag)).to.deep.equal(["a", "d", "b", "e"]);
    expect(deferred.map((x) => x.tag)).to.deep.equal(["c", "f"]);
    // The deferred ones make the next batch, under their own holds.
    expect(planBatch(deferred).included.map((x) => x.tag)).to.deep.equal(["c", "f"]);
    // What it includes always encodes.
    const items = included.map((x, i) => buildItem(i, { merchantId: x.merchantId, hold: x.hold }));
    expect(() => encodeBatch(items)).to.not.throw();
  });

  const tooWide: { name: string; overrides: Partial<Payment> }[] = [
    { name: "amount 2^128", overrides: { amount: 1n << 128n } },
    { name: "a negative amount", overrides: { amount: -1n } },
    { name: "merchantId 2^64", overrides: { merchantId: 1n << 64n } },
    { name: "nonce 2^64", overrides: { nonce: 1n << 64n } },
    { name: "validAfter 2^48", overrides: { validAfter: 1n << 48n } },
    { name: "deadline 2^48", overrides: { deadline: 1n << 48n } },
    { name: "a 19-byte payer", overrides: { payer: `0x${"11".repeat(19)}` } },
    { name: "a 31-byte orderRef", overrides: { orderRef: `0x${"11".repeat(31)}` } },
  ];
  for (const c of tooWide) {
    it(`refuses ${c.name}, naming the item`, function () {
      expect(() => encodeBatch([buildItem(0), buildItem(1, c.overrides)])).to.throw(BatchEncodingError, "batch item 1");
    });
  }

  it("refuses a hold of 2^32 seconds (a run header's hold is a uint32)", function () {
    expect(() => encodeBatch([buildItem(0, { hold: 1n << 32n })])).to.throw(
      BatchEncodingError,
      "batch item 0: hold 4294967296 does not fit 32 bits",
    );
  });

  it("refuses a signature that is not hex or longer than 65,535 bytes", function () {
    expect(() => encodeBatch([{ ...buildItem(0), signature: "0xzz" }])).to.throw(BatchEncodingError, "signature");
    expect(() => encodeBatch([buildItem(0, {}, 65_536)])).to.throw(BatchEncodingError, "signature length");
  });

  it("decodeBatch refuses what the escrow would revert MalformedBatch on", function () {
    const body = encodeBatch([buildItem(0), buildItem(1)]);
    expect(() => decodeBatch(body.slice(0, -2) as Hex)).to.throw(RangeError, "malformed");
    expect(() => decodeBatch(`0x0003${body.slice(6)}`)).to.throw(RangeError, "malformed");
    expect(() => decodeBatch(`${body}${"00".repeat(BATCH_RUN_HEADER_BYTES)}`)).to.throw(RangeError, "malformed");
  });
});
