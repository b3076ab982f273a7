/**
 * `npm start` end to end, as a newcomer runs it: scripts/start.ts through npx (no compile step), on
 * free ports with a temporary data folder and deployments folder.
 *
 * 1. start --demo: chain + contracts (USD and EUR) + relayer (serving both, a signer key each) come
 *    up and the summary says where; the relayer is healthy and ready; the recorded contracts are
 *    live; the demo's payments, in USD and in EUR, end settled, refunded and resolved on chain, each
 *    in its own currency's escrow (escrow events), the payout holds what each escrow paid it, and
 *    the webhooks name each payment's currency; Ctrl-C stops everything (no process left, ports free).
 * 2. A chain restarted on the same port (a new Hardhat chain) is reused: the stale deployment is
 *    replaced and the old relayer store moved aside, with the reason. Ctrl-C leaves that chain up.
 * 3. Started again on the still-running chain: deployment and store are both reused.
 * 4. On a running chain the demo runs any number of times: three runs in a row on a chain whose
 *    clock earlier runs moved 60 days ahead of the wall clock (each run moves it 10 days; payment
 *    deadlines counted from the wall clock used to be past on chain from the fourth run on).
 */
import { expect } from "chai";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { hasLiveDeployment, readDeployment } from "../../src/chain/deployments";
import { RELAYER_ENV_VARS } from "../../src/relayer/config";
import { PaymentEscrow__factory, SettlementToken__factory } from "../../typechain-types";
import { READY_LINE, readNetworkInfo } from "../../scripts/lib/networkInfo";
import { httpStatus, portIsFree } from "../../src/localnet/rpc";
import { DEMO_KEY_FILE, FINAL_STATE, runDemo, type DemoRecord } from "../../scripts/demo";
import { LOCAL_ADMIN_TOKEN } from "../../scripts/lib/startOptions";
import {
  childEnv,
  freePort,
  removeDir,
  rpc,
  sleep,
  startHardhatNode,
  tempDir,
  type HardhatNode,
} from "../deploy/helpers";
import { StartRun, descendants, isAlive } from "./helpers";

/** Generous: a loaded two-core machine starts `hardhat node`, ts-node and the relayer slowly. */
const START_TIMEOUT_MS = 150_000;
const DEMO_TIMEOUT_MS = 180_000;
/** start.ts waits up to 15 s for the relayer and 10 s for the chain, plus npx's own exit. */
const STOP_TIMEOUT_MS = 45_000;
const GONE_TIMEOUT_MS = 10_000;

/** Relayer and start-script variables of the developer's shell must not leak into the test's runs. */
const CONTROLLED_ENV = [...RELAYER_ENV_VARS, "LOCAL_RPC_HOST", "LOCAL_RPC_PORT"];

const READY = new RegExp(READY_LINE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

async function expectAllGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(200);
  expect(pids.filter(isAlive), "processes left behind").to.deep.equal([]);
}

