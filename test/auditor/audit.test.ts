/**
 * The auditor against the in-process Hardhat chain with the scripted history of
 * test/fixtures/auditHistory.ts: a clean audit (exit 0) whose rebuilt numbers match independent
 * on-chain reads, tokens sent straight to the escrow reported as surplus with their Transfer event
 * (not a mismatch) and swept by the admin, single-payment proofs, resumable scans, report files, and the CLI's exit code 2
 * for everything that is not a verdict on the ledger.
 */
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { PublicClient } from "viem";
import { breakLedger, usd } from "../fixtures/auditHistory";
import type { DeploymentRecord } from "../../src/chain/deployments";
import { runAudit } from "../../src/auditor/audit";
import { main, type CliIo } from "../../src/auditor/cli";
import { BatchTree, processProof } from "../../src/protocol";
import { provePayment } from "../../src/auditor/proof";
import { targetOf } from "../../src/auditor/target";
import type { Hex } from "../../src/auditor/types";
import { MerchantRegistry__factory, PaymentEscrow__factory, SettlementToken__factory } from "../../typechain-types";
import { liabilitiesOf } from "../escrow/fixtures";
import { deployWithHistory, hre, removeDir, tempDir, type AuditedChain } from "./helpers";

async function storyFixture(): Promise<AuditedChain> {
  return deployWithHistory();
}

/** The story, then 1,000 tokens transferred to the escrow with a plain ERC-20 transfer. */
async function brokenFixture(): Promise<AuditedChain & { transferTx: Hex }> {
  const chain = await deployWithHistory();
  const transferTx = await breakLedger(hre, chain.record);
  return { ...chain, transferTx };
}

interface Captured {
  io: CliIo;
  stdout: string[];
  stderr: string[];
  text(): string;
}

function capture(client?: PublicClient, env: NodeJS.ProcessEnv = {}): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    io: { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t), env, client },
    stdout,
    stderr,
    text: () => [...stdout, ...stderr].join("\n"),
  };
}

