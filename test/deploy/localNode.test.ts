/**
 * End to end against a real JSON-RPC chain: starts `npx hardhat node` on a free port, deploys with
 * `npx hardhat run scripts/deploy.ts --network localhost` (LOCAL_RPC_URL and DEPLOYMENTS_DIR point
 * at the node and a temp dir), then drives the operator tasks as an operator would and checks
 * both their output and the chain. Independent commands run concurrently to keep the test fast
 * (each `npx hardhat` start costs seconds); commands that depend on each other run in stages.
 */
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { readDeployment, type DeploymentRecord } from "../../src/chain/deployments";
import { MerchantRegistry__factory, SettlementToken__factory } from "../../typechain-types";
import {
  childEnv,
  freePort,
  removeDir,
  runHardhat,
  startHardhatNode,
  tempDir,
  type HardhatNode,
  type RunResult,
} from "./helpers";

// Accounts #0 and #1 of Hardhat's default mnemonic: the node's deployer and a merchant.
const DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const MERCHANT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("deploy and operator tasks against `hardhat node`", function () {
  this.timeout(120_000);

  let node: HardhatNode | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let provider: JsonRpcProvider;
  let record: DeploymentRecord;

  /** `npx hardhat <task> ... --network localhost`, failing the test with the output on an unexpected exit code. */
  async function hardhat(args: string[], expectedCode = 0): Promise<RunResult> {
    const result = await runHardhat([...args, "--network", "localhost"], env);
    if (result.code !== expectedCode) {
      throw new Error(
        `npx hardhat ${args.join(" ")} exited with ${result.code}, expected ${expectedCode}:\n${result.output}`,
      );
    }
    return result;
  }

  before(async function () {
    dir = tempDir();
    node = await startHardhatNode(await freePort());
    env = childEnv({ LOCAL_RPC_URL: node.url, DEPLOYMENTS_DIR: dir });
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });

  after(async function () {
    provider?.destroy();
    await node?.stop();
    removeDir(dir);
  });

  it("deploys with scripts/deploy.ts and records contracts that have code on the node", async function () {
    const result = await hardhat(["run", "scripts/deploy.ts"]);
    expect(result.stdout).to.include("Deploying StablePay to localhost (chain 31337)");
    expect(result.stdout).to.include(`record            ${dir}/localhost.json`);

    record = readDeployment("localhost", dir);
    expect(record.chainId).to.equal(31337);
    expect(record.deployer).to.equal(DEPLOYER);
    expect(Number((await provider.getNetwork()).chainId)).to.equal(record.chainId);
    for (const [name, c] of Object.entries(record.contracts)) {
      expect(await provider.getCode(c.address), name).to.not.equal("0x");
      expect(result.stdout, name).to.include(c.address);
      const receipt = await provider.getTransactionReceipt(c.txHash!);
      expect(receipt?.contractAddress, name).to.equal(c.address);
    }
  });

  it("runs the operator tasks and reports bad input clearly", async function () {
    expect(record, "the deployment test must pass first").to.not.equal(undefined);
    const token = SettlementToken__factory.connect(record.currencies[0].token.address, provider);
    const registry = MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, provider);
    const tokenAddress = record.currencies[0].token.address;

    // Stage 1: independent commands. The two transactions may go out concurrently: the node's
    // unlocked account signs, and the node assigns nonces in arrival order.
    const [registered, configured, badAmount, redeploy, liabilities] = await Promise.all([
      hardhat([
        "merchant:register",
        "--owner",
        MERCHANT,
        "--payout",
        MERCHANT,
        "--fee-bps",
        "250",
        "--min-hold",
        "3600",
        "--max-hold",
        "864000",
        "--metadata",
        "https://shop.example/merchant.json",
      ]),
      hardhat(["token:configure-minter", "--minter", DEPLOYER, "--allowance", "1000"]),
      hardhat(["token:mint", "--to", MERCHANT, "--amount", "-12.34"], 1),
      hardhat(["run", "scripts/deploy.ts"]),
      hardhat(["escrow:liabilities"]),
    ]);
    expect(registered.stdout).to.match(/Registered merchant 1 \(tx 0x[0-9a-f]{64}\)/);
    expect(await registry.merchantCount()).to.equal(1n);
    expect(configured.stdout).to.include(`Configured minter ${DEPLOYER} with an allowance of 1000.0 spUSD`);
    expect(await token.minterAllowance(DEPLOYER)).to.equal(1_000_000_000n);
    expect(badAmount.output).to.include(
      'Error in plugin stablepay: --amount "-12.34" is not a valid amount: use a positive decimal number such as 12.34',
    );
    expect(redeploy.stdout).to.include("StablePay is already deployed on localhost (chain 31337)");
    expect(redeploy.stdout).to.include("Nothing deployed.");
    expect(readDeployment("localhost", dir)).to.deep.equal(record);
    expect(liabilities.stdout).to.include(`PaymentEscrow ${record.currencies[0].escrow.address} liabilities (spUSD):`);
    expect(liabilities.stdout).to.match(/held\s+0\.0\n/);
    expect(liabilities.stdout).to.include("Token balance of the escrow: 0.0 spUSD");
    expect(liabilities.stdout).to.include("Match: yes");

    // Stage 2: what needs the merchant or the minter.
    const [shown, unknownMerchant, minted] = await Promise.all([
      hardhat(["merchant:show", "--id", "1"]),
      hardhat(["merchant:show", "--id", "99"], 1),
      hardhat(["token:mint", "--to", MERCHANT, "--amount", "12.34"]),
    ]);
    expect(JSON.parse(shown.stdout.slice(shown.stdout.indexOf("{")))).to.deep.equal({
      id: 1,
      status: "Active",
      owner: MERCHANT,
      payout: MERCHANT,
      feeBps: 250,
      minHold: 3600,
      maxHold: 864000,
      metadata: (await registry.getMerchant(1n)).metadata,
    });
    expect(unknownMerchant.output).to.include(
      "Error in plugin stablepay: Merchant 99 does not exist: the registry has 1 merchant (ids 1 to 1)",
    );
    expect(minted.stdout).to.include(`Minted 12.34 spUSD to ${MERCHANT}`);
    expect(minted.stdout).to.include(`Balance of ${MERCHANT}: 12.34 spUSD`);
    expect(await token.balanceOf(MERCHANT)).to.equal(12_340_000n);

    // Stage 3 and 4: pause, then unpause.
    const paused = await hardhat(["token:pause"]);
    expect(paused.stdout).to.include(`Paused USD SettlementToken ${tokenAddress}`);
    expect(await token.paused()).to.equal(true);
    const unpaused = await hardhat(["token:unpause"]);
    expect(unpaused.stdout).to.include(`Unpaused USD SettlementToken ${tokenAddress}`);
    expect(await token.paused()).to.equal(false);
  });

  it("sweeps tokens sent to the escrow outside the protocol, and runs an owner recovery the owner can cancel", async function () {
    // Two chains of dependent commands, run side by side; each `npx hardhat` start is slow under load.
    this.timeout(300_000);
    expect(record, "the deployment test must pass first").to.not.equal(undefined);
    const deployer = await provider.getSigner(DEPLOYER);
    const token = SettlementToken__factory.connect(record.currencies[0].token.address, deployer);
    const registry = MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, provider);
    const escrow = record.currencies[0].escrow.address;
    const RECOVERED = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"; // account #2

    const sweep = async () => {
      const none = await hardhat(["escrow:sweep-surplus", "--to", MERCHANT], 1);
      expect(none.output).to.include("Error in plugin stablepay: No surplus");
      await (await token.mint(DEPLOYER, 1_500_000n)).wait();
      await (await token.transfer(escrow, 1_500_000n)).wait();
      const before = await token.balanceOf(MERCHANT);
      const swept = await hardhat(["escrow:sweep-surplus", "--to", MERCHANT]);
      expect(swept.stdout).to.match(new RegExp(`Swept 1\\.5 to ${MERCHANT} \\(tx 0x[0-9a-f]{64}\\)`));
      expect((await token.balanceOf(MERCHANT)) - before).to.equal(1_500_000n);
      expect(await token.balanceOf(escrow)).to.equal(0n);
    };
    const recovery = async () => {
      const proposed = await hardhat(["merchant:recover-owner", "--id", "1", "--owner", RECOVERED]);
      expect(proposed.stdout).to.include(`Owner recovery of merchant 1 to ${RECOVERED} proposed`);
      const early = await hardhat(["merchant:execute-recovery", "--id", "1"], 1);
      expect(early.output).to.include("OwnerRecoveryNotReady(1, ");
      const cancelled = await hardhat(["merchant:cancel-recovery", "--id", "1"]);
      expect(cancelled.stdout).to.include("Owner recovery of merchant 1 cancelled");
      expect((await registry.ownerRecovery(1n)).newOwner).to.equal("0x0000000000000000000000000000000000000000");
      expect((await registry.getMerchant(1n)).owner).to.equal(MERCHANT);
    };
    await Promise.all([sweep(), recovery()]);
  });
});
