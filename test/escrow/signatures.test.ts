import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TypedDataEncoder, concat, getBytes } from "ethers";
import { escrowDomain, ethersTypes, paymentTypes, type Address, type Hex, encodeBatch } from "../../src/protocol";
import { paymentId } from "../../src/protocol";
import { depositNonce } from "../../src/sdk/eip3009";
import { hashPair } from "../../src/protocol";
import { signReceiveAuthorization, randomNonce } from "../helpers/eip3009";
import {
  CUSTOMER_DEPOSIT,
  MAX_UINT128,
  RejectReason,
  buildPayment,
  expectInvariant,
  idOf,
  mint,
  signPayment,
  usd,
  type EscrowFixture,
  type SignedPaymentInput,
} from "./fixtures";
import {
  WALLET_DEPOSIT,
  accountState,
  batchEvents,
  deployPayBatchFixture,
  escrowState,
  expectRejectedBesideValid,
  foreignDomain,
  idsOf,
  signed,
  toCompact,
  toHighS,
} from "./batch.helpers";

/**
 * The untouched original of a rejected item (10.00 from `payer`) is accepted on its own afterwards,
 * in batch 2 (the rejection's batch was 1): the rejection consumed nothing.
 */
async function expectEscrowedAsBatch2(f: EscrowFixture, original: SignedPaymentInput, payer: { address: string }) {
  await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([original])))
    .to.emit(f.escrow, "PaymentEscrowed")
    .withArgs(await idOf(f, original.payment), payer.address, original.payment.merchantId, 2n, usd(10));
}

