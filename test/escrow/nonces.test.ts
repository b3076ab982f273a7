import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Payment } from "../../src/protocol";
import {
  buildPayment,
  CUSTOMER_DEPOSIT,
  idOf,
  RejectReason,
  signPayment,
  signWithdrawal,
  submitBatch,
  usd,
} from "./fixtures";
import {
  buildWithdrawal,
  deployFundsFixture,
  expectLedger,
  fundsState,
  MAX_UINT64,
  NONCE_WINDOW,
  type FundsFixture,
} from "./funds.helpers";
import { encodeBatch } from "../../src/protocol";

const INITIAL_TOTAL = 4n * CUSTOMER_DEPOSIT;
const FULL_BITMAP = MAX_UINT64;

async function cancel(f: FundsFixture, account: HardhatEthersSigner, nonce: bigint) {
  await expect(f.escrow.connect(account).cancelNonce(nonce))
    .to.emit(f.escrow, "NonceCancelled")
    .withArgs(account.address, nonce);
}

async function window(f: FundsFixture, account: HardhatEthersSigner): Promise<[bigint, bigint]> {
  const [base, bitmap] = await f.escrow.nonceWindow(account.address);
  return [base, bitmap];
}

async function signed(f: FundsFixture, payer: HardhatEthersSigner, overrides: Partial<Payment>) {
  const payment = await buildPayment(f, payer, overrides);
  return { payment, signature: await signPayment(f, payer, payment) };
}

