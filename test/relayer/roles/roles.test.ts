/**
 * Roles as operators run them: separate processes on one SQLite file. An `api` process serves intake
 * and reads and runs no chain job (it sends nothing: relayed writes are queued for the worker's lane); a
 * `worker` process runs the jobs and the signer lane, serves only /health, and says in its "started"
 * line which role it runs and which leases it holds. A second worker waits on standby and takes the
 * jobs and the lane over when the first is killed.
 */
import { expect } from "chai";
import { RelayerClient, fromEthersSigner, signConfirmation } from "../../../src/sdk";
import { escrowDomain } from "../../../src/protocol";
import { relayerDir, spawnRelayer, waitUntil, type RelayerProcess } from "../helpers/process";
import {
  AMOUNT,
  DEPOSIT,
  HOLD_SECONDS,
  countStates,
  expectOnceOnChain,
  getJson,
  relayerEnv,
  relayerStates,
  sdkPayment,
  signPayments,
  useScenarioSuite,
} from "../crash/scenario";
import type { LocalChain, Merchant } from "../helpers/process";

const started = (relayer: RelayerProcess): Record<string, unknown> =>
  relayer.logs.find((l) => (l as { event?: string }).event === "started") as Record<string, unknown>;

describe("relayer roles (api and worker processes on one database)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  const { running, cleanups } = useScenarioSuite((s) => ({ chain, merchant } = s));

  it("api takes payments and runs no job; the worker escrows and settles them; a standby worker takes over after a kill -9", async () => {
    const customers = await chain.fundCustomers(2, DEPOSIT);
    const key = await chain.fundedKey();
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const base = relayerEnv(
      chain,
      { rpcUrl: chain.url, db: db.db, signerKey: key.privateKey },
      { LEASE_TTL_MS: "3000" },
    );
    const spawn = async (env: Record<string, string>) => {
      const relayer = await spawnRelayer(env);
      running.push(relayer);
      return relayer;
    };

    // The api alone: payments are accepted and stay so (no batcher anywhere).
    const { RELAYER_PRIVATE_KEY: _unused, ...apiEnv } = base;
    const api = await spawn({ ...apiEnv, RELAYER_ROLE: "api" });
    expect(started(api)).to.include({ role: "api", signer: null });
    expect(started(api).leases).to.deep.equal([]);
    const payments = await signPayments(chain, customers, {
      merchantId: merchant.id,
      perPayer: 3,
      amount: AMOUNT,
      label: "roles",
    });
    const client = new RelayerClient({ baseUrl: api.url });
    expect((await client.submitPayments(payments.map(sdkPayment))).accepted).to.equal(payments.length);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(countStates(await relayerStates(api.url, payments))).to.deep.equal({ accepted: payments.length });

    // The worker: its started line names its role and leases; /health is all it serves.
    const worker = await spawn({ ...base, RELAYER_ROLE: "worker" });
    const lane = `lane:${key.address.toLowerCase()}`;
    expect(started(worker)).to.include({ role: "worker", signer: key.address });
    expect(started(worker).leases).to.deep.equal(["jobs", lane]);
    expect((await getJson(`${worker.url}/health`)).body).to.deep.include({ role: "worker", leases: ["jobs", lane] });
    expect((await getJson(`${worker.url}/v1/payments/${payments[0].id}`)).status).to.equal(404);

    // On a timeout: the states, one payment as the api shows it, and what the workers warned about.
    const summary = async () =>
      JSON.stringify({
        states: countStates(await relayerStates(api.url, payments)),
        first: (await getJson(`${api.url}/v1/payments/${payments[0].id}`)).body,
        warnings: running
          .flatMap((r) => r.logs.filter((l) => Number((l as { level?: number }).level) >= 40))
          .slice(-10),
      });
    await waitUntil(
      "payments escrowed by the worker",
      async () => (await relayerStates(api.url, payments)).every((s) => s === "escrowed"),
      90_000,
      summary,
    );

    // Relayed writes: the api holds no signer lane; it queues them and the worker's lane sends them.
    const deadline = (await chain.chainTime()) + 3_600n;
    const signature = await signConfirmation(fromEthersSigner(customers[0]), {
      domain: escrowDomain(chain.chainId, chain.escrowAddress),
      paymentId: payments[0].id,
      deadline,
    });
    const confirm = await fetch(`${api.url}/v1/payments/${payments[0].id}/confirm`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ deadline: deadline.toString(), signature }),
    });
    const confirmed = (await confirm.json()) as { txHash?: string };
    expect(confirm.status, JSON.stringify(confirmed)).to.equal(202);
    const receipt = await chain.provider.getTransactionReceipt(confirmed.txHash!);
    expect(receipt?.from, "sent by the worker's lane").to.equal(key.address);
    await waitUntil(
      "the confirmation applied",
      async () => (await relayerStates(api.url, [payments[0]]))[0] === "released",
    );

    // A standby worker holds nothing while the first is alive, and everything once it is killed.
    const standby = await spawn({ ...base, RELAYER_ROLE: "worker" });
    expect(started(standby).leases).to.deep.equal([]);
    await worker.kill();
    const killedAt = Date.now();
    await waitUntil(
      "the standby worker to take the jobs and the lane",
      async () => {
        const leases = (await getJson(`${standby.url}/health`)).body.leases as string[];
        return leases.length === 2;
      },
      15_000,
    );
    expect(Date.now() - killedAt).to.be.below(15_000);

    // The standby settles what the first escrowed.
    await chain.increaseTime(HOLD_SECONDS + 1);
    await waitUntil(
      "payments settled by the standby",
      async () => (await relayerStates(api.url, payments)).every((s) => s === "settled"),
      90_000,
      summary,
    );
    await expectOnceOnChain(chain, merchant.id, payments);
    expect(await standby.stop()).to.equal(0);
    expect(await api.stop()).to.equal(0);
  });

  it("a wrong keystore password stops start-up with an error naming the keystore, never the password", async () => {
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const fs = await import("node:fs");
    const path = await import("node:path");
    const { Wallet, encryptKeystoreJsonSync } = await import("ethers");
    const wallet = Wallet.createRandom();
    const file = path.join(db.dir, "key.json");
    fs.writeFileSync(
      file,
      encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, "the right one", {
        scrypt: { N: 1 << 10 },
      }),
    );
    const { RELAYER_PRIVATE_KEY: _unused, ...env } = relayerEnv(chain, {
      rpcUrl: chain.url,
      db: db.db,
      signerKey: wallet.privateKey,
    });
    const wrong = "wrong-password-3b8f";
    const error = await spawnRelayer({ ...env, RELAYER_KEYSTORE: file, RELAYER_KEYSTORE_PASSWORD: wrong }).then(
      (relayer) => {
        running.push(relayer);
        return null;
      },
      (e: Error) => e.message,
    );
    expect(error).to.be.a("string");
    expect(error).to.include("relayer failed to start");
    expect(error).to.include(`keystore ${file}: cannot decrypt it`);
    expect(error).to.not.include(wrong);
    expect(error).to.not.include(wallet.privateKey.slice(2));
  });
});
