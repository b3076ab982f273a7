/**
 * MerchantReports, the routes' reader of the report index, on a real SQLite store: credit records
 * are kept per (merchant, indexed block) in a bounded LRU (a hit costs the cursor read alone; the
 * least recently used record is dropped first; a moved cursor is a new key); a failed read is not
 * kept; no cursor is 503 reports_not_indexed.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MerchantReports } from "../../../src/relayer/http/merchantReports";
import { ApiError } from "../../../src/relayer/errors";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import type { Hex } from "../../../src/relayer/domain";
import { reportEventsOf } from "../store/sharedSuites";
import { hex32 } from "../store/helpers";

const TOKEN = "0x00000000000000000000000000000000000000AA";

describe("relayer http: MerchantReports (credit records' LRU)", () => {
  let dir: string;
  let store: SqliteStore;
  let reads: bigint[];
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "merchant-reports-"));
    store = await openSqliteStore(path.join(dir, "relayer.sqlite"));
    reads = [];
    const events = store.reportIndex.events.bind(store.reportIndex);
    store.reportIndex.events = (merchantId, toBlock) => {
      reads.push(merchantId);
      return events(merchantId, toBlock);
    };
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const at = (blockNumber: bigint) => ({
    blockNumber,
    blockHash: hex32(Number(blockNumber)),
    timestamp: 1_700_010_000,
  });

  it("no cursor: 503 reports_not_indexed; then one store read per (merchant, block), least recently used dropped first", async () => {
    const reports = new MerchantReports({ store, token: async () => TOKEN, creditCacheEntries: 2 });
    await reports.credit(1n).then(
      () => expect.fail("no index yet"),
      (e: ApiError) => expect([e.status, e.code]).to.deep.equal([503, "reports_not_indexed"]),
    );
    await store.reportIndex.append([...reportEventsOf(1n, 10n), ...reportEventsOf(2n, 20n)], at(30n));
    const one = await reports.credit(1n);
    expect(one).to.include({ merchantId: "1", payments: 1, asOfBlock: "30", token: TOKEN.toLowerCase() as Hex });
    await reports.credit(2n);
    expect(await reports.credit(1n)).to.equal(one); // a hit: the same object, no read
    expect(reads).to.deep.equal([1n, 2n]);
    await reports.credit(3n); // evicts 2, the least recently used
    await reports.credit(1n);
    await reports.credit(2n);
    expect(reads).to.deep.equal([1n, 2n, 3n, 2n]);
    // The index moves on: a new block is a new key.
    await store.reportIndex.append([], at(31n));
    expect((await reports.credit(1n)).asOfBlock).to.equal("31");
    expect(reads).to.deep.equal([1n, 2n, 3n, 2n, 1n]);
  });

  it("a failed read is not kept: the next request reads again", async () => {
    await store.reportIndex.append(reportEventsOf(1n, 10n), at(30n));
    let failToken = true;
    const reports = new MerchantReports({
      store,
      token: async () => {
        if (failToken) throw new Error("connect ECONNREFUSED https://rpc.example/secret-token");
        return TOKEN;
      },
    });
    await reports.credit(1n).then(
      () => expect.fail("the token read failed"),
      (e: ApiError) => {
        expect([e.status, e.code]).to.deep.equal([503, "chain_unavailable"]);
        expect(e.message).to.not.include("secret-token");
      },
    );
    failToken = false;
    expect((await reports.credit(1n)).payments).to.equal(1);
  });
});
