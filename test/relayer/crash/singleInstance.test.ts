/**
 * One relayer per database, as operators run it (each relayer its own process on one SQLite file
 * and one key): a second one refuses to start, naming the holder, and starts once the first has
 * stopped; after a kill -9 the restarted relayer takes the dead holder's lease at once.
 */
import { expect } from "chai";
import { relayerDir, spawnRelayer, startLocalChain, type LocalChain, type RelayerProcess } from "../helpers/process";
import { relayerEnv } from "./scenario";

describe("relayer single instance (two processes on one database)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  const running: RelayerProcess[] = [];
  const cleanups: (() => void)[] = [];

  before(async function () {
    this.timeout(240_000);
    chain = await startLocalChain();
  });

  afterEach(async () => {
    for (const relayer of running.splice(0)) await relayer.kill();
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  after(async () => {
    await chain?.stop();
  });

  it("a second relayer on the same database refuses to start; it starts once the first stops, and after a kill -9 at once", async () => {
    const key = await chain.fundedKey();
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const env = relayerEnv(chain, { rpcUrl: chain.url, db: db.db, signerKey: key.privateKey });
    const start = async () => {
      const relayer = await spawnRelayer(env);
      running.push(relayer);
      return relayer;
    };

    const first = await start();
    const refused = await start().then(
      () => null,
      (error: Error) => error.message,
    );
    expect(refused).to.be.a("string");
    expect(refused).to.include("relayer failed to start");
    expect(refused).to.include(`another relayer holds this database: pid ${first.child.pid} on`);
    expect(refused).to.include(`signer ${key.address.toLowerCase()}`);
    // The holder is untouched by the attempt.
    expect((await fetch(`${first.url}/health`)).status).to.equal(200);

    expect(await first.stop()).to.equal(0);
    const second = await start();
    expect((await fetch(`${second.url}/health`)).status).to.equal(200);

    await second.kill();
    const third = await start();
    expect((await fetch(`${third.url}/health`)).status).to.equal(200);
  });
});