describe("auditor: audit of a scripted history", function () {
  this.timeout(300_000);

  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => removeDir(dir));

  /** Writes the record where --deployments can read it. */
  function recordFile(record: DeploymentRecord, name = "hardhat.json"): string {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(record, null, 2));
    return file;
  }

  async function cli(chain: AuditedChain, args: string[]): Promise<{ code: number; out: Captured }> {
    const out = capture(chain.client);
    const code = await main(["--deployments", recordFile(chain.record), "--quiet", ...args], out.io);
    return { code, out };
  }

  /** Loads `fixture`, runs the CLI with `--out <dir>/<name>` and asserts a clean verdict (exit 0). */
  async function cleanRun<T extends AuditedChain>(fixture: () => Promise<T>, name: string) {
    const chain = await loadFixture(fixture);
    const { code, out } = await cli(chain, ["--out", path.join(dir, name)]);
    // The CLI writes each currency's reports in a folder named by its code.
    const outDir = path.join(dir, name, chain.record.currencies[0].code);
    expect(code, out.text()).to.equal(0);
    expect(out.text()).to.include("RESULT: CLEAN");
    return { chain, outDir, out };
  }

  it("reconciles the whole history: exit 0, summary, JSON, CSV and HTML written", async function () {
    const { chain, outDir } = await cleanRun(storyFixture, "clean");

    const json = JSON.parse(readFileSync(path.join(outDir, "audit.json"), "utf8"));
    expect(json.clean).to.equal(true);
    expect(json.mismatches).to.deep.equal([]);
    expect(Object.keys(json.ledger.payments)).to.have.length(chain.history.escrowedPayments);
    expect(json.summary.liabilities.rebuilt).to.deep.equal(json.summary.liabilities.onChain);

    const payments = readFileSync(path.join(outDir, "payments.csv"), "utf8").trim().split("\n");
    expect(payments[0]).to.match(/^payment_id,batch_id,leaf_index,payer,merchant_id,amount,status/);
    expect(payments).to.have.length(chain.history.escrowedPayments + 1);
    const refunded = payments.find((line) => line.startsWith(chain.history.ids.fullyRefunded))!;
    expect(refunded.split(",").slice(5, 8)).to.deep.equal(["42.42", "refunded", "42.42"]);

    const settlements = readFileSync(path.join(outDir, "settlements.csv"), "utf8");
    expect(settlements).to.include(`deferred,${chain.history.deferred.merchantId},`);
    expect(settlements).to.include(
      `claimed,${chain.history.deferred.merchantId},,113.85,0,113.85,${chain.history.deferred.newPayout}`,
    );
    expect(settlements).to.include("fees-collected");
    const statements = readdirSync(path.join(outDir, "statements")).sort();
    expect(statements).to.deep.equal(chain.history.merchants.map((m) => `merchant-${m.id}.csv`).sort());
    expect(readFileSync(path.join(outDir, "report.html"), "utf8")).to.include("CLEAN — every check reconciles");
  });

  it("rebuilds the same numbers as independent on-chain reads", async function () {
    const chain = await loadFixture(storyFixture);
    const { record, history } = chain;
    const result = await runAudit({ client: chain.client, target: targetOf(record) });
    expect(result.mismatches).to.deep.equal([]);
    const { ledger } = result;
    const provider = hre.ethers.provider;
    const escrow = PaymentEscrow__factory.connect(record.currencies[0].escrow.address, provider);
    const token = SettlementToken__factory.connect(record.currencies[0].token.address, provider);
    const registry = MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, provider);

    // Customer balances and the six buckets.
    expect(ledger.customers.size).to.be.at.least(history.customers.length);
    for (const customer of history.customers) {
      expect(ledger.customers.get(customer)!.balance, customer).to.equal(await escrow.balanceOf(customer));
    }
    expect(ledger.totals).to.deep.equal(await liabilitiesOf(escrow));
    expect(ledger.token.balances.get(record.currencies[0].escrow.address as Hex)).to.equal(
      await token.balanceOf(record.currencies[0].escrow.address),
    );

    // Every batch's commitment, rebuilt from its PaymentEscrowed ids.
    expect(BigInt(ledger.batches.size)).to.equal(history.batchCount);
    for (const b of ledger.batches.values()) {
      expect(b.rebuiltRoot, `batch ${b.id}`).to.equal((await escrow.batchRoot(b.id)).toLowerCase());
    }
    // Expired, InvalidSignature, InsufficientBalance, AuthorizationFailed (the one-off batch's refused authorization)
    expect(ledger.rejections.map((r) => r.reason).sort()).to.deep.equal([2, 4, 6, 9]);

    // Each payment's history.
    const p = (id: Hex) => ledger.payments.get(id)!;
    expect(p(history.ids.confirmed).status).to.equal("confirmed");
    expect(p(history.ids.confirmed).confirmed!.fee).to.equal((usd(100) * 250n + 9_999n) / 10_000n);
    expect(p(history.ids.confirmedAfterTermsChange).confirmed!.feeBps).to.equal(300); // setTerms before batch C
    expect(p(history.ids.partiallyRefunded)).to.include({ status: "settled", refunded: usd("50.5") });
    expect(p(history.ids.partiallyRefunded).settled!.amount).to.equal(usd(200));
    expect(p(history.ids.fullyRefunded)).to.include({ status: "refunded", refunded: usd("42.42") });
    expect(p(history.ids.fullyRefunded).refunds.map((r) => r.totalRefunded)).to.deep.equal([
      usd("12.42"),
      usd("42.42"),
    ]);
    const split = p(history.ids.disputeSplit).dispute!.resolved!;
    expect(split).to.include({ toPayer: usd(30), toMerchant: usd("49.5"), fee: usd("0.5"), byTimeout: false });
    const expired = p(history.ids.disputeExpired).dispute!.resolved!;
    expect(expired).to.include({ toPayer: usd(500), toMerchant: 0n, fee: 0n, byTimeout: true });
    expect(p(history.ids.fromWallet).status).to.equal("settled");
    expect(p(history.ids.stillHeld).status).to.equal("held");
    expect(p(history.ids.oneOff)).to.include({ status: "held", amount: usd(8) });
    for (const id of Object.values(history.ids)) {
      const record = await escrow.paymentRecord(id);
      expect(record.refunded, id).to.equal(p(id).refunded);
      expect(Number(record.status), id).to.equal(p(id).recordStatus);
    }

    // Merchants: terms history, the deferred payout and its claim, balances.
    const m2 = ledger.merchants.get(history.deferred.merchantId)!;
    expect(m2).to.include({ deferred: history.deferred.amount, claimed: history.deferred.amount, claimable: 0n });
    expect(history.deferred.amount).to.be.greaterThan(0n);
    const deferredPayout = ledger.settlements.flatMap((s) => s.payouts).find((x) => x.kind === "deferred")!;
    expect(deferredPayout.address).to.equal(history.deferred.blocklistedPayout);
    expect(ledger.claims[0].address).to.equal(history.deferred.newPayout);
    expect(m2.payout).to.equal(await registry.payoutOf(m2.id));
    const m1 = ledger.merchants.get(history.merchants[0].id)!;
    expect(m1.terms.map((t) => t.feeBps)).to.deep.equal([250, 300]);
    for (const m of ledger.merchants.values()) {
      const [released, claimable] = await escrow.merchantBalances(m.id);
      expect([m.released, m.claimable], `merchant ${m.id}`).to.deep.equal([released, claimable]);
      expect(m.paid + m.claimed + m.held + m.released + m.claimable + m.feesCharged + m.refunded).to.be.at.most(
        m.escrowed,
      );
    }

    // Fees and the token.
    expect(ledger.feeCollections).to.have.length(1);
    expect(ledger.feeCollections[0].recipient).to.equal(history.feeRecipient);
    expect(ledger.feesAccrued).to.equal(ledger.feeCollections[0].amount + ledger.totals.fees);
    expect(ledger.token.minted).to.equal(history.minted);
    expect(ledger.token.burned).to.equal(history.burned);
    expect(ledger.token.minted - ledger.token.burned).to.equal(await token.totalSupply());
  });

  it("reports tokens sent straight to the escrow as surplus on its own line, naming the Transfer, not a mismatch: exit 0", async function () {
    const { chain, outDir, out } = await cleanRun(brokenFixture, "broken");
    expect(out.text()).to.match(/surplus\s+1,000\.00\s+1,000\.00/);
    expect(out.text()).to.include(chain.transferTx);

    const report = JSON.parse(readFileSync(path.join(outDir, "audit.json"), "utf8"));
    expect(report.mismatches).to.deep.equal([]);
    const { surplus } = report.summary;
    expect(surplus.rebuilt).to.equal(usd(1_000).toString());
    expect(surplus.onChain).to.equal(usd(1_000).toString());
    expect(surplus.swept).to.equal("0");
    expect(surplus.inflows).to.have.length(1);
    expect(surplus.inflows[0].ref).to.include({ event: "token.Transfer", transactionHash: chain.transferTx });
    const html = readFileSync(path.join(outDir, "report.html"), "utf8");
    expect(html).to.include("CLEAN");
    expect(html).to.include("Surplus");
  });

  it("after the admin sweeps the surplus: surplus 0, the sweep explained by SurplusSwept, still clean", async function () {
    const chain = await loadFixture(brokenFixture);
    const target = targetOf(chain.record);
    const [admin, , , , , , , , , recipient] = await hre.ethers.getSigners();
    const escrow = PaymentEscrow__factory.connect(target.escrow, admin);
    await (await escrow.sweepSurplus(recipient.address)).wait();

    const result = await runAudit({ client: chain.client, target });
    expect(result.mismatches).to.deep.equal([]);
    expect(result.surplus.rebuilt).to.equal(0n);
    expect(result.surplus.onChain).to.equal(0n);
    expect(result.surplus.swept).to.equal(usd(1_000));
    expect(result.surplus.sweeps[0]).to.include({ amount: usd(1_000) });
    expect(result.surplus.sweeps[0].to.toLowerCase()).to.equal(recipient.address.toLowerCase());
    expect(result.ledger.eventCounts["escrow.SurplusSwept"]).to.equal(1);
  });

  it("rebuilds a dispute opened after the hold of a suspended merchant and the arbiter's refund: clean", async function () {
    const chain = await loadFixture(storyFixture);
    const target = targetOf(chain.record);
    const [admin] = await hre.ethers.getSigners();
    const held = chain.history.stillHeld;
    const payer = await hre.ethers.getSigner(held.payment.payer);
    const escrow = PaymentEscrow__factory.connect(target.escrow, admin);
    const registry = MerchantRegistry__factory.connect(target.registry, admin);
    await (await registry.suspend(held.payment.merchantId)).wait();
    await hre.network.provider.send("evm_increaseTime", [181 * 24 * 3600]);
    await (await escrow.connect(payer).openDispute(held.payment, held.inclusion)).wait();
    await (await escrow.resolveDispute(held.payment, held.payment.amount)).wait();
    await (await escrow.settle([{ merchantId: held.payment.merchantId, batchIds: [held.inclusion.batchId] }])).wait();

    const result = await runAudit({ client: chain.client, target });
    expect(result.mismatches).to.deep.equal([]);
    const p = result.ledger.payments.get(held.id)!;
    expect(p.status).to.equal("resolved");
    expect(p.refunded).to.equal(held.payment.amount);
    expect(result.surplus.onChain).to.equal(0n);
  });

  it("proves each payment from events alone; the proof verifies against escrow.batchRoot", async function () {
    const chain = await loadFixture(storyFixture);
    const target = targetOf(chain.record);
    const escrow = PaymentEscrow__factory.connect(target.escrow, hre.ethers.provider);
    const latest = BigInt(await hre.ethers.provider.getBlockNumber());
    const expectedStatus: Record<string, string> = {
      confirmed: "confirmed",
      confirmedAfterTermsChange: "confirmed",
      partiallyRefunded: "settled",
      fullyRefunded: "refunded",
      disputeSplit: "resolved",
      disputeExpired: "resolved",
      fromWallet: "settled",
      oneOff: "held",
      stillHeld: "held",
    };
    for (const [role, id] of Object.entries(chain.history.ids)) {
      const proof = await provePayment({
        client: chain.client,
        target,
        paymentId: id,
        fromBlock: target.deployBlock,
        toBlock: latest,
        pageSize: 7n,
      });
      expect(proof.verified, `${role}: ${proof.problems.join("; ")}`).to.equal(true);
      expect(proof.status, role).to.equal(expectedStatus[role]);
      const root = (await escrow.batchRoot(proof.batchId)).toLowerCase();
      expect(processProof(id, proof.proof), role).to.equal(root);
      expect(new BatchTree(proof.batch.leaves).root).to.equal(root);
    }

    const split = await cli(chain, ["--payment", chain.history.ids.disputeSplit, "--out", path.join(dir, "proofs")]);
    expect(split.code, split.out.text()).to.equal(0);
    expect(split.out.text()).to.include("PROOF VERIFIES");
    expect(split.out.text()).to.match(
      /DisputeResolved: arbiter ruled: 30\.00 to the payer, 49\.50 to the merchant, fee 0\.50/,
    );
    expect(
      existsSync(
        path.join(dir, "proofs", chain.record.currencies[0].code, `proof-${chain.history.ids.disputeSplit}.json`),
      ),
    ).to.equal(true);

    // A payment the escrow only ever rejected has nothing to prove; nor has an unknown id.
    const { ledger } = await runAudit({ client: chain.client, target });
    const rejected = ledger.rejections.find((r) => !ledger.payments.has(r.paymentId))!;
    const r = await cli(chain, ["--payment", rejected.paymentId]);
    expect(r.code).to.equal(2);
    expect(r.out.text()).to.match(/never escrowed.*rejected \((Expired|InvalidSignature|InsufficientBalance)\)/);
    const unknown = await cli(chain, ["--payment", `0x${"12".repeat(32)}`]);
    expect(unknown.code).to.equal(2);
  });

  it("resumes a scan from its state file with the same result as a fresh scan", async function () {
    const chain = await loadFixture(storyFixture);
    const target = targetOf(chain.record);
    const latest = BigInt(await hre.ethers.provider.getBlockNumber());
    const middle = (target.deployBlock + latest) / 2n;
    const stateFile = path.join(dir, "scan-state.json");

    // Stop midway: scan (and reconcile) up to the middle block only.
    const first = await cli(chain, [
      "--state-file",
      stateFile,
      "--to-block",
      String(middle),
      "--page-size",
      "5",
      "--out",
      path.join(dir, "half"),
    ]);
    expect(first.code, first.out.text()).to.equal(0); // the chain's state at that block reconciles too
    const saved = JSON.parse(readFileSync(stateFile, "utf8"));
    expect(BigInt(saved.lastBlock.$bigint)).to.equal(middle);

    const resumed = await runAudit({ client: chain.client, target, stateFile, pageSize: 5n });
    expect(resumed.scan.fetchedFrom).to.equal(middle + 1n);
    expect(resumed.scan.fetched).to.be.lessThan(resumed.eventCount);
    const fresh = await runAudit({ client: chain.client, target, pageSize: 2_000n });
    expect(resumed.eventCount).to.equal(fresh.eventCount);
    expect(resumed.mismatches).to.deep.equal([]);
    expect(plainLedger(resumed.ledger)).to.deep.equal(plainLedger(fresh.ledger));

    // Through the CLI: same audit.json apart from timing fields.
    const a = await cli(chain, ["--state-file", stateFile, "--out", path.join(dir, "resumed")]);
    const b = await cli(chain, ["--out", path.join(dir, "fresh")]);
    expect([a.code, b.code]).to.deep.equal([0, 0]);
    const strip = (file: string) => {
      const j = JSON.parse(readFileSync(file, "utf8"));
      return { ledger: j.ledger, mismatches: j.mismatches, summary: j.summary, onChain: j.onChain };
    };
    const code = chain.record.currencies[0].code;
    expect(strip(path.join(dir, "resumed", code, "audit.json"))).to.deep.equal(
      strip(path.join(dir, "fresh", code, "audit.json")),
    );
  });

  it("keeps the progress of an interrupted scan and resumes after the last full page", async function () {
    const chain = await loadFixture(storyFixture);
    const target = targetOf(chain.record);
    const stateFile = path.join(dir, "interrupted-state.json");
    // A provider that dies after a few eth_getLogs pages.
    let pages = 0;
    const failing = new Proxy(chain.client, {
      get(client, key, receiver) {
        if (key !== "request") return Reflect.get(client, key, receiver);
        return async (args: { method: string }) => {
          if (args.method === "eth_getLogs" && ++pages > 4) throw new Error("connection reset by peer");
          return (client.request as (a: unknown) => Promise<unknown>)(args);
        };
      },
    }) as PublicClient;
    const interrupted = capture(failing);
    const code = await main(
      ["--deployments", recordFile(chain.record), "--state-file", stateFile, "--page-size", "5", "--quiet"],
      interrupted.io,
    );
    expect(code, interrupted.text()).to.equal(2);
    expect(interrupted.text()).to.match(/eth_getLogs for blocks \d+-\d+ failed 3 times: .*connection reset by peer/);
    const saved = JSON.parse(readFileSync(stateFile, "utf8"));
    expect(BigInt(saved.lastBlock.$bigint)).to.equal(target.deployBlock + 4n * 5n - 1n);

    const resumed = await runAudit({ client: chain.client, target, stateFile, pageSize: 5n });
    const fresh = await runAudit({ client: chain.client, target });
    expect(resumed.scan.fetchedFrom).to.equal(target.deployBlock + 20n);
    expect(resumed.mismatches).to.deep.equal([]);
    expect(plainLedger(resumed.ledger)).to.deep.equal(plainLedger(fresh.ledger));
  });

  it("refuses a state file written for another deployment (exit 2)", async function () {
    const chain = await loadFixture(storyFixture);
    const stateFile = path.join(dir, "other-state.json");
    await cli(chain, ["--state-file", stateFile, "--out", path.join(dir, "other")]);
    const [usd] = chain.record.currencies;
    const other = {
      ...chain.record,
      currencies: [{ ...usd, escrow: { ...usd.escrow, address: chain.record.contracts.MerchantRegistry.address } }],
    };
    const out = capture(chain.client);
    const code = await main(
      ["--deployments", recordFile(other, "other.json"), "--state-file", stateFile, "--quiet"],
      out.io,
    );
    expect(code).to.equal(2);
    expect(out.text()).to.include("belongs to another scan");
  });

  it("exits 2 on usage, connection and deployment errors", async function () {
    const chain = await loadFixture(storyFixture);
    const file = recordFile(chain.record);
    const run = async (args: string[], client?: PublicClient, env: NodeJS.ProcessEnv = {}) => {
      const out = capture(client, env);
      return { code: await main(args, out.io), text: out.text() };
    };
    expect(await run(["--help"])).to.include({ code: 0 });
    expect((await run([])).code).to.equal(2);
    expect((await run(["--network", "x", "--bogus"])).text).to.include("Unknown option '--bogus'");
    expect((await run(["--deployments", file, "--from-block", "ten"])).text).to.include(
      "--from-block must be a non-negative integer",
    );
    expect((await run(["--deployments", file, "--payment", "0x1234"])).text).to.include("32-byte hex payment id");
    expect((await run(["--deployments", path.join(dir, "missing.json")])).text).to.include("does not exist");
    expect((await run(["--network", "nowhere"], undefined, { DEPLOYMENTS_DIR: dir })).text).to.include(
      'No deployment for network "nowhere"',
    );

    const unreachable = await run(["--deployments", file, "--rpc", "http://127.0.0.1:9"], undefined);
    expect(unreachable.code).to.equal(2);
    expect(unreachable.text).to.include("Cannot reach the RPC endpoint");

    const wrongChain = recordFile({ ...chain.record, chainId: 1 }, "wrong-chain.json");
    const mismatch = await run(["--deployments", wrongChain], chain.client);
    expect(mismatch.code).to.equal(2);
    expect(mismatch.text).to.include("serves chain 31337");

    const latest = await hre.ethers.provider.getBlockNumber();
    const beyond = await run(["--deployments", file, "--to-block", String(latest + 100)], chain.client);
    expect(beyond.code).to.equal(2);
    expect(beyond.text).to.include("beyond the chain's latest block");
  });
});

/** A ledger as comparable plain data (bigint → string, Map → object). */
function plainLedger(ledger: unknown): unknown {
  return JSON.parse(
    JSON.stringify(ledger, (_k, v) =>
      typeof v === "bigint" ? v.toString() : v instanceof Map ? Object.fromEntries(v) : v,
    ),
  );
}
