import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import {
  BatchTree,
  ONE_OFF_NONCE,
  encodeBatch,
  oneOffAuthorization,
  type BatchItem,
  type Hex,
  type Payment,
} from "../../src/protocol";
import { signCancelAuthorization, signReceiveAuthorization } from "../helpers/eip3009";
import {
  CUSTOMER_DEPOSIT,
  HOLD_PERIOD,
  MAX_HOLD,
  FEE_BPS,
  RejectReason,
  buildPayment,
  idOf,
  mint,
  signPayment,
  usd,
} from "./fixtures";
import {
  batchEvents,
  deployPayBatchFixture,
  escrowState,
  expectInvariant,
  type PayBatchFixture,
} from "./batch.helpers";

const WALLET_FUNDS = usd(100);
/** Any payment's fields, for checks of the protocol helpers alone. */
const ONE_OFF_PAYMENT_SHAPE: Payment = {
  payer: ethers.ZeroAddress as Hex,
  merchantId: 1n,
  amount: 1n,
  orderRef: ethers.ZeroHash as Hex,
  hold: HOLD_PERIOD,
  nonce: ONE_OFF_NONCE,
  validAfter: 0n,
  deadline: 1n,
};

/** deployPayBatchFixture with WALLET_FUNDS of tokens in the wallets of the first four customers. */
async function deployOneOffFixture(): Promise<PayBatchFixture> {
  const f = await deployPayBatchFixture();
  for (const c of f.customers.slice(0, 4)) await mint(f, c.address, WALLET_FUNDS);
  return f;
}

/** `signer`'s one-off authorization of `payment` (oneOffAuthorization), as a batch item. */
async function authorized(f: PayBatchFixture, signer: Signer, payment: Payment): Promise<BatchItem> {
  const id = await idOf(f, payment);
  const message = oneOffAuthorization((await f.escrow.getAddress()) as Hex, payment, id);
  const { signature } = await signReceiveAuthorization(signer, f.token, message);
  return { payment, signature: signature as Hex };
}

/** A one-off payment of `payer` (nonce ONE_OFF_NONCE) with `overrides`. */
function oneOffPayment(f: PayBatchFixture, payer: { address: string }, overrides: Partial<Payment> = {}) {
  return buildPayment(f, payer, { nonce: ONE_OFF_NONCE, ...overrides });
}

/** A one-off item of `payer` with `overrides`, signed by the payer. */
async function oneOff(f: PayBatchFixture, payer: Signer & { address: string }, overrides: Partial<Payment> = {}) {
  return authorized(f, payer, await oneOffPayment(f, payer, overrides));
}

function pay(f: PayBatchFixture, items: BatchItem[], overrides: { gasLimit?: bigint } = {}) {
  return f.escrow.connect(f.relayer).payBatchWithAuthorization(encodeBatch(items), overrides);
}

/** Asserts the batch escrowed exactly `accepted` and rejected `rejected` (with reasons), in order. */
async function expectOutcome(
  f: PayBatchFixture,
  tx: Awaited<ReturnType<typeof pay>>,
  accepted: BatchItem[],
  rejected: { item: BatchItem; reason: number }[],
) {
  const events = await batchEvents(f, tx);
  expect(events.escrowed.map((e) => e.id)).to.deep.equal(await Promise.all(accepted.map((a) => idOf(f, a.payment))));
  expect(events.rejected.map((e) => [e.id, Number(e.reason)])).to.deep.equal(
    await Promise.all(rejected.map(async (r) => [await idOf(f, r.item.payment), r.reason])),
  );
  return events;
}

