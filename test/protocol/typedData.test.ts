import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TypedDataEncoder, type TypedDataField } from "ethers";
import { domainSeparator, hashStruct, hashTypedData } from "viem";
import fc from "fast-check";
import {
  ESCROW_DOMAIN_NAME,
  ESCROW_DOMAIN_VERSION,
  TYPEHASHES,
  TYPE_STRINGS,
  confirmationTypes,
  disputeTypes,
  escalationDigest,
  escalationTypes,
  escrowDomain,
  escrowDomainSeparator,
  holdExtensionDigest,
  holdExtensionTypes,
  paymentId,
  paymentTypes,
  refundRejectionDigest,
  refundRejectionTypes,
  refundRequestDigest,
  refundRequestTypes,
  refundTypes,
  withdrawalTypes,
  type Address,
  type EscrowDomain,
  type Hex,
  type Payment,
  type Withdrawal,
} from "../../src/protocol";
import { EscrowTypeHashesHarness__factory, type EscrowTypeHashesHarness } from "../../typechain-types";

interface TypedDataFixture {
  harness: EscrowTypeHashesHarness;
  domain: EscrowDomain;
  chainId: bigint;
}

async function deployTypedDataFixture(): Promise<TypedDataFixture> {
  const [deployer] = await ethers.getSigners();
  const harness = await new EscrowTypeHashesHarness__factory(deployer).deploy();
  await harness.waitForDeployment();
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return { harness, chainId, domain: escrowDomain(chainId, (await harness.getAddress()) as Address) };
}

/** ethers wants mutable field arrays; the SDK's types are `as const`. */
function mutable(types: Record<string, readonly { name: string; type: string }[]>): Record<string, TypedDataField[]> {
  return Object.fromEntries(Object.entries(types).map(([k, v]) => [k, v.map((f) => ({ ...f }))]));
}

const typeHash = (types: Record<string, readonly { name: string; type: string }[]>, primary: string): string =>
  ethers.keccak256(ethers.toUtf8Bytes(TypedDataEncoder.from(mutable(types)).encodeType(primary)));

const UINT48_MAX = (1n << 48n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b) as Hex);
const address = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => ethers.getAddress(ethers.hexlify(b)) as Address);
const uint = (bits: bigint) => fc.bigInt({ min: 0n, max: (1n << bits) - 1n });

const paymentArb: fc.Arbitrary<Payment> = fc.record({
  payer: address,
  merchantId: uint(64n),
  amount: uint(256n),
  orderRef: hex32,
  nonce: uint(64n),
  validAfter: uint(48n),
  deadline: uint(48n),
  hold: uint(32n),
});

const withdrawalArb: fc.Arbitrary<Withdrawal> = fc.record({
  payer: address,
  to: address,
  amount: uint(256n),
  nonce: uint(64n),
  deadline: uint(48n),
});

const FUZZ_RUNS = 25;

/** viem types uint48 fields as numbers (uint48 fits a double exactly). */
const viemPayment = (p: Payment) => ({
  ...p,
  validAfter: Number(p.validAfter),
  deadline: Number(p.deadline),
  hold: Number(p.hold),
});

