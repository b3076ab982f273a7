/**
 * One-off payments through the whole relayer (POST /v1/payments/one-off over real HTTP, the pipeline
 * on the in-process chain): a payer with tokens in its wallet and nothing in the escrow pays by an
 * EIP-3009 authorization bound to the payment. Accepted, batched apart into payBatchWithAuthorization,
 * escrowed, settled; every refusal at intake with its status and code, storing nothing; a payment
 * whose authorization is taken from under it (revoked, or escrowed first by a mempool watcher) is
 * recorded as the chain decided, never lost.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import {
  BatchTree,
  CANCEL_AUTHORIZATION_TYPES,
  ONCHAIN_REJECT_REASONS,
  ONE_OFF_NONCE,
  encodeBatch,
  ethersTypes,
  processProof,
  type Hex,
} from "../../../src/protocol";
import { BatchState, PaymentState } from "../../../src/relayer/domain";
import { ONE_OFF_BATCH_GAS, oneOffModelGas } from "../../../src/relayer/jobs/batcher";
import { fromEthersSigner, signOneOffPayment } from "../../../src/sdk";
import { HOLD_PERIOD, feeOf, usd } from "../../escrow/fixtures";
import { advanceChainTime, mine, minHoldOf, setAutomine } from "../helpers/chain";
import { batchOutcomes, signedPayment } from "../helpers/api";
import { ONE_OFF_WALLET_FUNDS, oneOffBody, oneOffPayer, signedOneOff, tokenDomainOf } from "../helpers/oneOff";
import { useSdkHarness, type SdkHarness } from "../../sdk/helpers";
import { runAudit } from "../../../src/auditor/audit";
import type { Address, AuditTarget } from "../../../src/auditor/types";
import { hardhatClient } from "../../auditor/helpers";

const ROUTE = "/v1/payments/one-off";
const selectorOf = (s: SdkHarness, name: "payBatch" | "payBatchWithAuthorization") =>
  s.f.escrow.interface.getFunction(name)!.selector;

/** The auditor's view of the harness's deployment: from the first block of its contracts. */
async function auditTargetOf(s: SdkHarness): Promise<AuditTarget> {
  const blocks = await Promise.all(
    [s.f.token, s.f.registry, s.f.escrow].map(
      async (c) => (await ethers.provider.getTransactionReceipt(c.deploymentTransaction()!.hash))!.blockNumber,
    ),
  );
  return {
    network: "hardhat",
    chainId: Number(s.f.chainId),
    currency: "USD",
    deployBlock: BigInt(Math.min(...blocks)),
    token: (await s.f.token.getAddress()) as Address,
    registry: (await s.f.registry.getAddress()) as Address,
    escrow: s.escrowAddress,
    externalToken: false,
  };
}

async function txSelector(txHash: Hex): Promise<string> {
  return (await ethers.provider.getTransaction(txHash))!.data.slice(0, 10);
}

