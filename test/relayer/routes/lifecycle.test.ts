import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Hex } from "../../../src/relayer/domain";
import { processProof } from "../../../src/protocol";
import { withdrawalBody } from "../../../src/sdk/wire";
import { signDepositAuthorization } from "../../escrow/funds.helpers";
import {
  CUSTOMER_DEPOSIT,
  HOLD_PERIOD,
  PaymentStatus,
  feeOf,
  signConfirmation,
  signDispute,
  signRefund,
  signWithdrawal,
  usd,
} from "../../escrow/fixtures";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";

describe("relayer API: payment lifecycle, deposits, withdrawals, accounts", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const nowSec = () => BigInt(Math.floor(h.clock() / 1000));

  /** Accepts `count` payments of customer 0 through the API and escrows them in one batch. */
  async function escrowed(count = 3, customer = 0) {
    const ids: Hex[] = [];
    for (let nonce = 0n; nonce < BigInt(count); nonce++) {
      const { body } = await signedPayment(h, customer, { nonce });
      const res = await h.request("POST", "/v1/payments", { body });
      expect(res.status).to.equal(201);
      ids.push(res.body.id);
    }
    const batch = await escrowInStore(h, ids);
    return { ids, ...batch };
  }

  describe("GET /v1/payments/:id", function () {
    it("an accepted payment has no inclusion; an escrowed one has a proof that verifies against the batch root on chain", async function () {
      const { body } = await signedPayment(h, 1);
      const created = await h.request("POST", "/v1/payments", { body });
      const accepted = await h.request("GET", `/v1/payments/${created.body.id}`);
      expect(accepted.status).to.equal(200);
      expect(accepted.body.state).to.equal("accepted");
      expect(accepted.body.inclusion).to.equal(null);

      const { ids, batchId } = await escrowed(3);
      for (const [leafIndex, id] of ids.entries()) {
        const res = await h.request("GET", `/v1/payments/${id.toUpperCase().replace("0X", "0x")}`);
        expect(res.status).to.equal(200);
        expect(res.body.state).to.equal("escrowed");
        expect(res.body.batchId).to.equal(batchId.toString());
        expect(res.body.inclusion.leafIndex).to.equal(leafIndex);
        expect(res.body.inclusion.root).to.equal(await h.f.escrow.batchRoot(batchId));
        expect(processProof(id, res.body.inclusion.proof)).to.equal(res.body.inclusion.root);
      }
    });

    it("an unknown id: 404 not_found", async function () {
      const res = await h.request("GET", `/v1/payments/0x${"00".repeat(32)}`);
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal("not_found");
    });
  });

  describe("POST /v1/payments/:id/confirm", function () {
    it("relays the payer's signed confirmation: the escrow releases the payment (202 with the tx hash)", async function () {
      const { ids } = await escrowed(2);
      const deadline = nowSec() + 3600n;
      const signature = await signConfirmation(h.f, h.f.customers[0], ids[1], deadline);
      const res = await h.request("POST", `/v1/payments/${ids[1]}/confirm`, {
        body: { deadline: deadline.toString(), signature },
      });
      expect(res.status, res.text).to.equal(202);
      expect(res.body.status).to.equal("sent");
      const receipt = await ethers.provider.getTransactionReceipt(res.body.txHash);
      expect(receipt?.status).to.equal(1);
      expect((await h.f.escrow.paymentRecord(ids[1])).status).to.equal(BigInt(PaymentStatus.Confirmed));
      const [released] = await h.f.escrow.merchantBalances(1n);
      expect(released).to.equal(usd(10) - feeOf(usd(10)));
      const key = await h.issueKey(1n);
      const balance = await h.request("GET", "/v1/merchant/balance", { key: key.key });
      expect(balance.body.released).to.equal(released.toString());
    });

    it("failures: foreign signature 400 invalid_signature, expired deadline 400 expired, not escrowed 409 conflict, unknown 404", async function () {
      const { ids } = await escrowed(1);
      const deadline = nowSec() + 3600n;
      const foreign = await signConfirmation(h.f, h.f.customers[1], ids[0], deadline);
      const bad = await h.request("POST", `/v1/payments/${ids[0]}/confirm`, {
        body: { deadline: deadline.toString(), signature: foreign },
      });
      expect([bad.status, bad.body.error.code]).to.deep.equal([400, "invalid_signature"]);

      const past = nowSec() - 10n;
      const expiredSig = await signConfirmation(h.f, h.f.customers[0], ids[0], past);
      const expired = await h.request("POST", `/v1/payments/${ids[0]}/confirm`, {
        body: { deadline: past.toString(), signature: expiredSig },
      });
      expect([expired.status, expired.body.error.code]).to.deep.equal([400, "expired"]);

      const { body } = await signedPayment(h, 2);
      const pending = (await h.request("POST", "/v1/payments", { body })).body.id as Hex;
      const pendingSig = await signConfirmation(h.f, h.f.customers[2], pending, deadline);
      const early = await h.request("POST", `/v1/payments/${pending}/confirm`, {
        body: { deadline: deadline.toString(), signature: pendingSig },
      });
      expect([early.status, early.body.error.code]).to.deep.equal([409, "conflict"]);

      const unknown = await h.request("POST", `/v1/payments/0x${"ee".repeat(32)}/confirm`, {
        body: { deadline: deadline.toString(), signature: pendingSig },
      });
      expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "not_found"]);
      expect((await h.f.escrow.paymentRecord(ids[0])).status).to.equal(BigInt(PaymentStatus.None));
    });

    it("a confirmation the escrow refuses (already confirmed) comes back as 409 conflict", async function () {
      const { ids } = await escrowed(1);
      const deadline = nowSec() + 3600n;
      const signature = await signConfirmation(h.f, h.f.customers[0], ids[0], deadline);
      const body = { deadline: deadline.toString(), signature };
      expect((await h.request("POST", `/v1/payments/${ids[0]}/confirm`, { body })).status).to.equal(202);
      const twice = await h.request("POST", `/v1/payments/${ids[0]}/confirm`, { body });
      expect([twice.status, twice.body.error.code]).to.deep.equal([409, "conflict"]);
      expect(twice.body.error.details.revert).to.equal("PaymentNotHeld");
    });
  });

  describe("POST /v1/payments/:id/dispute", function () {
    it("relays the payer's signed dispute; a foreign signature is 400 invalid_signature", async function () {
      const { ids } = await escrowed(1);
      const deadline = nowSec() + 3600n;
      const foreign = await signDispute(h.f, h.f.merchants[0].owner, ids[0], deadline);
      const bad = await h.request("POST", `/v1/payments/${ids[0]}/dispute`, {
        body: { deadline: deadline.toString(), signature: foreign },
      });
      expect([bad.status, bad.body.error.code]).to.deep.equal([400, "invalid_signature"]);

      const signature = await signDispute(h.f, h.f.customers[0], ids[0], deadline);
      const res = await h.request("POST", `/v1/payments/${ids[0]}/dispute`, {
        body: { deadline: deadline.toString(), signature },
      });
      expect(res.status, res.text).to.equal(202);
      expect((await h.f.escrow.paymentRecord(ids[0])).status).to.equal(BigInt(PaymentStatus.Disputed));
    });

    it("after the hold: 409 conflict (DisputeWindowClosed), unless the merchant is suspended, when the dispute goes through", async function () {
      const { ids } = await escrowed(2);
      await time.increase(HOLD_PERIOD + 1n);
      const deadline = BigInt(await time.latest()) + 3600n;
      const closed = await h.request("POST", `/v1/payments/${ids[0]}/dispute`, {
        body: { deadline: deadline.toString(), signature: await signDispute(h.f, h.f.customers[0], ids[0], deadline) },
      });
      expect([closed.status, closed.body.error.code]).to.deep.equal([409, "conflict"]);
      expect(closed.body.error.details.revert).to.equal("DisputeWindowClosed");

      await h.f.registry.connect(h.f.registrar).suspend(h.f.merchants[0].id);
      const res = await h.request("POST", `/v1/payments/${ids[1]}/dispute`, {
        body: { deadline: deadline.toString(), signature: await signDispute(h.f, h.f.customers[0], ids[1], deadline) },
      });
      expect(res.status, res.text).to.equal(202);
      expect((await h.f.escrow.paymentRecord(ids[1])).status).to.equal(BigInt(PaymentStatus.Disputed));
    });
  });

  describe("POST /v1/merchant/payments/:id/refunds", function () {
    it("relays the merchant owner's signed refund; the payer's balance is credited", async function () {
      const { ids } = await escrowed(1);
      const key = await h.issueKey(1n);
      const deadline = nowSec() + 3600n;
      const signature = await signRefund(h.f, h.f.merchants[0].owner, ids[0], usd(4), deadline);
      const before = await h.f.escrow.balanceOf(h.f.customers[0].address);
      const res = await h.request("POST", `/v1/merchant/payments/${ids[0]}/refunds`, {
        key: key.key,
        body: { totalRefund: usd(4).toString(), deadline: deadline.toString(), signature },
      });
      expect(res.status, res.text).to.equal(202);
      expect(await h.f.escrow.balanceOf(h.f.customers[0].address)).to.equal(before + usd(4));
    });

    it("failures: signed by a key other than the owner 400 invalid_signature; more than the amount 400 invalid_amount; 0 → invalid_amount", async function () {
      const { ids } = await escrowed(1);
      const key = await h.issueKey(1n);
      const deadline = nowSec() + 3600n;
      const post = (totalRefund: bigint, signature: string) =>
        h.request("POST", `/v1/merchant/payments/${ids[0]}/refunds`, {
          key: key.key,
          body: { totalRefund: totalRefund.toString(), deadline: deadline.toString(), signature },
        });
      const byPayout = await signRefund(h.f, h.f.merchants[0].payout, ids[0], usd(1), deadline);
      const notOwner = await post(usd(1), byPayout);
      expect([notOwner.status, notOwner.body.error.code]).to.deep.equal([400, "invalid_signature"]);
      const tooMuch = await post(usd(11), await signRefund(h.f, h.f.merchants[0].owner, ids[0], usd(11), deadline));
      expect([tooMuch.status, tooMuch.body.error.code]).to.deep.equal([400, "invalid_amount"]);
      const zero = await post(0n, byPayout);
      expect([zero.status, zero.body.error.code]).to.deep.equal([400, "invalid_amount"]);
    });
  });

  describe("POST /v1/deposits", function () {
    const escrowAddress = async () => (await h.f.escrow.getAddress()) as string;

    it("submits the payer's EIP-3009 authorization; the escrow credits the payer (gasless for them)", async function () {
      const payer = h.f.stranger;
      await h.f.token.connect(h.f.admin).mint(payer.address, usd(50));
      const signed = await signDepositAuthorization(
        { token: h.f.token, escrowAddress: await escrowAddress() } as never,
        payer,
        usd(50),
      );
      const res = await h.request("POST", "/v1/deposits", {
        body: {
          from: payer.address,
          amount: usd(50).toString(),
          validAfter: signed.auth.validAfter.toString(),
          validBefore: signed.auth.validBefore.toString(),
          salt: signed.auth.salt,
          signature: signed.sig.signature,
        },
      });
      expect(res.status, res.text).to.equal(202);
      expect(await h.f.escrow.balanceOf(payer.address)).to.equal(usd(50));
      const account = await h.request("GET", `/v1/accounts/${payer.address}`);
      expect(account.body.balance).to.equal(usd(50).toString());
    });

    it("failures: foreign signature 400 invalid_signature; expired 400 expired; wrong domain 400 wrong_domain; reused 409 nonce_unavailable", async function () {
      const payer = h.f.stranger;
      await h.f.token.connect(h.f.admin).mint(payer.address, usd(50));
      const fixture = { token: h.f.token, escrowAddress: await escrowAddress() } as never;
      const signed = await signDepositAuthorization(fixture, h.f.customers[0], usd(5), { from: payer.address });
      const body = (s: typeof signed) => ({
        from: s.auth.from,
        amount: s.auth.value.toString(),
        validAfter: s.auth.validAfter.toString(),
        validBefore: s.auth.validBefore.toString(),
        salt: s.auth.salt,
        signature: s.sig.signature,
      });
      const foreign = await h.request("POST", "/v1/deposits", { body: body(signed) });
      expect([foreign.status, foreign.body.error.code]).to.deep.equal([400, "invalid_signature"]);

      const expiredAuth = await signDepositAuthorization(fixture, payer, usd(5), { validBefore: nowSec() - 1n });
      const expired = await h.request("POST", "/v1/deposits", { body: body(expiredAuth) });
      expect([expired.status, expired.body.error.code]).to.deep.equal([400, "expired"]);

      const good = await signDepositAuthorization(fixture, payer, usd(5));
      const wrongDomain = await h.request("POST", "/v1/deposits", { body: { ...body(good), chainId: "5" } });
      expect([wrongDomain.status, wrongDomain.body.error.code]).to.deep.equal([400, "wrong_domain"]);
      expect((await h.request("POST", "/v1/deposits", { body: body(good) })).status).to.equal(202);
      const reused = await h.request("POST", "/v1/deposits", { body: body(good) });
      expect([reused.status, reused.body.error.code]).to.deep.equal([409, "nonce_unavailable"]);
      const zero = await h.request("POST", "/v1/deposits", { body: { ...body(good), amount: "0" } });
      expect([zero.status, zero.body.error.code]).to.deep.equal([400, "invalid_amount"]);
    });
  });

  describe("POST /v1/withdrawals", function () {
    it("relays the payer's signed withdrawal; pending payments are not withdrawable; nonces are shared with payments", async function () {
      const customer = h.f.customers[3];
      const { body } = await signedPayment(h, 3, { amount: usd(900), nonce: 0n });
      expect((await h.request("POST", "/v1/payments", { body })).status).to.equal(201);
      const deadline = nowSec() + 3600n;
      const withdrawal = (amount: bigint, nonce: bigint) => ({
        payer: customer.address as Hex,
        to: h.f.stranger.address as Hex,
        amount,
        nonce,
        deadline,
      });
      const send = async (w: ReturnType<typeof withdrawal>, signer = customer) =>
        h.request("POST", "/v1/withdrawals", {
          body: withdrawalBody({ withdrawal: w, signature: await signWithdrawal(h.f, signer, w) }),
        });

      const tooMuch = await send(withdrawal(usd(101), 1n));
      expect([tooMuch.status, tooMuch.body.error.code]).to.deep.equal([409, "insufficient_balance"]);
      const pendingNonce = await send(withdrawal(usd(1), 0n));
      expect([pendingNonce.status, pendingNonce.body.error.code]).to.deep.equal([409, "nonce_unavailable"]);
      const foreign = await send(withdrawal(usd(1), 1n), h.f.customers[0]);
      expect([foreign.status, foreign.body.error.code]).to.deep.equal([400, "invalid_signature"]);

      const ok = await send(withdrawal(usd(100), 1n));
      expect(ok.status, ok.text).to.equal(202);
      expect(await h.f.token.balanceOf(h.f.stranger.address)).to.equal(usd(100));
      expect(await h.f.escrow.balanceOf(customer.address)).to.equal(CUSTOMER_DEPOSIT - usd(100));
    });
  });

  describe("GET /v1/accounts/:address", function () {
    it("balance, pending, available and the next free nonces (skipping on-chain used and pending ones)", async function () {
      const customer = h.f.customers[0];
      await h.f.escrow.connect(customer).cancelNonce(1); // used on chain
      const { body } = await signedPayment(h, 0, { amount: usd(300), nonce: 0n });
      expect((await h.request("POST", "/v1/payments", { body })).status).to.equal(201);
      const res = await h.request("GET", `/v1/accounts/${customer.address}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({
        address: customer.address.toLowerCase(),
        currency: "USD",
        balance: CUSTOMER_DEPOSIT.toString(),
        pending: usd(300).toString(),
        available: (CUSTOMER_DEPOSIT - usd(300)).toString(),
        pendingOneOff: "0",
        nonceWindow: { base: "0", bitmap: "2" },
        nextNonces: ["2", "3", "4", "5", "6"],
      });
      const bad = await h.request("GET", "/v1/accounts/0xnothex");
      expect([bad.status, bad.body.error.code]).to.deep.equal([400, "validation_failed"]);
    });
  });
});