describe("PaymentEscrow nonces", function () {
  describe("cancelNonce", function () {
    it("emits NonceCancelled(account, nonce) and marks the nonce used (window slides past it)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      await cancel(f, alice, 0n);
      expect(await window(f, alice)).to.deep.equal([1n, 0n]);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(false);
      expect(await f.escrow.isNonceAvailable(alice.address, 1n)).to.equal(true);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("needs no balance and moves no funds; other accounts' windows are untouched", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const before = await fundsState(f, [alice.address]);
      await cancel(f, f.stranger, 7n);
      expect(await window(f, f.stranger)).to.deep.equal([0n, 1n << 7n]);
      expect(await fundsState(f, [alice.address])).to.deep.equal(before);
      expect(await f.escrow.balanceOf(f.stranger.address)).to.equal(0n);
      await expectLedger(f, INITIAL_TOTAL);
    });

    for (const [label, setup, nonce] of [
      ["already cancelled", [4n], 4n],
      ["below the base", [0n, 1n], 0n],
      ["at base + 64", [], 64n],
      ["2^64 - 1", [], MAX_UINT64],
    ] as const) {
      it(`reverts NonceUnavailable(account, nonce) for a nonce ${label}, window unchanged`, async function () {
        const f = await loadFixture(deployFundsFixture);
        const [alice] = f.customers;
        for (const n of setup) await cancel(f, alice, n);
        const before = await window(f, alice);
        await expect(f.escrow.connect(alice).cancelNonce(nonce))
          .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
          .withArgs(alice.address, nonce);
        expect(await window(f, alice)).to.deep.equal(before);
      });
    }

    it("a payment signed with a cancelled nonce is rejected by payBatch with NonceUnavailable", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const item = await signed(f, alice, { nonce: 2n });
      await cancel(f, alice, 2n);
      const id = await idOf(f, item.payment);
      const countBefore = await f.escrow.batchCount();

      const tx = f.escrow.connect(f.relayer).payBatch(encodeBatch([item]));
      await expect(tx).to.emit(f.escrow, "PaymentRejected").withArgs(id, alice.address, RejectReason.NonceUnavailable);
      await expect(tx).not.to.emit(f.escrow, "BatchEscrowed");
      expect(await f.escrow.batchCount()).to.equal(countBefore);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await window(f, alice)).to.deep.equal([0n, 1n << 2n]);
      await expectLedger(f, INITIAL_TOTAL);
    });

    it("a withdrawal signed with a cancelled nonce reverts NonceUnavailable(payer, nonce)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const w = await buildWithdrawal(alice, { nonce: 9n });
      const sig = await signWithdrawal(f, alice, w);
      await cancel(f, alice, 9n);
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w, sig))
        .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
        .withArgs(alice.address, 9n);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT);
      await expectLedger(f, INITIAL_TOTAL);
    });
  });

  describe("window semantics", function () {
    it("accepts out-of-order nonces and slides the base over every used nonce (exact base/bitmap)", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const steps: [nonce: bigint, window: [base: bigint, bitmap: bigint]][] = [
        [5n, [0n, 0b100000n]],
        [2n, [0n, 0b100100n]],
        // 0 used: base slides to 1, bits of 2 and 5 now at offsets 1 and 4.
        [0n, [1n, 0b10010n]],
        // 1 and 2 used: base slides to 3, 5 at offset 2.
        [1n, [3n, 0b100n]],
        [4n, [3n, 0b110n]],
        [3n, [6n, 0n]],
      ];
      for (const [nonce, expected] of steps) {
        await cancel(f, alice, nonce);
        expect(await window(f, alice), `after nonce ${nonce}`).to.deep.equal(expected);
      }
      for (const n of [0n, 1n, 2n, 3n, 4n, 5n])
        expect(await f.escrow.isNonceAvailable(alice.address, n)).to.equal(false);
      expect(await f.escrow.isNonceAvailable(alice.address, 6n)).to.equal(true);
    });

    it("nonce base + 63 is available, base + 64 is not; the upper edge moves with the base", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      expect(await f.escrow.isNonceAvailable(alice.address, NONCE_WINDOW - 1n)).to.equal(true);
      expect(await f.escrow.isNonceAvailable(alice.address, NONCE_WINDOW)).to.equal(false);

      await cancel(f, alice, 63n);
      expect(await window(f, alice)).to.deep.equal([0n, 1n << 63n]);
      await cancel(f, alice, 0n);
      expect(await window(f, alice)).to.deep.equal([1n, 1n << 62n]);
      expect(await f.escrow.isNonceAvailable(alice.address, 63n)).to.equal(false);
      expect(await f.escrow.isNonceAvailable(alice.address, 64n)).to.equal(true);
      expect(await f.escrow.isNonceAvailable(alice.address, 65n)).to.equal(false);
      await cancel(f, alice, 64n);
      expect(await window(f, alice)).to.deep.equal([1n, (1n << 62n) | (1n << 63n)]);
    });

    it("with every nonce but the base used the bitmap is full; using the base slides the window by 64", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      for (let n = 1n; n < NONCE_WINDOW; n++) await f.escrow.connect(alice).cancelNonce(n);
      expect(await window(f, alice)).to.deep.equal([0n, FULL_BITMAP - 1n]);
      expect(await f.escrow.isNonceAvailable(alice.address, 0n)).to.equal(true);
      for (const n of [1n, 63n, 64n]) expect(await f.escrow.isNonceAvailable(alice.address, n)).to.equal(false);

      await cancel(f, alice, 0n);
      expect(await window(f, alice)).to.deep.equal([64n, 0n]);
      expect(await f.escrow.isNonceAvailable(alice.address, 63n)).to.equal(false);
      expect(await f.escrow.isNonceAvailable(alice.address, 64n)).to.equal(true);
      expect(await f.escrow.isNonceAvailable(alice.address, 127n)).to.equal(true);
      expect(await f.escrow.isNonceAvailable(alice.address, 128n)).to.equal(false);
    });

    it("payBatch accepts out-of-order nonces within the window and rejects base + 64 and a duplicate", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const items = [
        await signed(f, alice, { nonce: 10n, amount: usd(1) }),
        await signed(f, alice, { nonce: 3n, amount: usd(2) }),
        await signed(f, alice, { nonce: 63n, amount: usd(4) }),
        await signed(f, alice, { nonce: 64n, amount: usd(8) }),
        await signed(f, alice, { nonce: 3n, amount: usd(16) }),
      ];
      const batch = await submitBatch(f, items, [true, true, true, false, false]);
      await expect(batch.tx)
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(await idOf(f, items[3].payment), alice.address, RejectReason.NonceUnavailable);
      await expect(batch.tx)
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(await idOf(f, items[4].payment), alice.address, RejectReason.NonceUnavailable);
      await expect(batch.tx)
        .to.emit(f.escrow, "BatchEscrowed")
        .withArgs(batch.batchId, batch.tree.root, 3n, usd(7), f.relayer.address);
      expect(await window(f, alice)).to.deep.equal([0n, (1n << 3n) | (1n << 10n) | (1n << 63n)]);
      expect(await f.escrow.balanceOf(alice.address)).to.equal(CUSTOMER_DEPOSIT - usd(7));
      await expectLedger(f, INITIAL_TOTAL - usd(7), usd(7));
    });

    it("payments and withdrawals share one nonce space", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice] = f.customers;
      const w = await buildWithdrawal(alice, { nonce: 0n, amount: usd(5) });
      await f.escrow.connect(f.relayer).withdrawWithSignature(w, await signWithdrawal(f, alice, w));
      const item = await signed(f, alice, { nonce: 0n });
      await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([item])))
        .to.emit(f.escrow, "PaymentRejected")
        .withArgs(await idOf(f, item.payment), alice.address, RejectReason.NonceUnavailable);

      const item1 = await signed(f, alice, { nonce: 1n, amount: usd(10) });
      await submitBatch(f, [item1]);
      const w1 = await buildWithdrawal(alice, { nonce: 1n });
      await expect(f.escrow.connect(f.relayer).withdrawWithSignature(w1, await signWithdrawal(f, alice, w1)))
        .to.be.revertedWithCustomError(f.escrow, "NonceUnavailable")
        .withArgs(alice.address, 1n);
      expect(await window(f, alice)).to.deep.equal([2n, 0n]);
      await expectLedger(f, INITIAL_TOTAL - usd(15), usd(10));
    });

    it("windows are per account", async function () {
      const f = await loadFixture(deployFundsFixture);
      const [alice, bob] = f.customers;
      await cancel(f, alice, 0n);
      await cancel(f, alice, 1n);
      expect(await window(f, alice)).to.deep.equal([2n, 0n]);
      expect(await window(f, bob)).to.deep.equal([0n, 0n]);
      expect(await f.escrow.isNonceAvailable(bob.address, 0n)).to.equal(true);
      const item = await signed(f, bob, { nonce: 0n });
      await submitBatch(f, [item]);
      expect(await window(f, bob)).to.deep.equal([1n, 0n]);
      await expectLedger(f, INITIAL_TOTAL - item.payment.amount, item.payment.amount);
    });
  });
});
