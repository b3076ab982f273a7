/**
 * Role worker started in this process (src/relayer/server.ts): its log lines go through the same
 * redacting logger as the API's (pino JSON on the configured stream, secrets censored), not as raw
 * JSON on stderr, where a node's error would have carried the RPC URL uncensored.
 */
import { expect } from "chai";
import { loadConfig, type RelayerEnv } from "../../../src/relayer/config";
import { startRelayer } from "../../../src/relayer/server";
import { relayerDir, type LocalChain } from "../helpers/process";
import { relayerEnv, useScenarioSuite } from "../crash/scenario";

describe("role worker: its log lines are redacted like the API's", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  const { cleanups } = useScenarioSuite((s) => ({ chain } = s));

  it("writes pino JSON lines to the configured stream, with the configured secrets censored", async function () {
    const key = await chain.fundedKey();
    const db = relayerDir();
    cleanups.push(() => db.remove());
    const env = relayerEnv(
      chain,
      { rpcUrl: chain.url, db: db.db, signerKey: key.privateKey },
      { RELAYER_ROLE: "worker" },
    );
    const lines: string[] = [];
    // The signer's address stands in for a secret: the worker logs it in its lane's lease.
    const secret = key.address.toLowerCase().slice(2);
    const relayer = await startRelayer(loadConfig(env as RelayerEnv), {
      logger: {
        level: "info",
        stream: { write: (line: string) => lines.push(...line.split("\n").filter(Boolean)) },
        secrets: [secret],
      },
    });
    cleanups.push(() => relayer.stop());
    expect(relayer.role).to.equal("worker");

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const acquired = parsed.filter((l) => l.msg === "lease acquired");
    expect(acquired.map((l) => l.lease)).to.include("jobs");
    expect(acquired[0]).to.include({ level: 30 });
    const lane = acquired.find((l) => typeof l.lease === "string" && l.lease.startsWith("lane:"));
    expect(lane?.lease).to.equal("lane:0x[redacted]");
    expect(lines.join("\n").toLowerCase()).to.not.include(secret);
  });
});
