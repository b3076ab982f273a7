/**
 * The auditor's merchant reports and credit record (`--reports`, `--credit`) on the scripted
 * history (test/fixtures/auditHistory.ts: confirmations, partial and full refunds, a split and an
 * expired dispute, a payment from a wallet, a one-off payer's batch, a deferred payout and its
 * claim): the CLI's files equal what the relayer's report index (src/relayer/jobs/reportIndexer.ts,
 * read as the routes read it) feeds the same builders, byte for byte, and the usage errors exit 2.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parse } from "csv-parse/sync";
import type { PublicClient } from "viem";
import { main, type CliIo } from "../../src/auditor/cli";
import type { ReportIndexCursor } from "../../src/relayer/store/types";
import { startReportIndex } from "../relayer/helpers/reportIndex";
import { oneCurrency } from "../relayer/helpers/chain";
import {
  creditRecord,
  localDate,
  REPORT_KINDS,
  reportCsv,
  reportDay,
  type ReportEvent,
} from "../../src/protocol/reports";
import type { Hex } from "../../src/protocol";
import { deployWithHistory, removeDir, tempDir, type AuditedChain } from "./helpers";

async function storyFixture(): Promise<AuditedChain> {
  return deployWithHistory();
}

function capture(client?: PublicClient): { io: CliIo; stdout: string[]; text: () => string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    io: { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t), env: {}, client },
    stdout,
    text: () => [...stdout, ...stderr].join("\n"),
  };
}

describe("auditor: merchant reports and credit record (--reports, --credit)", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => removeDir(dir));

  function recordFile(chain: AuditedChain): string {
    const file = path.join(dir, "hardhat.json");
    writeFileSync(file, JSON.stringify(chain.record, null, 2));
    return file;
  }

  /** What the relayer serves: its report index, caught up with the chain, read as the routes read it. */
  interface RelayerReports {
    token: Hex;
    head: ReportIndexCursor;
    events(merchantId: bigint): Promise<ReportEvent[]>;
    orderRefs(merchantId: bigint): Promise<Map<Hex, Hex>>;
  }

  let closeIndex: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await closeIndex?.();
    closeIndex = null;
  });

  async function relayerReports(chain: AuditedChain): Promise<RelayerReports> {
    const c = chain.record.contracts;
    const [usd] = chain.record.currencies;
    const index = await startReportIndex({
      addresses: oneCurrency({
        chainId: BigInt(chain.record.chainId),
        escrow: usd.escrow.address,
        registry: c.MerchantRegistry.address,
        token: usd.token.address,
        startBlock: BigInt(chain.record.blockNumber),
      }),
      pageBlocks: 7n,
    });
    closeIndex = () => index.close();
    const head = await index.through();
    const read = (m: bigint) => index.store.reportIndex.events(m, head.blockNumber);
    return {
      token: usd.token.address.toLowerCase() as Hex,
      head,
      events: async (m) => (await read(m)).events,
      orderRefs: async (m) => (await read(m)).orderRefs,
    };
  }

  async function days(history: RelayerReports, merchantId: bigint, tz: string): Promise<string[]> {
    const events = await history.events(merchantId);
    return [...new Set(events.map((e) => localDate(e.timestamp, tz)))].sort();
  }

  it("writes every merchant's files for a day, equal to the relayer's byte for byte (UTC and Asia/Shanghai)", async function () {
    const chain = await loadFixture(storyFixture);
    const history = await relayerReports(chain);
    const head = history.head;
    let compared = 0;
    const seen = new Set<string>();
    const refs = new Map<string, string>();
    for (const tz of ["UTC", "Asia/Shanghai"]) {
      for (const m of chain.history.merchants) {
        for (const date of await days(history, m.id, tz)) {
          const out = path.join(dir, `reports-${tz.replace("/", "_")}`);
          const cli = capture(chain.client);
          const code = await main(
            [
              ...["--deployments", recordFile(chain), "--quiet", "--to-block", head.blockNumber.toString()],
              ...["--reports", out, "--date", date, "--tz", tz],
            ],
            cli.io,
          );
          expect(code, cli.text()).to.equal(0);
          const events = await history.events(m.id);
          const orderRefs = await history.orderRefs(m.id);
          for (const kind of REPORT_KINDS) {
            const file = path.join(out, `merchant-${m.id}`, date, `${kind}.csv`);
            expect(existsSync(file), file).to.equal(true);
            const relayer = reportCsv(
              kind,
              { merchantId: m.id, token: history.token, events, orderRefs },
              reportDay(date, tz),
            );
            expect(readFileSync(file, "utf8"), `${kind} ${m.id} ${date} ${tz}`).to.equal(relayer);
            if (kind === "transactions") {
              for (const r of parse(relayer, { columns: true }) as Record<string, string>[]) {
                seen.add(r.event);
                if (r.event === "escrowed") refs.set(r.payment_id, r.order_ref);
              }
            }
            compared++;
          }
        }
      }
    }
    expect(compared).to.be.greaterThan(6);
    // Batched payments carry the orderRef of their calldata; a payment from a wallet has none.
    const { ids } = chain.history;
    for (const id of [ids.confirmed, ids.partiallyRefunded, ids.disputeSplit, ids.oneOff]) {
      expect(refs.get(id.toLowerCase()), id).to.match(/^0x[0-9a-f]{64}$/);
    }
    expect(refs.get(ids.fromWallet.toLowerCase())).to.equal("");
    expect([...seen]).to.include.members([
      "escrowed",
      "confirmed",
      "refunded",
      "disputed",
      "ruled",
      "settled",
      "paid",
      "deferred",
      "claimed",
    ]);
  });

  it("each day's summary balances: opening + net − paid out = closing, and days chain together", async function () {
    const chain = await loadFixture(storyFixture);
    const history = await relayerReports(chain);
    for (const m of chain.history.merchants) {
      const events = await history.events(m.id);
      let previousClosing = 0n;
      for (const date of await days(history, m.id, "UTC")) {
        const [r] = parse(summaryOf(m.id, history.token, events, date), { columns: true }) as Record<string, string>[];
        const n = (k: string) => BigInt(r[k]);
        expect(n("opening_balance_held")).to.equal(previousClosing);
        expect(n("opening_balance_held") + n("net") - n("paid_out")).to.equal(n("closing_balance_held"));
        previousClosing = n("closing_balance_held");
      }
      // What the escrow still holds for the merchant: held + disputed + released + claimable.
      const escrow = await ethers.getContractAt("PaymentEscrow", chain.record.currencies[0].escrow.address);
      const [released, claimable] = await escrow.merchantBalances(m.id);
      expect(previousClosing >= released + claimable, `merchant ${m.id}`).to.equal(true);
    }
  });

  it("--credit prints the record the relayer computes; unknown merchant exits 2", async function () {
    const chain = await loadFixture(storyFixture);
    const history = await relayerReports(chain);
    const m = chain.history.merchants[0].id;
    const cli = capture(chain.client);
    const at = history.head.blockNumber.toString();
    const args = ["--deployments", recordFile(chain), "--quiet", "--to-block", at, "--credit", m.toString()];
    expect(await main(args, cli.io)).to.equal(0);
    const printed = JSON.parse(cli.stdout.join("\n"));
    const expected = creditRecord(m, history.token, await history.events(m), history.head);
    expect(printed).to.deep.equal(JSON.parse(JSON.stringify(expected)));
    expect(printed.payments).to.be.greaterThan(0);
    expect(JSON.stringify(printed)).to.not.match(/\d\.\d/);

    const unknown = capture(chain.client);
    expect(await main(["--deployments", recordFile(chain), "--quiet", "--credit", "999"], unknown.io)).to.equal(2);
    expect(unknown.text()).to.include("No merchant 999");
  });

  it("usage errors exit 2: bad date, bad zone, missing --date, two modes at once, bad merchant id", async function () {
    const chain = await loadFixture(storyFixture);
    const run = async (args: string[]) => {
      const out = capture(chain.client);
      return { code: await main(["--deployments", recordFile(chain), "--quiet", ...args], out.io), text: out.text() };
    };
    const out = path.join(dir, "bad");
    const cases: [string[], string][] = [
      [["--reports", out, "--date", "2026-02-30"], "--date"],
      [["--reports", out, "--date", "2026-03-01", "--tz", "Mars/Olympus"], "--tz"],
      [["--reports", out], "needs --date"],
      [["--reports", out, "--date", "2026-03-01", "--credit", "1"], "at most one"],
      [["--credit", "0"], "--credit must be a merchant id"],
      [["--date", "2026-03-01"], "go with --reports"],
    ];
    for (const [args, text] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.text, args.join(" ")).to.include(text);
    }
  });
});

function summaryOf(merchantId: bigint, token: Hex, events: Parameters<typeof reportCsv>[1]["events"], date: string) {
  return reportCsv("summary", { merchantId, token, events, orderRefs: new Map() }, reportDay(date));
}
