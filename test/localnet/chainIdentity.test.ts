/** Which relayer store belongs to which chain, and moving a stale store aside (src/localnet/chainIdentity.ts). */
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
import { removeDir, tempDir } from "../deploy/helpers";

const IDENTITY: ChainIdentity = {
  chainId: 31337,
  genesisHash: "0x" + "ab".repeat(32),
  escrow: "0x5fc8d32690cc91d4c39d9d3abcbd16989f875707",
  rpcUrl: "http://127.0.0.1:8545",
  recordedAt: "2026-01-01T00:00:00.000Z",
};

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
