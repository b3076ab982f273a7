/**
 * The dashboard's two merchant routes on the in-process chain: a payment's timeline (relayer
 * records and escrow events: accepted, batched, escrowed, refunded, dispute opened and resolved,
 * settled) and the refund typed data a browser wallet signs, whose signature the refund route
 * then relays. Every refusal with its status and code; another merchant's payment is 404 like a
 * missing one.
 */
import { expect } from "chai";
import { TypedDataEncoder } from "ethers";
import type { Hex } from "../../../src/relayer/domain";
import { PaymentState, SettlementState } from "../../../src/relayer/domain";
import { bytesToHex } from "../../../src/protocol";
import { EscrowDigester } from "../../../src/protocol/digest";
import { paymentFields } from "../../../src/protocol";
import { signDispute, usd } from "../../escrow/fixtures";
import { escrowInStore, useApi, type ApiHarness } from "../helpers/api";

const ORDER_TEXT = `order-<script>window.__xss=1</script>`;

describe("relayer API: payment timeline and refund typed data", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const nowSec = () => BigInt(Math.floor(h.clock() / 1000));

  /** A payment of customer `customer` to merchant 1 through a payment request with a text order reference. */
  async function requestedPayment(key: string, customer = 0, amount = usd(10)): Promise<Hex> {
    const req = await h.request("POST", "/v1/merchant/payment-requests", {
      key,
      body: { amount: amount.toString(), orderRef: ORDER_TEXT, expiresIn: 3600 },
    });
    expect(req.status, req.text).to.equal(201);
    const signer = h.f.customers[customer];
    const message = { ...req.body.typedData.message, payer: signer.address, nonce: "0" };
    const { EIP712Domain: _domain, ...types } = req.body.typedData.types;
    const signature = await signer.signTypedData(req.body.typedData.domain, types, message);
    const paid = await h.request("POST", "/v1/payments", { body: { ...message, signature, requestId: req.body.id } });
    expect(paid.status, paid.text).to.equal(201);
    return paid.body.id;
  }

  /** Signs the route's typed data with `signer` as a wallet's eth_signTypedData_v4 would. */
  async function signTyped(typedData: any, signer = h.f.merchants[0].owner): Promise<string> {
    const { EIP712Domain: _domain, ...types } = typedData.types;
    return signer.signTypedData(typedData.domain, types, typedData.message);
  }

  const kinds = (body: { entries: { kind: string }[] }) => body.entries.map((e) => e.kind);

  it("follows a payment from acceptance through escrow, a partial refund signed from the route's typed data, a dispute and its ruling", async function () {
    const key = (await h.issueKey(1n)).key;
    const id = await requestedPayment(key);
    const accepted = await h.request("GET", `/v1/merchant/payments/${id}/timeline`, { key });
    expect(accepted.status, accepted.text).to.equal(200);
    expect(accepted.body).to.deep.include({ paymentId: id, state: "accepted", amount: usd(10).toString() });
    expect(accepted.body.orderRefText).to.equal(ORDER_TEXT);
    expect(kinds(accepted.body)).to.deep.equal(["accepted"]);
    expect(accepted.body.entries[0]).to.deep.include({ source: "relayer", blockNumber: null, txHash: null });

    const { batchId } = await escrowInStore(h, [id]);
    const record = (await h.store.payments.get(id))!;
    const escrowed = await h.request("GET", `/v1/merchant/payments/${id}/timeline`, { key });
    expect(kinds(escrowed.body)).to.deep.equal(["accepted", "batched", "escrowed"]);
    const [, batched, onChain] = escrowed.body.entries;
    expect(batched).to.deep.include({ source: "relayer", txHash: record.txHash });
    const receipt = await h.f.escrow.runner!.provider!.getTransactionReceipt(record.txHash!);
    expect(onChain).to.deep.include({ source: "chain", blockNumber: receipt!.blockNumber, txHash: record.txHash });
    expect(onChain.details).to.deep.equal({ batchId: batchId.toString(), amount: usd(10).toString() });

    // The typed data, signed as a wallet does, is accepted by the refund route and refunds on chain.
    const typed = await h.request("GET", `/v1/merchant/payments/${id}/refund-typed-data?totalRefund=${usd(3)}`, {
      key,
    });
    expect(typed.status, typed.text).to.equal(200);
    const { typedData } = typed.body;
    expect(typed.body.signer).to.equal(h.f.merchants[0].owner.address.toLowerCase());
    expect(typedData.primaryType).to.equal("Refund");
    expect(typedData.message.paymentId).to.equal(id);
    expect(typedData.message.totalRefund).to.equal(usd(3).toString());
    const deadline = BigInt(typedData.message.deadline);
    expect(deadline > nowSec() && deadline <= nowSec() + 15n * 60n + 5n, "default deadline: 15 minutes").to.equal(true);
    // The digest the wallet signs is the one the relayer checks and the escrow verifies.
    const { EIP712Domain: _domain, ...types } = typedData.types;
    const digester = new EscrowDigester(h.f.chainId, (await h.f.escrow.getAddress()).toLowerCase() as Hex);
    expect(TypedDataEncoder.hash(typedData.domain, types, typedData.message)).to.equal(
      bytesToHex(digester.refund(id, usd(3), deadline)),
    );
    const sent = await h.request("POST", typed.body.submit.path, {
      key,
      body: { ...typed.body.submit.body, signature: await signTyped(typedData) },
    });
    expect(sent.status, sent.text).to.equal(202);
    const refunded = await h.request("GET", `/v1/merchant/payments/${id}/timeline`, { key });
    expect(kinds(refunded.body)).to.deep.equal(["accepted", "batched", "escrowed", "refunded"]);
    expect(refunded.body.entries[3]).to.deep.include({ source: "chain", txHash: sent.body.txHash });
    expect(refunded.body.entries[3].details).to.deep.equal({
      amount: usd(3).toString(),
      totalRefunded: usd(3).toString(),
    });

    const disputeDeadline = nowSec() + 3600n;
    const dispute = await h.request("POST", `/v1/payments/${id}/dispute`, {
      body: {
        deadline: disputeDeadline.toString(),
        signature: await signDispute(h.f, h.f.customers[0], id, disputeDeadline),
      },
    });
    expect(dispute.status, dispute.text).to.equal(202);
    await h.f.escrow.connect(h.f.arbiter).resolveDispute(paymentFields(record), usd(2));
    const ruled = await h.request("GET", `/v1/merchant/payments/${id}/timeline`, { key });
    expect(kinds(ruled.body)).to.deep.equal([
      "accepted",
      "batched",
      "escrowed",
      "refunded",
      "dispute_opened",
      "dispute_resolved",
    ]);
    expect(ruled.body.entries[4].details.amount).to.equal(usd(7).toString());
    expect(ruled.body.entries[5].details).to.deep.include({ toPayer: usd(2).toString(), byTimeout: "false" });
  });

  it("a settled payment's timeline ends with the settlement that paid out its batch", async function () {
    const key = (await h.issueKey(1n)).key;
    const id = await requestedPayment(key);
    const { batchId } = await escrowInStore(h, [id]);
    const other = await h.store.settlements.create(1n, [batchId + 100n]);
    await h.store.settlements.update(other.key, { state: SettlementState.Confirmed, txHash: `0x${"01".repeat(32)}` });
    const settlement = await h.store.settlements.create(1n, [batchId]);
    const txHash = `0x${"ab".repeat(32)}` as Hex;
    await h.store.settlements.update(settlement.key, { state: SettlementState.Confirmed, txHash });
    await h.store.payments.update([{ id, state: PaymentState.Settled, fields: {} }]);
    const res = await h.request("GET", `/v1/merchant/payments/${id}/timeline`, { key });
    expect(kinds(res.body)).to.deep.equal(["accepted", "batched", "escrowed", "settled"]);
    expect(res.body.entries[3]).to.deep.include({ source: "relayer", txHash });
    expect(res.body.entries[3].details).to.deep.equal({ settlement: `${settlement.key}`, state: "confirmed" });
  });

  it("another merchant's payment is 404 not_found on both routes, exactly like a missing one; no key is 401", async function () {
    const mine = (await h.issueKey(1n)).key;
    const theirs = (await h.issueKey(2n)).key;
    const id = await requestedPayment(mine);
    await escrowInStore(h, [id]);
    const missing = `0x${"12".repeat(32)}`;
    for (const route of ["timeline", `refund-typed-data?totalRefund=${usd(1)}`]) {
      const foreign = await h.request("GET", `/v1/merchant/payments/${id}/${route}`, { key: theirs });
      const absent = await h.request("GET", `/v1/merchant/payments/${missing}/${route}`, { key: mine });
      for (const res of [foreign, absent]) {
        expect([res.status, res.body.error.code], route).to.deep.equal([404, "not_found"]);
      }
      expect(foreign.body.error.message).to.equal(absent.body.error.message);
      const anonymous = await h.request("GET", `/v1/merchant/payments/${id}/${route}`);
      expect([anonymous.status, anonymous.body.error.code]).to.deep.equal([401, "unauthorized"]);
      const malformed = await h.request("GET", `/v1/merchant/payments/0x1234/${route}`, { key: mine });
      expect([malformed.status, malformed.body.error.code]).to.deep.equal([400, "validation_failed"]);
    }
  });

  it("refund typed data refuses what the refund would refuse: amounts, deadlines, a payment not held", async function () {
    const key = (await h.issueKey(1n)).key;
    const pending = await requestedPayment(key, 1);
    const id = await requestedPayment(key, 0);
    await escrowInStore(h, [id]);
    const ask = (query: string, payment = id) =>
      h.request("GET", `/v1/merchant/payments/${payment}/refund-typed-data${query}`, { key });
    const cases: [string, number, string][] = [
      [`?totalRefund=${usd(10) + 1n}`, 400, "invalid_amount"],
      ["?totalRefund=0", 400, "invalid_amount"],
      [`?totalRefund=${2n ** 128n}`, 400, "invalid_amount"],
      ["?totalRefund=-1", 400, "validation_failed"],
      ["?totalRefund=1.5", 400, "validation_failed"],
      ["", 400, "validation_failed"],
      [`?totalRefund=1&deadline=${nowSec() - 10n}`, 400, "expired"],
      ["?totalRefund=1&deadline=soon", 400, "validation_failed"],
      [`?totalRefund=1&deadline=${2n ** 48n}`, 400, "validation_failed"],
      ["?totalRefund=1&other=x", 400, "validation_failed"],
    ];
    for (const [query, status, code] of cases) {
      const res = await ask(query);
      expect([res.status, res.body.error?.code], query).to.deep.equal([status, code]);
    }
    const notHeld = await ask(`?totalRefund=${usd(1)}`, pending);
    expect([notHeld.status, notHeld.body.error.code]).to.deep.equal([409, "conflict"]);
    expect(notHeld.body.error.details.state).to.equal("accepted");

    // Cumulative: asking for no more than is already refunded would refund nothing.
    await h.store.payments.update([{ id, fields: { refunded: usd(4) } }]);
    for (const total of [usd(4), usd(1)]) {
      const res = await ask(`?totalRefund=${total}`);
      expect([res.status, res.body.error.code]).to.deep.equal([400, "invalid_amount"]);
      expect(res.body.error.details.refunded).to.equal(usd(4).toString());
    }
    const deadline = nowSec() + 600n;
    const more = await ask(`?totalRefund=${usd(5)}&deadline=${deadline}`);
    expect(more.status, more.text).to.equal(200);
    expect(more.body.typedData.message).to.deep.equal({
      paymentId: id,
      totalRefund: usd(5).toString(),
      deadline: deadline.toString(),
    });
  });
});
