/**
 * The production layout's relayed operations, with real processes: two `api` instances (no signer)
 * and a `worker` on one PostgreSQL schema and a `hardhat node`. A confirm, a refund, a gasless
 * deposit and a signed withdrawal sent to an api instance are queued, sent by the worker's lane and
 * applied; the same signed request sent to both instances is one transaction; a request the escrow
 * would refuse answers its code and queues nothing; with no worker a request answers 503
 * relay_pending, and a worker killed (kill -9) right after it recorded the request's transaction
 * leaves it to a standby that sends nothing twice. Counts come from the chain's events and the
 * store's rows.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { escrowDomain, tokenDomain, type Address, type Hex } from "../../../src/protocol";
import {
  fromEthersSigner,
  depositAuthorization,
  signConfirmation,
  signDepositAuthorization,
  signDispute,
  signRefund,
  signWithdrawal,
} from "../../../src/sdk";
import { depositBody, withdrawalBody } from "../../../src/sdk/wire";
import { freshSchema } from "../../../src/localnet/postgres";
import {
  relayerDir,
  spawnRelayer,
  waitUntil,
  type LocalChain,
  type Merchant,
  type RelayerProcess,
} from "../helpers/process";
import { AMOUNT, relayerEnv, signPayments, useScenarioSuite } from "../crash/scenario";
import { postgresTestDatabase } from "../store/stores";

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: await response.json(), retryAfter: response.headers.get("retry-after") };
}

async function get(url: string, path: string): Promise<any> {
  const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(30_000) });
  return response.json();
}

/** How long an api instance waits for a lane before 503 relay_pending in these runs. */
const RELAY_WAIT_MS = 4_000;