describe("protocol: EIP-712 typed data (src/protocol/typedData.ts) against EscrowTypeHashes.sol", function () {
  describe("type hashes", function () {
    it("Payment", async function () {
      const { harness } = await loadFixture(deployTypedDataFixture);
      expect(TypedDataEncoder.from(mutable(paymentTypes)).encodeType("Payment")).to.equal(
        "Payment(address payer,uint64 merchantId,uint256 amount,bytes32 orderRef,uint64 nonce,uint48 validAfter,uint48 deadline,uint32 hold)",
      );
      expect(await harness.PAYMENT_TYPEHASH()).to.equal(typeHash(paymentTypes, "Payment"));
    });

    it("Withdrawal", async function () {
      const { harness } = await loadFixture(deployTypedDataFixture);
      expect(await harness.WITHDRAWAL_TYPEHASH()).to.equal(typeHash(withdrawalTypes, "Withdrawal"));
      expect(await harness.WITHDRAWAL_TYPEHASH()).to.equal(
        ethers.id("Withdrawal(address payer,address to,uint256 amount,uint64 nonce,uint48 deadline)"),
      );
    });

    it("TYPE_STRINGS and TYPEHASHES (computed once) are the contract's", async function () {
      const { harness } = await loadFixture(deployTypedDataFixture);
      const types = { paymentTypes, withdrawalTypes, confirmationTypes, refundTypes, disputeTypes };
      for (const [primary, fields] of Object.values(types).map((t) => Object.entries(t)[0])) {
        const name = primary as keyof typeof TYPE_STRINGS;
        expect(TYPE_STRINGS[name]).to.equal(TypedDataEncoder.from(mutable({ [name]: fields })).encodeType(name));
        expect(TYPEHASHES[name]).to.equal(ethers.id(TYPE_STRINGS[name]));
      }
      expect([
        await harness.PAYMENT_TYPEHASH(),
        await harness.WITHDRAWAL_TYPEHASH(),
        await harness.CONFIRMATION_TYPEHASH(),
        await harness.REFUND_TYPEHASH(),
        await harness.DISPUTE_TYPEHASH(),
      ]).to.deep.equal([
        TYPEHASHES.Payment,
        TYPEHASHES.Withdrawal,
        TYPEHASHES.Confirmation,
        TYPEHASHES.Refund,
        TYPEHASHES.Dispute,
      ]);
      expect(TYPEHASHES.EIP712Domain).to.equal(
        ethers.id("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
      );
    });

    it("Confirmation, Refund and Dispute", async function () {
      const { harness } = await loadFixture(deployTypedDataFixture);
      expect(await harness.CONFIRMATION_TYPEHASH()).to.equal(typeHash(confirmationTypes, "Confirmation"));
      expect(await harness.REFUND_TYPEHASH()).to.equal(typeHash(refundTypes, "Refund"));
      expect(await harness.DISPUTE_TYPEHASH()).to.equal(typeHash(disputeTypes, "Dispute"));
      // Confirmation and Dispute have the same fields: only the type name tells them apart.
      expect(await harness.CONFIRMATION_TYPEHASH()).to.not.equal(await harness.DISPUTE_TYPEHASH());
    });
  });

  describe("order-timer type hashes", function () {
    it("HoldExtension, RefundRequest, RefundRejection and Escalation are the contract's", async function () {
      const { harness } = await loadFixture(deployTypedDataFixture);
      const expected = {
        HoldExtension: "HoldExtension(bytes32 paymentId,uint32 extension,uint8 ordinal,uint48 deadline)",
        RefundRequest: "RefundRequest(bytes32 paymentId,uint256 amount,uint8 reason,uint8 ordinal,uint48 deadline)",
        RefundRejection: "RefundRejection(bytes32 paymentId,uint8 ordinal,uint48 deadline)",
        Escalation: "Escalation(bytes32 paymentId,uint8 ordinal,uint48 deadline)",
      } as const;
      const types = { holdExtensionTypes, refundRequestTypes, refundRejectionTypes, escalationTypes };
      for (const [primary, fields] of Object.values(types).map((t) => Object.entries(t)[0])) {
        const name = primary as keyof typeof expected;
        expect(TypedDataEncoder.from(mutable({ [name]: fields })).encodeType(name)).to.equal(expected[name]);
        expect(TYPE_STRINGS[name]).to.equal(expected[name]);
        expect(TYPEHASHES[name]).to.equal(ethers.id(expected[name]));
      }
      expect([
        await harness.HOLD_EXTENSION_TYPEHASH(),
        await harness.REFUND_REQUEST_TYPEHASH(),
        await harness.REFUND_REJECTION_TYPEHASH(),
        await harness.ESCALATION_TYPEHASH(),
      ]).to.deep.equal([
        TYPEHASHES.HoldExtension,
        TYPEHASHES.RefundRequest,
        TYPEHASHES.RefundRejection,
        TYPEHASHES.Escalation,
      ]);
      // RefundRejection and Escalation have the same fields: only the type name tells them apart.
      expect(TYPEHASHES.RefundRejection).to.not.equal(TYPEHASHES.Escalation);
    });
  });

  describe("domain", function () {
    it("escrowDomain names the escrow's EIP-712 domain and hashes like the contract's", async function () {
      const { harness, domain, chainId } = await loadFixture(deployTypedDataFixture);
      expect(domain).to.deep.equal({
        name: "StablePay Escrow",
        version: "1",
        chainId,
        verifyingContract: await harness.getAddress(),
      });
      expect([ESCROW_DOMAIN_NAME, ESCROW_DOMAIN_VERSION]).to.deep.equal(["StablePay Escrow", "1"]);
      const [, name, version, eip712ChainId, verifyingContract] = await harness.eip712Domain();
      expect([name, version, eip712ChainId, verifyingContract]).to.deep.equal([
        domain.name,
        domain.version,
        domain.chainId,
        domain.verifyingContract,
      ]);
      expect(await harness.domainSeparator()).to.equal(TypedDataEncoder.hashDomain(domain));
      expect(await harness.domainSeparator()).to.equal(domainSeparator({ domain }));
      expect(ethers.hexlify(escrowDomainSeparator(chainId, domain.verifyingContract))).to.equal(
        await harness.domainSeparator(),
      );
    });
  });

  describe("struct hashes and digests", function () {
    it("Payment: struct hash and id (src/protocol/paymentId.ts) match at the field limits", async function () {
      const { harness, domain } = await loadFixture(deployTypedDataFixture);
      const edge: Payment[] = [
        {
          payer: ethers.ZeroAddress as Address,
          merchantId: 0n,
          amount: 0n,
          orderRef: ethers.ZeroHash as Hex,
          nonce: 0n,
          validAfter: 0n,
          deadline: 0n,
          hold: 0n,
        },
        {
          payer: "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF",
          merchantId: UINT64_MAX,
          amount: ethers.MaxUint256,
          orderRef: ("0x" + "ff".repeat(32)) as Hex,
          nonce: UINT64_MAX,
          validAfter: UINT48_MAX,
          deadline: UINT48_MAX,
          hold: (1n << 32n) - 1n,
        },
      ];
      for (const p of edge) {
        expect(await harness.paymentHash(p)).to.equal(TypedDataEncoder.hashStruct("Payment", mutable(paymentTypes), p));
        expect(await harness.paymentDigest(p)).to.equal(paymentId(domain, p));
      }
    });

    it("Payment: random payments hash identically on and off chain (ethers and viem)", async function () {
      const { harness, domain } = await loadFixture(deployTypedDataFixture);
      await fc.assert(
        fc.asyncProperty(paymentArb, async (p) => {
          const structHash = TypedDataEncoder.hashStruct("Payment", mutable(paymentTypes), p);
          expect(await harness.paymentHash(p)).to.equal(structHash);
          expect(hashStruct({ data: viemPayment(p), primaryType: "Payment", types: paymentTypes })).to.equal(
            structHash,
          );
          const id = await harness.paymentDigest(p);
          expect(id).to.equal(paymentId(domain, p));
          expect(id).to.equal(TypedDataEncoder.hash(domain, mutable(paymentTypes), p));
        }),
        { numRuns: FUZZ_RUNS },
      );
    });

    it("Withdrawal: random withdrawals hash identically on and off chain", async function () {
      const { harness, domain } = await loadFixture(deployTypedDataFixture);
      await fc.assert(
        fc.asyncProperty(withdrawalArb, async (w) => {
          expect(await harness.withdrawalHash(w)).to.equal(
            TypedDataEncoder.hashStruct("Withdrawal", mutable(withdrawalTypes), w),
          );
          expect(await harness.withdrawalDigest(w)).to.equal(
            hashTypedData({
              domain,
              types: withdrawalTypes,
              primaryType: "Withdrawal",
              message: { ...w, deadline: Number(w.deadline) },
            }),
          );
        }),
        { numRuns: FUZZ_RUNS },
      );
    });

    it("Confirmation, Refund and Dispute: random messages hash identically on and off chain", async function () {
      const { harness, domain } = await loadFixture(deployTypedDataFixture);
      await fc.assert(
        fc.asyncProperty(hex32, uint(256n), uint(48n), async (id, totalRefund, deadline) => {
          expect(await harness.confirmationHash(id, deadline)).to.equal(
            TypedDataEncoder.hashStruct("Confirmation", mutable(confirmationTypes), { paymentId: id, deadline }),
          );
          expect(await harness.confirmationDigest(id, deadline)).to.equal(
            hashTypedData({
              domain,
              types: confirmationTypes,
              primaryType: "Confirmation",
              message: { paymentId: id, deadline: Number(deadline) },
            }),
          );
          expect(await harness.refundHash(id, totalRefund, deadline)).to.equal(
            TypedDataEncoder.hashStruct("Refund", mutable(refundTypes), { paymentId: id, totalRefund, deadline }),
          );
          expect(await harness.refundDigest(id, totalRefund, deadline)).to.equal(
            hashTypedData({
              domain,
              types: refundTypes,
              primaryType: "Refund",
              message: { paymentId: id, totalRefund, deadline: Number(deadline) },
            }),
          );
          expect(await harness.disputeHash(id, deadline)).to.equal(
            TypedDataEncoder.hashStruct("Dispute", mutable(disputeTypes), { paymentId: id, deadline }),
          );
          expect(await harness.disputeDigest(id, deadline)).to.equal(
            hashTypedData({
              domain,
              types: disputeTypes,
              primaryType: "Dispute",
              message: { paymentId: id, deadline: Number(deadline) },
            }),
          );
        }),
        { numRuns: FUZZ_RUNS },
      );
    });

    it("order-timer actions: random messages hash identically on and off chain (struct hash and digest helpers)", async function () {
      const { harness, domain } = await loadFixture(deployTypedDataFixture);
      await fc.assert(
        fc.asyncProperty(
          hex32,
          uint(32n),
          uint(256n),
          uint(8n),
          uint(8n),
          uint(48n),
          async (id, extension, amount, reason, ordinal, deadline) => {
            const extensionMessage = { paymentId: id, extension, ordinal, deadline };
            expect(await harness.holdExtensionHash(id, extension, ordinal, deadline)).to.equal(
              TypedDataEncoder.hashStruct("HoldExtension", mutable(holdExtensionTypes), extensionMessage),
            );
            expect(await harness.holdExtensionDigest(id, extension, ordinal, deadline)).to.equal(
              holdExtensionDigest(domain, extensionMessage),
            );
            const requestMessage = { paymentId: id, amount, reason, ordinal, deadline };
            expect(await harness.refundRequestHash(id, amount, reason, ordinal, deadline)).to.equal(
              TypedDataEncoder.hashStruct("RefundRequest", mutable(refundRequestTypes), requestMessage),
            );
            expect(await harness.refundRequestDigest(id, amount, reason, ordinal, deadline)).to.equal(
              refundRequestDigest(domain, requestMessage),
            );
            const answer = { paymentId: id, ordinal, deadline };
            expect(await harness.refundRejectionHash(id, ordinal, deadline)).to.equal(
              TypedDataEncoder.hashStruct("RefundRejection", mutable(refundRejectionTypes), answer),
            );
            expect(await harness.refundRejectionDigest(id, ordinal, deadline)).to.equal(
              refundRejectionDigest(domain, answer),
            );
            expect(await harness.escalationHash(id, ordinal, deadline)).to.equal(
              TypedDataEncoder.hashStruct("Escalation", mutable(escalationTypes), answer),
            );
            expect(await harness.escalationDigest(id, ordinal, deadline)).to.equal(escalationDigest(domain, answer));
            expect(escalationDigest(domain, answer)).to.equal(
              TypedDataEncoder.hash(domain, mutable(escalationTypes), answer),
            );
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    });

    it("a signature made with the protocol's types recovers to the signer from the on-chain digest", async function () {
      const { harness, domain } = await loadFixture(deployTypedDataFixture);
      const [, signer] = await ethers.getSigners();
      const p: Payment = {
        payer: signer.address as Address,
        merchantId: 7n,
        amount: 123_456n,
        orderRef: ethers.id("order-1") as Hex,
        nonce: 3n,
        validAfter: 0n,
        deadline: 2_000_000_000n,
        hold: 3n * 86_400n,
      };
      const signature = await signer.signTypedData(domain, mutable(paymentTypes), p);
      expect(ethers.recoverAddress(await harness.paymentDigest(p), signature)).to.equal(signer.address);
    });
  });
});
