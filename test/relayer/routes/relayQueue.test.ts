/**
 * The relayed routes as role api answers them: through the relay queue (QueuedChainWriter), with
 * the worker's side played by the test on the store. A request is simulated first (a revert is its
 * code at once, nothing queued), queued, and answered once a lane marks it sent (202 with the
 * transaction) or failed (its code); no lane in time is 503 relay_pending with Retry-After, and a
 * retry of the same signed request answers the one queued request's outcome. Withdrawals are
 * reserved in the payer's view once sent, and the relay quota counts a request once.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { BatchTree } from "../../../src/protocol";
import { withdrawalBody } from "../../../src/sdk/wire";
import type { ChainWriter } from "../../../src/relayer/chain/chainWriter";
import { QueuedChainWriter } from "../../../src/relayer/jobs/relayWriter";
import { signDepositAuthorization } from "../../escrow/funds.helpers";
import { CUSTOMER_DEPOSIT, signConfirmation, signWithdrawal, usd } from "../../escrow/fixtures";
import { DirectChainWriter } from "../helpers/directChainWriter";
import { escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";

const WAIT_MS = 300;
const TX = `0x${"ab".repeat(32)}` as Hex;

describe("relayer API on role api: relayed operations through the relay queue", function () {
  let h: ApiHarness;
  let writer: QueuedChainWriter;
  // The app is built before its store exists here: it gets a writer that forwards to `writer`.
  const forward = new Proxy({} as ChainWriter, {
    get:
      (_target, method: keyof ChainWriter) =>
      (...args: unknown[]) =>
        (writer[method] as (...a: unknown[]) => unknown)(...args),
  });
  useApi(
    (started) => {
      h = started;
      writer = new QueuedChainWriter({
        store: h.store,
        estimateGas: async (data) => ethers.provider.estimateGas({ to: await h.f.escrow.getAddress(), data }),
        waitMs: WAIT_MS,
        pollMs: 10,
        clock: h.clock,
      });
    },
    { deps: { writer: forward }, config: { relayQuotaPerDay: 2 } },
  );

  const nowSec = () => BigInt(Math.floor(h.clock() / 1000));
  const queuedRows = async () => (await h.store.relayRequests.countByState()).queued;

  async function depositBody(amount: bigint) {
    const payer = h.f.stranger;
    const signed = await signDepositAuthorization(
      { token: h.f.token, escrowAddress: await h.f.escrow.getAddress() } as never,
      payer,
      amount,
    );
    return {
      from: payer.address,
      amount: amount.toString(),
      validAfter: signed.auth.validAfter.toString(),
      validBefore: signed.auth.validBefore.toString(),
      salt: signed.auth.salt,
      signature: signed.sig.signature,
    };
  }

  it("no lane in time: 503 relay_pending with Retry-After; the retry queues nothing new; once sent, the retry is 202 with its transaction", async function () {
    await h.f.token.connect(h.f.admin).mint(h.f.stranger.address, usd(50));
    const body = await depositBody(usd(50));
    const started = Date.now();
    const first = await h.request("POST", "/v1/deposits", { body });
    expect(Date.now() - started).to.be.at.least(WAIT_MS - 20);
    expect([first.status, first.body.error.code], first.text).to.deep.equal([503, "relay_pending"]);
    expect(first.headers.get("retry-after")).to.equal("1");
    const id = first.body.error.details.requestId as Hex;
    const row = (await h.store.relayRequests.get(id))!;
    expect(row).to.include({
      operation: "depositWithAuthorization",
      payer: h.f.stranger.address.toLowerCase(),
      state: "queued",
      deadline: BigInt(body.validBefore) - 1n,
    });

    const again = await h.request("POST", "/v1/deposits", { body });
    expect([again.status, again.body.error.code, again.body.error.details.requestId]).to.deep.equal([
      503,
      "relay_pending",
      id,
    ]);
    expect(await queuedRows()).to.equal(1);

    // A worker's lane sends it while a retry waits: the retry answers 202 with its transaction.
    const waiting = h.request("POST", "/v1/deposits", { body });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await h.store.relayRequests.markSent(id, TX, h.clock())).to.equal(true);
    const sent = await waiting;
    expect([sent.status, sent.body], sent.text).to.deep.equal([202, { txHash: TX, status: "sent" }]);
    // And any later retry: the same answer, nothing simulated (the escrow would refuse a replay).
    const later = await h.request("POST", "/v1/deposits", { body });
    expect([later.status, later.body]).to.deep.equal([202, { txHash: TX, status: "sent" }]);
    expect(await h.store.relayRequests.countByState()).to.deep.equal({ queued: 0, sent: 1, failed: 0 });

    // The quota (2 a day) counted that request once, however often it was retried.
    await h.f.token.connect(h.f.admin).mint(h.f.stranger.address, usd(20));
    const second = await h.request("POST", "/v1/deposits", { body: await depositBody(usd(10)) });
    expect(second.body.error.code).to.equal("relay_pending");
    const third = await h.request("POST", "/v1/deposits", { body: await depositBody(usd(10)) });
    expect([third.status, third.body.error.code]).to.deep.equal([429, "relay_quota_exceeded"]);
  });

  it("a revert in the simulation is its code at once and queues nothing; a request a lane failed answers the recorded code", async function () {
    const { body: paymentBody } = await signedPayment(h, 0, { nonce: 0n });
    const created = await h.request("POST", "/v1/payments", { body: paymentBody });
    const id = created.body.id as Hex;
    const { batchId } = await escrowInStore(h, [id]);
    const deadline = nowSec() + 3600n;
    const signature = await signConfirmation(h.f, h.f.customers[0], id, deadline);
    const confirmBody = { deadline: deadline.toString(), signature };
    // Confirmed on chain by someone else; the store (no watcher here) still says escrowed.
    const record = (await h.store.payments.get(id))!;
    await new DirectChainWriter(h.f.relayer, await h.f.escrow.getAddress()).confirmWithSignature({
      payment: record,
      inclusion: { batchId, proof: new BatchTree([id]).proof(0) },
      deadline,
      signature,
    });
    const refused = await h.request("POST", `/v1/payments/${id}/confirm`, { body: confirmBody });
    expect([refused.status, refused.body.error.code, refused.body.error.details.revert]).to.deep.equal([
      409,
      "conflict",
      "PaymentNotHeld",
    ]);
    // A deposit the token refuses (the payer's wallet holds less): the token's revert, mapped.
    const poor = await h.request("POST", "/v1/deposits", { body: await depositBody(usd(1_000_000)) });
    expect([poor.status, poor.body.error.code]).to.deep.equal([409, "insufficient_balance"]);
    expect(await h.store.relayRequests.countByState()).to.deep.equal({ queued: 0, sent: 0, failed: 0 });

    // Queued, then refused by the lane's own simulation (the chain moved on): the retry says so.
    await h.f.token.connect(h.f.admin).mint(h.f.stranger.address, usd(5));
    const body = await depositBody(usd(5));
    const pending = await h.request("POST", "/v1/deposits", { body });
    const requestId = pending.body.error.details.requestId as Hex;
    await h.store.relayRequests.markFailed(
      requestId,
      "nonce_unavailable",
      "the escrow rejected it: AuthorizationUsedOrCanceled",
      h.clock(),
    );
    const failed = await h.request("POST", "/v1/deposits", { body });
    expect([failed.status, failed.body.error]).to.deep.equal([
      409,
      { code: "nonce_unavailable", message: "the escrow rejected it: AuthorizationUsedOrCanceled" },
    ]);
  });

  it("a retry after the request's effect was applied answers its outcome, where the route's own checks would refuse it", async function () {
    const { body: paymentBody } = await signedPayment(h, 0, { nonce: 0n });
    const id = (await h.request("POST", "/v1/payments", { body: paymentBody })).body.id as Hex;
    await escrowInStore(h, [id]);
    const deadline = nowSec() + 3600n;
    const confirmBody = {
      deadline: deadline.toString(),
      signature: await signConfirmation(h.f, h.f.customers[0], id, deadline),
    };
    const pending = await h.request("POST", `/v1/payments/${id}/confirm`, { body: confirmBody });
    expect(pending.body.error.code).to.equal("relay_pending");
    await h.store.relayRequests.markSent(pending.body.error.details.requestId, TX, h.clock());
    // The watcher applied PaymentConfirmed: the payment is no longer held.
    await h.store.payments.setState([id], PaymentState.Released);
    const retried = await h.request("POST", `/v1/payments/${id}/confirm`, { body: confirmBody });
    expect([retried.status, retried.body], retried.text).to.deep.equal([202, { txHash: TX, status: "sent" }]);
    // Another signed confirmation of the same payment was never relayed: the route's own answer.
    const other = nowSec() + 7200n;
    const fresh = await h.request("POST", `/v1/payments/${id}/confirm`, {
      body: { deadline: other.toString(), signature: await signConfirmation(h.f, h.f.customers[0], id, other) },
    });
    expect([fresh.status, fresh.body.error.code]).to.deep.equal([409, "conflict"]);

    // A withdrawal executed since: the view has its nonce used, yet the retry answers the outcome.
    const customer = h.f.customers[3];
    const w = { payer: customer.address as Hex, to: customer.address as Hex, amount: usd(10), nonce: 5n, deadline };
    const body = withdrawalBody({ withdrawal: w, signature: await signWithdrawal(h.f, customer, w) });
    const queued = await h.request("POST", "/v1/withdrawals", { body });
    await h.store.relayRequests.markSent(queued.body.error.details.requestId, TX, h.clock());
    await h.f.escrow.connect(customer).cancelNonce(5n);
    const again = await h.request("POST", "/v1/withdrawals", { body });
    expect([again.status, again.body], again.text).to.deep.equal([202, { txHash: TX, status: "sent" }]);
  });

  it("a withdrawal is reserved in the payer's view once sent, not while it waits", async function () {
    const customer = h.f.customers[3];
    const w = {
      payer: customer.address as Hex,
      to: h.f.stranger.address as Hex,
      amount: usd(100),
      nonce: 0n,
      deadline: nowSec() + 3600n,
    };
    const body = withdrawalBody({ withdrawal: w, signature: await signWithdrawal(h.f, customer, w) });
    const pending = await h.request("POST", "/v1/withdrawals", { body });
    expect(pending.body.error.code).to.equal("relay_pending");
    const account = async () => (await h.request("GET", `/v1/accounts/${customer.address}`)).body;
    expect((await account()).pending).to.equal("0");
    await h.store.relayRequests.markSent(pending.body.error.details.requestId, TX, h.clock());
    const sent = await h.request("POST", "/v1/withdrawals", { body });
    expect([sent.status, sent.body.txHash], sent.text).to.deep.equal([202, TX]);
    const after = await account();
    expect([after.pending, after.available]).to.deep.equal([
      usd(100).toString(),
      (CUSTOMER_DEPOSIT - usd(100)).toString(),
    ]);
    expect(after.nextNonces[0], "its nonce is taken").to.equal("1");
  });
});