describe("npm start: the local network in one command", function () {
  this.timeout(START_TIMEOUT_MS + DEMO_TIMEOUT_MS + STOP_TIMEOUT_MS);

  let tmp: string;
  let dataDir: string;
  let deploymentsDir: string;
  let rpcPort: number;
  let relayerPort: number;
  let env: NodeJS.ProcessEnv;
  let node: HardhatNode | undefined;
  const runs: StartRun[] = [];

  function start(args: string[], extraEnv: Record<string, string> = {}): StartRun {
    const run = new StartRun(args, { ...env, ...extraEnv });
    runs.push(run);
    return run;
  }

  /** Ctrl-C, then: exit in time, every process it started gone, its ports free (the chain's unless kept). */
  async function interrupt(run: StartRun, chainKept: boolean): Promise<void> {
    const tree = descendants(run.child.pid!);
    expect(tree.length, "start.ts and its children").to.be.greaterThan(1);
    run.interrupt();
    const exit = await run.waitForExit(STOP_TIMEOUT_MS);
    // npm (npx) re-raises the SIGINT on itself once its child is done: a clean stop shows as that.
    expect(exit.code === 0 || exit.signal === "SIGINT", `exit ${exit.code}/${exit.signal}\n${run.text}`).to.equal(true);
    expect(run.text).to.not.match(/npm start failed|exited unexpectedly|killed after the timeout/);
    await expectAllGone(tree);
    expect(await portIsFree("127.0.0.1", relayerPort), "relayer port free").to.equal(true);
    if (!chainKept) expect(await portIsFree("127.0.0.1", rpcPort), "chain port free").to.equal(true);
  }

  /** Both ports free again (a killed leftover may take a moment to let go of them). */
  async function portsFree(): Promise<void> {
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    const free = async () => (await portIsFree("127.0.0.1", rpcPort)) && (await portIsFree("127.0.0.1", relayerPort));
    while (!(await free()) && Date.now() < deadline) await sleep(200);
  }

  before(async function () {
    tmp = tempDir("stablepay-start-");
    dataDir = path.join(tmp, "data");
    deploymentsDir = path.join(tmp, "deployments");
    rpcPort = await freePort();
    relayerPort = await freePort();
    const shell: NodeJS.ProcessEnv = { ...process.env };
    for (const name of CONTROLLED_ENV) delete shell[name];
    env = childEnv(
      { LOCAL_RPC_PORT: String(rpcPort), RELAYER_PORT: String(relayerPort), DEPLOYMENTS_DIR: deploymentsDir },
      shell,
    );
  });

  /** A failed test may leave its network up: kill it, so that the next test fails (or not) on its own. */
  function killLeftovers(): void {
    for (const run of runs) if (run.running) run.kill(descendants(run.child.pid!));
  }

  afterEach(killLeftovers);

  after(async function () {
    killLeftovers();
    await node?.stop();
    removeDir(tmp);
  });

  it("starts chain, contracts and relayer, walks the demo's payments to settlement, and stops on Ctrl-C", async function () {
    const run = start(["--demo", "--data-dir", dataDir]);
    await run.waitForOutput(READY, START_TIMEOUT_MS);

    // The summary says where everything is.
    const info = readNetworkInfo(dataDir)!;
    const relayerUrl = `http://127.0.0.1:${relayerPort}`;
    expect(info.chain.rpcUrl).to.equal(`http://127.0.0.1:${rpcPort}`);
    expect(info.chain.chainId).to.equal(31337);
    expect(info.relayer.url).to.equal(relayerUrl);
    // Two currencies deployed and served, each with a signer key of its own (dev accounts #0 and #1).
    expect(info.deployment.currencies.map((c) => c.code)).to.deep.equal(["USD", "EUR"]);
    expect(info.relayer.currencies).to.deep.equal(["USD", "EUR"]);
    expect(info.relayer.signers).to.deep.equal({
      USD: ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"],
      EUR: ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
    });
    expect(run.text).to.match(/currencies\s+USD, EUR\n/);
    for (const text of [
      `${info.chain.rpcUrl}  (chain id 31337; started here`,
      path.join(dataDir, "chain.log"),
      path.join(deploymentsDir, "localhost.json"),
      ...info.deployment.currencies.flatMap((c) => [c.escrow, c.token]),
      `${relayerUrl}/dashboard/`,
      `${relayerUrl}/v1/openapi.json`,
      `${relayerUrl}/health`,
      `${relayerUrl}/ready`,
      `${relayerUrl}/metrics`,
      path.join(dataDir, "relayer.sqlite"),
    ]) {
      expect(run.text).to.include(text);
    }
    // The chain logs every call to its log file, never to the console.
    expect(readFileSync(path.join(dataDir, "chain.log"), "utf8")).to.match(/^eth_chainId/m);
    expect(run.text).to.not.match(/^eth_\w+$/m);

    expect(await httpStatus(`${relayerUrl}/health`)).to.equal(200);
    expect(await httpStatus(`${relayerUrl}/ready`)).to.equal(200);
    expect(await httpStatus(`${relayerUrl}/v1/openapi.json`)).to.equal(200);
    const record = readDeployment("localhost", deploymentsDir);
    const provider = new JsonRpcProvider(info.chain.rpcUrl, undefined, { staticNetwork: true });
    try {
      expect(await hasLiveDeployment(provider, record)).to.equal(true);

      // The demo, judged by the chain's events rather than by what it prints.
      await run.waitForOutput(/demo finished|demo failed/, DEMO_TIMEOUT_MS);
      expect(run.text.includes("demo finished"), run.text).to.equal(true);
      // It ends with where to look at it: the dashboard and the key to sign in with.
      expect(run.text).to.include(`the merchant dashboard: ${relayerUrl}/dashboard/`);
      // The key itself is in a file only the user reads, never on the terminal.
      expect(run.text).to.include(`sign in with the demo merchant's API key, in`);
      expect(run.text).to.not.match(/sp_live_[A-Za-z0-9_-]{20,}/);
      const keyFile = path.join(dataDir, DEMO_KEY_FILE);
      expect(readFileSync(keyFile, "utf8")).to.match(/^sp_live_[A-Za-z0-9_-]{43}\n$/);
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(await httpStatus(`${relayerUrl}/dashboard/`)).to.equal(200);
      const demo = JSON.parse(readFileSync(path.join(dataDir, "demo.json"), "utf8")) as DemoRecord;
      const merchantId = BigInt(demo.merchantId);
      // It paid in both currencies: six payments in USD, three in EUR, each settled or ended in its own escrow.
      expect(demo.currencies.map((c) => c.code)).to.deep.equal(["USD", "EUR"]);
      expect(demo.payments.map((p) => p.currency)).to.deep.equal([...Array(6).fill("USD"), ...Array(3).fill("EUR")]);
      // The demo's webhook endpoint got every payment's escrow and the settled ones' settlement,
      // each delivery's signature verified by the SDK; none refused. Each payload names its currency.
      expect(demo.webhooks.refused, run.text).to.equal(0);
      expect(demo.webhooks.byType).to.include({ "payment.escrowed": 9, "payment.settled": 6 });
      expect(demo.webhooks.byCurrency.USD).to.include({ "payment.escrowed": 6, "payment.settled": 4 });
      expect(demo.webhooks.byCurrency.EUR).to.include({ "payment.escrowed": 3, "payment.settled": 2 });
      expect(run.text).to.match(/webhooks received and verified: [1-9]/);
      const escrowedIn = new Map<string, string>();
      for (const currency of record.currencies) {
        const escrow = PaymentEscrow__factory.connect(currency.escrow.address, provider);
        for (const e of await escrow.queryFilter(escrow.filters.PaymentEscrowed(undefined, undefined, merchantId))) {
          expect(escrowedIn.has(e.args.paymentId.toLowerCase()), "a payment escrowed in one escrow only").to.equal(
            false,
          );
          escrowedIn.set(e.args.paymentId.toLowerCase(), currency.code);
        }
      }
      for (const currency of record.currencies) {
        const code = currency.code;
        const escrow = PaymentEscrow__factory.connect(currency.escrow.address, provider);
        const settledBatches = new Set(
          (await escrow.queryFilter(escrow.filters.TrancheSettled(undefined, merchantId))).map((e) =>
            e.args.batchId.toString(),
          ),
        );
        const refunded = (await escrow.queryFilter(escrow.filters.PaymentRefunded(undefined, merchantId))).map((e) =>
          e.args.paymentId.toLowerCase(),
        );
        const resolved = (await escrow.queryFilter(escrow.filters.DisputeResolved(undefined, merchantId))).map((e) =>
          e.args.paymentId.toLowerCase(),
        );
        const payments = demo.payments.filter((p) => p.currency === code);
        expect(
          payments.filter((p) => p.state === "settled"),
          `${code} payments settled`,
        ).to.not.be.empty;
        for (const p of payments) {
          expect(escrowedIn.get(p.id.toLowerCase()), `${p.order} escrowed in ${code}'s escrow`).to.equal(code);
          expect(p.state, p.order).to.equal(FINAL_STATE[p.outcome]);
          if (p.outcome === "confirm" || p.outcome === "hold") {
            expect(settledBatches.has(p.batchId!), `${p.order}'s tranche settled in ${code}`).to.equal(true);
          }
          if (p.outcome === "refund") expect(refunded).to.include(p.id.toLowerCase());
          if (p.outcome === "dispute") expect(resolved).to.include(p.id.toLowerCase());
        }
        expect(
          demo.settlements.filter((s) => s.currency === code),
          `${code} settlements`,
        ).to.not.be.empty;
        // The payout holds, in each token, exactly what that currency's escrow paid it.
        const paid = (await escrow.queryFilter(escrow.filters.MerchantPaid(merchantId))).reduce(
          (sum, e) => sum + e.args.amount,
          0n,
        );
        const token = SettlementToken__factory.connect(currency.token.address, provider);
        expect(paid, code).to.be.greaterThan(0n);
        expect(await token.balanceOf(demo.payout), code).to.equal(paid);
        expect(BigInt(demo.balances.find((b) => b.currency === code)!.payout), code).to.equal(paid);
      }
      expect(run.text).to.match(/order-2001 \(alice, EUR\) 0x[0-9a-f]+: escrowed in EUR batch #\d+/);
      expect(run.text).to.match(/order-2002 \w+ +EUR +35\.00 spEUR +settled/);
      expect(run.text).to.include("every currency adds up");
    } finally {
      provider.destroy();
    }

    await interrupt(run, false);
    const stopped = run.text.slice(run.text.indexOf("stopping the local network"));
    expect(stopped).to.match(/relayer stopped \(exit code 0\)[\s\S]*chain stopped/);
  });

  it("after a chain restart: redeploys and moves the old store aside; on a running chain: reuses both", async function () {
    expect(existsSync(path.join(dataDir, "relayer.sqlite")), "the first run's store").to.equal(true);
    // A new Hardhat chain on the same port: what the first run's store belonged to is gone.
    await portsFree();
    node = await startHardhatNode(rpcPort);

    const second = start([], { RELAYER_DATA_DIR: dataDir });
    await second.waitForOutput(READY, START_TIMEOUT_MS);
    expect(second.text).to.include(`reusing the chain already answering on http://127.0.0.1:${rpcPort}`);
    expect(second.text).to.include("Stale deployment record");
    const moved = await second.waitForOutput(
      /relayer store: moved (\S+) aside to (\S+\.stale\.sqlite): the chain it was made on was restarted/,
      1_000,
    );
    expect(moved[1]).to.equal(path.join(dataDir, "relayer.sqlite"));
    expect(moved[2]).to.match(/relayer\.\d{8}T\d{6}Z\.stale\.sqlite$/);
    expect(existsSync(moved[2]), "the stale store is kept").to.equal(true);
    expect(await httpStatus(`http://127.0.0.1:${relayerPort}/ready`)).to.equal(200);
    await interrupt(second, true);
    expect(second.text).to.include("left running (it was not started here)");
    expect(Number(await rpc<string>(node.url, "eth_chainId"))).to.equal(31337);

    const third = start([], { RELAYER_DATA_DIR: dataDir });
    await third.waitForOutput(READY, START_TIMEOUT_MS);
    expect(third.text).to.include("StablePay is already deployed on localhost");
    expect(third.text).to.include("(same chain, same deployment)");
    expect(third.text).to.not.include("moved");
    expect(await httpStatus(`http://127.0.0.1:${relayerPort}/ready`)).to.equal(200);
    await interrupt(third, true);
  });

  it("on a running chain the demo runs again and again: three runs on a chain moved 60 days ahead", async function () {
    this.timeout(START_TIMEOUT_MS + 3 * DEMO_TIMEOUT_MS + STOP_TIMEOUT_MS);
    // The chain the previous test left running (or a new one when this test runs alone).
    node ??= await startHardhatNode(rpcPort);
    // As six earlier runs leave it: further ahead than a payment request's longest expiry (30 days).
    await rpc(node.url, "evm_increaseTime", [60 * 86_400]);
    await rpc(node.url, "evm_mine");

    const run = start([], { RELAYER_DATA_DIR: dataDir });
    await run.waitForOutput(READY, START_TIMEOUT_MS);
    const info = readNetworkInfo(dataDir)!;
    const merchants = new Set<string>();
    for (let i = 1; i <= 3; i++) {
      const lines: string[] = [];
      let record: DemoRecord;
      try {
        record = await runDemo({ network: info, adminToken: LOCAL_ADMIN_TOKEN, log: (line) => lines.push(line) });
      } catch (error) {
        throw new Error(
          `demo run ${i}: ${error instanceof Error ? error.message : String(error)}\n${lines.join("\n")}`,
        );
      }
      expect(
        record.payments.map((p) => `${p.order} ${p.state}`),
        `run ${i}`,
      ).to.deep.equal(record.payments.map((p) => `${p.order} ${FINAL_STATE[p.outcome]}`));
      expect(record.webhooks.refused, `run ${i}`).to.equal(0);
      expect(record.webhooks.byType, `run ${i}`).to.include({ "payment.escrowed": 9, "payment.settled": 6 });
      expect(record.webhooks.byCurrency.EUR, `run ${i}`).to.include({ "payment.escrowed": 3, "payment.settled": 2 });
      merchants.add(record.merchantId);
    }
    // Each run is a merchant of its own.
    expect(merchants.size).to.equal(3);
    await interrupt(run, true);
  });
});