describe("PaymentEscrow: payment signatures and ids", function () {
  describe("EIP-712 domain and payment ids", function () {
    it("DOMAIN_SEPARATOR() equals the domain computed off-chain with the current chain id", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const address = (await f.escrow.getAddress()) as Address;
      expect(f.chainId).to.equal(31337n);
      expect(await f.escrow.DOMAIN_SEPARATOR()).to.equal(TypedDataEncoder.hashDomain(escrowDomain(f.chainId, address)));
      expect(await f.escrow.DOMAIN_SEPARATOR()).to.not.equal(TypedDataEncoder.hashDomain(escrowDomain(1n, address)));
      const other = (await f.otherEscrow.getAddress()) as Address;
      expect(await f.otherEscrow.DOMAIN_SEPARATOR()).to.equal(
        TypedDataEncoder.hashDomain(escrowDomain(f.chainId, other)),
      );
      expect(await f.otherEscrow.DOMAIN_SEPARATOR()).to.not.equal(await f.escrow.DOMAIN_SEPARATOR());
    });

    it("paymentId() equals src/sdk/paymentId.ts, including at the field limits", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      const domain = escrowDomain(f.chainId, (await f.escrow.getAddress()) as Address);
      const payments = [
        await buildPayment(f, alice),
        await buildPayment(f, alice, { merchantId: 3n, amount: 1n, nonce: 17n, validAfter: 5n }),
        await buildPayment(f, f.stranger, {
          merchantId: (1n << 64n) - 1n,
          amount: MAX_UINT128,
          orderRef: ethers.keccak256("0x1234") as Hex,
          nonce: (1n << 64n) - 1n,
          validAfter: (1n << 48n) - 1n,
          deadline: (1n << 48n) - 1n,
        }),
      ];
      const seen = new Set<string>();
      for (const p of payments) {
        const id = await f.escrow.paymentId(p);
        expect(id).to.equal(paymentId(domain, p));
        expect(id).to.equal(TypedDataEncoder.hash(domain, ethersTypes(paymentTypes), p));
        seen.add(id);
      }
      expect(seen.size).to.equal(payments.length);
    });

    it("the id commits to every field, the chain id and the escrow address", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const p = await buildPayment(f, alice);
      const id = await f.escrow.paymentId(p);
      const variants = [
        { ...p, payer: bob.address as Address },
        { ...p, merchantId: p.merchantId + 1n },
        { ...p, amount: p.amount + 1n },
        { ...p, orderRef: ethers.ZeroHash as Hex },
        { ...p, nonce: p.nonce + 1n },
        { ...p, validAfter: p.validAfter + 1n },
        { ...p, deadline: p.deadline + 1n },
      ];
      for (const v of variants) expect(await f.escrow.paymentId(v)).to.not.equal(id);
      expect(await f.otherEscrow.paymentId(p)).to.not.equal(id);
      expect(paymentId(escrowDomain(1n, (await f.escrow.getAddress()) as Address), p)).to.not.equal(id);
    });
  });

  describe("InvalidSignature rejections (nothing changes for the item)", function () {
    it("rejects a payment signed by someone other than the payer", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob, carol] = f.customers;
      await expectRejectedBesideValid(
        f,
        await signed(f, alice),
        await signed(f, bob, {}, carol),
        RejectReason.InvalidSignature,
      );
    });

    it("rejects a payment signed under chain id 1 on the Hardhat chain", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const payment = await buildPayment(f, bob);
      const signature = await signPayment(f, bob, payment, await foreignDomain(f, { chainId: 1n }));
      await expectRejectedBesideValid(f, await signed(f, alice), { payment, signature }, RejectReason.InvalidSignature);
    });

    it("rejects a payment signed for another escrow address", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const payment = await buildPayment(f, bob);
      const domain = await foreignDomain(f, { verifyingContract: await f.otherEscrow.getAddress() });
      const signature = await signPayment(f, bob, payment, domain);
      await expectRejectedBesideValid(f, await signed(f, alice), { payment, signature }, RejectReason.InvalidSignature);
    });

    it("rejects the replay on a second escrow deployment (same token and registry)", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const item = await signed(f, bob);
      await f.escrow.connect(f.relayer).payBatch(encodeBatch([item]));
      expect(await f.escrow.balanceOf(bob.address)).to.equal(CUSTOMER_DEPOSIT - usd(10));

      // bob and alice also hold balances in the second escrow, so only the signature can fail there.
      const other = { ...f, escrow: f.otherEscrow };
      for (const c of [alice, bob]) {
        await mint(f, c.address, usd(100));
        await f.token.connect(c).approve(await f.otherEscrow.getAddress(), usd(100));
        await f.otherEscrow.connect(c).deposit(usd(100));
      }
      const good = await signed(other, alice);
      const ids = await idsOf(other, [good, item]);
      const tx = await f.otherEscrow.connect(f.relayer).payBatch(encodeBatch([good, item]));
      await expect(tx)
        .to.emit(f.otherEscrow, "PaymentRejected")
        .withArgs(ids[1], bob.address, RejectReason.InvalidSignature);
      const events = await batchEvents(other, tx);
      expect(events.escrowed.map((e) => e.id)).to.deep.equal([ids[0]]);
      expect(await f.otherEscrow.balanceOf(bob.address)).to.equal(usd(100));
      expect(await f.otherEscrow.isNonceAvailable(bob.address, 0n)).to.equal(true);
      await expectInvariant(other);
      await expectInvariant(f);
    });

    for (const [name, mangle] of [
      ["an empty signature", () => "0x"],
      ["a 10-byte signature", (s: Hex) => s.slice(0, 22)],
      ["a 66-byte signature (valid one plus a trailing byte)", (s: Hex) => concat([s, "0x00"])],
      ["a 65-byte signature with v = 29", (s: Hex) => concat([getBytes(s).slice(0, 64), "0x1d"])],
    ] as const) {
      it(`rejects a malformed signature: ${name}`, async function () {
        const f = await loadFixture(deployPayBatchFixture);
        const [alice, bob] = f.customers;
        const bad = await signed(f, bob);
        await expectRejectedBesideValid(
          f,
          await signed(f, alice),
          { payment: bad.payment, signature: mangle(bad.signature) as Hex },
          RejectReason.InvalidSignature,
        );
        // The well-formed original still works: the rejection consumed nothing.
        await expectEscrowedAsBatch2(f, bad, bob);
      });
    }

    it("rejects the high-s twin of a valid signature (s' = n - s, v flipped)", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const valid = await signed(f, bob);
      const twin = toHighS(valid.signature);
      expect(twin).to.not.equal(valid.signature);
      // The twin recovers to bob through raw ecrecover: only the low-s rule stops it.
      const sig = getBytes(twin);
      const raw = await ethers.provider.call({
        to: "0x0000000000000000000000000000000000000001",
        data: ethers.AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "uint8", "bytes32", "bytes32"],
          [await idOf(f, valid.payment), sig[64], sig.slice(0, 32), sig.slice(32, 64)],
        ),
      });
      expect(ethers.getAddress("0x" + raw.slice(-40))).to.equal(bob.address);

      await expectRejectedBesideValid(
        f,
        await signed(f, alice),
        { payment: valid.payment, signature: twin },
        RejectReason.InvalidSignature,
      );
      await expectEscrowedAsBatch2(f, valid, bob);
      await expectInvariant(f);
    });

    it("rejects the 64-byte compact (EIP-2098) form of a valid signature", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const valid = await signed(f, bob);
      const compact = toCompact(valid.signature);
      expect(getBytes(compact)).to.have.length(64);
      // It is the same signature: it recovers to bob off-chain.
      expect(ethers.recoverAddress(await idOf(f, valid.payment), compact)).to.equal(bob.address);
      await expectRejectedBesideValid(
        f,
        await signed(f, alice),
        { payment: valid.payment, signature: compact },
        RejectReason.InvalidSignature,
      );
      await expectEscrowedAsBatch2(f, valid, bob);
    });

    it("rejects a valid signature attached to a different payment (a field changed after signing)", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const original = await signed(f, bob, { amount: usd(10) });
      await expectRejectedBesideValid(
        f,
        await signed(f, alice),
        { payment: { ...original.payment, amount: usd(100) }, signature: original.signature },
        RejectReason.InvalidSignature,
      );
    });
  });

  describe("ERC-1271 contract-wallet payers", function () {
    it("accepts a payment of a MockERC1271Wallet signed by its owner", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      const walletAddress = await f.wallet.getAddress();
      const item = await signed(f, { address: walletAddress }, { amount: usd(25) }, f.walletOwner);
      const good = await signed(f, alice);
      const ids = await idsOf(f, [good, item]);
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch([good, item]));
      await expect(tx)
        .to.emit(f.escrow, "PaymentEscrowed")
        .withArgs(ids[1], walletAddress, item.payment.merchantId, 1n, usd(25));
      const events = await batchEvents(f, tx);
      expect(events.rejected).to.deep.equal([]);
      expect(events.escrowed.map((e) => e.id)).to.deep.equal(ids);
      expect(await f.escrow.balanceOf(walletAddress)).to.equal(WALLET_DEPOSIT - usd(25));
      expect(await f.escrow.nonceWindow(walletAddress)).to.deep.equal([1n, 0n]);
      await expectInvariant(f);
    });

    it("rejects a wallet payment signed by someone other than the wallet's owner", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice] = f.customers;
      const walletAddress = await f.wallet.getAddress();
      await expectRejectedBesideValid(
        f,
        await signed(f, alice),
        await signed(f, { address: walletAddress }, {}, f.stranger),
        RejectReason.InvalidSignature,
      );
      expect(await f.escrow.balanceOf(walletAddress)).to.equal(WALLET_DEPOSIT);
    });

    it("a wallet funded by depositWithAuthorization (ERC-1271 authorization) can pay", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const walletAddress = await f.wallet.getAddress();
      const escrowAddress = await f.escrow.getAddress();
      await mint(f, walletAddress, usd(50));
      const salt = randomNonce() as Hex;
      const auth = {
        from: walletAddress,
        to: escrowAddress,
        value: usd(50),
        validAfter: 0n,
        validBefore: ethers.MaxUint256,
        nonce: depositNonce(walletAddress as Hex, usd(50), salt),
      };
      const { signature } = await signReceiveAuthorization(f.walletOwner, f.token, auth);
      await expect(
        f.escrow
          .connect(f.stranger)
          .depositWithAuthorization(walletAddress, usd(50), 0n, ethers.MaxUint256, salt, signature),
      )
        .to.emit(f.escrow, "Deposited")
        .withArgs(walletAddress, f.stranger.address, usd(50));
      expect(await f.escrow.balanceOf(walletAddress)).to.equal(WALLET_DEPOSIT + usd(50));

      const item = await signed(f, { address: walletAddress }, { amount: WALLET_DEPOSIT + usd(50) }, f.walletOwner);
      await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([item])))
        .to.emit(f.escrow, "PaymentEscrowed")
        .withArgs(await idOf(f, item.payment), walletAddress, item.payment.merchantId, 1n, WALLET_DEPOSIT + usd(50));
      expect(await f.escrow.balanceOf(walletAddress)).to.equal(0n);
      await expectInvariant(f);
    });

    it("the GasBurner1271Wallet mock never answers: it runs out of whatever gas it gets", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      await expect(f.burner.isValidSignature.staticCall(ethers.ZeroHash, "0x", { gasLimit: 3_000_000 })).to.be.reverted;
    });

    it("a gas-burning ERC-1271 payer is rejected as InvalidSignature; the rest of the batch is escrowed", async function () {
      const f = await loadFixture(deployPayBatchFixture);
      const [alice, bob] = f.customers;
      const burnerAddress = await f.burner.getAddress();
      const items = [
        await signed(f, alice, { amount: usd(10) }),
        await signed(f, { address: burnerAddress }, { amount: usd(20) }, f.walletOwner),
        await signed(f, bob, { amount: usd(30) }),
      ];
      const ids = await idsOf(f, items);
      const burnerBefore = await accountState(f, burnerAddress);
      const before = await escrowState(f);

      // A fixed, modest gas limit: the wallet can only burn its bounded budget, not the transaction.
      const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items), { gasLimit: 1_000_000 });
      const events = await batchEvents(f, tx);
      expect(events.receipt.status).to.equal(1);
      // The wallet burnt its whole 100,000-gas budget (BoundedSignature.ERC1271_GAS) and no more: had it
      // been given all gas, it would have burnt 63/64 of the 1,000,000 and the batch could not finish.
      // (No tighter upper bound: coverage instrumentation inflates the rest of the batch's gas.)
      expect(events.receipt.gasUsed).to.be.greaterThan(100_000n);
      expect(events.receipt.gasUsed).to.be.lessThan(1_000_000n);
      await expect(tx)
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(ids[1], burnerAddress, RejectReason.InvalidSignature);
      expect(events.rejected).to.deep.equal([
        { id: ids[1], payer: burnerAddress, reason: BigInt(RejectReason.InvalidSignature) },
      ]);
      expect(events.escrowed.map((e) => e.id)).to.deep.equal([ids[0], ids[2]]);
      expect(await f.escrow.batchRoot(1n)).to.equal(hashPair(ids[0], ids[2]));
      expect(await accountState(f, burnerAddress)).to.deep.equal(burnerBefore);
      expect((await escrowState(f)).liabilities.held).to.equal(before.liabilities.held + usd(40));
      await expectInvariant(f);
    });
  });
});