describe("relayer: one-off payments (POST /v1/payments/one-off)", function () {
  let s: SdkHarness;
  useSdkHarness((h) => (s = h));
  afterEach(() => setAutomine(true));

  it("accepted, batched apart into payBatchWithAuthorization, escrowed from the wallet, settled to the merchant", async function () {
    const payer = await oneOffPayer(s.f);
    const signed = await signedOneOff(s, payer, { amount: usd(25) });
    const first = await s.client.submitOneOffPayment(signed);
    expect(first.created).to.equal(true);
    expect(first.payment.id).to.equal(signed.id);
    expect(first.payment.state).to.equal("accepted");
    expect(first.payment.nonce).to.equal(ONE_OFF_NONCE);
    // The same payment again is the stored one, not a second payment.
    const again = await s.client.submitOneOffPayment(signed);
    expect(again.created).to.equal(false);
    expect(again.payment.id).to.equal(signed.id);

    // The payer's account lists it apart: it spends the wallet, not the escrow balance or a nonce.
    const account = await s.client.getAccount(payer.address as Hex);
    expect(account).to.include({ balance: 0n, pending: 0n, available: 0n, pendingOneOff: usd(25) });

    // A payment from an escrow balance, queued with it, goes to a payBatch of its own.
    const normal = await signedPayment(s, 0);
    const created = await s.request("POST", "/v1/payments", { body: normal.body });
    expect(created.status, created.text).to.equal(201);
    const ids = [signed.id, created.body.id as Hex];
    await s.tickUntil(ids, [PaymentState.Escrowed]);

    const oneOff = (await s.store.payments.get(signed.id))!;
    const other = (await s.store.payments.get(ids[1]))!;
    expect(oneOff.batchKey).to.not.equal(other.batchKey);
    expect(await txSelector(oneOff.txHash!)).to.equal(selectorOf(s, "payBatchWithAuthorization"));
    expect(await txSelector(other.txHash!)).to.equal(selectorOf(s, "payBatch"));
    expect(await s.f.token.balanceOf(payer.address)).to.equal(usd(75));
    expect(await s.f.escrow.balanceOf(payer.address)).to.equal(0n);
    expect(await s.client.getAccount(payer.address as Hex)).to.include({ balance: 0n, pending: 0n, pendingOneOff: 0n });
    const view = await s.request("GET", `/v1/payments/${signed.id}`);
    expect(view.body.inclusion.root).to.equal(await s.f.escrow.batchRoot(oneOff.batchId!));
    expect(processProof(signed.id, view.body.inclusion.proof)).to.equal(view.body.inclusion.root);

    await advanceChainTime(HOLD_PERIOD + 1n);
    const payout = s.f.merchants[0].payout.address;
    const before = await s.f.token.balanceOf(payout);
    await s.tickUntil([signed.id], [PaymentState.Settled]);
    const paidOut = (await s.f.token.balanceOf(payout)) - before;
    // The merchant's tranche of the one-off batch (this payment alone) was paid out net of fees.
    expect(paidOut >= usd(25) - feeOf(usd(25))).to.equal(true);
    // A retry after it settled still answers the stored payment.
    const late = await s.request("POST", ROUTE, { body: oneOffBody(signed) });
    expect(late.status, late.text).to.equal(200);
    expect(late.body.state).to.equal("settled");

    // The auditor rebuilds the one-off payment from the events and everything reconciles.
    const audit = await runAudit({ client: hardhatClient(), target: await auditTargetOf(s) });
    expect(audit.mismatches).to.deep.equal([]);
    expect(audit.ledger.payments.get(signed.id)).to.include({ status: "settled", amount: usd(25) });
    expect(audit.ledger.payments.get(ids[1])).to.include({ status: "settled" });
  });

  describe("refused at intake with a stable code, nothing stored", function () {
    async function expectRefused(body: unknown, status: number, code: string, details?: Record<string, unknown>) {
      const before = (await s.store.payments.countByState()).accepted;
      const res = await s.request("POST", ROUTE, { body });
      expect(res.status, res.text).to.equal(status);
      expect(res.body.error.code).to.equal(code);
      if (details) expect(res.body.error.details).to.include(details);
      expect((await s.store.payments.countByState()).accepted).to.equal(before);
      return res;
    }

    it("an authorization for another amount, recipient or window, or whose nonce is not the payment id", async function () {
      const payer = await oneOffPayer(s.f);
      const signed = await signedOneOff(s, payer);
      const tokenDomain = await tokenDomainOf(s.f);
      // Genuinely signed by the payer, for another amount / recipient / nonce: each is named.
      const resign = async (change: Record<string, unknown>) => {
        const authorization = { ...signed.authorization, ...change };
        const signature = (await payer.signTypedData(
          { ...tokenDomain },
          ethersTypes({
            ReceiveWithAuthorization: [
              { name: "from", type: "address" },
              { name: "to", type: "address" },
              { name: "value", type: "uint256" },
              { name: "validAfter", type: "uint256" },
              { name: "validBefore", type: "uint256" },
              { name: "nonce", type: "bytes32" },
            ],
          }),
          authorization,
        )) as Hex;
        return oneOffBody({ ...signed, authorization, signature });
      };
      await expectRefused(await resign({ value: signed.payment.amount + 1n }), 400, "authorization_mismatch", {
        field: "value",
        expected: signed.payment.amount.toString(),
      });
      await expectRefused(await resign({ to: s.f.stranger.address }), 400, "authorization_mismatch", {
        field: "to",
      });
      await expectRefused(
        await resign({ validBefore: signed.authorization.validBefore + 60n }),
        400,
        "authorization_mismatch",
        { field: "validBefore" },
      );
      await expectRefused(
        await resign({ nonce: ethers.hexlify(ethers.randomBytes(32)) }),
        400,
        "authorization_mismatch",
        {
          field: "nonce",
          expected: signed.id,
        },
      );
      // The authorization of one payment sent with another (merchant changed): its nonce is not that payment's id.
      const other = { ...oneOffBody(signed), merchantId: s.f.merchants[1].id.toString() };
      await expectRefused(other, 400, "authorization_mismatch", { field: "nonce" });
      // The escrow's own fields must match too.
      await expectRefused({ ...oneOffBody(signed), escrow: s.f.stranger.address }, 400, "wrong_domain");
      // Malformed: rejected by the schema.
      await expectRefused({ ...oneOffBody(signed), nonce: "1" }, 400, "validation_failed");
    });

    it("signed by someone else, or not a signature at all", async function () {
      const payer = await oneOffPayer(s.f);
      const signed = await signedOneOff(s, payer);
      const thief = Wallet.createRandom();
      const forged = await signOneOffPayment(fromEthersSigner(thief), {
        domain: s.domain,
        tokenDomain: await tokenDomainOf(s.f),
        payment: { ...signed.payment, payer: thief.address as Hex },
      });
      // The thief's authorization of the payer's payment: from must be the payer, so it is named...
      await expectRefused(oneOffBody({ ...signed, signature: forged.signature }), 400, "invalid_signature");
      await expectRefused(oneOffBody(signed, { signature: `0x${"11".repeat(65)}` }), 400, "invalid_signature");
    });

    it("expired or not yet valid", async function () {
      const payer = await oneOffPayer(s.f);
      const expired = await signedOneOff(s, payer, { deadline: s.nowSec() - 10n });
      await expectRefused(oneOffBody(expired), 400, "expired");
      const later = await signedOneOff(s, payer, { validAfter: s.nowSec() + 3_600n, deadline: s.nowSec() + 7_200n });
      await expectRefused(oneOffBody(later), 400, "not_yet_valid");
    });

    it("a payer without the tokens, or whose pending one-off payments already spend them", async function () {
      const broke = await oneOffPayer(s.f, 0n);
      await expectRefused(oneOffBody(await signedOneOff(s, broke)), 409, "insufficient_token_balance", {
        balance: "0",
      });
      const payer = await oneOffPayer(s.f, usd(15));
      const first = await s.request("POST", ROUTE, { body: oneOffBody(await signedOneOff(s, payer)) });
      expect(first.status, first.text).to.equal(201);
      await expectRefused(oneOffBody(await signedOneOff(s, payer)), 409, "insufficient_token_balance", {
        balance: usd(15).toString(),
        pending: usd(10).toString(),
      });
      // What is left still pays a smaller one.
      const small = await s.request("POST", ROUTE, {
        body: oneOffBody(await signedOneOff(s, payer, { amount: usd(5) })),
      });
      expect(small.status, small.text).to.equal(201);
    });

    it("an authorization the token already spent or the payer cancelled (a replay with no stored payment)", async function () {
      const payer = await oneOffPayer(s.f);
      await ethers.provider.send("hardhat_setBalance", [payer.address, "0xDE0B6B3A7640000"]);
      const signed = await signedOneOff(s, payer);
      const cancel = await payer.signTypedData(
        { ...(await tokenDomainOf(s.f)) },
        ethersTypes(CANCEL_AUTHORIZATION_TYPES),
        { authorizer: payer.address, nonce: signed.id },
      );
      await (
        await s.f.token.connect(payer)["cancelAuthorization(address,bytes32,bytes)"](payer.address, signed.id, cancel)
      ).wait();
      await expectRefused(oneOffBody(signed), 409, "authorization_used", { paymentId: signed.id });
    });
  });

  it("POST /v1/payments/batch takes one-off items beside escrow-balance payments: each answered as its own route would, escrowed by its own batch kind", async function () {
    const payer = await oneOffPayer(s.f);
    const broke = await oneOffPayer(s.f, 0n);
    const oneOff = await signedOneOff(s, payer, { amount: usd(20) });
    const tampered = await signedOneOff(s, payer, { amount: usd(5) });
    const normal = await signedPayment(s, 0);
    const res = await s.request("POST", "/v1/payments/batch", {
      body: {
        payments: [
          oneOffBody(oneOff),
          normal.body,
          oneOffBody(tampered, { value: usd(6).toString() }),
          oneOffBody(await signedOneOff(s, broke)),
          { ...oneOffBody(oneOff), authorization: { signature: "0x00" } },
          oneOffBody(oneOff),
        ],
      },
    });
    expect(res.status, res.text).to.equal(200);
    const summary = batchOutcomes(res.body);
    // The same one-off twice in one request: the second waits for the first (the payer's lock) and
    // answers the stored payment.
    expect(summary).to.deep.equal([
      [201, null],
      [201, null],
      [400, "authorization_mismatch"],
      [409, "insufficient_token_balance"],
      [400, "validation_failed"],
      [200, null],
    ]);
    expect([res.body.accepted, res.body.duplicates, res.body.failed]).to.deep.equal([2, 1, 3]);
    expect(res.body.results[2].error.details).to.deep.equal({ field: "value", expected: usd(5).toString() });
    expect(await s.store.payments.get(tampered.id)).to.equal(null);

    // The SDK's batch takes both kinds too.
    const viaSdk = await signedOneOff(s, payer, { amount: usd(30) });
    const sdk = await s.client.submitPayments([viaSdk, await signedPayment(s, 1)]);
    expect(sdk.results.map((r) => r.status)).to.deep.equal([201, 201]);
    expect((await s.client.getAccount(payer.address as Hex)).pendingOneOff).to.equal(usd(50));

    const ids = [oneOff.id, viaSdk.id, res.body.results[1].payment.id as Hex];
    await s.tickUntil(ids, [PaymentState.Escrowed]);
    const [a, b, c] = await Promise.all(ids.map(async (id) => (await s.store.payments.get(id))!));
    expect(await txSelector(a.txHash!)).to.equal(selectorOf(s, "payBatchWithAuthorization"));
    expect(await txSelector(b.txHash!)).to.equal(selectorOf(s, "payBatchWithAuthorization"));
    expect(await txSelector(c.txHash!)).to.equal(selectorOf(s, "payBatch"));
    expect(await s.f.token.balanceOf(payer.address)).to.equal(ONE_OFF_WALLET_FUNDS - usd(50));
  });

  it("two payers' one-off payments and the same payer's several share one batch", async function () {
    const [a, b] = [await oneOffPayer(s.f), await oneOffPayer(s.f)];
    const signed = [
      await signedOneOff(s, a),
      await signedOneOff(s, b, { merchantId: s.f.merchants[1].id }),
      await signedOneOff(s, a, { amount: usd(3) }),
    ];
    for (const p of signed) expect((await s.client.submitOneOffPayment(p)).created).to.equal(true);
    const ids = signed.map((p) => p.id);
    await s.tickUntil(ids, [PaymentState.Escrowed]);
    const stored = await Promise.all(ids.map(async (id) => (await s.store.payments.get(id))!));
    expect(new Set(stored.map((p) => p.batchId)).size).to.equal(1);
    const tree = new BatchTree([...stored].sort((x, y) => x.leafIndex! - y.leafIndex!).map((p) => p.id));
    expect(tree.root).to.equal((await s.f.escrow.batchRoot(stored[0].batchId!)).toLowerCase());
    expect(await s.f.token.balanceOf(a.address)).to.equal(usd(100) - usd(13));
  });

  it("a wallet emptied after acceptance: the batcher's simulation drops what it can no longer pay (authorization_failed), sends the rest", async function () {
    const payer = await oneOffPayer(s.f, usd(15));
    await ethers.provider.send("hardhat_setBalance", [payer.address, "0xDE0B6B3A7640000"]);
    const big = await signedOneOff(s, payer, { amount: usd(10) });
    const small = await signedOneOff(s, payer, { amount: usd(5) });
    for (const p of [big, small]) expect((await s.client.submitOneOffPayment(p)).created).to.equal(true);
    await (await s.f.token.connect(payer).transfer(s.f.stranger.address, usd(10))).wait();
    await s.tickUntil([big.id], [PaymentState.Rejected]);
    await s.tickUntil([small.id], [PaymentState.Escrowed]);
    const dropped = (await s.store.payments.get(big.id))!;
    expect(dropped.rejectReason).to.equal("authorization_failed");
    expect(dropped.txHash).to.equal(null);
    expect(await s.f.token.balanceOf(payer.address)).to.equal(0n);
  });

  it("a batch of 40 payers over 3 merchants: every item escrowed (none skipped for gas), gas used within the model", async function () {
    const signed = [];
    for (let i = 0; i < 40; i++) {
      const payer = await oneOffPayer(s.f, usd(5));
      signed.push(await signedOneOff(s, payer, { amount: usd(5), merchantId: s.f.merchants[i % 3].id }));
    }
    const res = await s.request("POST", ROUTE, { body: oneOffBody(signed[0]) });
    expect(res.status, res.text).to.equal(201);
    for (const p of signed.slice(1)) expect((await s.client.submitOneOffPayment(p)).created).to.equal(true);
    const ids = signed.map((p) => p.id);
    await s.tickUntil(ids, [PaymentState.Escrowed]);
    const stored = await Promise.all(ids.map(async (id) => (await s.store.payments.get(id))!));
    expect(new Set(stored.map((p) => p.txHash)).size).to.equal(1);
    const receipt = (await ethers.provider.getTransactionReceipt(stored[0].txHash!))!;
    const tx = (await ethers.provider.getTransaction(stored[0].txHash!))!;
    expect(tx.gasLimit).to.equal(oneOffModelGas(40, 3, 0));
    // The model's share per payment bounds what each one cost.
    expect(receipt.gasUsed < 40n * ONE_OFF_BATCH_GAS.perPayment).to.equal(true);
  });

  it("an ERC-1271 wallet payer: its owner's authorization is accepted (the wallet asked), batched with the wallet's check budget, escrowed", async function () {
    const owner = Wallet.createRandom();
    const wallet = await ethers.deployContract("MockERC1271Wallet", [owner.address]);
    const walletAddress = (await wallet.getAddress()) as Hex;
    await s.f.token.connect(s.f.admin).mint(walletAddress, usd(50));
    // The wallet's signer: the wallet's address, its owner's signature (what a smart wallet's SDK exposes).
    const owned = fromEthersSigner(owner);
    const signer = { getAddress: async () => walletAddress, signTypedData: owned.signTypedData };
    const signed = await signOneOffPayment(signer, {
      domain: s.domain,
      tokenDomain: await tokenDomainOf(s.f),
      payment: {
        payer: walletAddress,
        merchantId: s.f.merchants[0].id,
        amount: usd(20),
        orderRef: ethers.zeroPadValue("0x1271", 32) as Hex,
        validAfter: 0n,
        deadline: s.nowSec() + 3_600n,
        hold: await minHoldOf(s.f, s.f.merchants[0].id),
      },
    });
    expect((await s.client.submitOneOffPayment(signed)).created).to.equal(true);
    expect((await s.store.payments.get(signed.id))!.signatureKind).to.equal("contract");
    await s.tickUntil([signed.id], [PaymentState.Escrowed]);
    const stored = (await s.store.payments.get(signed.id))!;
    const tx = (await ethers.provider.getTransaction(stored.txHash!))!;
    expect(tx.gasLimit).to.equal(oneOffModelGas(1, 1, 1));
    expect(await s.f.token.balanceOf(walletAddress)).to.equal(usd(30));
    // A stranger's signature for the wallet is refused at intake (the wallet says no).
    const forged = await signOneOffPayment(
      { getAddress: async () => walletAddress, signTypedData: fromEthersSigner(Wallet.createRandom()).signTypedData },
      { domain: s.domain, tokenDomain: await tokenDomainOf(s.f), payment: { ...signed.payment, amount: usd(1) } },
    );
    const refused = await s.request("POST", ROUTE, { body: oneOffBody(forged) });
    expect(refused.status).to.equal(400);
    expect(refused.body.error.code).to.equal("invalid_signature");
  });

  it("a payer who cancels the authorization while its batch is in the mempool: rejected on chain (authorization_failed) and recorded", async function () {
    const payer = await oneOffPayer(s.f);
    await ethers.provider.send("hardhat_setBalance", [payer.address, "0xDE0B6B3A7640000"]);
    const signed = await signedOneOff(s, payer);
    const keeps = await signedOneOff(s, await oneOffPayer(s.f));
    for (const p of [signed, keeps]) expect((await s.client.submitOneOffPayment(p)).created).to.equal(true);

    await setAutomine(false);
    await s.pipeline.batcher.tick();
    await s.pipeline.submitter.tick();
    expect((await s.store.payments.get(signed.id))!.state).to.equal(PaymentState.Submitted);
    const [own] = await s.store.batches.listByState([BatchState.Submitted]);
    const cancel = await payer.signTypedData(
      { ...(await tokenDomainOf(s.f)) },
      ethersTypes(CANCEL_AUTHORIZATION_TYPES),
      {
        authorizer: payer.address,
        nonce: signed.id,
      },
    );
    const front = await s.f.token
      .connect(payer)
      ["cancelAuthorization(address,bytes32,bytes)"](payer.address, signed.id, cancel, {
        // No estimate: the pending block holds the relayer's batch, which spends the authorization.
        gasLimit: 200_000n,
        maxPriorityFeePerGas: 50_000_000_000n,
        maxFeePerGas: 400_000_000_000n,
      });
    await mine();
    await setAutomine(true);
    const frontReceipt = (await ethers.provider.getTransactionReceipt(front.hash))!;
    const ownReceipt = (await ethers.provider.getTransactionReceipt(own.txHash!))!;
    expect(frontReceipt.blockNumber).to.equal(ownReceipt.blockNumber);
    expect(frontReceipt.index).to.be.lessThan(ownReceipt.index);

    await s.tickUntil([signed.id], [PaymentState.Rejected]);
    await s.tickUntil([keeps.id], [PaymentState.Escrowed]);
    const rejected = (await s.store.payments.get(signed.id))!;
    expect(rejected.rejectReason).to.equal("authorization_failed");
    const view = await s.request("GET", `/v1/payments/${signed.id}`);
    expect(view.body.state).to.equal("rejected");
    expect(view.body.rejectReason).to.equal("authorization_failed");
    const rejections = ownReceipt.logs
      .map((l) => s.f.escrow.interface.parseLog(l))
      .filter((e) => e?.name === "PaymentRejected");
    expect(rejections.map((e) => [e!.args.paymentId.toLowerCase(), e!.args.reason])).to.deep.equal([
      [signed.id, BigInt(ONCHAIN_REJECT_REASONS.indexOf("authorization_failed"))],
    ]);
    expect(await s.f.token.balanceOf(payer.address)).to.equal(usd(100));
    // The same payment again: the stored rejection, not a second attempt.
    const again = await s.request("POST", ROUTE, { body: oneOffBody(signed) });
    expect(again.status).to.equal(200);
    expect(again.body.state).to.equal("rejected");
  });

  it("a mempool watcher cannot divert the authorization (token, deposit, payWithAuthorization); escrowing it first in its own one-off batch pays the same merchant, and the relayer's item is rejected on chain and recorded as escrowed by the watcher", async function () {
    const payer = await oneOffPayer(s.f);
    const signed = await signedOneOff(s, payer);
    expect((await s.client.submitOneOffPayment(signed)).created).to.equal(true);
    const watcher = s.f.stranger;
    const escrowAddress = await s.f.escrow.getAddress();
    const { authorization: a, signature } = signed;

    // Not into the token: only the payee (the escrow) may redeem a receive authorization; a
    // transfer authorization has another type hash.
    await expect(
      s.f.token
        .connect(watcher)
        ["receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"](
          a.from,
          a.to,
          a.value,
          a.validAfter,
          a.validBefore,
          a.nonce,
          signature,
        ),
    )
      .to.be.revertedWithCustomError(s.f.token, "CallerMustBePayee")
      .withArgs(watcher.address, a.to);
    await expect(
      s.f.token
        .connect(watcher)
        ["transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"](
          a.from,
          watcher.address,
          a.value,
          a.validAfter,
          a.validBefore,
          a.nonce,
          signature,
        ),
    ).to.be.revertedWithCustomError(s.f.token, "InvalidSignature");
    // Not into a deposit: a deposit's nonce is derived from its salt, never a payment id.
    await expect(
      s.f.escrow
        .connect(watcher)
        .depositWithAuthorization(a.from, a.value, a.validAfter, a.validBefore, a.nonce, signature),
    ).to.be.revertedWithCustomError(s.f.token, "InvalidSignature");
    // Nor by payWithAuthorization, which spends an escrow nonce: a one-off payment's is beyond every window.
    await expect(
      s.f.escrow.connect(watcher).payWithAuthorization(signed.payment, a.validAfter, a.validBefore, signature),
    ).to.be.revertedWithCustomError(s.f.escrow, "NonceUnavailable");
    expect(await s.f.token.balanceOf(payer.address)).to.equal(usd(100));

    // What it can do: escrow this very payment first (to the same merchant), while the relayer's batch waits.
    await setAutomine(false);
    await s.pipeline.batcher.tick();
    await s.pipeline.submitter.tick();
    const [own] = await s.store.batches.listByState([BatchState.Submitted]);
    const front = await s.f.escrow
      .connect(watcher)
      .payBatchWithAuthorization(encodeBatch([{ payment: signed.payment, signature }]), {
        // No estimate: the pending block holds the relayer's batch, which spends the authorization.
        gasLimit: 1_000_000n,
        maxPriorityFeePerGas: 50_000_000_000n,
        maxFeePerGas: 400_000_000_000n,
      });
    await mine();
    await setAutomine(true);
    const ownReceipt = (await ethers.provider.getTransactionReceipt(own.txHash!))!;
    const frontReceipt = (await ethers.provider.getTransactionReceipt(front.hash))!;
    expect(frontReceipt.blockNumber).to.equal(ownReceipt.blockNumber);
    expect(frontReceipt.index).to.be.lessThan(ownReceipt.index);
    const rejections = ownReceipt.logs
      .map((l) => s.f.escrow.interface.parseLog(l))
      .filter((e) => e?.name === "PaymentRejected");
    expect(rejections.map((e) => [e!.args.paymentId.toLowerCase(), e!.args.reason])).to.deep.equal([
      [signed.id, BigInt(ONCHAIN_REJECT_REASONS.indexOf("authorization_failed"))],
    ]);

    await s.tickUntil([signed.id], [PaymentState.Escrowed]);
    const stored = (await s.store.payments.get(signed.id))!;
    expect(stored.txHash).to.equal(front.hash.toLowerCase());
    expect(stored.rejectReason).to.equal(null);
    expect(stored.merchantId).to.equal(s.f.merchants[0].id);
    expect(await s.f.token.balanceOf(payer.address)).to.equal(usd(90));
    expect((await s.f.token.balanceOf(escrowAddress)) > 0n).to.equal(true);
    const view = await s.request("GET", `/v1/payments/${signed.id}`);
    expect(processProof(signed.id, view.body.inclusion.proof)).to.equal(
      (await s.f.escrow.batchRoot(stored.batchId!)).toLowerCase(),
    );
  });

  it("an Idempotency-Key replays the first answer, and refuses another body under the same key", async function () {
    const payer = await oneOffPayer(s.f);
    const [a, b] = [await signedOneOff(s, payer), await signedOneOff(s, payer)];
    const first = await s.request("POST", ROUTE, { body: oneOffBody(a), idempotencyKey: "one-off-1" });
    expect(first.status, first.text).to.equal(201);
    const replay = await s.request("POST", ROUTE, { body: oneOffBody(a), idempotencyKey: "one-off-1" });
    expect(replay.status).to.equal(201);
    expect(replay.body.id).to.equal(a.id);
    const reused = await s.request("POST", ROUTE, { body: oneOffBody(b), idempotencyKey: "one-off-1" });
    expect(reused.status).to.equal(422);
    expect(reused.body.error.code).to.equal("idempotency_key_reused");
    expect(await s.store.payments.get(b.id)).to.equal(null);
    expect(await s.store.payments.pendingOneOffAmountOf(payer.address.toLowerCase() as Hex)).to.equal(usd(10));
  });

  it("is in the OpenAPI document", async function () {
    const res = await s.request("GET", "/v1/openapi.json");
    expect(res.status).to.equal(200);
    const op = res.body.paths["/v1/payments/one-off"].post;
    expect(op).to.not.equal(undefined);
    expect(JSON.stringify(op)).to.include("authorization");
  });
});
