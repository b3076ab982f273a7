/**
 * The start script's decisions without starting anything: options from flags and environment, and
 * the demo's money formatting (the store's chain identity and the relayer's console lines are the
 * harness's: test/localnet/).
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sharedSecretKey } from "../../scripts/lib/sharedSecretKey";
import { formatToken, formatUnits, units } from "../../scripts/lib/demo/format";
import { formatSummary, redactDatabaseUrl, relayerUrls, type NetworkInfo } from "../../scripts/lib/networkInfo";
import { PROJECT_ROOT, UsageError, parseStartOptions, type StartOptions } from "../../scripts/lib/startOptions";

describe("npm start: options and decisions", function () {
  describe("parseStartOptions", function () {
    it("defaults to the local ports and the project's data and deployments folders", function () {
      const o = parseStartOptions([], {}) as StartOptions;
      expect(o.rpcUrl).to.equal("http://127.0.0.1:8545");
      expect(o.relayerPort).to.equal(8787);
      expect(o.dataDir).to.equal(path.join(PROJECT_ROOT, "data"));
      expect(o.databasePath).to.equal(path.join(PROJECT_ROOT, "data", "relayer.sqlite"));
      expect(o.deploymentsFile).to.equal(path.join(PROJECT_ROOT, "deployments", "localhost.json"));
      expect(o.adminToken).to.equal("local-admin-token");
      expect(o.defaultAdminToken).to.equal(true);
      expect(o.demo).to.equal(false);
      expect(o.postgres, "SQLite all-in-one unless --postgres").to.equal(false);
      expect(o.currencies, "two currencies, so that the demo pays in both").to.deep.equal(["USD", "EUR"]);
    });

    it("deploys the currencies CURRENCIES names, in its order, and refuses a malformed list", function () {
      expect((parseStartOptions([], { CURRENCIES: " EUR, USD ,CHF" }) as StartOptions).currencies).to.deep.equal([
        "EUR",
        "USD",
        "CHF",
      ]);
      expect((parseStartOptions([], { CURRENCIES: "USD" }) as StartOptions).currencies).to.deep.equal(["USD"]);
      expect(() => parseStartOptions([], { CURRENCIES: "USD,eur" })).to.throw(UsageError, 'CURRENCIES: "eur"');
      expect(() => parseStartOptions([], { CURRENCIES: "USD,,EUR" })).to.throw(UsageError, 'CURRENCIES: ""');
      expect(() => parseStartOptions([], { CURRENCIES: "USD,EUR,USD" })).to.throw(UsageError, "twice");
    });

    it("--postgres: the several-instance layout on DATABASE_URL, or the local server when none is set", function () {
      const local = parseStartOptions(["--postgres"], {}) as StartOptions;
      expect(local.postgres).to.equal(true);
      expect(local.databaseUrl).to.equal(null);
      const given = parseStartOptions(["--postgres"], { DATABASE_URL: "postgres://u@db:5432/x" }) as StartOptions;
      expect(given.databaseUrl).to.equal("postgres://u@db:5432/x");
      expect(() => parseStartOptions(["--postgres"], { RELAYER_PORT: "65535" })).to.throw(UsageError, "second api");
    });

    it("takes ports, folders and the demo flag from the environment and the arguments", function () {
      const env = { LOCAL_RPC_PORT: "9545", RELAYER_PORT: "9787", RELAYER_DATA_DIR: "/tmp/a", DEPLOYMENTS_DIR: "x" };
      const o = parseStartOptions(["--demo", "--data-dir=/tmp/b"], env) as StartOptions;
      expect(o.rpcUrl).to.equal("http://127.0.0.1:9545");
      expect(o.relayerPort).to.equal(9787);
      expect(o.dataDir, "the flag wins").to.equal("/tmp/b");
      expect(o.deploymentsDir).to.equal(path.join(PROJECT_ROOT, "x"));
      expect(o.demo).to.equal(true);
      expect((parseStartOptions(["--data-dir", "rel"], {}) as StartOptions).dataDir).to.equal(
        path.join(PROJECT_ROOT, "rel"),
      );
      expect(parseStartOptions(["--help"], {})).to.equal("help");
    });

    it("refuses bad input with the name of what is wrong", function () {
      expect(() => parseStartOptions([], { LOCAL_RPC_PORT: "80a" })).to.throw(UsageError, 'LOCAL_RPC_PORT="80a"');
      expect(() => parseStartOptions([], { RELAYER_PORT: "70000" })).to.throw(UsageError, "RELAYER_PORT");
      expect(() => parseStartOptions(["--data-dir"], {})).to.throw(UsageError, "--data-dir needs a directory");
      expect(() => parseStartOptions(["--dmeo"], {})).to.throw(UsageError, 'unknown argument "--dmeo"');
    });
  });

  describe("summary", function () {
    it("with --postgres lists every relayer instance, and never a database password", function () {
      const info: NetworkInfo = {
        chain: { rpcUrl: "http://127.0.0.1:8545", chainId: 31337, startedHere: true, logFile: "/d/chain.log" },
        deployment: {
          file: "/d/localhost.json",
          status: "deployed",
          deployBlock: 1,
          contracts: { MerchantRegistry: "0xr" } as never,
          currencies: [
            { code: "USD", symbol: "spUSD", token: "0xu", escrow: "0xe" },
            { code: "EUR", symbol: "spEUR", token: "0xv", escrow: "0xf" },
          ],
          deployer: "0x1",
        },
        relayer: {
          ...relayerUrls("http://127.0.0.1:8787"),
          database: redactDatabaseUrl("postgres://app:s3cret@db.internal:5432/stablepay"),
          logFile: "/d/relayer-api-1.log",
          signer: "0xabc",
          currencies: ["USD", "EUR"],
          signers: { USD: ["0xabc"], EUR: ["0xdef"] },
          adminToken: "local-admin-token",
          store: "postgres",
          instances: [
            { name: "api-1", role: "api", url: "http://127.0.0.1:8787", pid: 11, logFile: "/d/relayer-api-1.log" },
            { name: "api-2", role: "api", url: "http://127.0.0.1:8788", pid: 12, logFile: "/d/relayer-api-2.log" },
            { name: "worker-1", role: "worker", url: null, pid: 13, logFile: "/d/relayer-worker-1.log" },
          ],
        },
        dataDir: "/d",
        pid: 1,
        startedAt: "now",
      };
      const text = formatSummary(info, (f) => f).join("\n");
      expect(text).to.match(/api-1\s+http:\/\/127\.0\.0\.1:8787\s+\(api, pid 11, log \/d\/relayer-api-1\.log\)/);
      expect(text).to.match(/api-2\s+http:\/\/127\.0\.0\.1:8788\s+\(api, pid 12/);
      expect(text).to.match(/dashboard\s+http:\/\/127\.0\.0\.1:8787\/dashboard\/\s/);
      expect(text).to.match(/worker-1\s+\(no HTTP: chain jobs\)\s+\(worker, pid 13/);
      expect(text).to.include("postgres://app:***@db.internal:5432/stablepay");
      expect(text).not.to.include("s3cret");
      expect(text).to.match(
        /USD escrow\s+0xe\n.*USD token\s+0xu  \(spUSD\)\n.*EUR escrow\s+0xf\n.*EUR token\s+0xv  \(spEUR\)/,
      );
      expect(text).to.match(/MerchantRegistry\s+0xr/);
      // Every instance serves both currencies, each with a signer key of its own.
      expect(text).to.match(/currencies\s+USD, EUR \(every instance\)\n.*USD signer\s+0xabc\n.*EUR signer\s+0xdef/);
    });
  });

  describe("demo amounts", function () {
    it("parses and prints 6-decimal amounts exactly", function () {
      expect(units("12.5")).to.equal(12_500_000n);
      expect(units("9.99")).to.equal(9_990_000n);
      expect(units("100")).to.equal(100_000_000n);
      expect(() => units("1.0000001")).to.throw("6 decimals");
      expect(formatUnits(12_500_000n)).to.equal("12.50");
      expect(formatUnits(79_209_000n)).to.equal("79.209");
      expect(formatUnits(1n)).to.equal("0.000001");
      expect(formatUnits(250n, 2)).to.equal("2.50");
      // Each currency in its own decimals, named by its symbol.
      expect(formatToken(12_500_000n, "spEUR")).to.equal("12.50 spEUR");
      expect(formatToken(units("12.5", 18), "DAI", 18)).to.equal("12.50 DAI");
    });
  });

  describe("sharedSecretKey (npm start --postgres)", function () {
    it("generates one key into a fresh data dir (no postgres/ directory yet), then reuses it", function () {
      const dir = mkdtempSync(path.join(os.tmpdir(), "stablepay-key-"));
      try {
        const key = sharedSecretKey(dir, {});
        expect(key).to.match(/^[0-9a-f]{64}$/);
        expect(statSync(path.join(dir, "postgres", "secret.key")).mode & 0o777).to.equal(0o600);
        expect(sharedSecretKey(dir, {})).to.equal(key);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("takes RELAYER_SECRET_KEY when set and writes nothing", function () {
      const dir = path.join(os.tmpdir(), "stablepay-key-never-created");
      expect(sharedSecretKey(dir, { RELAYER_SECRET_KEY: "k".repeat(64) })).to.equal("k".repeat(64));
      expect(() => statSync(dir)).to.throw(Error, "ENOENT");
    });
  });
});
