/**
 * Unit tests of the auditor's small parts that need no chain: paged log fetching against a
 * provider that caps its answers, the state file, CSV escaping, money formatting, CLI parsing.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { PublicClient } from "viem";
import { parseCli, rpcUrlFor } from "../../src/auditor/args";
import { ConnectionError, StateFileError, UsageError } from "../../src/auditor/errors";
import { fetchLogPages } from "../../src/auditor/fetchLogs";
import { csv, csvField } from "../../src/auditor/report/csv";
import { escapeHtml } from "../../src/auditor/report/html";
import { loadState, saveState, type ScanState } from "../../src/auditor/stateFile";
import type { AuditEvent, Hex } from "../../src/auditor/types";
import { fmtMoney } from "../../src/auditor/util";
import { feeOf } from "../../src/protocol";
import { removeDir, tempDir } from "./helpers";

const ADDRESS = "0x00000000000000000000000000000000000000aa" as Hex;

/** A provider with one log per block that refuses ranges wider than `maxRange` blocks, as hosted RPCs do. */
function cappedProvider(maxRange: number, failures: { transient: number } = { transient: 0 }) {
  const ranges: [number, number][] = [];
  const client = {
    request: async ({ method, params }: { method: string; params: [{ fromBlock: Hex; toBlock: Hex }] }) => {
      if (method !== "eth_getLogs") throw new Error(`unexpected ${method}`);
      const from = Number(params[0].fromBlock);
      const to = Number(params[0].toBlock);
      if (failures.transient > 0) {
        failures.transient--;
        throw new Error("socket hang up");
      }
      if (to - from + 1 > maxRange) throw new Error("query returned more than 10000 results");
      ranges.push([from, to]);
      return Array.from({ length: to - from + 1 }, (_, i) => ({
        address: ADDRESS,
        topics: [],
        data: "0x",
        blockNumber: `0x${(from + i).toString(16)}`,
        blockHash: `0x${"0".repeat(64)}`,
        logIndex: "0x0",
        transactionHash: `0x${(from + i).toString(16).padStart(64, "0")}`,
        transactionIndex: "0x0",
      }));
    },
  };
  return { client: client as unknown as PublicClient, ranges };
}