describe("PaymentEscrow.payBatchWithAuthorization (one-off payers)", function () {
  it("escrows payments straight from wallets: no escrow balance, nonce or deposit transaction", async function () {
    const f = await loadFixture(deployOneOffFixture);
    const [alice, bob, carol] = f.customers;
    const [m1, m2] = f.merchants;
    const items = [
      await oneOff(f, alice, { amount: usd(40) }),
      await oneOff(f, bob, { amount: usd(15) }),
      await oneOff(f, carol, { amount: usd(5), merchantId: m2.id }),
    ];
    const ids = await Promise.all(items.map((i) => idOf(f, i.payment)));
    const before = await escrowState(f);
    const t = BigInt(await time.latest()) + 10n;
    await time.setNextBlockTimestamp(t);
    const tx = await pay(f, items);

    const events = await expectOutcome(f, tx, items, []);
    expect(events.escrowed.map((e) => [e.payer, e.merchantId, e.batchId, e.amount])).to.deep.equal([
      [alice.address, m1.id, 1n, usd(40)],
      [bob.address, m1.id, 1n, usd(15)],
      [carol.address, m2.id, 1n, usd(5)],
    ]);
    for (const [i, c] of [alice, bob, carol].entries()) {
      await expect(tx).to.emit(f.escrow, "Deposited").withArgs(c.address, c.address, items[i].payment.amount);
      await expect(tx).to.emit(f.token, "AuthorizationUsed").withArgs(c.address, ids[i]);
    }
    expect(events.tranches.map((e) => [e.merchantId, e.amount, e.releaseAt, e.feeBps])).to.deep.equal([
      [m1.id, usd(55), t + HOLD_PERIOD, FEE_BPS],
      [m2.id, usd(5), t + HOLD_PERIOD, FEE_BPS],
    ]);
    const tree = new BatchTree(ids);
    expect(events.batches.map((b) => [b.batchId, b.root, b.paymentCount, b.total])).to.deep.equal([
      [1n, tree.root, 3n, usd(60)],
    ]);
    await expect(tx).to.changeTokenBalances(
      f.token,
      [alice, bob, carol, f.escrow],
      [-usd(40), -usd(15), -usd(5), usd(60)],
    );
    // Escrow balances and nonce windows are untouched; only `held` grew.
    for (const c of [alice, bob, carol]) {
      expect(await f.escrow.balanceOf(c.address)).to.equal(CUSTOMER_DEPOSIT);
      expect(await f.escrow.isNonceAvailable(c.address, 0n)).to.equal(true);
    }
    const after = await escrowState(f);
    expect(after.liabilities).to.deep.equal({ ...before.liabilities, held: before.liabilities.held + usd(60) });
    await expectInvariant(f);

    // The payments live like any other: carol's is refunded by its merchant with its proof.
    await expect(f.escrow.connect(m2.owner).refund(items[2].payment, { batchId: 1n, proof: tree.proof(2) }, usd(5)))
      .to.emit(f.escrow, "PaymentRefunded")
      .withArgs(ids[2], m2.id, carol.address, 1n, usd(5), usd(5));
    await expectInvariant(f);
  });

  describe("an authorization is bound to its payment", function () {
    it("an item whose amount, merchant or orderRef was changed is refused by the token; the rest escrow", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice, bob] = f.customers;
      const good = await oneOff(f, alice);
      const signed = await oneOff(f, bob, { amount: usd(10) });
      const changes: Partial<Payment>[] = [
        { amount: usd(11) },
        { merchantId: f.merchants[1].id },
        { orderRef: ethers.id("another order") as Hex },
      ];
      for (const [round, change] of changes.entries()) {
        const forged = { payment: { ...signed.payment, ...change }, signature: signed.signature };
        const tx = await pay(f, [forged, good]);
        await expectOutcome(f, tx, [good], [{ item: forged, reason: RejectReason.AuthorizationFailed }]);
        await expect(tx).to.changeTokenBalances(f.token, [bob], [0n]);
        // `good` is spent now: re-sign a fresh one for the next round.
        good.payment = { ...good.payment, orderRef: ethers.id(`next ${round}`) as Hex };
        Object.assign(good, await authorized(f, alice, good.payment));
      }
      await expectInvariant(f);
    });

    it("is spent once: the same item twice in a batch, or again in a later batch, is refused", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      const item = await oneOff(f, alice, { amount: usd(10) });
      const tx = await pay(f, [item, item]);
      await expectOutcome(f, tx, [item], [{ item, reason: RejectReason.AuthorizationFailed }]);
      await expect(tx).to.changeTokenBalances(f.token, [alice, f.escrow], [-usd(10), usd(10)]);
      const again = await pay(f, [item]);
      await expectOutcome(f, again, [], [{ item, reason: RejectReason.AuthorizationFailed }]);
      expect(await f.escrow.batchCount()).to.equal(1n);
      await expectInvariant(f);
    });

    it("a watcher of the mempool cannot use it elsewhere: not with the token, not as a deposit, not in payBatch", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      const item = await oneOff(f, alice);
      const id = await idOf(f, item.payment);
      const message = oneOffAuthorization((await f.escrow.getAddress()) as Hex, item.payment, id);
      // Only the payee (the escrow) may submit a ReceiveWithAuthorization.
      await expect(
        f.token
          .connect(f.stranger)
          ["receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"](
            message.from,
            message.to,
            message.value,
            message.validAfter,
            message.validBefore,
            message.nonce,
            item.signature,
          ),
      )
        .to.be.revertedWithCustomError(f.token, "CallerMustBePayee")
        .withArgs(f.stranger.address, message.to);
      // A deposit derives its own nonce, so the signature does not match.
      await expect(
        f.escrow
          .connect(f.stranger)
          .depositWithAuthorization(
            alice.address,
            message.value,
            message.validAfter,
            message.validBefore,
            id,
            item.signature,
          ),
      ).to.be.revertedWithCustomError(f.token, "InvalidSignature");
      // payBatch wants the payer's signature of the payment, not of the authorization.
      const tx = await f.escrow.connect(f.stranger).payBatch(encodeBatch([item]));
      await expectOutcome(f, tx, [], [{ item, reason: RejectReason.InvalidSignature }]);
      // Still usable where it belongs.
      await expectOutcome(f, await pay(f, [item]), [item], []);
      await expectInvariant(f);
    });

    it("a payment signature is no authorization: payBatch's item sent here is refused", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      const payment = await oneOffPayment(f, alice);
      const item = { payment, signature: (await signPayment(f, alice, payment)) as Hex };
      await expectOutcome(f, await pay(f, [item]), [], [{ item, reason: RejectReason.AuthorizationFailed }]);
    });

    it("a payment with any other nonce is refused NonceUnavailable, even with a valid authorization", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      for (const nonce of [0n, ONE_OFF_NONCE - 1n]) {
        const payment = await buildPayment(f, alice, { nonce });
        const id = await idOf(f, payment);
        const message = {
          ...oneOffAuthorization((await f.escrow.getAddress()) as Hex, { ...payment, nonce: ONE_OFF_NONCE }, id),
          nonce: id,
        };
        const { signature } = await signReceiveAuthorization(alice, f.token, message);
        const item = { payment, signature: signature as Hex };
        await expectOutcome(f, await pay(f, [item]), [], [{ item, reason: RejectReason.NonceUnavailable }]);
        expect(await f.token.authorizationState(alice.address, id)).to.equal(false);
      }
      expect(() =>
        oneOffAuthorization(alice.address as Hex, { ...ONE_OFF_PAYMENT_SHAPE, nonce: 0n }, ethers.ZeroHash as Hex),
      ).to.throw(RangeError, "ONE_OFF_NONCE");
    });

    it("the payer revokes it with the token's cancelAuthorization", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      const item = await oneOff(f, alice);
      const id = await idOf(f, item.payment);
      const cancel = await signCancelAuthorization(alice, f.token, { authorizer: alice.address, nonce: id });
      await f.token["cancelAuthorization(address,bytes32,bytes)"](alice.address, id, cancel.signature);
      await expectOutcome(f, await pay(f, [item]), [], [{ item, reason: RejectReason.AuthorizationFailed }]);
    });
  });

  describe("rejections skip the item and move nothing", function () {
    it("amount 0, not yet valid (validAfter is exclusive, as in EIP-3009), expired, inactive merchant, hold out of bounds", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice, bob] = f.customers;
      const m3 = f.merchants[2];
      await f.registry.connect(f.registrar).suspend(m3.id);
      const t = BigInt(await time.latest()) + 100n;
      const good = await oneOff(f, alice);
      const cases = [
        { item: await oneOff(f, bob, { amount: 0n }), reason: RejectReason.InvalidAmount },
        { item: await oneOff(f, bob, { validAfter: t }), reason: RejectReason.NotYetValid },
        { item: await oneOff(f, bob, { deadline: t - 1n }), reason: RejectReason.Expired },
        { item: await oneOff(f, bob, { merchantId: m3.id }), reason: RejectReason.MerchantNotActive },
        {
          item: await oneOff(f, bob, { merchantId: f.merchants[1].id, hold: MAX_HOLD + 1n }),
          reason: RejectReason.HoldOutOfRange,
        },
      ];
      const before = await f.token.balanceOf(bob.address);
      await time.setNextBlockTimestamp(t);
      const tx = await pay(
        f,
        cases.map((c) => c.item),
      );
      await expectOutcome(f, tx, [], cases);
      expect(await f.token.balanceOf(bob.address)).to.equal(before);
      await expectOutcome(f, await pay(f, [good]), [good], []);
      await expectInvariant(f);
    });

    it("a payer without the tokens, or blocklisted by the token, is refused by the token", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice, bob, , dave] = f.customers;
      await f.token.connect(f.admin).grantRole(await f.token.BLOCKLISTER_ROLE(), f.admin.address);
      await f.token.connect(f.admin).blocklist(dave.address);
      const tooMuch = await oneOff(f, bob, { amount: WALLET_FUNDS + 1n });
      const listed = await oneOff(f, dave);
      const good = await oneOff(f, alice);
      const tx = await pay(f, [tooMuch, good, listed]);
      await expectOutcome(
        f,
        tx,
        [good],
        [
          { item: tooMuch, reason: RejectReason.AuthorizationFailed },
          { item: listed, reason: RejectReason.AuthorizationFailed },
        ],
      );
      await expectInvariant(f);
    });

    it("a contract wallet that burns its gas in the token's ERC-1271 check fails only its own item", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice, bob] = f.customers;
      const burner = await f.burner.getAddress();
      await mint(f, burner, usd(50));
      const burnt = await authorized(f, f.walletOwner, await oneOffPayment(f, { address: burner }));
      const items = [await oneOff(f, alice), burnt, await oneOff(f, bob)];
      const tx = await pay(f, items, { gasLimit: 2_000_000n });
      await expectOutcome(f, tx, [items[0], items[2]], [{ item: burnt, reason: RejectReason.AuthorizationFailed }]);
      await expectInvariant(f);
    });

    it("an item is skipped as InsufficientGas when the gas left cannot cover its token call and the batch's end", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      const item = await oneOff(f, alice);
      const tx = await pay(f, [item], { gasLimit: 250_000n });
      await expectOutcome(f, tx, [], [{ item, reason: RejectReason.InsufficientGas }]);
      await expect(tx).to.changeTokenBalances(f.token, [alice], [0n]);
      // With the budget it escrows.
      await expectOutcome(f, await pay(f, [item], { gasLimit: 500_000n }), [item], []);
    });

    it("a broken encoding reverts MalformedBatch like payBatch", async function () {
      const f = await loadFixture(deployOneOffFixture);
      const [alice] = f.customers;
      const body = encodeBatch([await oneOff(f, alice)]);
      await expect(f.escrow.connect(f.relayer).payBatchWithAuthorization(`0x0002${body.slice(6)}`))
        .to.be.revertedWithCustomError(f.escrow, "MalformedBatch")
        .withArgs((body.length - 2) / 2);
    });
  });
});
