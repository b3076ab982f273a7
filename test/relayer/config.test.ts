/**
 * src/relayer/config.ts's RELAYER_ENV_VARS is the list the local-network harness hands a relayer
 * child: it must name every variable the relayer reads, and nothing else.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { inspect } from "node:util";
import {
  ConfigError,
  LOCAL_DEV_SIGNER_KEY,
  LOCAL_DEV_SIGNER_KEYS,
  RELAYER_ENV_VARS,
  dealSigners,
  loadConfig,
  pickRelayerEnv,
  servedCurrencies,
} from "../../src/relayer/config";

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

const KEY_A = `0x${"a1".repeat(32)}`;
const KEY_B = `0x${"b2".repeat(32)}`;
const refusal = (env: NodeJS.ProcessEnv): ConfigError => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("loadConfig accepted it");
};

describe("relayer config: roles, stores, signer sources and secrets", () => {
  it("RELAYER_ROLE defaults to all and takes api or worker; anything else is refused", () => {
    expect(loadConfig({}).role).to.equal("all");
    expect(loadConfig({ RELAYER_ROLE: "api" }).role).to.equal("api");
    expect(loadConfig({ RELAYER_ROLE: "worker" }).role).to.equal("worker");
    expect(refusal({ RELAYER_ROLE: "both" }).message).to.include("RELAYER_ROLE must be one of api, worker, all");
  });

  it("DASHBOARD_IDLE_SECONDS: 15 minutes by default, at least 1", () => {
    expect(loadConfig({}).dashboardIdleSeconds).to.equal(900);
    expect(loadConfig({ DASHBOARD_IDLE_SECONDS: "42" }).dashboardIdleSeconds).to.equal(42);
    expect(refusal({ DASHBOARD_IDLE_SECONDS: "0" }).message).to.include("DASHBOARD_IDLE_SECONDS must be at least 1");
  });

  it("DATABASE_URL selects PostgreSQL (SQLite otherwise); LEASE_TTL_MS defaults to 10 s", () => {
    expect(loadConfig({}).databaseUrl).to.equal(null);
    const url = "postgres://relayer:s3cret-pw@db.internal:5432/stablepay";
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl!.reveal()).to.equal(url);
    expect(refusal({ DATABASE_URL: "mysql://x" }).message).to.include("DATABASE_URL");
    expect(loadConfig({}).leaseTtlMs).to.equal(10_000);
    expect(loadConfig({ LEASE_TTL_MS: "3000" }).leaseTtlMs).to.equal(3_000);
    expect(refusal({ LEASE_TTL_MS: "10" }).message).to.include("LEASE_TTL_MS");
  });

  it("signer keys: the local key by default, RELAYER_PRIVATE_KEY and RELAYER_PRIVATE_KEYS as lanes, a keystore, or a remote signer; one source only", () => {
    const keys = (env: NodeJS.ProcessEnv) => {
      const s = loadConfig(env).signers;
      expect(s.kind).to.equal("env");
      return s.kind === "env" ? s.keys.map((k) => k.reveal()) : [];
    };
    expect(keys({})).to.deep.equal([LOCAL_DEV_SIGNER_KEY]);
    expect(keys({ RELAYER_PRIVATE_KEY: KEY_A })).to.deep.equal([KEY_A]);
    expect(keys({ RELAYER_PRIVATE_KEYS: `${KEY_A}, ${KEY_B.slice(2)}` })).to.deep.equal([KEY_A, KEY_B]);
    const bad = refusal({ RELAYER_PRIVATE_KEYS: `${KEY_A},${KEY_B.slice(0, 40)}` });
    expect(bad.message).to.include("signer key #2");
    expect(bad.message).to.not.include(KEY_B.slice(2, 40));

    const keystore = loadConfig({ RELAYER_KEYSTORE: "/k/a.json,/k/b.json", RELAYER_KEYSTORE_PASSWORD: "pw" }).signers;
    expect(keystore.kind === "keystore" && keystore.files).to.deep.equal(["/k/a.json", "/k/b.json"]);
    expect(refusal({ RELAYER_KEYSTORE: "/k/a.json" }).message).to.include("RELAYER_KEYSTORE_PASSWORD");
    const passwordFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "relayer-config-")), "password");
    fs.writeFileSync(passwordFile, "from-a-file\n");
    const fromFile = loadConfig({
      RELAYER_KEYSTORE: "/k/a.json",
      RELAYER_KEYSTORE_PASSWORD_FILE: passwordFile,
    }).signers;
    expect(fromFile.kind === "keystore" && fromFile.password.reveal()).to.equal("from-a-file");

    const address = "0x" + "c3".repeat(20);
    const remote = loadConfig({
      RELAYER_REMOTE_SIGNER_URL: "http://signer:8550",
      RELAYER_REMOTE_SIGNER_ADDRESSES: address,
    }).signers;
    expect(remote.kind === "remote" && remote.addresses).to.deep.equal([address]);
    expect(refusal({ RELAYER_REMOTE_SIGNER_URL: "http://signer:8550" }).message).to.include(
      "RELAYER_REMOTE_SIGNER_ADDRESSES",
    );
    expect(refusal({ RELAYER_PRIVATE_KEY: KEY_A, RELAYER_KEYSTORE: "/k/a.json" }).message).to.include(
      "one source of signer keys",
    );
  });

  it("RELAYER_CURRENCIES: the deployment's default alone when unset, else the named codes in order, each known", () => {
    const known = ["USD", "EUR", "GBP"];
    expect(loadConfig({}).currencies).to.equal(null);
    expect(servedCurrencies(loadConfig({}), known)).to.deep.equal(["USD"]);
    const named = loadConfig({ RELAYER_CURRENCIES: "EUR, USD" });
    expect(named.currencies).to.deep.equal(["EUR", "USD"]);
    expect(servedCurrencies(named, known)).to.deep.equal(["EUR", "USD"]);

    const unknown = (() => {
      try {
        servedCurrencies(loadConfig({ RELAYER_CURRENCIES: "USD,JPY" }), known);
      } catch (error) {
        return error as Error;
      }
      throw new Error("accepted a currency the deployment lacks");
    })();
    expect(unknown).to.be.instanceOf(ConfigError);
    expect(unknown.message).to.include("JPY").and.to.include("USD, EUR, GBP");
    expect(refusal({ RELAYER_CURRENCIES: "usd" }).message).to.include('"usd" is not a currency code');
    expect(refusal({ RELAYER_CURRENCIES: "USD,EUR,USD" }).message).to.include("USD twice");
  });

  it("signer keys are dealt to the served currencies in turn; fewer keys than currencies is refused", () => {
    expect([...dealSigners(["k1", "k2", "k3", "k4", "k5"], ["USD", "EUR"])]).to.deep.equal([
      ["USD", ["k1", "k3", "k5"]],
      ["EUR", ["k2", "k4"]],
    ]);
    expect([...dealSigners(["k1", "k2"], ["EUR", "USD"])]).to.deep.equal([
      ["EUR", ["k1"]],
      ["USD", ["k2"]],
    ]);
    expect(() => dealSigners(["k1"], ["USD", "EUR"]))
      .to.throw(ConfigError)
      .with.property("message")
      .that.includes("need at least 2 signer keys")
      .and.includes("1 configured");

    // The local default: one of Hardhat's dev keys per served currency, #0 first.
    const devKeys = (env: NodeJS.ProcessEnv) => {
      const s = loadConfig(env).signers;
      return s.kind === "env" ? s.keys.map((k) => k.reveal()) : [];
    };
    expect(devKeys({ RELAYER_CURRENCIES: "USD" })).to.deep.equal([LOCAL_DEV_SIGNER_KEY]);
    expect(devKeys({ RELAYER_CURRENCIES: "USD,EUR" })).to.deep.equal(LOCAL_DEV_SIGNER_KEYS.slice(0, 2));
    expect(devKeys({ RELAYER_CURRENCIES: "USD,EUR", RELAYER_PRIVATE_KEY: KEY_A })).to.deep.equal([KEY_A]);
    expect(refusal({ RELAYER_CURRENCIES: "A1,B1,C1,D1,E1" }).message).to.include("RELAYER_PRIVATE_KEYS");
  });

  it("no key, password or database password appears in a dump of the configuration", () => {
    const secrets = [KEY_A.slice(2), KEY_B.slice(2), "keystore-pw-91", "db-pw-77", "signer-token-55"];
    const dumps = [
      loadConfig({ RELAYER_PRIVATE_KEYS: `${KEY_A},${KEY_B}`, DATABASE_URL: "postgres://u:db-pw-77@h/d" }),
      loadConfig({ RELAYER_KEYSTORE: "/k/a.json", RELAYER_KEYSTORE_PASSWORD: "keystore-pw-91" }),
      loadConfig({
        RELAYER_REMOTE_SIGNER_URL: "https://relayer:signer-token-55@signer",
        RELAYER_REMOTE_SIGNER_ADDRESSES: "0x" + "c3".repeat(20),
      }),
    ].flatMap((config) => [
      JSON.stringify(config, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)),
      inspect(config, { depth: 10, showHidden: true }),
      `${Object.values(config)}`,
    ]);
    for (const dump of dumps) for (const secret of secrets) expect(dump).to.not.include(secret);
  });
});
