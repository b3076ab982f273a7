/**
 * GET /v1/merchant/payments/:id/refund-rejection-typed-data on the in-process chain: the payer asks
 * for a refund on chain, the chain's logs are applied as the watcher applies them, and the typed
 * data names the open request's ordinal; signed as a wallet signs it by the merchant's owner key, the
 * reject route accepts it and the payment becomes refund_rejected. Signed by another key, the reject
 * route refuses it (400 invalid_signature). Every refusal of the typed data route with its status
 * and code; another merchant's payment is 404 like a missing one.
 */
import { expect } from "chai";
import { TypedDataEncoder, type Signer } from "ethers";
import { BatchTree, escrowDomain, paymentFields, REFUND_REASONS, refundRejectionDigest } from "../../../src/protocol";
import type { Hex } from "../../../src/relayer/domain";
import { applyEscrowPage, decodeEscrowLogs } from "../../../src/relayer/jobs/logApplier";
import type { RawLog } from "../../../src/relayer/chain/rawTypes";
import { NO_LEDGER } from "../../../src/relayer/ledger/listener";
import { usd } from "../../escrow/fixtures";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";

describe("relayer API: refund rejection typed data", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const nowSec = () => BigInt(Math.floor(h.clock() / 1000));

  /** Applies every escrow log so far to the store, as the chain watcher does (re-applying changes nothing). */
  async function applyChain(): Promise<void> {
    const provider = h.f.escrow.runner!.provider!;
    const logs = await provider.getLogs({ address: await h.f.escrow.getAddress(), fromBlock: 0, toBlock: "latest" });
    const raw: RawLog[] = logs.map((l) => ({
      address: l.address.toLowerCase() as Hex,
      topics: l.topics.map((t) => t.toLowerCase() as Hex),
      data: l.data.toLowerCase() as Hex,
      blockNumber: BigInt(l.blockNumber),
      blockHash: l.blockHash.toLowerCase() as Hex,
      transactionHash: l.transactionHash.toLowerCase() as Hex,
      removed: l.removed,
    }));
    const page = decodeEscrowLogs(raw);
    await h.store.transaction(() =>
      applyEscrowPage(h.store, page, h.clock(), NO_LEDGER, h.f.relayer.address.toLowerCase() as Hex),
    );
  }

  /** A payment of `customer` to merchant 1, accepted by the API and escrowed on chain; its record and inclusion. */
  async function escrowedPayment(customer = 0) {
    const { body } = await signedPayment(h, customer);
    const paid = await h.request("POST", "/v1/payments", { body });
    expect(paid.status, paid.text).to.equal(201);
    const id = paid.body.id as Hex;
    const { batchId } = await escrowInStore(h, [id]);
    const record = (await h.store.payments.get(id))!;
    return { id, record, inclusion: { batchId, proof: new BatchTree([id]).proof(0) } };
  }

  /** The payer asks for `amount` back on chain; the store then follows the chain. */
  async function requestRefund(p: Awaited<ReturnType<typeof escrowedPayment>>, amount: bigint, customer = 0) {
    await h.f.escrow
      .connect(h.f.customers[customer])
      .requestRefund(paymentFields(p.record), p.inclusion, amount, REFUND_REASONS.damaged);
    await applyChain();
  }

  async function signTyped(typedData: any, signer: Signer = h.f.merchants[0].owner): Promise<string> {
    const { EIP712Domain: _domain, ...types } = typedData.types;
    return signer.signTypedData(typedData.domain, types, typedData.message);
  }

  const typedDataOf = (id: string, key: string, query = "") =>
    h.request("GET", `/v1/merchant/payments/${id}/refund-rejection-typed-data${query}`, { key });

  it("names the open request; the owner's signature of it rejects the request, another key's is refused", async function () {
    const key = (await h.issueKey(1n)).key;
    const p = await escrowedPayment();
    await requestRefund(p, usd(4));
    expect((await h.store.payments.get(p.id))!.state).to.equal("refund_requested");

    const typed = await typedDataOf(p.id, key);
    expect(typed.status, typed.text).to.equal(200);
    const { typedData } = typed.body;
    expect(typed.body.signer).to.equal(h.f.merchants[0].owner.address.toLowerCase());
    expect(typedData.primaryType).to.equal("RefundRejection");
    expect(typedData.types.RefundRejection).to.deep.equal([
      { name: "paymentId", type: "bytes32" },
      { name: "ordinal", type: "uint8" },
      { name: "deadline", type: "uint48" },
    ]);
    expect(typedData.message).to.deep.include({ paymentId: p.id, ordinal: "1" });
    const deadline = BigInt(typedData.message.deadline);
    expect(deadline > nowSec() && deadline <= nowSec() + 15n * 60n + 5n, "default deadline: 15 minutes").to.equal(true);
    expect(typed.body.submit).to.deep.equal({
      method: "POST",
      path: `/v1/merchant/payments/${p.id}/refund-requests/reject`,
      body: { ordinal: "1", deadline: deadline.toString(), signature: null },
    });
    // The digest the wallet signs is the one the relayer checks and the escrow verifies.
    const { EIP712Domain: _domain, ...types } = typedData.types;
    const domain = escrowDomain(h.f.chainId, (await h.f.escrow.getAddress()) as Hex);
    expect(TypedDataEncoder.hash(typedData.domain, types, typedData.message)).to.equal(
      refundRejectionDigest(domain, { paymentId: p.id, ordinal: 1n, deadline }),
    );

    // Signed by a key that is not the merchant's owner: refused, nothing sent.
    const stranger = h.f.customers[1];
    const forged = await h.request("POST", typed.body.submit.path, {
      key,
      body: { ...typed.body.submit.body, signature: await signTyped(typedData, stranger) },
    });
    expect([forged.status, forged.body.error.code], forged.text).to.deep.equal([400, "invalid_signature"]);
    await applyChain();
    expect((await h.store.payments.get(p.id))!.state).to.equal("refund_requested");

    const sent = await h.request("POST", typed.body.submit.path, {
      key,
      body: { ...typed.body.submit.body, signature: await signTyped(typedData) },
    });
    expect(sent.status, sent.text).to.equal(202);
    await applyChain();
    const rejected = await h.request("GET", `/v1/merchant/payments/${p.id}`, { key });
    expect(rejected.body.state).to.equal("refund_rejected");
    expect(rejected.body.timer.escalateBy).to.not.equal(null);

    // Nothing left to reject.
    const again = await typedDataOf(p.id, key);
    expect([again.status, again.body.error.code]).to.deep.equal([409, "conflict"]);
    expect(again.body.error.details.state).to.equal("refund_rejected");
  });

  it("a later request is named by its own ordinal", async function () {
    const key = (await h.issueKey(1n)).key;
    const p = await escrowedPayment();
    await requestRefund(p, usd(2));
    // A partial refund answers the first request and resumes the clock (held); the payer asks again.
    const refund = await h.request("GET", `/v1/merchant/payments/${p.id}/refund-typed-data?totalRefund=${usd(2)}`, {
      key,
    });
    expect(refund.status, refund.text).to.equal(200);
    const refunded = await h.request("POST", refund.body.submit.path, {
      key,
      body: { ...refund.body.submit.body, signature: await signTyped(refund.body.typedData) },
    });
    expect(refunded.status, refunded.text).to.equal(202);
    await applyChain();
    expect((await h.store.payments.get(p.id))!.state).to.equal("held");
    await requestRefund(p, usd(1));
    const typed = await typedDataOf(p.id, key);
    expect(typed.status, typed.text).to.equal(200);
    expect(typed.body.typedData.message.ordinal).to.equal("2");
    expect(typed.body.submit.body.ordinal).to.equal("2");
  });

  it("refuses: no open request (409 conflict with the state), deadlines, another merchant's or a missing payment (404), no key (401)", async function () {
    const mine = (await h.issueKey(1n)).key;
    const theirs = (await h.issueKey(2n)).key;
    const p = await escrowedPayment();
    const none = await typedDataOf(p.id, mine);
    expect([none.status, none.body.error.code]).to.deep.equal([409, "conflict"]);
    expect(none.body.error.details.state).to.equal("escrowed");

    await requestRefund(p, usd(1));
    const cases: [string, number, string][] = [
      [`?deadline=${nowSec() - 10n}`, 400, "expired"],
      ["?deadline=soon", 400, "validation_failed"],
      [`?deadline=${2n ** 48n}`, 400, "validation_failed"],
      ["?other=x", 400, "validation_failed"],
    ];
    for (const [query, status, code] of cases) {
      const res = await typedDataOf(p.id, mine, query);
      expect([res.status, res.body.error?.code], query).to.deep.equal([status, code]);
    }
    const deadline = nowSec() + 600n;
    const given = await typedDataOf(p.id, mine, `?deadline=${deadline}`);
    expect(given.status, given.text).to.equal(200);
    expect(given.body.typedData.message).to.deep.equal({ paymentId: p.id, ordinal: "1", deadline: `${deadline}` });

    const foreign = await typedDataOf(p.id, theirs);
    const absent = await typedDataOf(`0x${"12".repeat(32)}`, mine);
    for (const res of [foreign, absent]) expect([res.status, res.body.error.code]).to.deep.equal([404, "not_found"]);
    expect(foreign.body.error.message).to.equal(absent.body.error.message);
    const malformed = await typedDataOf("0x1234", mine);
    expect([malformed.status, malformed.body.error.code]).to.deep.equal([400, "validation_failed"]);
    const anonymous = await h.request("GET", `/v1/merchant/payments/${p.id}/refund-rejection-typed-data`);
    expect([anonymous.status, anonymous.body.error.code]).to.deep.equal([401, "unauthorized"]);
  });
});
