/**
 * The protocol's native EIP-712 digests (src/protocol/digest.ts) against viem's hashTypedData and
 * the deployed escrow, and paymentId, which uses them under the escrow's domain.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import { hashTypedData } from "viem";
import {
  EscrowDigester,
  bytesToHex as toHex,
  confirmationTypes,
  disputeTypes,
  escrowDomain,
  paymentId,
  paymentMessage,
  paymentTypes,
  refundTypes,
  withdrawalMessage,
  withdrawalTypes,
  type Address,
  type Hex,
  type Payment,
} from "../../src/protocol";
import { deployEscrowFixture } from "../escrow/fixtures";

const uintBelow = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const hexBytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map((b) => toHex(b));
const arbitraryPayment: fc.Arbitrary<Payment> = fc.record({
  payer: hexBytes(20) as fc.Arbitrary<Address>,
  merchantId: uintBelow(64),
  amount: uintBelow(256),
  orderRef: hexBytes(32) as fc.Arbitrary<Hex>,
  nonce: uintBelow(64),
  validAfter: uintBelow(48),
  deadline: uintBelow(48),
  hold: uintBelow(32),
});
/** Every field at an edge of its range. */
const EDGE: Payment = {
  payer: `0x${"ff".repeat(20)}`,
  merchantId: (1n << 64n) - 1n,
  amount: (1n << 256n) - 1n,
  orderRef: `0x${"00".repeat(32)}`,
  nonce: 0n,
  validAfter: (1n << 48n) - 1n,
  deadline: 0n,
  hold: (1n << 32n) - 1n,
};

describe("EscrowDigester", function () {
  const chainId = 31337n;
  const escrow = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
  const domain = escrowDomain(chainId, escrow);
  const digester = new EscrowDigester(chainId, escrow);

  it("payment ids equal viem's hashTypedData, and paymentId gives the same, for arbitrary payments (edge values included)", function () {
    fc.assert(
      fc.property(arbitraryPayment, (payment) => {
        const reference = hashTypedData({
          domain,
          types: paymentTypes,
          primaryType: "Payment",
          message: paymentMessage(payment),
        });
        expect(toHex(digester.payment(payment))).to.equal(reference);
        expect(paymentId(domain, payment)).to.equal(reference);
      }),
      {
        numRuns: 300,
        examples: [[EDGE]],
      },
    );
  });

  it("withdrawal, confirmation, refund and dispute digests equal viem's hashTypedData", function () {
    fc.assert(
      fc.property(
        hexBytes(20),
        hexBytes(20),
        uintBelow(256),
        uintBelow(64),
        uintBelow(48),
        hexBytes(32),
        (payer, to, amount, nonce, deadline, id) => {
          const withdrawal = { payer: payer as Address, to: to as Address, amount, nonce, deadline };
          expect(toHex(digester.withdrawal(withdrawal))).to.equal(
            hashTypedData({
              domain,
              types: withdrawalTypes,
              primaryType: "Withdrawal",
              message: withdrawalMessage(withdrawal),
            }),
          );
          const d = Number(deadline);
          expect(toHex(digester.confirmation(id as Hex, deadline))).to.equal(
            hashTypedData({
              domain,
              types: confirmationTypes,
              primaryType: "Confirmation",
              message: { paymentId: id as Hex, deadline: d },
            }),
          );
          expect(toHex(digester.dispute(id as Hex, deadline))).to.equal(
            hashTypedData({
              domain,
              types: disputeTypes,
              primaryType: "Dispute",
              message: { paymentId: id as Hex, deadline: d },
            }),
          );
          expect(toHex(digester.refund(id as Hex, amount, deadline))).to.equal(
            hashTypedData({
              domain,
              types: refundTypes,
              primaryType: "Refund",
              message: { paymentId: id as Hex, totalRefund: amount, deadline: d },
            }),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it("paymentId under a domain of another name or version is viem's digest of that domain, not the escrow's", function () {
    const payment = { ...EDGE, nonce: 1n };
    for (const other of [
      { ...domain, name: "Another Escrow" },
      { ...domain, version: "2" },
    ]) {
      const id = paymentId(other, payment);
      expect(id).to.equal(
        hashTypedData({ domain: other, types: paymentTypes, primaryType: "Payment", message: paymentMessage(payment) }),
      );
      expect(id).to.not.equal(paymentId(domain, payment));
    }
  });

  it("matches the deployed escrow: DOMAIN_SEPARATOR and paymentId", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const address = (await f.escrow.getAddress()).toLowerCase() as Address;
    const onChain = new EscrowDigester(f.chainId, address);
    expect(toHex(onChain.domainSeparator)).to.equal(await f.escrow.DOMAIN_SEPARATOR());
    const payment: Payment = {
      payer: f.customers[0].address as Address,
      merchantId: 3n,
      amount: 123_456_789n,
      orderRef: ethers.id("order") as Hex,
      nonce: 17n,
      validAfter: 5n,
      deadline: 9_999_999_999n,
      hold: 4_321n,
    };
    expect(toHex(onChain.payment(payment))).to.equal(await f.escrow.paymentId(payment));
    expect(paymentId(escrowDomain(f.chainId, address), payment)).to.equal(await f.escrow.paymentId(payment));
  });
});
