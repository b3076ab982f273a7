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
  type BatchItem,
  type Hex,
  type Payment,
} from "../../src/protocol";
import { EscrowTypeHashesHarness__factory } from "../../typechain-types";

const MAX = (bits: number) => (1n << BigInt(bits)) - 1n;

/** A payment with every field at a chosen value; `i` varies the payer and orderRef. */
function buildItem(i: number, overrides: Partial<Payment> = {}, signatureBytes = 65): BatchItem {
  return {
    payment: {
      payer: ethers.getAddress(ethers.zeroPadValue(ethers.toBeHex(i + 1), 20)) as Hex,
      merchantId: 7n,
      amount: 1_000_000n + BigInt(i),
      orderRef: ethers.id(`order-${i}`) as Hex,
      nonce: BigInt(i),
      validAfter: 0n,
      deadline: 2_000_000_000n,
      ...overrides,
    },
    signature: `0x${"ab".repeat(signatureBytes)}`,
  };
}

async function deployHarness() {
  const [deployer] = await ethers.getSigners();
  return new EscrowTypeHashesHarness__factory(deployer).deploy();
}

describe("protocol: packed batch encoding (src/protocol/batch.ts) against PackedBatch.sol", function () {
  it("decodes on chain to the same fields and struct hashes, at every field's limits", async function () {
    const harness = await loadFixture(deployHarness);
    const merchantId = MAX(64);
    const items = [
      buildItem(0, { merchantId, amount: MAX(128), nonce: MAX(64), validAfter: MAX(48), deadline: MAX(48) }),
      buildItem(1, { merchantId, amount: 1n, nonce: 0n, validAfter: 0n, deadline: 0n }),
      buildItem(2, { merchantId, payer: "0xffffffffffffffffffffffffffffffffffffffff" }, 0),
      buildItem(3, { merchantId }, 300),
    ];
    const [count, onChainMerchant, decoded, signatures, hashes] = await harness.decodeFirstRun(encodeBatch(items));
    expect(count).to.equal(4n);
    expect(onChainMerchant).to.equal(merchantId);
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
  });

  it("round-trips, one run per stretch of consecutive payments to a merchant", function () {
    const items = [
      buildItem(0, { merchantId: 1n }),
      buildItem(1, { merchantId: 1n }),
      buildItem(2, { merchantId: 2n }),
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

  it("refuses a signature that is not hex or longer than 65,535 bytes", function () {
    expect(() => encodeBatch([{ ...buildItem(0), signature: "0xzz" }])).to.throw(BatchEncodingError, "signature");
    expect(() => encodeBatch([buildItem(0, {}, 65_536)])).to.throw(BatchEncodingError, "signature length");
  });

  it("decodeBatch refuses what the escrow would revert MalformedBatch on", function () {
    const body = encodeBatch([buildItem(0), buildItem(1)]);
    expect(() => decodeBatch(body.slice(0, -2) as Hex)).to.throw(RangeError, "malformed");
    expect(() => decodeBatch(`0x0003${body.slice(6)}`)).to.throw(RangeError, "malformed");
    expect(() => decodeBatch(`${body}${"00".repeat(10)}`)).to.throw(RangeError, "malformed");
  });
});
