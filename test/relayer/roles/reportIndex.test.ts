/**
 * The report index in the production layout, with real processes: a `worker` and an `api` instance
 * on one PostgreSQL schema and a `hardhat node`. The worker's ReportIndexer writes the merchants'
 * report events; the api instance serves the files and the credit record from that table, and its
 * node (behind a counting proxy) sees no scan of a merchant's events for any number of requests. A
 * worker killed (kill -9) and started again resumes after its stored cursor: no re-scan.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
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
import { startRpcProxy } from "../faults/rpcProxy";
import { postgresTestDatabase } from "../store/stores";

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

describe("report index: written by the worker, served by an api instance (PostgreSQL, real processes)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  const { running, cleanups } = useScenarioSuite((s) => ({ chain, merchant } = s));

  it("the api serves files and credit from the worker's index with no merchant scan on its node; a killed worker resumes from its cursor", async () => {
    const schema = await freshSchema(await postgresTestDatabase(), "reportidx");
    cleanups.push(() => schema.drop());
    const dir = relayerDir();
    cleanups.push(() => dir.remove());
    const proxy = await startRpcProxy(chain.url);
    cleanups.push(() => proxy.close());
    const sql = async <T = Record<string, unknown>>(query: string): Promise<T[]> => {
      const client = new Client({ connectionString: schema.url });
      await client.connect();
      try {
        return (await client.query(query)).rows as T[];
      } finally {
        await client.end();
      }
    };
    const signer = await chain.fundedKey();
    const shared = {
      DATABASE_URL: schema.url,
      RELAYER_SECRET_KEY: randomBytes(32).toString("hex"),
      REORG_DEPTH: "2",
      LEASE_TTL_MS: "3000",
    };
    const { RELAYER_PRIVATE_KEY: _none, ...apiBase } = relayerEnv(chain, {
      rpcUrl: proxy.url,
      db: dir.db,
      signerKey: "",
    });
    const start = async (env: Record<string, string>): Promise<RelayerProcess> => {
      const p = await spawnRelayer(env);
      running.push(p);
      return p;
    };
    const workerEnv = {
      ...relayerEnv(chain, { rpcUrl: chain.url, db: dir.db, signerKey: signer.privateKey }),
      ...shared,
      RELAYER_ROLE: "worker",
    };
    // One after the other: the first creates the schema.
    const api = await start({ ...apiBase, ...shared, RELAYER_ROLE: "api" });
    let worker = await start(workerEnv);

    const [customer] = await chain.fundCustomers(1, 20n * AMOUNT);
    const payments = await signPayments(chain, [customer], {
      merchantId: merchant.id,
      perPayer: 3,
      amount: AMOUNT,
      label: "report",
    });
    for (const p of payments) {
      const res = await fetch(`${api.url}/v1/payments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(p.body),
      });
      expect(res.status).to.equal(201);
    }
    await waitUntil("the payments escrowed", async () => {
      const states = await Promise.all(payments.map((p) => getJson(`${api.url}/v1/payments/${p.id}`)));
      return states.every((s) => s.body.state === "escrowed");
    });
    await chain.mine(4);
    const creditUrl = `${api.url}/v1/merchants/${merchant.id}/credit`;
    const credit = await waitUntil("the index past the escrows", async () => {
      const c = await getJson(creditUrl);
      return c.status === 200 && c.body.payments === 3 ? c.body : null;
    });
    expect(credit).to.include({ merchantId: merchant.id.toString(), volume: (3n * AMOUNT).toString() });

    const issued = await fetch(`${api.url}/v1/admin/merchants/${merchant.id}/api-keys`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-admin-token": "local-admin-token" },
      body: "{}",
    });
    expect(issued.status).to.equal(201);
    const auth = { authorization: `Bearer ${((await issued.json()) as { key: string }).key}` };
    const day = (credit.firstEscrowAt as string).slice(0, 10);
    const reportUrl = `${api.url}/v1/merchant/reports/transactions?date=${day}`;
    const file = await getJson(reportUrl, auth);
    expect(file.status).to.equal(200);
    for (const p of payments) {
      expect(file.body).to.include(p.id.slice(2));
      expect(file.body).to.include(p.payment.orderRef.toLowerCase());
    }

    // N requests of each: none of the api node's calls reads a merchant's events, blocks of events or transactions.
    const from = proxy.stats.calls.length;
    const N = 20;
    for (let i = 0; i < N; i++) {
      const c = await getJson(creditUrl);
      expect([c.status, c.body.payments]).to.deep.equal([200, 3]);
      const r = await getJson(reportUrl, auth);
      expect([r.status, r.body]).to.deep.equal([200, file.body]);
    }
    const calls = proxy.stats.calls.slice(from);
    const merchantTopic = `0x${merchant.id.toString(16).padStart(64, "0")}`;
    expect(calls.filter((c) => c.method === "eth_getTransactionByHash")).to.deep.equal([]);
    expect(
      calls.filter((c) => c.method === "eth_getLogs" && JSON.stringify(c.params).includes(merchantTopic)),
    ).to.deep.equal([]);
    // The api's own follower polls meanwhile (its reads are per poll, not per request).
    const getLogs = calls.filter((c) => c.method === "eth_getLogs").length;
    expect(getLogs, `eth_getLogs during ${2 * N} requests`).to.be.below(2 * N);

    // kill -9 the worker; blocks arrive meanwhile; a new worker resumes after the stored cursor.
    const [before] = await sql<{ block_number: string }>("SELECT block_number FROM report_index_cursor");
    const [rows] = await sql<{ n: string }>("SELECT count(*) AS n FROM report_events");
    await worker.kill();
    await chain.mine(3);
    worker = await start(workerEnv);
    const resumed = await waitUntil("the new worker's index resumes", async () =>
      worker.logs.find((l) => l.msg === "report index resumes"),
    );
    expect(resumed.from).to.equal((BigInt(before.block_number) + 1n).toString());
    await waitUntil("the cursor moves on", async () => {
      const [now] = await sql<{ block_number: string }>("SELECT block_number FROM report_index_cursor");
      return BigInt(now.block_number) > BigInt(before.block_number);
    });
    const [after] = await sql<{ n: string }>("SELECT count(*) AS n FROM report_events");
    expect(after.n).to.equal(rows.n);
    expect((await getJson(creditUrl)).body.payments).to.equal(3);
    expect(await api.stop()).to.equal(0);
    expect(await worker.stop()).to.equal(0);
  });
});
