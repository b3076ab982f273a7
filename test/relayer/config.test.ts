/**
 * src/relayer/config.ts's RELAYER_ENV_VARS is the list the local-network harness hands a relayer
 * child: it must name every variable the relayer reads, and nothing else.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { RELAYER_ENV_VARS, loadConfig, pickRelayerEnv } from "../../src/relayer/config";

const RELAYER_SRC = path.resolve(__dirname, "..", "..", "src", "relayer");

/** Every `process.env.NAME` in the relayer's sources (main.ts reads LOG_LEVEL this way). */
function processEnvReads(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) for (const name of processEnvReads(file)) names.add(name);
    else if (entry.name.endsWith(".ts")) {
      for (const match of fs.readFileSync(file, "utf8").matchAll(/process\.env\.([A-Z0-9_]+)/g)) names.add(match[1]);
    }
  }
  return names;
}

describe("relayer config: the environment variables it reads", () => {
  it("RELAYER_ENV_VARS is exactly what loadConfig and the relayer's sources read", () => {
    const read = new Set<string>();
    const recorder = new Proxy({} as NodeJS.ProcessEnv, {
      get(_target, name) {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
    });
    loadConfig(recorder);
    for (const name of processEnvReads(RELAYER_SRC)) read.add(name);
    expect([...read].sort()).to.deep.equal([...RELAYER_ENV_VARS].sort());
  });

  it("lists each variable once", () => {
    expect(new Set(RELAYER_ENV_VARS).size).to.equal(RELAYER_ENV_VARS.length);
  });

  it("pickRelayerEnv keeps the relayer's variables of an environment and drops the rest", () => {
    const picked = pickRelayerEnv({ SIGNATURE_WORKERS: "0", LOG_LEVEL: "warn", PATH: "/bin", HARDHAT_NETWORK: "x" });
    expect(picked).to.deep.equal({ SIGNATURE_WORKERS: "0", LOG_LEVEL: "warn" });
  });
});
