/**
 * The SDK end to end against the real relayer over real HTTP: a merchant bootstraps an API key,
 * creates payment requests and registers a webhook; customers (an ethers signer, a viem local
 * account) sign with the SDK and submit; the relayer's own pipeline escrows the payments on the
 * in-process chain; inclusion proofs verify against the on-chain batch root; confirm, dispute,
 * refund, deposit and withdrawal signed with the SDK are relayed and land on chain; settlement
 * follows the hold. Nothing is mocked.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Static } from "@sinclair/typebox";
import { PaymentState } from "../../src/relayer/domain";
import type { PaymentView } from "../../src/protocol/schemas";
import {
  RelayerApiError,
  RelayerClient,
  SIGNATURE_HEADER,
  WebhookSignatureError,
  depositAuthorization,
  fromEthersSigner,
  fromViemAccount,
  orderRefOf,
  paymentFromRequest,
  paymentId,
  pickNonce,
  readWebhookEvent,
  signConfirmation,
  signDepositAuthorization,
  signDispute,
  signOneOffPayment,
  signPayment,
  signRefund,
  signWithdrawal,
  tokenDomain,
  verifyInclusion,
  verifyWebhook,
  type Hex,
  type PaymentInfo,
  type PaymentWire,
} from "../../src/sdk";
import { HOLD_PERIOD, PaymentStatus, feeOf, usd } from "../escrow/fixtures";
import { advanceChainTime } from "../relayer/helpers/chain";
import { apiError, useSdkHarness, type SdkHarness } from "./helpers";

// Compile-time guard: the relayer's PaymentView stays assignable to the SDK's wire type.
const wireCompatible = (view: Static<typeof PaymentView>): PaymentWire => view;
void wireCompatible;

describe("SDK client against the relayer (real HTTP, real chain, relayer pipeline)", function () {
  let s: SdkHarness;
  useSdkHarness((started) => (s = started));

  async function merchantClient(merchantId = 1n): Promise<RelayerClient> {
    const key = await s.admin.createMerchantApiKey(merchantId);
    expect(key.merchantId).to.equal(merchantId);
    expect(key.key).to.match(/^sp_live_/);
    return new RelayerClient({ baseUrl: s.url, apiKey: key.key });
  }

  it("ethers customer: request → sign → submit → list (pages) → escrowed by the pipeline → proof verifies on chain → webhooks verify → confirm, dispute, refund → settlement", async function () {
    const merchant = await merchantClient();
    const endpoint = await merchant.registerWebhook(s.receiver.url);
    expect(endpoint.secret).to.match(/^whsec_/);

    // The merchant asks for 25.00 for its order 1001.
    const request = await merchant.createPaymentRequest({ amount: usd(25), orderRef: "order-1001", expiresIn: 3_600 });
    expect(request.id).to.match(/^req_/);
    expect(request.amount).to.equal(usd(25));
    expect(request.orderRef).to.equal(orderRefOf("order-1001"));

    // The customer fills in payer and nonce, signs with its ethers signer and submits.
    const customer = s.f.customers[0];
    const signer = fromEthersSigner(customer);
    const account = await s.client.getAccount(customer.address as Hex);
    expect(account.available).to.equal(usd(1_000));
    const prepared = paymentFromRequest(request, {
      payer: customer.address as Hex,
      nonce: pickNonce(account),
      expect: { chainId: s.f.chainId, escrow: s.escrowAddress },
    });
    expect(prepared.payment.amount).to.equal(usd(25));
    const signature = await signPayment(signer, prepared);
    expect(signature).to.match(/^0x[0-9a-f]{130}$/);
    const submitted = await s.client.submitPayment({ ...prepared, signature });
    expect(submitted.created).to.equal(true);
    const id = submitted.payment.id;
    expect(id).to.equal(paymentId(s.domain, prepared.payment).toLowerCase());
    expect(submitted.payment).to.include({ state: "accepted", amount: usd(25), requestId: request.id });
    // The same signed payment again is not a second payment.
    const again = await s.client.submitPayment({ ...prepared, signature });
    expect([again.created, again.payment.id]).to.deep.equal([false, id]);
    expect((await s.client.getAccount(customer.address as Hex)).pending).to.equal(usd(25));

    // Four more payments to the same merchant (customers 1..3 and customer 0 again, payRequest does it all).
    const ids: Hex[] = [id];
    for (const c of [1, 2, 3, 0]) {
      const r = await merchant.createPaymentRequest({
        amount: usd(10 + c),
        orderRef: `order-${2000 + ids.length}`,
        expiresIn: 3_600,
      });
      const paid = await s.client.payRequest(fromEthersSigner(s.f.customers[c]), r);
      expect(paid.created).to.equal(true);
      ids.push(paid.payment.id);
    }

    // The merchant sees all five, two per page.
    const pages: PaymentInfo[][] = [];
    for await (const page of merchant.paymentPages({ limit: 2 })) pages.push(page.items);
    expect(pages.map((p) => p.length)).to.deep.equal([2, 2, 1]);
    const listed: Hex[] = [];
    for await (const p of merchant.iteratePayments({ limit: 2, state: ["accepted"] })) listed.push(p.id);
    expect([...listed].sort()).to.deep.equal([...ids].sort());
    const mine = await merchant.getPaymentAsMerchant(id);
    expect(mine).to.include({ id, state: "accepted", inclusion: null });

    // The relayer's pipeline batches, submits and watches: every payment escrowed in one batch.
    await s.tickUntil(ids, [PaymentState.Escrowed]);
    const escrowed = await s.client.getPayment(id);
    expect(escrowed.state).to.equal("escrowed");
    const inclusion = escrowed.inclusion!;
    const root = (await s.f.escrow.batchRoot(inclusion.batchId)) as Hex;
    expect(inclusion.root).to.equal(root.toLowerCase());
    expect(verifyInclusion(escrowed, root, s.domain)).to.equal(true);
    expect(verifyInclusion({ ...escrowed, amount: escrowed.amount + 1n }, root, s.domain)).to.equal(false);
    expect(verifyInclusion(escrowed, `0x${"11".repeat(32)}`)).to.equal(false);
    expect(verifyInclusion({ ...escrowed, inclusion: null }, root)).to.equal(false);
    expect((await merchant.getPaymentAsMerchant(id)).inclusion).to.deep.equal(inclusion);

    // Webhooks: every delivery verifies with the SDK's re-exported helper against the raw body.
    await s.dispatcher.tick();
    const deliveries = s.receiver.delivered();
    expect(deliveries.length).to.be.greaterThan(0);
    const seen = new Set<string>();
    const escrowedIds = new Set<Hex>();
    for (const d of deliveries) {
      const event = readWebhookEvent({
        secret: endpoint.secret,
        header: d.headers[SIGNATURE_HEADER.toLowerCase()],
        body: d.body,
        now: s.clock(),
        seenEventIds: seen,
      });
      expect(ids).to.include(event.data.id);
      expect(event.type).to.be.oneOf(["payment.accepted", "payment.batched", "payment.submitted", "payment.escrowed"]);
      expect(event.data.merchantId).to.equal(1n);
      if (event.type === "payment.escrowed") escrowedIds.add(event.data.id);
    }
    expect([...escrowedIds].sort()).to.deep.equal([...ids].sort());
    const escrowedEvent = deliveries
      .map((d) => JSON.parse(d.body.toString("utf8")))
      .find((e) => e.type === "payment.escrowed" && e.data.id === id);
    expect(escrowedEvent.data.amount).to.equal(usd(25).toString());
    const tampered = Buffer.from(deliveries[0].body.toString("utf8").replace(/"amount":"\d+"/, '"amount":"1"'));
    expect(() =>
      verifyWebhook({
        secret: endpoint.secret,
        header: deliveries[0].headers[SIGNATURE_HEADER.toLowerCase()],
        body: tampered,
        now: s.clock(),
      }),
    )
      .to.throw(WebhookSignatureError)
      .with.property("code", "bad_signature");

    // Customer 0 confirms delivery of its first payment.
    const deadline = s.nowSec() + 3_600n;
    const confirmation = await signConfirmation(signer, { domain: s.domain, paymentId: id, deadline });
    const sent = await s.client.confirm(id, { deadline, signature: confirmation });
    expect(sent.status).to.equal("sent");
    expect((await ethers.provider.getTransactionReceipt(sent.txHash))?.status).to.equal(1);
    expect((await s.f.escrow.paymentRecord(id)).status).to.equal(BigInt(PaymentStatus.Confirmed));

    // Customer 1 disputes its payment.
    const disputeSig = await signDispute(fromEthersSigner(s.f.customers[1]), {
      domain: s.domain,
      paymentId: ids[1],
      deadline,
    });
    await s.client.dispute(ids[1], { deadline, signature: disputeSig });

    // The merchant's owner key refunds customer 2 in full.
    const refundSig = await signRefund(fromEthersSigner(s.f.merchants[0].owner), {
      domain: s.domain,
      paymentId: ids[2],
      totalRefund: usd(12),
      deadline,
    });
    const before = await s.f.escrow.balanceOf(s.f.customers[2].address);
    await merchant.refund(ids[2], { totalRefund: usd(12), deadline, signature: refundSig });
    expect(await s.f.escrow.balanceOf(s.f.customers[2].address)).to.equal(before + usd(12));

    await s.tickUntil([id], [PaymentState.Released]);
    await s.tickUntil([ids[1]], [PaymentState.Disputed]);
    await s.tickUntil([ids[2]], [PaymentState.Refunded]);
    expect((await s.client.getPayment(ids[2])).refunded).to.equal(usd(12));
    expect((await merchant.getBalance()).released).to.equal(usd(25) - feeOf(usd(25)));

    // After the hold the settler pays the merchant: released and held payments become settled.
    await advanceChainTime(HOLD_PERIOD + 1n);
    const settledIds = [id, ids[3], ids[4]];
    await s.tickUntil(settledIds, [PaymentState.Settled]);
    const settlements = [];
    for await (const settlement of merchant.iterateSettlements({ limit: 1 })) settlements.push(settlement);
    expect(settlements.length).to.be.greaterThan(0);
    const paid = settlements.find((x) => x.state === "confirmed")!;
    expect(paid.merchantId).to.equal(1n);
    expect(paid.amount! > 0n).to.equal(true);
    expect((await merchant.getBalance()).released).to.equal(0n);
    expect((await s.client.getPayment(ids[1])).state).to.equal("disputed");
  });

  it("viem customer: gasless deposit → payRequest → escrowed → confirm; withdrawal; all signed by a viem local account", async function () {
    const merchant = await merchantClient(2n);
    const account = privateKeyToAccount(generatePrivateKey());
    const signer = fromViemAccount(account);
    await s.f.token.connect(s.f.admin).mint(account.address, usd(100));

    // Gasless deposit: an EIP-3009 ReceiveWithAuthorization to the escrow, relayed by the relayer.
    const domain = tokenDomain({
      name: await s.f.token.name(),
      chainId: s.f.chainId,
      token: (await s.f.token.getAddress()) as Hex,
    });
    const authorization = depositAuthorization({
      from: account.address,
      escrow: s.escrowAddress,
      amount: usd(60),
      now: s.nowSec(),
    });
    const depositSig = await signDepositAuthorization(signer, { domain, authorization });
    const deposit = await s.client.deposit({ authorization, signature: depositSig, domain: s.domain });
    expect(deposit.status).to.equal("sent");
    expect(await s.f.escrow.balanceOf(account.address)).to.equal(usd(60));
    expect(await s.f.token.balanceOf(account.address)).to.equal(usd(40));

    const request = await merchant.createPaymentRequest({ amount: usd(15), orderRef: "viem-order", expiresIn: 600 });
    const { created, payment } = await s.client.payRequest(signer, request, {
      expect: { chainId: s.f.chainId, escrow: s.escrowAddress },
    });
    expect(created).to.equal(true);
    expect(payment).to.include({ payer: account.address.toLowerCase(), merchantId: 2n, amount: usd(15), nonce: 0n });

    await s.tickUntil([payment.id], [PaymentState.Escrowed]);
    const escrowed = await s.client.getPayment(payment.id);
    expect(verifyInclusion(escrowed, (await s.f.escrow.batchRoot(escrowed.batchId!)) as Hex, s.domain)).to.equal(true);

    const deadline = s.nowSec() + 600n;
    const confirmation = await signConfirmation(signer, { domain: s.domain, paymentId: payment.id, deadline });
    await s.client.confirm(payment.id, { deadline, signature: confirmation });
    await s.tickUntil([payment.id], [PaymentState.Released]);
    expect((await merchant.getPaymentAsMerchant(payment.id)).state).to.equal("released");

    // Withdraw the rest to the customer's wallet, nonce picked from the relayer's view.
    const info = await s.client.getAccount(account.address);
    expect(info.balance).to.equal(usd(45));
    const withdrawal = {
      payer: account.address,
      to: account.address,
      amount: usd(45),
      nonce: pickNonce(info),
      deadline,
    };
    expect(withdrawal.nonce).to.equal(1n);
    const withdrawalSig = await signWithdrawal(signer, { domain: s.domain, withdrawal });
    await s.client.withdraw({ withdrawal, signature: withdrawalSig, domain: s.domain });
    expect(await s.f.escrow.balanceOf(account.address)).to.equal(0n);
    expect(await s.f.token.balanceOf(account.address)).to.equal(usd(85));
  });

  it("webhook endpoints: list without secrets, disable, enable, delete; events carry a per-payment sequence", async function () {
    const merchant = await merchantClient();
    const endpoint = await merchant.registerWebhook(s.receiver.url);
    const [listed] = await merchant.listWebhooks();
    expect(listed).to.deep.equal({
      id: endpoint.id,
      url: endpoint.url,
      createdAt: endpoint.createdAt,
      enabled: true,
      disabledAt: null,
      disabledReason: null,
      consecutiveFailures: 0,
      failingSince: null,
      lastError: null,
    });
    const disabled = await merchant.disableWebhook(endpoint.id);
    expect([disabled.enabled, disabled.disabledReason]).to.deep.equal([false, "merchant"]);
    expect(disabled.disabledAt).to.be.instanceOf(Date);
    expect((await merchant.enableWebhook(endpoint.id)).enabled).to.equal(true);

    const customer = s.f.customers[0];
    const request = await merchant.createPaymentRequest({ amount: usd(5), orderRef: "order-seq", expiresIn: 3_600 });
    const { payment } = await s.client.payRequest(fromEthersSigner(customer), request);
    await s.tickUntil([payment.id], [PaymentState.Escrowed]);
    await s.dispatcher.tick();
    const events = s.receiver
      .delivered()
      .map((d) =>
        readWebhookEvent({
          secret: endpoint.secret,
          header: d.headers[SIGNATURE_HEADER.toLowerCase()],
          body: d.body,
          now: s.clock(),
        }),
      )
      .sort((a, b) => a.sequence - b.sequence);
    expect(events.map((e) => [e.type, e.sequence])).to.deep.equal([
      ["payment.accepted", 1],
      ["payment.batched", 2],
      ["payment.submitted", 3],
      ["payment.escrowed", 4],
    ]);

    await merchant.deleteWebhook(endpoint.id);
    expect(await merchant.listWebhooks()).to.deep.equal([]);
    const gone = await apiError(merchant.enableWebhook(endpoint.id));
    expect([gone.status, gone.code]).to.deep.equal([404, "not_found"]);
  });

  it("batch submission: a result per item, a failed item fails only itself", async function () {
    const merchant = await merchantClient();
    const items = [];
    for (const c of [0, 1, 2]) {
      const request = await merchant.createPaymentRequest({ amount: usd(5), orderRef: `batch-${c}`, expiresIn: 600 });
      const payer = s.f.customers[c].address as Hex;
      const prepared = paymentFromRequest(request, { payer, nonce: 0n });
      items.push({ ...prepared, signature: await signPayment(fromEthersSigner(s.f.customers[c]), prepared) });
    }
    // Item 1 carries item 0's signature: not its payer's.
    const result = await s.client.submitPayments([items[0], { ...items[1], signature: items[0].signature }, items[2]]);
    expect([result.accepted, result.duplicates, result.failed]).to.deep.equal([2, 0, 1]);
    expect(result.results[0].payment?.state).to.equal("accepted");
    expect(result.results[1].error).to.be.instanceOf(RelayerApiError);
    expect([result.results[1].status, result.results[1].error?.code]).to.deep.equal([400, "invalid_signature"]);
    expect(result.results[2].payment?.payer).to.equal(s.f.customers[2].address.toLowerCase());
  });

  describe("errors", function () {
    it("a bad signature is RelayerApiError 400 invalid_signature; a wrong domain 400 wrong_domain; an unknown payment 404", async function () {
      const merchant = await merchantClient();
      const request = await merchant.createPaymentRequest({ amount: usd(5), orderRef: "err-1", expiresIn: 600 });
      const payer = s.f.customers[0];
      const prepared = paymentFromRequest(request, { payer: payer.address as Hex, nonce: 0n });
      const other = paymentFromRequest(request, { payer: payer.address as Hex, nonce: 1n });
      const otherSig = await signPayment(fromEthersSigner(payer), other);

      const bad = await apiError(s.client.submitPayment({ ...prepared, signature: otherSig }));
      expect([bad.status, bad.code]).to.deep.equal([400, "invalid_signature"]);
      expect(bad.message).to.be.a("string").and.not.empty;
      expect(bad.request).to.deep.include({ method: "POST", path: "/v1/payments", attempts: 1 });

      const good = await signPayment(fromEthersSigner(payer), prepared);
      const foreign = { ...s.domain, chainId: 5n };
      const wrong = await apiError(s.client.submitPayment({ ...prepared, signature: good, domain: foreign }));
      expect([wrong.status, wrong.code]).to.deep.equal([400, "wrong_domain"]);

      const missing = await apiError(s.client.getPayment(`0x${"00".repeat(32)}`));
      expect([missing.status, missing.code]).to.deep.equal([404, "not_found"]);

      const early = await apiError(
        s.client.confirm(paymentId(s.domain, prepared.payment), { deadline: s.nowSec() + 60n, signature: good }),
      );
      expect([early.status, early.code]).to.deep.equal([404, "not_found"]);
    });

    it("a rotated-out (revoked) key is RelayerApiError 401 unauthorized; the new key works; revoking by id", async function () {
      const merchant = await merchantClient();
      const rotated = await merchant.rotateApiKey({ revokeCurrent: true });
      expect(rotated.revokedKeyId).to.match(/^key_/);
      const revoked = await apiError(merchant.getBalance());
      expect([revoked.status, revoked.code]).to.deep.equal([401, "unauthorized"]);

      const current = merchant.withApiKey(rotated.key);
      expect((await current.getBalance()).merchantId).to.equal(1n);
      const spare = await current.rotateApiKey();
      const gone = await current.revokeApiKey(spare.id);
      expect(gone.id).to.equal(spare.id);
      expect(gone.revokedAt).to.be.instanceOf(Date);
      const spareClient = current.withApiKey(spare.key);
      expect((await apiError(spareClient.listPayments())).code).to.equal("unauthorized");

      const wrongAdmin = new RelayerClient({ baseUrl: s.url, adminToken: "not-the-token" });
      expect((await apiError(wrongAdmin.createMerchantApiKey(1n))).status).to.equal(401);
      const unknown = await apiError(s.admin.createMerchantApiKey(99n));
      expect([unknown.status, unknown.code]).to.deep.equal([404, "unknown_merchant"]);
    });

    it("merchant and admin calls without credentials fail before any request", async function () {
      let requests = 0;
      const counting: typeof fetch = (input, init) => {
        requests++;
        return fetch(input, init);
      };
      const anonymous = new RelayerClient({ baseUrl: s.url, fetch: counting });
      for (const call of [() => anonymous.getBalance(), () => anonymous.createMerchantApiKey(1n)]) {
        try {
          await call();
          expect.fail("expected missing_credentials");
        } catch (error) {
          expect((error as { code?: string }).code).to.equal("missing_credentials");
        }
      }
      expect(requests).to.equal(0);
    });

    it("idempotency: an explicit Idempotency-Key replays the first answer; automatic keys make distinct requests", async function () {
      const merchant = await merchantClient();
      const params = { amount: usd(3), orderRef: "idem-1", expiresIn: 600 };
      const first = await merchant.createPaymentRequest(params, { idempotencyKey: "order-idem-1" });
      const replay = await merchant.createPaymentRequest(params, { idempotencyKey: "order-idem-1" });
      expect(replay.id).to.equal(first.id);
      const reused = await apiError(
        merchant.createPaymentRequest({ ...params, amount: usd(4) }, { idempotencyKey: "order-idem-1" }),
      );
      expect([reused.status, reused.code]).to.deep.equal([422, "idempotency_key_reused"]);
      const a = await merchant.createPaymentRequest(params);
      const b = await merchant.createPaymentRequest(params);
      expect(a.id).to.not.equal(b.id);
    });
  });

  it("viem one-off customer: pays a payment request from its wallet (signOneOffPayment → submitOneOffPayment), escrowed by the pipeline, proof verifies; refusals are RelayerApiErrors with the relayer's code", async function () {
    const merchant = await merchantClient();
    const request = await merchant.createPaymentRequest({
      amount: usd(12),
      orderRef: "order-oneoff",
      expiresIn: 3_600,
    });
    const account = privateKeyToAccount(generatePrivateKey());
    await s.f.token.connect(s.f.admin).mint(account.address, usd(30));
    const signer = fromViemAccount(account);
    const prepared = paymentFromRequest(request, {
      payer: account.address,
      nonce: 0n,
      expect: { escrow: s.escrowAddress },
    });
    const token = tokenDomain({
      name: await s.f.token.name(),
      chainId: s.f.chainId,
      token: (await s.f.token.getAddress()) as Hex,
    });
    const signed = await signOneOffPayment(signer, { ...prepared, tokenDomain: token });

    // A tampered authorization is refused with the relayer's code, status and the field it names.
    const tampered = await apiError(
      s.client.submitOneOffPayment({ ...signed, authorization: { ...signed.authorization, value: usd(1) } }),
    );
    expect([tampered.code, tampered.status, tampered.details?.field]).to.deep.equal([
      "authorization_mismatch",
      400,
      "value",
    ]);

    const submitted = await s.client.submitOneOffPayment(signed);
    expect(submitted.created).to.equal(true);
    expect(submitted.payment.requestId).to.equal(request.id);
    // Another one-off payment of the same request is refused: a request is paid once.
    const second = await signOneOffPayment(signer, {
      ...prepared,
      payment: { ...prepared.payment, deadline: prepared.payment.deadline - 1n },
      tokenDomain: token,
    });
    const twice = await apiError(s.client.submitOneOffPayment({ ...second, requestId: request.id }));
    expect([twice.code, twice.status]).to.deep.equal(["request_already_paid", 409]);

    await s.tickUntil([signed.id], [PaymentState.Escrowed]);
    const escrowed = await s.client.getPayment(signed.id);
    const root = (await s.f.escrow.batchRoot(escrowed.inclusion!.batchId)) as Hex;
    expect(verifyInclusion(escrowed, root, s.domain)).to.equal(true);
    expect(await s.f.token.balanceOf(account.address)).to.equal(usd(18));
    expect(await s.f.escrow.balanceOf(account.address)).to.equal(0n);
  });
});
