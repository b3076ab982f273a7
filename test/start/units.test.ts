/**
 * The start script's decisions without starting anything: options from flags and environment, which
 * relayer store belongs to which chain, moving a stale store aside, the console filter of the
 * relayer's log, and the demo's money formatting.
 */
import { expect } from "chai";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  identityMismatch,
  loadChainIdentity,
  moveDatabaseAside,
  saveChainIdentity,
  type ChainIdentity,
} from "../../src/localnet/chainIdentity";
import { formatUnits, units } from "../../scripts/lib/demo/format";
import { consoleLine } from "../../src/localnet/relayerLog";
import { PROJECT_ROOT, UsageError, parseStartOptions, type StartOptions } from "../../scripts/lib/startOptions";
import { removeDir, tempDir } from "../deploy/helpers";

const IDENTITY: ChainIdentity = {
  chainId: 31337,
  genesisHash: "0x" + "ab".repeat(32),
  escrow: "0x5fc8d32690cc91d4c39d9d3abcbd16989f875707",
  rpcUrl: "http://127.0.0.1:8545",
  recordedAt: "2026-01-01T00:00:00.000Z",
};

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

  describe("chain identity of the relayer store", function () {
    let dir: string;
    beforeEach(() => (dir = tempDir("stablepay-identity-")));
    afterEach(() => removeDir(dir));

    it("matches the same chain and deployment, and says why anything else does not", function () {
      expect(identityMismatch(IDENTITY, { ...IDENTITY, rpcUrl: "http://other", recordedAt: "later" })).to.equal(null);
      expect(identityMismatch(null, IDENTITY)).to.include("no record of the chain");
      expect(identityMismatch(IDENTITY, { ...IDENTITY, chainId: 1 })).to.include("chain id 31337, the chain now is 1");
      expect(identityMismatch(IDENTITY, { ...IDENTITY, genesisHash: "0x" + "cd".repeat(32) })).to.include(
        "was restarted",
      );
      expect(identityMismatch(IDENTITY, { ...IDENTITY, escrow: "0x" + "11".repeat(20) })).to.include(
        "the deployment now is",
      );
    });

    it("round-trips through chain.json and treats an unreadable file as no record", function () {
      expect(loadChainIdentity(dir)).to.equal(null);
      saveChainIdentity(dir, IDENTITY);
      expect(loadChainIdentity(dir)).to.deep.equal(IDENTITY);
      writeFileSync(path.join(dir, "chain.json"), "{not json");
      expect(loadChainIdentity(dir)).to.equal(null);
    });

    it("moves the database aside with its -wal and -shm files, never over an earlier one", function () {
      const db = path.join(dir, "relayer.sqlite");
      const now = new Date("2026-01-01T12:00:00.123Z");
      for (const suffix of ["", "-wal", "-shm"]) writeFileSync(db + suffix, "x");
      const first = moveDatabaseAside(db, now);
      expect(path.basename(first)).to.equal("relayer.20260101T120000Z.stale.sqlite");
      writeFileSync(db, "y");
      const second = moveDatabaseAside(db, now);
      expect(path.basename(second)).to.equal("relayer.20260101T120000Z-2.stale.sqlite");
      expect(existsSync(db)).to.equal(false);
      expect(readdirSync(dir).sort()).to.deep.equal([
        "relayer.20260101T120000Z-2.stale.sqlite",
        "relayer.20260101T120000Z.stale.sqlite",
        "relayer.20260101T120000Z.stale.sqlite-shm",
        "relayer.20260101T120000Z.stale.sqlite-wal",
      ]);
    });
  });

  describe("relayer log on the console", function () {
    it("shows warnings and errors in one line, keeps info in the file, and always shows non-JSON lines", function () {
      const info = JSON.stringify({ level: 30, msg: "request completed" });
      const warn = JSON.stringify({ level: 40, msg: "webhook delivery failed", err: "timeout", outbox: 3 });
      const early = JSON.stringify({ level: "error", msg: "shutdown step failed", step: "store" });
      expect(consoleLine(info)).to.equal(null);
      expect(consoleLine(warn)).to.equal("WARN webhook delivery failed (err=timeout)");
      expect(consoleLine(early)).to.equal("ERROR shutdown step failed (step=store)");
      expect(consoleLine("Error: Cannot find module 'x'")).to.equal("Error: Cannot find module 'x'");
      const nonce = JSON.stringify({ level: 40, msg: "nonce taken outside the relayer; re-signing with the next one" });
      expect(consoleLine(nonce)).to.include("account #0 also sent a transaction");
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
    });
  });
});
