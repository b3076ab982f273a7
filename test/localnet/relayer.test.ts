/**
 * The harness starts a relayer with exactly the variables it is given: a relayer variable set in
 * the parent (here SIGNATURE_WORKERS, which the old launcher missed) does not reach the child.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalChain, type LocalChain } from "../../src/localnet/network";
import { relayerProcessEnv, startRelayer, type RelayerProcess } from "../../src/localnet/relayer";
import { waitUntil } from "../relayer/helpers/process";

/** The environment a process started with, from /proc (Linux). */
function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

describe("localnet relayer: the child's environment", function () {
  it("is the parent's basics plus exactly the given relayer variables", () => {
    const env = relayerProcessEnv(
      { RPC_URL: "http://127.0.0.1:1", LOG_LEVEL: "warn" },
      { PATH: "/bin", HOME: "/home/x", NODE_OPTIONS: "--max-old-space-size=512", SIGNATURE_WORKERS: "3", SECRET: "s" },
    );
    expect(env).to.deep.equal({
      PATH: "/bin",
      HOME: "/home/x",
      NODE_OPTIONS: "--max-old-space-size=512",
      RPC_URL: "http://127.0.0.1:1",
      LOG_LEVEL: "warn",
    });
  });

  it("refuses a variable the relayer does not read", () => {
    expect(() => relayerProcessEnv({ NOT_A_RELAYER_VAR: "1" } as never, {})).to.throw(/NOT_A_RELAYER_VAR/);
  });

  describe("a relayer started against a local chain", function () {
    this.timeout(300_000);
    let chain: LocalChain | undefined;
    let relayer: RelayerProcess | undefined;
    let dir: string | undefined;
    const saved = process.env.SIGNATURE_WORKERS;

    before(async () => {
      chain = await startLocalChain();
    });

    after(async () => {
      if (saved === undefined) delete process.env.SIGNATURE_WORKERS;
      else process.env.SIGNATURE_WORKERS = saved;
      await relayer?.kill();
      await chain?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("does not get the parent's SIGNATURE_WORKERS (an invalid value there would stop it)", async () => {
      // Were it inherited, the relayer would refuse its configuration and exit before "started".
      process.env.SIGNATURE_WORKERS = "not-a-number";
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "localnet-relayer-"));
      const funded = await chain!.fundedKey();
      relayer = await startRelayer({
        env: {
          RPC_URL: chain!.url,
          DEPLOYMENTS_FILE: chain!.deploymentsFile,
          RELAYER_DB: path.join(dir, "relayer.sqlite"),
          RELAYER_PORT: "0",
          RELAYER_PRIVATE_KEY: funded.privateKey,
        },
        ownGroup: false,
      });
      const childEnv = environOf(relayer.child.pid!);
      expect(childEnv).to.not.have.property("SIGNATURE_WORKERS");
      expect(childEnv).to.include({ RPC_URL: chain!.url, RELAYER_PORT: "0" });
      expect((await fetch(`${relayer.url}/health`)).status).to.equal(200);
    });

    it("serves a merchant's credit record from the chain it is connected to (the process runs its report indexer)", async () => {
      const merchant = await chain!.registerMerchant(3600);
      // The record is served from the report index, which follows the watcher's safe block.
      const res = await waitUntil("the report index's first safe block", async () => {
        const r = await fetch(`${relayer!.url}/v1/merchants/${merchant.id}/credit`);
        return r.status === 200 ? r : null;
      });
      const body = (await res.json()) as { merchantId: string; payments: number; token: string };
      expect(body).to.include({ merchantId: merchant.id.toString(), payments: 0 });
      expect(body.token).to.match(/^0x[0-9a-f]{40}$/);
      const unknown = await fetch(`${relayer!.url}/v1/merchants/${merchant.id + 100n}/credit`);
      expect(unknown.status).to.equal(404);
    });
  });
});
