/**
 * Role all with its chain jobs on a thread (src/relayer/roles/jobsThread.ts), started in this
 * process (src/relayer/server.ts) against a local chain, so that the test can reach the thread:
 *  - the leases and signers are the thread's; its log lines reach the process's log stream as JSON,
 *    redacted (no key);
 *  - payments taken by the API are escrowed by the thread's jobs; its metrics appear on GET /metrics;
 *  - a relayed write the escrow would reject answers the API code, status and details raised on the
 *    thread;
 *  - the thread dying: onJobsExit is called and GET /ready answers not_ready (jobs_unavailable);
 *    the process still stops gracefully.
 */
import { Writable } from "node:stream";
import { expect } from "chai";
import { Wallet, hexlify, randomBytes } from "ethers";
import { loadConfig, type RelayerEnv } from "../../../src/relayer/config";
import { startRelayer, type RunningRelayer } from "../../../src/relayer/server";
import { RelayerClient } from "../../../src/sdk";
import { relayerDir, waitUntil, type LocalChain, type Merchant } from "../helpers/process";
import { AMOUNT, DEPOSIT, getJson, relayerEnv, sdkPayment, signPayments, useScenarioSuite } from "../crash/scenario";

describe("role all: the chain jobs on their own thread", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  const { cleanups } = useScenarioSuite((s) => ({ chain, merchant } = s));

  async function start(onJobsExit: (error: Error) => void = () => undefined) {
    const key = await chain.fundedKey();
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const env = relayerEnv(
      chain,
      { rpcUrl: chain.url, db: db.db, signerKey: key.privateKey },
      { SIGNATURE_WORKERS: "0" },
    );
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const relayer: RunningRelayer = await startRelayer(loadConfig(env as RelayerEnv), {
      logger: { level: "info", stream: { write: (line: string) => stream.write(line) } },
      onJobsExit,
    });
    cleanups.push(() => relayer.stop());
    return { relayer, key, lines };
  }

  it("runs the jobs with their own leases and signers; payments escrowed; metrics, logs and relayed errors cross", async function () {
    // Funded before the relayer starts: its start-up catch-up applies the deposit, so the first
    // payment is judged against it (a deposit mined later counts once the watcher applies it).
    const [customer] = await chain.fundCustomers(1, DEPOSIT);
    const { relayer, key, lines } = await start();
    expect(relayer.role).to.equal("all");
    expect(relayer.worker, "no jobs on the HTTP thread").to.equal(null);
    expect(relayer.signers).to.deep.equal([key.address]);
    const lane = `lane:${key.address.toLowerCase()}`;
    expect([...relayer.heldLeases()].sort()).to.deep.equal(["jobs", lane].sort());

    // The thread's lines, on the process's stream as JSON with pino's fields.
    const acquired = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "lease acquired");
    expect(acquired.map((l) => l.lease)).to.include("jobs");
    expect(acquired[0]).to.include({ level: 30, pid: process.pid });

    const payments = await signPayments(chain, [customer], {
      merchantId: merchant.id,
      perPayer: 3,
      amount: AMOUNT,
      label: "jobs-thread",
    });
    const client = new RelayerClient({ baseUrl: relayer.url });
    for (const p of payments) await client.submitPayment(sdkPayment(p));
    await waitUntil("the payments escrowed by the thread's jobs", async () => {
      const states = await Promise.all(
        payments.map(async (p) => (await getJson(`${relayer.url}/v1/payments/${p.id}`)).body.state),
      );
      return states.every((s) => s === "escrowed" || s === "released" || s === "settled");
    });

    // Only the jobs observe batch sizes: the series comes from the thread's registry.
    const metrics = await fetch(`${relayer.url}/metrics`).then((r) => r.text());
    const batches = /^relayer_batch_size_count (\d+)$/m.exec(metrics);
    expect(Number(batches?.[1] ?? 0), "batches counted on the thread").to.be.greaterThan(0);
    expect(metrics).to.match(/^relayer_http_request_duration_seconds_count\{/m);
    expect((metrics.match(/^# TYPE relayer_batch_size histogram$/gm) ?? []).length, "one series, merged").to.equal(1);

    // A deposit whose authorization another key signed: the thread's simulation reverts, and the
    // API answers with that revert's code and details.
    const forged = new Wallet(Wallet.createRandom().privateKey).signingKey.sign(hexlify(randomBytes(32))).serialized;
    const response = await fetch(`${relayer.url}/v1/deposits`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        from: customer.address,
        amount: (AMOUNT * 5n).toString(),
        validAfter: "0",
        validBefore: String(Math.floor(Date.now() / 1000) + 3600),
        salt: hexlify(randomBytes(32)),
        signature: forged,
      }),
    });
    const body = (await response.json()) as { error: { code: string; details?: { revert?: string } } };
    expect([response.status, body.error.code]).to.deep.equal([400, "invalid_signature"]);
    expect(body.error.details?.revert).to.be.a("string");

    const secret = key.privateKey.slice(2).toLowerCase();
    expect(lines.filter((l) => l.toLowerCase().includes(secret))).to.deep.equal([]);

    await relayer.stop();
    expect(relayer.heldLeases()).to.deep.equal([]);
  });

  it("the thread dying: onJobsExit is told and GET /ready answers not_ready (jobs_unavailable)", async function () {
    const exits: Error[] = [];
    const { relayer } = await start((error) => exits.push(error));
    expect((await getJson(`${relayer.url}/ready`)).status).to.equal(200);

    await relayer.jobsThread!.worker!.terminate();
    await waitUntil("onJobsExit", () => exits.length === 1);
    expect(exits[0].message).to.match(/jobs thread exited/);
    const ready = await getJson(`${relayer.url}/ready`);
    expect([ready.status, ready.body.error.code]).to.deep.equal([503, "not_ready"]);
    expect(ready.body.error.details.reasons).to.include("jobs_unavailable");
    expect(relayer.heldLeases()).to.deep.equal([]);

    // Relayed writes fail as the chain being unavailable; the process still stops.
    const response = await fetch(`${relayer.url}/v1/deposits`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        from: Wallet.createRandom().address,
        amount: (AMOUNT * 5n).toString(),
        validAfter: "0",
        validBefore: String(Math.floor(Date.now() / 1000) + 3600),
        salt: hexlify(randomBytes(32)),
        signature: hexlify(randomBytes(65)),
      }),
    });
    expect([response.status, ((await response.json()) as { error: { code: string } }).error.code]).to.deep.equal([
      503,
      "chain_unavailable",
    ]);
    await relayer.stop();
  });
});
