/**
 * The auditor as an operator runs it: a real `hardhat node` over JSON-RPC, StablePay deployed with
 * scripts/deploy.ts, the scripted history written by test/fixtures/auditHistory.ts, then the CLI in its
 * own process (`ts-node --transpile-only src/auditor/cli.ts`, what `npm run audit` runs) reading
 * deployments/localhost.json. Checks exit codes 0 / 1 / 2, progress on stderr, the reports and a
 * single-payment proof.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { readDeployment } from "../../src/chain/deployments";
import { SettlementToken__factory } from "../../typechain-types";
import { runCommand, type RunResult } from "../../src/localnet/process";
import {
  childEnv,
  freePort,
  PROJECT_ROOT,
  removeDir,
  runHardhat,
  startHardhatNode,
  tempDir,
  type HardhatNode,
} from "../deploy/helpers";

/** Runs the auditor CLI in a child process and resolves with its exit code and output. */
const audit = (args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<RunResult> =>
  runCommand("npx", ["ts-node", "--transpile-only", "src/auditor/cli.ts", ...args], {
    cwd: PROJECT_ROOT,
    env,
    timeoutMs,
  });

describe("auditor CLI against `hardhat node`", function () {
  this.timeout(300_000);

  let node: HardhatNode | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async function () {
    dir = tempDir("stablepay-audit-e2e-");
    node = await startHardhatNode(await freePort());
    // Two currencies: the history pays in USD; the EUR escrow is audited too.
    env = childEnv({
      LOCAL_RPC_URL: node.url,
      DEPLOYMENTS_DIR: dir,
      CURRENCIES: "USD,EUR",
      EXTRA_BATCHES: "3",
      PAYMENTS_PER_BATCH: "12",
    });
    for (const script of ["scripts/deploy.ts", "test/fixtures/auditHistory.ts"]) {
      const result = await runHardhat(["run", script, "--network", "localhost"], env, 180_000);
      if (result.code !== 0) throw new Error(`${script} failed:\n${result.output}`);
    }
  });

  after(async function () {
    await node?.stop();
    removeDir(dir);
  });

  it("audits every currency of the node's history: exit 0, progress on stderr, reports, then proves a payment", async function () {
    const out = path.join(dir, "out");
    const record = readDeployment("localhost", dir);
    const [usd, eur] = record.currencies;
    const result = await audit(["--network", "localhost", "--out", out, "--page-size", "25"], env);
    expect(result.code, result.output).to.equal(0);
    expect(result.stdout).to.include(`StablePay audit of localhost (chain 31337), USD escrow ${usd.escrow.address}`);
    expect(result.stdout).to.include(`StablePay audit of localhost (chain 31337), EUR escrow ${eur.escrow.address}`);
    expect(result.stdout).to.include("Currencies: USD clean, EUR clean");
    expect(result.stderr).to.match(/scan: block \d+ of \d+ \(100%\), \d+ events, \d+ events\/s, done/);

    const json = JSON.parse(readFileSync(path.join(out, "USD", "audit.json"), "utf8"));
    expect(json.clean).to.equal(true);
    expect(json.scan.pages).to.be.greaterThan(1);
    const paymentIds = Object.keys(json.ledger.payments);
    expect(paymentIds.length).to.be.greaterThan(0);
    const euros = JSON.parse(readFileSync(path.join(out, "EUR", "audit.json"), "utf8"));
    expect(euros.clean).to.equal(true);
    expect(Object.keys(euros.ledger.payments)).to.deep.equal([]);

    // A payment belongs to one currency: the proof needs it named.
    const [paymentId] = paymentIds;
    const ambiguous = await audit(["--network", "localhost", "--out", out, "--payment", paymentId], env);
    expect(ambiguous.code).to.equal(2);
    expect(ambiguous.stderr).to.include("The deployment has the currencies USD, EUR: name one with --currency");
    const proof = await audit(
      ["--network", "localhost", "--out", out, "--currency", "USD", "--payment", paymentId],
      env,
    );
    expect(proof.code, proof.output).to.equal(0);
    expect(proof.stdout).to.include("PROOF VERIFIES");
    // In the EUR escrow the payment does not exist.
    const elsewhere = await audit(
      ["--network", "localhost", "--out", out, "--currency", "EUR", "--payment", paymentId],
      env,
    );
    expect(elsewhere.code, elsewhere.output).to.not.equal(0);
    const unknown = await audit(["--network", "localhost", "--currency", "JPY", "--quiet"], env);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("--currency JPY: the deployment has USD, EUR");
  });

  it("writes merchants' reconciliation files (--reports) and prints a credit record (--credit) from the node", async function () {
    const provider = new JsonRpcProvider(node!.url, undefined, { staticNetwork: true });
    try {
      const latest = await provider.getBlock("latest");
      const date = new Date(latest!.timestamp * 1000).toISOString().slice(0, 10);
      const out = path.join(dir, "merchant-reports");
      const files = await audit(
        ["--network", "localhost", "--currency", "USD", "--reports", out, "--date", date, "--quiet"],
        env,
      );
      expect(files.code, files.output).to.equal(0);
      const summary = readFileSync(path.join(out, "merchant-1", date, "summary.csv"), "utf8");
      expect(summary.split("\r\n")[0]).to.match(/^date,time_zone,merchant_id,token,/);
      const credit = await audit(["--network", "localhost", "--currency", "USD", "--credit", "1", "--quiet"], env);
      expect(credit.code, credit.output).to.equal(0);
      expect(JSON.parse(credit.stdout).merchantId).to.equal("1");
      const unknown = await audit(
        ["--network", "localhost", "--currency", "USD", "--credit", "424242", "--quiet"],
        env,
      );
      expect(unknown.code).to.equal(2);
    } finally {
      provider.destroy();
    }
  });

  it("reports tokens sent to the escrow outside the protocol as surplus, naming the transfer: exit 0", async function () {
    const provider = new JsonRpcProvider(node!.url, undefined, { staticNetwork: true });
    try {
      const record = readDeployment("localhost", dir);
      const deployer = await provider.getSigner(record.deployer);
      const token = SettlementToken__factory.connect(record.currencies[0].token.address, deployer);
      await (await token.mint(record.deployer, 5_000_000n)).wait();
      const tx = await token.transfer(record.currencies[0].escrow.address, 5_000_000n);
      await tx.wait();

      const result = await audit(["--network", "localhost", "--out", path.join(dir, "broken"), "--quiet"], env);
      expect(result.code, result.output).to.equal(0);
      expect(result.stdout).to.match(/surplus\s+5\.00\s+5\.00/);
      expect(result.stdout).to.include(tx.hash);
      expect(result.stderr).to.equal("");
    } finally {
      provider.destroy();
    }
  });

  it("exits 2 when the RPC endpoint is down or the arguments are wrong", async function () {
    const down = await audit(["--network", "localhost", "--rpc", `http://127.0.0.1:${await freePort()}`], env);
    expect(down.code).to.equal(2);
    expect(down.stderr).to.include("Cannot reach the RPC endpoint");
    const usage = await audit(["--network", "localhost", "--page-size", "-1"], env);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include("Usage:");
  });
});
