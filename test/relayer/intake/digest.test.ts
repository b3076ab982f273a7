import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import secp256k1 from "secp256k1";
import { hashTypedData } from "viem";
import { EscrowDigester } from "../../../src/relayer/intake/digest";
import { recoverAddress } from "../../../src/relayer/intake/signature";
import {
  SECP256K1_N,
  bytesToHex as toHex,
  confirmationTypes,
  disputeTypes,
  escrowDomain,
  paymentId,
  refundTypes,
  withdrawalMessage,
  withdrawalTypes,
  type Address,
  type Hex,
  type Payment,
} from "../../../src/protocol";
import { deployEscrowFixture } from "../../escrow/fixtures";

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

describe("relayer intake: EIP-712 digests and signature recovery", function () {
  describe("EscrowDigester", function () {
    const chainId = 31337n;
    const escrow = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
    const domain = escrowDomain(chainId, escrow);
    const digester = new EscrowDigester(chainId, escrow);

    it("payment ids equal src/sdk/paymentId.ts for arbitrary payments (edge values included)", function () {
      fc.assert(
        fc.property(arbitraryPayment, (payment) => {
          expect(toHex(digester.payment(payment))).to.equal(paymentId(domain, payment));
        }),
        {
          numRuns: 300,
          examples: [
            [
              {
                payer: `0x${"ff".repeat(20)}`,
                merchantId: (1n << 64n) - 1n,
                amount: (1n << 256n) - 1n,
                orderRef: `0x${"00".repeat(32)}`,
                nonce: 0n,
                validAfter: (1n << 48n) - 1n,
                deadline: 0n,
                hold: (1n << 32n) - 1n,
              },
            ],
          ],
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
    });
  });

  describe("recoverAddress (libsecp256k1)", function () {
    const wallet = new ethers.Wallet(ethers.id("relayer digest test key"));
    const digest = ethers.getBytes(ethers.id("a digest"));
    const sign = () => ethers.getBytes(wallet.signingKey.sign(digest).serialized);

    it("recovers the signer exactly as ethers does, for many keys and digests", function () {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (key, message) => {
            fc.pre(BigInt(toHex(key)) > 0n && BigInt(toHex(key)) < SECP256K1_N);
            const signer = new ethers.SigningKey(key);
            const signature = signer.sign(message).serialized;
            expect(recoverAddress(message, ethers.getBytes(signature))).to.equal(
              ethers.computeAddress(signer.publicKey).toLowerCase(),
            );
          },
        ),
        { numRuns: 100 },
      );
    });

    it("refuses what OpenZeppelin's ECDSA refuses: high s, v not 27/28, wrong length, r or s zero, r >= n", function () {
      const good = sign();
      expect(recoverAddress(digest, good)).to.equal(wallet.address.toLowerCase());
      const highS = Uint8Array.from(good);
      highS.set(ethers.getBytes(ethers.toBeHex(SECP256K1_N - BigInt(toHex(good.slice(32, 64))), 32)), 32);
      highS[64] = good[64] === 27 ? 28 : 27;
      // The malleable twin recovers the same key in libsecp256k1 itself...
      const twinKey = secp256k1.ecdsaRecover(highS.slice(0, 64), highS[64] - 27, digest, false);
      expect(ethers.computeAddress(toHex(twinKey))).to.equal(wallet.address);
      // ...but it is refused here, as on chain.
      expect(recoverAddress(digest, highS)).to.equal(null);
      for (const v of [0, 1, 29, 255]) {
        const badV = Uint8Array.from(good);
        badV[64] = v;
        expect(recoverAddress(digest, badV), `v=${v}`).to.equal(null);
      }
      expect(recoverAddress(digest, good.slice(0, 64))).to.equal(null);
      expect(recoverAddress(digest, Uint8Array.from([...good, 0]))).to.equal(null);
      const zeroR = Uint8Array.from(good);
      zeroR.fill(0, 0, 32);
      expect(recoverAddress(digest, zeroR)).to.equal(null);
      const zeroS = Uint8Array.from(good);
      zeroS.fill(0, 32, 64);
      expect(recoverAddress(digest, zeroS)).to.equal(null);
      const bigR = Uint8Array.from(good);
      bigR.fill(0xff, 0, 32);
      expect(recoverAddress(digest, bigR)).to.equal(null);
    });
  });
});
