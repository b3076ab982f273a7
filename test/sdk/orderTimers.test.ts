/**
 * The SDK's signed order-timer actions: its signers sign what the escrow verifies (the same
 * signatures as the escrow tests' ethers signers, and ones the relayer relays), and its actions send
 * each route's body.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import {
  createCustomerClient,
  createMerchantClient,
  escrowDomain,
  fromEthersSigner,
  signEscalation,
  signHoldExtension,
  signRefundRejection,
  signRefundRequest,
  REFUND_REASONS,
  type Address,
  type Hex,
} from "../../src/sdk";
import { PaymentStatus, deployEscrowFixture, usd } from "../escrow/fixtures";
import {
  signEscalation as fixtureEscalation,
  signExtension as fixtureExtension,
  signRejection as fixtureRejection,
  signRequest as fixtureRequest,
} from "../escrow/orderTimers.helpers";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../relayer/helpers/api";

const ID = `0x${"ab".repeat(32)}` as Hex;
const DEADLINE = 1_900_000_000n;
const REASON = BigInt(REFUND_REASONS.damaged);

function stubFetch() {
  const requests: { url: string; method: string; headers: Headers; body: unknown }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    requests.push({
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: JSON.parse(String(init?.body)),
    });
    return new Response(JSON.stringify({ txHash: `0x${"12".repeat(32)}`, status: "sent" }), {
      status: 202,
      headers: { "content-type": "application/json" },
    });
  };
  return { fetch, requests };
}

describe("SDK: signed order-timer actions", function () {
  it("signs HoldExtension, RefundRequest, RefundRejection and Escalation as the escrow tests' ethers signer does", async function () {
    const f = await deployEscrowFixture();
    const domain = escrowDomain(f.chainId, (await f.escrow.getAddress()) as Address);
    const wallet = Wallet.createRandom();
    const signer = fromEthersSigner(wallet);
    expect(
      await signHoldExtension(signer, { domain, paymentId: ID, extension: 3600n, ordinal: 1n, deadline: DEADLINE }),
    ).to.equal((await fixtureExtension(f, wallet, ID, 3600n, 1n, DEADLINE)).signature);
    expect(
      await signRefundRequest(signer, {
        domain,
        paymentId: ID,
        amount: 5n,
        reason: REASON,
        ordinal: 2n,
        deadline: DEADLINE,
      }),
    ).to.equal((await fixtureRequest(f, wallet, ID, 5n, 2n, DEADLINE, REASON)).signature);
    expect(await signRefundRejection(signer, { domain, paymentId: ID, ordinal: 2n, deadline: DEADLINE })).to.equal(
      (await fixtureRejection(f, wallet, ID, 2n, DEADLINE)).signature,
    );
    expect(await signEscalation(signer, { domain, paymentId: ID, ordinal: 2n, deadline: DEADLINE })).to.equal(
      (await fixtureEscalation(f, wallet, ID, 2n, DEADLINE)).signature,
    );
  });

  it("customer actions post each route's body without credentials; the merchant's rejection sends its key", async function () {
    const stub = stubFetch();
    const customer = createCustomerClient({ baseUrl: "http://relayer.test", fetch: stub.fetch });
    const signed = { ordinal: 1n, deadline: DEADLINE, signature: `0x${"aa".repeat(65)}` as Hex };
    const sent = await customer.extendHold(ID, { ...signed, extension: 86_400n });
    expect(sent.txHash).to.equal(`0x${"12".repeat(32)}`);
    await customer.requestRefund(ID, { ...signed, amount: usd(4), reason: "damaged" });
    await customer.escalate(ID, signed);
    const merchant = createMerchantClient({ baseUrl: "http://relayer.test", apiKey: "sp_live_x", fetch: stub.fetch });
    await merchant.rejectRefundRequest(ID, signed);
    const common = { ordinal: "1", deadline: DEADLINE.toString(), signature: signed.signature };
    expect(stub.requests.map((r) => [r.method, r.url.replace("http://relayer.test", ""), r.body])).to.deep.equal([
      ["POST", `/v1/payments/${ID}/extend-hold`, { extension: "86400", ...common }],
      ["POST", `/v1/payments/${ID}/refund-requests`, { amount: usd(4).toString(), reason: "damaged", ...common }],
      ["POST", `/v1/payments/${ID}/escalate`, common],
      ["POST", `/v1/merchant/payments/${ID}/refund-requests/reject`, common],
    ]);
    expect(stub.requests.slice(0, 3).map((r) => r.headers.get("authorization"))).to.deep.equal([null, null, null]);
    expect(stub.requests[3].headers.get("authorization")).to.equal("Bearer sp_live_x");
  });

  describe("through the relayer", function () {
    let h: ApiHarness;
    useApi((started) => (h = started));

    it("the payer's SDK-signed extension and request, the merchant's SDK-signed rejection: each relayed and applied", async function () {
      const { body } = await signedPayment(h, 0, { amount: usd(10) });
      const id = (await h.request("POST", "/v1/payments", { body })).body.id as Hex;
      await escrowInStore(h, [id]);
      const domain = escrowDomain(h.f.chainId, (await h.f.escrow.getAddress()) as Address);
      const payer = fromEthersSigner(h.f.customers[0]);
      const deadline = BigInt(Math.floor(h.clock() / 1000)) + 3600n;
      const customer = createCustomerClient({ baseUrl: h.url });

      const extension = { paymentId: id, extension: 86_400n, ordinal: 1n, deadline };
      await customer.extendHold(id, {
        ...extension,
        signature: await signHoldExtension(payer, { domain, ...extension }),
      });
      expect(Number((await h.f.escrow.paymentRecord(id)).extensions)).to.equal(1);

      const request = { paymentId: id, amount: usd(3), reason: REASON, ordinal: 1n, deadline };
      const requestSignature = await signRefundRequest(payer, { domain, ...request });
      await customer.requestRefund(id, { ...request, reason: "damaged", signature: requestSignature });
      expect(Number((await h.f.escrow.paymentRecord(id)).status)).to.equal(PaymentStatus.RefundRequested);

      const { key } = await h.issueKey(1n);
      const merchant = createMerchantClient({ baseUrl: h.url, apiKey: key });
      const rejection = { paymentId: id, ordinal: 1n, deadline };
      const owner = fromEthersSigner(h.f.merchants[0].owner);
      const sent = await merchant.rejectRefundRequest(id, {
        ...rejection,
        signature: await signRefundRejection(owner, { domain, ...rejection }),
      });
      expect((await ethers.provider.getTransactionReceipt(sent.txHash))?.status).to.equal(1);
      expect(Number((await h.f.escrow.paymentRecord(id)).status)).to.equal(PaymentStatus.RefundRejected);
    });
  });
});