describe("auditor: units", function () {
  describe("fetchLogPages", function () {
    it("pages the range, splitting pages the provider refuses for their size, in block order", async function () {
      const { client, ranges } = cappedProvider(30);
      const blocks: bigint[] = [];
      for await (const page of fetchLogPages(client, {
        addresses: [ADDRESS],
        fromBlock: 10n,
        toBlock: 209n,
        pageSize: 100n,
      })) {
        blocks.push(...page.logs.map((l) => l.blockNumber!));
      }
      expect(blocks).to.deep.equal(Array.from({ length: 200 }, (_, i) => BigInt(10 + i)));
      expect(ranges.every(([from, to]) => to - from + 1 <= 30)).to.equal(true);
      expect(ranges[0]).to.deep.equal([10, 34]); // 100 → 50 → 25 blocks
    });

    it("retries transient failures, then gives up with a ConnectionError", async function () {
      this.timeout(10_000);
      const flaky = cappedProvider(1_000, { transient: 2 });
      let count = 0;
      for await (const page of fetchLogPages(flaky.client, {
        addresses: [ADDRESS],
        fromBlock: 0n,
        toBlock: 9n,
        pageSize: 10n,
      }))
        count += page.logs.length;
      expect(count).to.equal(10);

      const dead = cappedProvider(1_000, { transient: 99 });
      let error: unknown;
      try {
        for await (const page of fetchLogPages(dead.client, {
          addresses: [ADDRESS],
          fromBlock: 0n,
          toBlock: 9n,
          pageSize: 10n,
        }))
          void page;
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConnectionError);
      expect((error as Error).message).to.include("eth_getLogs for blocks 0-9 failed 3 times: socket hang up");
    });
  });

  describe("state file", function () {
    let dir: string;
    before(() => (dir = tempDir()));
    after(() => removeDir(dir));

    it("round-trips decoded events with exact bigints and the timestamp map", function () {
      const event = {
        contract: "escrow",
        eventName: "Deposited",
        args: { account: ADDRESS, funder: ADDRESS, amount: 2n ** 127n + 1n },
        ref: {
          event: "escrow.Deposited",
          blockNumber: 12n,
          logIndex: 3,
          transactionHash: ADDRESS,
          transactionIndex: 0,
          timestamp: 1_700_000_000,
        },
      } as unknown as AuditEvent;
      const state: ScanState = {
        version: 1,
        chainId: 31337,
        token: ADDRESS,
        registry: ADDRESS,
        escrow: ADDRESS,
        fromBlock: 1n,
        lastBlock: 12n,
        lastBlockHash: `0x${"ab".repeat(32)}`,
        events: [event],
        unknownLogs: 0,
        timestamps: new Map([[12n, 1_700_000_000]]),
      };
      const file = path.join(dir, "state.json");
      saveState(file, state);
      expect(loadState(file)).to.deep.equal(state);
      expect(loadState(path.join(dir, "absent.json"))).to.equal(undefined);
      writeFileSync(file, "{not json");
      expect(() => loadState(file)).to.throw(StateFileError, "not valid JSON");
    });
  });

  describe("reports", function () {
    it("escapes CSV fields and neutralises spreadsheet formulas", function () {
      expect(csvField('say "hi", then\nleave')).to.equal('"say ""hi"", then\nleave"');
      expect(csvField("=HYPERLINK(1)")).to.equal("'=HYPERLINK(1)");
      expect(csvField("-12.42")).to.equal("-12.42");
      expect(csvField(12n)).to.equal("12");
      expect(csv(["a", "b"], [[1, undefined]])).to.equal("a,b\n1,\n");
    });

    it("escapes HTML", function () {
      expect(escapeHtml(`<script>"x"&'y'</script>`)).to.equal(
        "&#60;script&#62;&#34;x&#34;&#38;&#39;y&#39;&#60;/script&#62;",
      );
    });

    it("formats money exactly and rounds fees up as the escrow does", function () {
      expect(fmtMoney(1_234_567_890n)).to.equal("1,234.56789");
      expect(fmtMoney(-5_000_000n)).to.equal("-5.00");
      expect(fmtMoney(10n ** 30n)).to.equal("1,000,000,000,000,000,000,000,000.00");
      expect(feeOf(100n, 250)).to.equal(3n); // 2.5 rounds up
      expect(feeOf(1n, 1)).to.equal(1n);
      expect(feeOf(0n, 1_000)).to.equal(0n);
      expect(feeOf(40_000n, 250)).to.equal(1_000n);
    });
  });

  describe("command line", function () {
    it("parses every flag into typed options", function () {
      const id = `0x${"ab".repeat(32)}`;
      expect(
        parseCli([
          "--network",
          "localhost",
          "--payment",
          id,
          "--from-block",
          "5",
          "--to-block",
          "9",
          "--page-size",
          "100",
          "--state-file",
          "s.json",
          "--out",
          "o",
          "--quiet",
        ]),
      ).to.deep.equal({
        help: false,
        quiet: true,
        network: "localhost",
        deployments: undefined,
        currency: undefined,
        rpc: undefined,
        out: "o",
        stateFile: "s.json",
        fromBlock: 5n,
        toBlock: 9n,
        pageSize: 100n,
        payment: id,
      });
      expect(() => parseCli(["--network", "x", "--page-size", "0"])).to.throw(UsageError, "at least 1");
      expect(() => parseCli(["--network", "x", "--rpc", "127.0.0.1:8545"])).to.throw(UsageError, "http(s)");
      expect(() => parseCli(["--network", "x", "extra"])).to.throw(UsageError);
    });

    it("parses --reports with its day and --credit; the day's date and zone are checked", function () {
      const reports = parseCli(["--network", "x", "--reports", "r", "--date", "2026-03-01", "--tz", "Asia/Shanghai"]);
      expect(reports).to.deep.include({ reports: "r", day: { date: "2026-03-01", timeZone: "Asia/Shanghai" } });
      expect(parseCli(["--network", "x", "--reports", "r", "--date", "2026-03-01", "--merchant", "7"])).to.deep.include(
        {
          merchant: 7n,
          day: { date: "2026-03-01", timeZone: "UTC" },
        },
      );
      expect(parseCli(["--network", "x", "--credit", "3"]).credit).to.equal(3n);
      expect(() => parseCli(["--network", "x", "--credit", "18446744073709551616"])).to.throw(
        UsageError,
        "merchant id",
      );
      expect(() => parseCli(["--network", "x", "--reports", "r", "--date", "2026-02-29"])).to.throw(
        UsageError,
        "--date",
      );
      expect(() => parseCli(["--network", "x", "--payment", `0x${"ab".repeat(32)}`, "--credit", "1"])).to.throw(
        UsageError,
        "at most one",
      );
    });

    it("finds the RPC URL: --rpc, RPC_URL, then the network's usual variable", function () {
      expect(rpcUrlFor("localhost", undefined, {})).to.equal("http://127.0.0.1:8545");
      expect(rpcUrlFor("localhost", undefined, { LOCAL_RPC_URL: "http://127.0.0.1:9999" })).to.equal(
        "http://127.0.0.1:9999",
      );
      expect(rpcUrlFor("testnet", undefined, { TESTNET_RPC_URL: "http://t" })).to.equal("http://t");
      expect(rpcUrlFor("testnet", undefined, { RPC_URL: "http://r", TESTNET_RPC_URL: "http://t" })).to.equal(
        "http://r",
      );
      expect(rpcUrlFor("testnet", "http://flag", { RPC_URL: "http://r" })).to.equal("http://flag");
      expect(() => rpcUrlFor("mainnet", undefined, {})).to.throw(UsageError, "pass --rpc");
    });
  });
});
