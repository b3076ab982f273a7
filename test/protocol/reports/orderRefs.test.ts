import { expect } from "chai";
import { encodeAbiParameters, encodeFunctionData, keccak256, toFunctionSelector, toHex } from "viem";
import { encodeBatch, escrowDomain, paymentId, type Hex, type Payment } from "../../../src/protocol";
import { collectOrderRefs, orderRefsOfCalldata } from "../../../src/protocol/reports";

const DOMAIN = escrowDomain(31337n, `0x${"e".repeat(40)}`);
const payment = (n: number, orderRef: Hex): Payment => ({
  payer: `0x${n.toString(16).padStart(40, "0")}`,
  merchantId: 1n,
  amount: 1_000_000n * BigInt(n),
  orderRef,
  nonce: BigInt(n),
  validAfter: 0n,
  deadline: 2_000_000_000n,
  hold: 3_600n,
});
const SIG = `0x${"11".repeat(65)}` as Hex;
const calldata = (fn: string, items: Payment[]): Hex =>
  (toFunctionSelector(fn) +
    encodeAbiParameters([{ type: "bytes" }], [encodeBatch(items.map((p) => ({ payment: p, signature: SIG })))]).slice(
      2,
    )) as Hex;

describe("protocol/reports: order references from calldata", function () {
  const a = payment(1, keccak256(toHex("order A")));
  const b = payment(2, keccak256(toHex('=HYPERLINK("http://evil")')));
  const idA = paymentId(DOMAIN, a);
  const idB = paymentId(DOMAIN, b);

  it("reads a payBatch / payBatchWithAuthorization call's items, keeping only the wanted payments' ids", function () {
    for (const fn of ["payBatch(bytes)", "payBatchWithAuthorization(bytes)"]) {
      const refs = orderRefsOfCalldata(calldata(fn, [a, b]), DOMAIN, new Set([idA, idB]));
      expect(refs).to.deep.equal(
        new Map([
          [idA, a.orderRef],
          [idB, b.orderRef],
        ]),
      );
    }
    expect(orderRefsOfCalldata(calldata("payBatch(bytes)", [a, b]), DOMAIN, new Set([idB]))).to.deep.equal(
      new Map([[idB, b.orderRef]]),
    );
  });

  it("attributes a reference only to the payment whose signed fields carry it: another domain, another call, garbage give nothing", function () {
    const other = escrowDomain(1n, DOMAIN.verifyingContract);
    expect(orderRefsOfCalldata(calldata("payBatch(bytes)", [a]), other, new Set([idA])).size).to.equal(0);
    const transfer = encodeFunctionData({
      abi: [{ type: "function", name: "transfer", inputs: [{ type: "address" }, { type: "uint256" }], outputs: [] }],
      args: [a.payer, 1n],
    });
    expect(orderRefsOfCalldata(transfer, DOMAIN, new Set([idA])).size).to.equal(0);
    const truncated = calldata("payBatch(bytes)", [a]).slice(0, 200) as Hex;
    expect(orderRefsOfCalldata(truncated, DOMAIN, new Set([idA])).size).to.equal(0);
    expect(orderRefsOfCalldata("0x", DOMAIN, new Set([idA])).size).to.equal(0);
  });

  it("collects across transactions, reading each once; a transaction the node lacks gives no reference", async function () {
    const reads: Hex[] = [];
    const tx1 = `0x${"01".repeat(32)}` as Hex;
    const tx2 = `0x${"02".repeat(32)}` as Hex;
    const refs = await collectOrderRefs(
      [
        { kind: "escrowed", txHash: tx1, paymentId: idA },
        { kind: "confirmed", txHash: tx2, paymentId: idB },
        { kind: "escrowed", txHash: tx2, paymentId: idB },
        { kind: "escrowed", txHash: tx1, paymentId: idA },
      ],
      DOMAIN,
      async (hash) => {
        reads.push(hash);
        return hash === tx1 ? calldata("payBatch(bytes)", [a, b]) : null;
      },
    );
    expect(refs).to.deep.equal(new Map([[idA, a.orderRef]]));
    expect(reads.sort()).to.deep.equal([tx1, tx2]);
  });
});
