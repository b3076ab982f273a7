/**
 * The signed order-timer routes: the payer's hold extension, refund request and escalation, and the
 * merchant's rejection of an open request, each relayed to the escrow. What the relayer can tell
 * from its own records (no such payment, not escrowed, bad body, expired or wrong signature) it
 * answers itself; the payment's step on its own timer is the escrow's to judge, through the relay
 * simulation's revert.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Hex } from "../../../src/relayer/domain";
import { PaymentStatus, usd } from "../../escrow/fixtures";
import { REASON, signEscalation, signExtension, signRejection, signRequest } from "../../escrow/orderTimers.helpers";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";

const ONE_DAY = 24n * 3600n;
const PAYMENT = usd(10);

describe("relayer API: signed order-timer actions", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const nowSec = () => BigInt(Math.floor(h.clock() / 1000));
  /** Far enough for every time jump below. */
  const far = () => nowSec() + 60n * ONE_DAY;

  /** Customer 0's payment of 10.00 to merchant 1, escrowed. */
  async function escrowedPayment(nonce = 0n): Promise<Hex> {
    const { body } = await signedPayment(h, 0, { nonce, amount: PAYMENT });
    const created = await h.request("POST", "/v1/payments", { body });
    expect(created.status, created.text).to.equal(201);
    await escrowInStore(h, [created.body.id]);
    return created.body.id;
  }

  const statusOf = async (id: Hex) => Number((await h.f.escrow.paymentRecord(id)).status);
  const payer = () => h.f.customers[0];
  const owner = () => h.f.merchants[0].owner;

  async function expectSent(res: { status: number; text: string; body: { txHash: string; status: string } }) {
    expect(res.status, res.text).to.equal(202);
    expect(res.body.status).to.equal("sent");
    expect((await ethers.provider.getTransactionReceipt(res.body.txHash))?.status).to.equal(1);
  }

  function expectError(
    res: { status: number; text: string; body: any },
    status: number,
    code: string,
    revert?: string,
  ) {
    expect(res.status, res.text).to.equal(status);
    expect(res.body.error.code).to.equal(code);
    if (revert) expect(res.body.error.details.revert).to.equal(revert);
  }

  async function extendBody(id: Hex, ordinal = 1n, deadline = far(), signer = payer(), extension = ONE_DAY) {
    const { signature } = await signExtension(h.f, signer, id, extension, ordinal, deadline);
    return { extension: extension.toString(), ordinal: ordinal.toString(), deadline: deadline.toString(), signature };
  }

  async function requestBody(id: Hex, amount = usd(4), ordinal = 1n, deadline = far(), signer = payer()) {
    const { signature } = await signRequest(h.f, signer, id, amount, ordinal, deadline);
    return {
      amount: amount.toString(),
      reason: "not_received",
      ordinal: ordinal.toString(),
      deadline: `${deadline}`,
      signature,
    };
  }

  async function answerBody(sign: typeof signEscalation, id: Hex, signer = payer(), ordinal = 1n, deadline = far()) {
    const { signature } = await sign(h.f, signer, id, ordinal, deadline);
    return { ordinal: ordinal.toString(), deadline: deadline.toString(), signature };
  }

  describe("POST /v1/payments/:id/extend-hold", function () {
    it("relays the payer's signed extension (202): the payment is held on its own timer", async function () {
      const id = await escrowedPayment();
      await expectSent(await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: await extendBody(id) }));
      const record = await h.f.escrow.paymentRecord(id);
      expect([Number(record.status), Number(record.extensions)]).to.deep.equal([PaymentStatus.Held, 1]);
      await expectSent(await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: await extendBody(id, 2n) }));
    });

    it("the same signed extension again: 409 stale_ordinal (the escrow's StaleOrdinal)", async function () {
      const id = await escrowedPayment();
      const body = await extendBody(id);
      await expectSent(await h.request("POST", `/v1/payments/${id}/extend-hold`, { body }));
      expectError(
        await h.request("POST", `/v1/payments/${id}/extend-hold`, { body }),
        409,
        "stale_ordinal",
        "StaleOrdinal",
      );
    });

    it("a signature for another extension: 409 stale_ordinal", async function () {
      const id = await escrowedPayment();
      const res = await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: await extendBody(id, 2n) });
      expectError(res, 409, "stale_ordinal", "StaleOrdinal");
    });

    it("signed by someone else than the payer: 400 invalid_signature; past its deadline: 400 expired", async function () {
      const id = await escrowedPayment();
      const forged = await extendBody(id, 1n, far(), h.f.customers[1]);
      expectError(
        await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: forged }),
        400,
        "invalid_signature",
      );
      const late = await extendBody(id, 1n, nowSec() - 10n);
      expectError(await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: late }), 400, "expired");
      expect(await statusOf(id)).to.equal(PaymentStatus.None);
    });

    it("a revoked signature: 409 conflict (SignatureCancelled)", async function () {
      const id = await escrowedPayment();
      const deadline = far();
      const { digest } = await signExtension(h.f, payer(), id, ONE_DAY, 1n, deadline);
      await h.f.escrow.connect(payer()).cancelSignedAction(digest);
      const res = await h.request("POST", `/v1/payments/${id}/extend-hold`, {
        body: await extendBody(id, 1n, deadline),
      });
      expectError(res, 409, "conflict", "SignatureCancelled");
    });

    it("once the hold ended: 409 conflict (HoldEnded)", async function () {
      const id = await escrowedPayment();
      const record = await h.store.payments.get(id);
      await time.increase(record!.hold + 1n);
      const res = await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: await extendBody(id) });
      expectError(res, 409, "conflict", "HoldEnded");
    });

    it("an unknown payment: 404 not_found; one not escrowed yet: 409 conflict; a bad ordinal: 400", async function () {
      const unknown = `0x${"ab".repeat(32)}` as Hex;
      const missing = await h.request("POST", `/v1/payments/${unknown}/extend-hold`, {
        body: await extendBody(unknown),
      });
      expectError(missing, 404, "not_found");
      const { body } = await signedPayment(h, 0, { nonce: 5n });
      const accepted = (await h.request("POST", "/v1/payments", { body })).body.id as Hex;
      const early = await h.request("POST", `/v1/payments/${accepted}/extend-hold`, {
        body: await extendBody(accepted),
      });
      expectError(early, 409, "conflict");
      expect(early.body.error.details.state).to.equal("accepted");
      const id = await escrowedPayment();
      const big = { ...(await extendBody(id)), ordinal: "256" };
      expectError(await h.request("POST", `/v1/payments/${id}/extend-hold`, { body: big }), 400, "validation_failed");
    });
  });

  describe("POST /v1/payments/:id/refund-requests", function () {
    it("relays the payer's signed request (202): the clock pauses, reason and amount as signed", async function () {
      const id = await escrowedPayment();
      const res = await h.request("POST", `/v1/payments/${id}/refund-requests`, { body: await requestBody(id) });
      await expectSent(res);
      const receipt = await ethers.provider.getTransactionReceipt(res.body.txHash);
      const event = receipt!.logs
        .map((log) => h.f.escrow.interface.parseLog(log))
        .find((e) => e?.name === "RefundRequested");
      expect([event!.args.amount, BigInt(event!.args.reason)]).to.deep.equal([usd(4), REASON]);
      expect(await statusOf(id)).to.equal(PaymentStatus.RefundRequested);
    });

    it("the same signed request again: 409 stale_ordinal", async function () {
      const id = await escrowedPayment();
      const body = await requestBody(id);
      await expectSent(await h.request("POST", `/v1/payments/${id}/refund-requests`, { body }));
      const res = await h.request("POST", `/v1/payments/${id}/refund-requests`, { body });
      expectError(res, 409, "stale_ordinal", "StaleOrdinal");
    });

    it("more than is held: 400 invalid_amount; an unknown reason: 400 validation_failed", async function () {
      const id = await escrowedPayment();
      const tooMuch = await h.request("POST", `/v1/payments/${id}/refund-requests`, {
        body: await requestBody(id, PAYMENT + 1n),
      });
      expectError(tooMuch, 400, "invalid_amount");
      const badReason = { ...(await requestBody(id)), reason: "because" };
      expectError(
        await h.request("POST", `/v1/payments/${id}/refund-requests`, { body: badReason }),
        400,
        "validation_failed",
      );
    });

    it("signed by the merchant instead of the payer: 400 invalid_signature", async function () {
      const id = await escrowedPayment();
      const body = await requestBody(id, usd(4), 1n, far(), owner());
      expectError(await h.request("POST", `/v1/payments/${id}/refund-requests`, { body }), 400, "invalid_signature");
    });
  });

  describe("POST /v1/merchant/payments/:id/refund-requests/reject", function () {
    const route = (id: Hex) => `/v1/merchant/payments/${id}/refund-requests/reject`;

    async function requested(): Promise<Hex> {
      const id = await escrowedPayment();
      await expectSent(await h.request("POST", `/v1/payments/${id}/refund-requests`, { body: await requestBody(id) }));
      return id;
    }

    it("relays the owner key's signed rejection (202): the request is rejected", async function () {
      const id = await requested();
      const { key } = await h.issueKey(1n);
      await expectSent(await h.request("POST", route(id), { key, body: await answerBody(signRejection, id, owner()) }));
      expect(await statusOf(id)).to.equal(PaymentStatus.RefundRejected);
    });

    it("a rejection for another request: 409 stale_ordinal; with no open request: 409 conflict (NoOpenRefundRequest)", async function () {
      const { key } = await h.issueKey(1n);
      const id = await requested();
      const stale = await h.request("POST", route(id), { key, body: await answerBody(signRejection, id, owner(), 2n) });
      expectError(stale, 409, "stale_ordinal", "StaleOrdinal");
      const untouched = await escrowedPayment(1n);
      const none = await h.request("POST", route(untouched), {
        key,
        body: await answerBody(signRejection, untouched, owner(), 0n),
      });
      expectError(none, 409, "conflict", "NoOpenRefundRequest");
    });

    it("signed by the payer: 400 invalid_signature; another merchant's key: 404 not_found; no key: 401", async function () {
      const id = await requested();
      const { key } = await h.issueKey(1n);
      const byPayer = await h.request("POST", route(id), { key, body: await answerBody(signRejection, id, payer()) });
      expectError(byPayer, 400, "invalid_signature");
      const other = await h.issueKey(2n);
      const body = await answerBody(signRejection, id, owner());
      expectError(await h.request("POST", route(id), { key: other.key, body }), 404, "not_found");
      expectError(await h.request("POST", route(id), { body }), 401, "unauthorized");
      expect(await statusOf(id)).to.equal(PaymentStatus.RefundRequested);
    });
  });

  describe("GET /v1/merchant/payments/:id/refund-rejection-typed-data", function () {
    it("hands the owner key the RefundRejection to sign; signed as given, it is relayed at its submit path", async function () {
      const id = await escrowedPayment();
      await expectSent(await h.request("POST", `/v1/payments/${id}/refund-requests`, { body: await requestBody(id) }));
      const { key } = await h.issueKey(1n);
      const deadline = far();
      const res = await h.request(
        "GET",
        `/v1/merchant/payments/${id}/refund-rejection-typed-data?ordinal=1&deadline=${deadline}`,
        {
          key,
        },
      );
      expect(res.status, res.text).to.equal(200);
      expect(res.body.signer).to.equal(owner().address.toLowerCase());
      expect(res.body.typedData.primaryType).to.equal("RefundRejection");
      expect(res.body.typedData.message).to.deep.equal({ paymentId: id, ordinal: "1", deadline: deadline.toString() });
      const { EIP712Domain: _domain, ...types } = res.body.typedData.types;
      const signature = await owner().signTypedData(res.body.typedData.domain, types, res.body.typedData.message);
      const submit = await h.request(res.body.submit.method, res.body.submit.path, {
        key,
        body: { ...res.body.submit.body, signature },
      });
      await expectSent(submit);
      expect(await statusOf(id)).to.equal(PaymentStatus.RefundRejected);
    });

    it("another merchant's payment: 404 not_found; a passed deadline: 400 expired; a bad ordinal: 400", async function () {
      const id = await escrowedPayment();
      const route = `/v1/merchant/payments/${id}/refund-rejection-typed-data`;
      const other = await h.issueKey(2n);
      expectError(await h.request("GET", `${route}?ordinal=1`, { key: other.key }), 404, "not_found");
      const { key } = await h.issueKey(1n);
      expectError(await h.request("GET", `${route}?ordinal=1&deadline=${nowSec() - 10n}`, { key }), 400, "expired");
      expectError(await h.request("GET", `${route}?ordinal=256`, { key }), 400, "validation_failed");
    });
  });

  describe("POST /v1/payments/:id/escalate", function () {
    async function rejected(): Promise<Hex> {
      const id = await escrowedPayment();
      await expectSent(await h.request("POST", `/v1/payments/${id}/refund-requests`, { body: await requestBody(id) }));
      const record = await h.store.payments.get(id);
      const payment = {
        payer: record!.payer,
        merchantId: record!.merchantId,
        amount: record!.amount,
        orderRef: record!.orderRef,
        nonce: record!.nonce,
        validAfter: record!.validAfter,
        deadline: record!.deadline,
        hold: record!.hold,
      };
      await h.f.escrow.connect(owner()).rejectRefundRequest(payment);
      return id;
    }

    it("relays the payer's signed escalation (202): the rejected request becomes a dispute", async function () {
      const id = await rejected();
      await expectSent(
        await h.request("POST", `/v1/payments/${id}/escalate`, { body: await answerBody(signEscalation, id) }),
      );
      expect(await statusOf(id)).to.equal(PaymentStatus.Disputed);
    });

    it("while the request is still open: 409 conflict (RefundRequestNotRejected)", async function () {
      const id = await escrowedPayment();
      await expectSent(await h.request("POST", `/v1/payments/${id}/refund-requests`, { body: await requestBody(id) }));
      const res = await h.request("POST", `/v1/payments/${id}/escalate`, {
        body: await answerBody(signEscalation, id),
      });
      expectError(res, 409, "conflict", "RefundRequestNotRejected");
    });

    it("after the escalation window: 409 conflict (EscalationWindowClosed)", async function () {
      const id = await rejected();
      const body = await answerBody(signEscalation, id);
      await time.increase(7n * ONE_DAY);
      expectError(
        await h.request("POST", `/v1/payments/${id}/escalate`, { body }),
        409,
        "conflict",
        "EscalationWindowClosed",
      );
    });

    it("signed by the merchant: 400 invalid_signature; a stale ordinal: 409 stale_ordinal", async function () {
      const id = await rejected();
      const byOwner = await h.request("POST", `/v1/payments/${id}/escalate`, {
        body: await answerBody(signEscalation, id, owner()),
      });
      expectError(byOwner, 400, "invalid_signature");
      const stale = await h.request("POST", `/v1/payments/${id}/escalate`, {
        body: await answerBody(signEscalation, id, payer(), 2n),
      });
      expectError(stale, 409, "stale_ordinal", "StaleOrdinal");
    });
  });
});
