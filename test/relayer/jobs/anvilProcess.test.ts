/**
 * A relayer process on anvil (set up by `startLocalChain({ node: "anvil" })`, as the benches do)
 * with FINALITY=finalized: it applies the local chain's profile with the
 * environment's overrides (one start-up line says which), and a batch mined on the interval counts
 * as escrowed only once the node's `finalized` block has reached it.
 */
import { expect } from "chai";
import { setIntervalMining } from "../../../src/localnet/anvil";
import { escrowEvents } from "../../../src/localnet/events";
import { relayerEnv, relayerStates, signPayments } from "../crash/scenario";
import {
  relayerDir,
  sleep,
  spawnRelayer,
  startLocalChain,
  waitUntil,
  type LocalChain,
  type RelayerProcess,
} from "../helpers/process";

const parseJson = (line: string): Record<string, unknown>[] => {
  try {
    return [JSON.parse(line) as Record<string, unknown>];
  } catch {
    return [];
  }
};

describe("relayer process on anvil, following the finalized tag", function () {
  this.timeout(180_000);
  let chain: LocalChain | undefined;
  let relayer: RelayerProcess | undefined;
  const dir = relayerDir();

  after(async () => {
    await relayer?.stop();
    await chain?.stop();
    dir.remove();
  });

  it("logs its finality profile and escrows a batch only once the finalized block reaches it, once", async () => {
    // One slot per epoch: `finalized` is the head minus two.
    chain = await startLocalChain({ node: "anvil", blockTime: 1, slotsInAnEpoch: 1 });
    expect([chain.kind, chain.blockTime, chain.chainId]).to.deep.equal(["anvil", 1, 31337n]);
    const merchant = await chain.registerMerchant(3600);
    const customers = await chain.fundCustomers(2, 100_000_000n);
    for (const customer of customers) expect(await chain.escrow.balanceOf(customer.address)).to.equal(100_000_000n);
    // Funding mined on demand; afterwards the node is back on its interval.
    const height = await chain.provider.getBlockNumber();
    await waitUntil("a block on the interval", async () => (await chain!.provider.getBlockNumber()) > height, 5_000);
    const signer = await chain.fundedKey();
    const env = relayerEnv(
      chain,
      { rpcUrl: chain.url, db: dir.db, signerKey: signer.privateKey },
      // One batch of all four payments, whenever they arrive.
      { FINALITY: "finalized", REORG_DEPTH: "8", BATCH_MAX_SIZE: "4", BATCH_MAX_AGE_MS: "60000" },
    );
    delete env.CONFIRMATIONS; // the profile's
    relayer = await spawnRelayer(env);
    // Logged before the HTTP app's logger exists: on stderr, as JSON.
    const lines = [...relayer.logs, ...relayer.stderr().split("\n").flatMap(parseJson)];
    const profile = lines.find((l) => l.msg === "finality profile");
    expect(profile).to.deep.include({
      chainId: "31337",
      network: "local (Hardhat, Anvil)",
      confirmations: 1,
      reorgDepth: "8",
      mode: "finalized",
      known: true,
    });

    // Blocks only on demand from here: the test decides where the head and `finalized` are.
    await setIntervalMining(chain.url, 0);
    const payments = await signPayments(chain, customers, {
      merchantId: merchant.id,
      perPayer: 2,
      amount: 1_000_000n,
      label: "anvil-finalized",
      hold: BigInt(merchant.minHold),
    });
    for (const p of payments) {
      const res = await fetch(`${relayer.url}/v1/payments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(p.body),
      });
      expect(res.status, await res.text()).to.be.oneOf([200, 201, 202]);
    }
    const txs = await waitUntil("the batch in the pool", async () => {
      const pool = await chain!.rpc<{ pending: Record<string, Record<string, unknown>> }>("txpool_content");
      return Object.keys(pool.pending).length > 0 ? pool : null;
    });
    expect(Object.values(txs.pending).flatMap((byNonce) => Object.keys(byNonce))).to.have.length(1);

    await chain.mine(); // the batch's block B; finalized B - 2
    expect(await chain.escrow.batchCount()).to.equal(1n);
    await chain.mine(); // B + 1; finalized B - 1
    await sleep(1_500); // many watcher polls
    expect(await relayerStates(relayer.url, payments), "not escrowed before finalized").to.deep.equal(
      payments.map(() => "submitted"),
    );

    await chain.mine(); // B + 2; finalized B
    await waitUntil(
      "escrowed",
      async () => (await relayerStates(relayer!.url, payments)).every((s) => s === "escrowed"),
      20_000,
      async () =>
        JSON.stringify({
          states: await relayerStates(relayer!.url, payments),
          head: await chain!.provider.getBlockNumber(),
          finalized: (await chain!.provider.getBlock("finalized"))?.number,
          log: relayer!.logs.slice(-15),
          stderr: relayer!.stderr().slice(-3000),
        }),
    );
    const events = await escrowEvents(chain);
    for (const p of payments) expect(events.escrowed.get(p.id)?.count, p.id).to.equal(1);
  });
});
