/**
 * Role `api` processes on PostgreSQL judge payers from a PayerLedger fed by the escrow's logs
 * (src/relayer/jobs/ledgerFollower.ts), not a chain read per payment: one payer's payments cost the
 * node O(1) account reads, and two api instances racing one payer still accept exactly what the
 * payer can afford (each instance's view misses the other's payments; the store's guarded insert
 * sums both).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Hex } from "../../../src/relayer/domain";
import { freshSchema } from "../../../src/localnet/postgres";
import { relayerDir, spawnRelayer, type LocalChain, type Merchant } from "../helpers/process";
import {
  AMOUNT,
  countStates,
  relayerEnv,
  relayerStates,
  signPayments,
  submitSigned,
  useScenarioSuite,
} from "../crash/scenario";
import { startRpcProxy } from "../faults/rpcProxy";
import { postgresTestDatabase } from "../store/stores";

describe("role api: payer ledger fed by the escrow's logs (PostgreSQL, real processes)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  const { running, cleanups } = useScenarioSuite((s) => ({ chain, merchant } = s));

  it("no account read per payment; two api instances racing one payer accept exactly the affordable payments", async () => {
    const schema = await freshSchema(await postgresTestDatabase(), "apiledger");
    cleanups.push(() => schema.drop());
    const proxy = await startRpcProxy(chain.url);
    cleanups.push(() => proxy.close());
    const dir = relayerDir();
    cleanups.push(() => dir.remove());
    const env = (rpcUrl: string) => {
      const { RELAYER_PRIVATE_KEY: _none, ...base } = relayerEnv(chain, { rpcUrl, db: dir.db, signerKey: "" });
      return {
        ...base,
        RELAYER_ROLE: "api",
        DATABASE_URL: schema.url,
        RELAYER_SECRET_KEY: secretKey,
      };
    };
    const secretKey = randomBytes(32).toString("hex");
    // One after the other: the first creates the schema.
    const a = await spawnRelayer(env(proxy.url));
    running.push(a);
    const b = await spawnRelayer(env(chain.url));
    running.push(b);

    // One payer, payments one at a time to instance A, spaced past the chain view's account cache:
    // a read per payment would be two eth_calls each.
    const [steady, racer] = await chain.fundCustomers(2, 20n * AMOUNT);
    const spaced = await signPayments(chain, [steady], {
      merchantId: merchant.id,
      perPayer: 12,
      amount: AMOUNT,
      label: "spaced",
    });
    const callsBefore = proxy.stats.methods.get("eth_call") ?? 0;
    for (const p of spaced) {
      expect(await submitSigned(a.url, p)).to.deep.equal({ status: 201, code: null });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const calls = (proxy.stats.methods.get("eth_call") ?? 0) - callsBefore;
    // The payer's account once (balance and nonce window), the merchant's terms and the token's
    // blocklist entry per their short caches: a handful, whatever the number of payments.
    expect(calls, `eth_calls for ${spaced.length} payments`).to.be.at.most(8);
    // The follower polls on its own (block number, blocks, logs).
    expect(proxy.stats.methods.get("eth_getLogs") ?? 0).to.be.greaterThan(0);

    // A payer who deposited a moment ago pays at once: instance A has not polled since the deposit
    // (or has: either way), and looks at the head before refusing, so the payment is accepted.
    for (let round = 0; round < 3; round++) {
      const [fresh] = await chain.fundCustomers(1, 2n * AMOUNT);
      const [first] = await signPayments(chain, [fresh], {
        merchantId: merchant.id,
        perPayer: 1,
        amount: AMOUNT,
        label: `fresh-${round}`,
      });
      expect(await submitSigned(a.url, first), `fresh payer ${round}`).to.deep.equal({ status: 201, code: null });
    }

    // The race: 32 payments of 1.00 against 20.00, half to each instance, all at once.
    const raced = await signPayments(chain, [racer], {
      merchantId: merchant.id,
      perPayer: 32,
      amount: AMOUNT,
      label: "race",
    });
    const results = await Promise.all(raced.map((p, i) => submitSigned(i % 2 === 0 ? a.url : b.url, p)));
    const acceptedBy = [0, 1].map((k) => results.filter((r, i) => i % 2 === k && r.status === 201).length);
    expect(acceptedBy[0] + acceptedBy[1], JSON.stringify(results)).to.equal(20);
    // Each instance alone could afford all 16 it was sent: only the shared guard stops the 21st.
    expect(acceptedBy[0]).to.be.greaterThan(0);
    expect(acceptedBy[1]).to.be.greaterThan(0);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r).to.deep.equal({ status: 409, code: "insufficient_balance" });
    }
    expect(countStates(await relayerStates(b.url, raced))).to.deep.equal({ accepted: 20, "http 404": 12 });
    // The ids the instances acknowledged are the ones stored.
    const stored = await relayerStates(a.url, raced);
    raced.forEach((p: { id: Hex }, i) => expect(stored[i] === "accepted", p.id).to.equal(results[i].status === 201));

    expect(await a.stop()).to.equal(0);
    expect(await b.stop()).to.equal(0);
  });
});