describe("role api: relayed operations sent by the worker's lanes (PostgreSQL, real processes)", function () {
  this.timeout(420_000);

  let chain: LocalChain;
  let merchant: Merchant;
  const { running, cleanups } = useScenarioSuite((s) => ({ chain, merchant } = s));

  it("confirm, refund, deposit and withdrawal through api instances: sent once by the worker, applied; reverts answer their code; kill -9 of the worker after the record: a standby sends nothing twice", async () => {
    const schema = await freshSchema(await postgresTestDatabase(), "relayq");
    cleanups.push(() => schema.drop());
    const dir = relayerDir();
    cleanups.push(() => dir.remove());
    const sql = async <T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> => {
      const client = new Client({ connectionString: schema.url });
      await client.connect();
      try {
        return (await client.query(query, params)).rows as T[];
      } finally {
        await client.end();
      }
    };
    const secretKey = randomBytes(32).toString("hex");
    const signer = await chain.fundedKey();
    const shared = { DATABASE_URL: schema.url, RELAYER_SECRET_KEY: secretKey };
    const apiEnv = () => {
      const { RELAYER_PRIVATE_KEY: _none, ...base } = relayerEnv(chain, {
        rpcUrl: chain.url,
        db: dir.db,
        signerKey: "",
      });
      return { ...base, ...shared, RELAYER_ROLE: "api", RELAY_WAIT_MS: String(RELAY_WAIT_MS) };
    };
    const workerEnv = () => ({
      ...relayerEnv(chain, { rpcUrl: chain.url, db: dir.db, signerKey: signer.privateKey }),
      ...shared,
      RELAYER_ROLE: "worker",
    });
    const start = async (env: Record<string, string>): Promise<RelayerProcess> => {
      const p = await spawnRelayer(env);
      running.push(p);
      return p;
    };
    // One after the other: the first creates the schema.
    const a = await start(apiEnv());
    const b = await start(apiEnv());
    let worker = await start(workerEnv());

    const domain = escrowDomain(chain.chainId, chain.escrowAddress);
    const deadline = async () => (await chain.chainTime()) + 3_600n;
    const [c0, c1] = await chain.fundCustomers(2, 50n * AMOUNT);
    const payments = await signPayments(chain, [c0], {
      merchantId: merchant.id,
      perPayer: 3,
      amount: AMOUNT,
      label: "rq",
    });
    for (const p of payments) expect((await post(a.url, "/v1/payments", p.body)).status).to.equal(201);
    const state = async (id: Hex) => (await get(b.url, `/v1/payments/${id}`)).state as string;
    await waitUntil("the payments escrowed", async () => {
      const states = await Promise.all(payments.map((p) => state(p.id)));
      return states.every((s) => s === "escrowed");
    });
    const [p0, p1, p2] = payments;

    // Confirm: the same signed request to both api instances at once is one request, one transaction.
    const confirmDeadline = await deadline();
    const confirmBody = {
      deadline: confirmDeadline.toString(),
      signature: await signConfirmation(fromEthersSigner(c0), { domain, paymentId: p0.id, deadline: confirmDeadline }),
    };
    const confirms = await Promise.all(
      [a, b].map((api) => post(api.url, `/v1/payments/${p0.id}/confirm`, confirmBody)),
    );
    for (const c of confirms) expect(c.status, JSON.stringify(c.body)).to.equal(202);
    expect(confirms[0].body.txHash).to.equal(confirms[1].body.txHash);

    // Refund by the merchant's owner key, through the other instance with the merchant's API key.
    const issued = await post(
      a.url,
      `/v1/admin/merchants/${merchant.id}/api-keys`,
      {},
      {
        "x-admin-token": "local-admin-token",
      },
    );
    expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
    const refundDeadline = await deadline();
    const refund = await post(
      b.url,
      `/v1/merchant/payments/${p1.id}/refunds`,
      {
        totalRefund: AMOUNT.toString(),
        deadline: refundDeadline.toString(),
        signature: await signRefund(fromEthersSigner(merchant.owner), {
          domain,
          paymentId: p1.id,
          totalRefund: AMOUNT,
          deadline: refundDeadline,
        }),
      },
      { authorization: `Bearer ${issued.body.key}` },
    );
    expect(refund.status, JSON.stringify(refund.body)).to.equal(202);

    // A gasless deposit of tokens c1 holds in its wallet.
    const deposited = 7n * AMOUNT;
    await (await chain.token.mint(c1.address, deposited)).wait();
    const tokenName = await chain.token.name();
    const tDomain = tokenDomain({
      name: tokenName,
      chainId: chain.chainId,
      token: (await chain.token.getAddress()) as Address,
    });
    const authorization = depositAuthorization({
      from: c1.address as Address,
      escrow: chain.escrowAddress,
      amount: deposited,
      now: await chain.chainTime(),
    });
    const depositSignature = await signDepositAuthorization(fromEthersSigner(c1), { domain: tDomain, authorization });
    const deposit = await post(
      a.url,
      "/v1/deposits",
      depositBody({ authorization, signature: depositSignature, domain }),
    );
    expect(deposit.status, JSON.stringify(deposit.body)).to.equal(202);

    // A signed withdrawal of c1's, through the other instance.
    const withdrawn = 3n * AMOUNT;
    const nonce = BigInt((await get(b.url, `/v1/accounts/${c1.address}`)).nextNonces[0]);
    const withdrawal = {
      payer: c1.address as Address,
      to: c1.address as Address,
      amount: withdrawn,
      nonce,
      deadline: await deadline(),
    };
    const withdraw = await post(
      b.url,
      "/v1/withdrawals",
      withdrawalBody({
        withdrawal,
        signature: await signWithdrawal(fromEthersSigner(c1), { domain, withdrawal }),
        domain,
      }),
    );
    expect(withdraw.status, JSON.stringify(withdraw.body)).to.equal(202);

    // What the escrow would refuse answers its code at once, and nothing is queued: c0 holds no tokens.
    const poor = depositAuthorization({
      from: c0.address as Address,
      escrow: chain.escrowAddress,
      amount: AMOUNT,
      now: await chain.chainTime(),
    });
    const refused = await post(
      b.url,
      "/v1/deposits",
      depositBody({
        authorization: poor,
        signature: await signDepositAuthorization(fromEthersSigner(c0), { domain: tDomain, authorization: poor }),
        domain,
      }),
    );
    expect([refused.status, refused.body.error?.code]).to.deep.equal([409, "insufficient_balance"]);

    // Applied: by the chain, the worker's watcher, and the api instances' views.
    await waitUntil(
      "the confirm and the refund applied",
      async () => (await state(p0.id)) === "released" && (await state(p1.id)) === "refunded",
    );
    expect(await chain.escrow.balanceOf(c1.address)).to.equal(50n * AMOUNT + deposited - withdrawn);
    await waitUntil("the deposit and withdrawal in the api's view", async () => {
      const account = await get(a.url, `/v1/accounts/${c1.address}`);
      return account.balance === (50n * AMOUNT + deposited - withdrawn).toString();
    });
    const rows = await sql<{ id: string; operation: string; state: string; tx_hash: string }>(
      "SELECT id, operation, state, tx_hash FROM relay_requests ORDER BY created_at",
    );
    expect(rows.map((r) => [r.operation, r.state])).to.deep.equal([
      ["confirmWithSignature", "sent"],
      ["refundWithSignature", "sent"],
      ["depositWithAuthorization", "sent"],
      ["withdrawWithSignature", "sent"],
    ]);
    for (const row of rows) {
      const subs = await sql<{ tx_hash: string; state: string }>(
        "SELECT tx_hash, state FROM submissions WHERE purpose = $1",
        [`relay:${row.operation}:${row.id}`],
      );
      expect(
        subs.map((s) => [s.tx_hash, s.state]),
        row.operation,
      ).to.deep.equal([[row.tx_hash, "mined"]]);
    }
    expect(confirms[0].body.txHash).to.equal(rows[0].tx_hash);
    expect(await chain.escrow.queryFilter(chain.escrow.filters.PaymentConfirmed(p0.id))).to.have.length(1);
    expect(await chain.escrow.queryFilter(chain.escrow.filters.PaymentRefunded(p1.id))).to.have.length(1);

    // No worker: a dispute waits, then 503 relay_pending with Retry-After; it stays queued.
    await worker.kill();
    const disputeDeadline = await deadline();
    const disputeBody = {
      deadline: disputeDeadline.toString(),
      signature: await signDispute(fromEthersSigner(c0), { domain, paymentId: p2.id, deadline: disputeDeadline }),
    };
    const pending = await post(a.url, `/v1/payments/${p2.id}/dispute`, disputeBody);
    expect([pending.status, pending.body.error?.code], JSON.stringify(pending.body)).to.deep.equal([
      503,
      "relay_pending",
    ]);
    expect(pending.retryAfter).to.equal("1");
    const requestId = pending.body.error.details.requestId as string;
    const purpose = `relay:openDisputeWithSignature:${requestId}`;
    expect(await sql("SELECT state FROM relay_requests WHERE id = $1", [requestId])).to.deep.equal([
      { state: "queued" },
    ]);

    // A worker claims and sends it, its transaction waiting in the mempool; it is killed the moment
    // its record exists (before or after it marked the request sent: either way).
    await chain.setAutomine(false);
    worker = await start(workerEnv());
    await waitUntil(
      "the dispute's transaction recorded",
      async () => (await sql("SELECT 1 FROM submissions WHERE purpose = $1", [purpose])).length > 0,
      60_000,
      undefined,
      5,
    );
    await worker.kill();
    const [atKill] = await sql<{ state: string }>("SELECT state FROM relay_requests WHERE id = $1", [requestId]);

    // A standby takes the lane over (the killed holder's pid is gone from this host), re-broadcasts
    // the recorded transaction and marks the request sent from its record.
    const standby = await start(workerEnv());
    const requestState = async () =>
      (
        await sql<{ state: string; tx_hash: string }>("SELECT state, tx_hash FROM relay_requests WHERE id = $1", [
          requestId,
        ])
      )[0];
    await waitUntil("the request marked sent", async () => (await requestState()).state === "sent");
    const subs = await sql<{ tx_hash: string; nonce: string }>(
      "SELECT tx_hash, nonce FROM submissions WHERE purpose = $1",
      [purpose],
    );
    expect(subs, `one transaction recorded (killed with the request ${atKill.state})`).to.have.length(1);
    expect((await requestState()).tx_hash).to.equal(subs[0].tx_hash);
    // The client's retry, to the other instance, while the transaction waits to be mined: its outcome.
    const retried = await post(b.url, `/v1/payments/${p2.id}/dispute`, disputeBody);
    expect([retried.status, retried.body.txHash], JSON.stringify(retried.body)).to.deep.equal([202, subs[0].tx_hash]);
    await chain.mine();
    await chain.setAutomine(true);
    await waitUntil("the dispute applied", async () => (await state(p2.id)) === "disputed");
    expect(await chain.escrow.queryFilter(chain.escrow.filters.DisputeOpened(p2.id))).to.have.length(1);
    // And once applied (the payment is no longer held): still the request's outcome, not a 409.
    const late = await post(a.url, `/v1/payments/${p2.id}/dispute`, disputeBody);
    expect([late.status, late.body.txHash], JSON.stringify(late.body)).to.deep.equal([202, subs[0].tx_hash]);
    expect(
      await sql("SELECT COUNT(*)::int AS n FROM submissions WHERE purpose LIKE 'relay:%'"),
      "one transaction per relayed operation",
    ).to.deep.equal([{ n: 5 }]);

    for (const p of [a, b, standby]) expect(await p.stop()).to.equal(0);
  });
});
