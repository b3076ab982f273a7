import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import "./tasks";

/**
 * The compiler is the pinned `solc` npm package (its soljson.js), never a download:
 * machines here reach only the npm registry. Keep this in step with `pragma solidity`
 * in contracts/ and the exact `solc` version in package.json.
 */
export const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  const solcPackageDir = path.dirname(require.resolve("solc/package.json"));
  const { version } = require("solc/package.json") as { version: string };
  if (version !== SOLC_VERSION) {
    throw new Error(`solc npm package is ${version}; hardhat.config.ts expects ${SOLC_VERSION}`);
  }
  return {
    compilerPath: path.join(solcPackageDir, "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: require("solc").version() as string,
  };
});

const env = process.env;
/**
 * Coverage instruments every statement, which makes the escrow's deployment exceed Osaka's
 * 16,777,216 gas cap per transaction (EIP-7825); coverage alone runs on Prague, which has no such
 * cap. Tests, benchmarks and deployments keep Hardhat's default (Osaka).
 */
const runningCoverage = process.argv.includes("coverage");
const testnetAccounts = env.DEPLOYER_PRIVATE_KEY ? [env.DEPLOYER_PRIVATE_KEY] : [];

const config: HardhatUserConfig = {
  solidity: {
    compilers: [
      {
        version: SOLC_VERSION,
        // 10,000 runs: the batch paths run millions of times, deployment runs once.
        settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" },
      },
    ],
    overrides: {
      // The escrow's batch loop is the hot path: the IR pipeline saves ~1,500 gas per payment
      // there (bench:gas). Only this file pays IR's slower compile.
      "contracts/PaymentEscrow.sol": {
        version: SOLC_VERSION,
        settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun", viaIR: true },
      },
    },
  },
  networks: {
    hardhat: runningCoverage ? { hardfork: "prague" } : {},
    localhost: { url: env.LOCAL_RPC_URL ?? "http://127.0.0.1:8545" },
    testnet: {
      url: env.TESTNET_RPC_URL ?? "http://127.0.0.1:8545",
      accounts: testnetAccounts,
      chainId: env.TESTNET_CHAIN_ID ? Number(env.TESTNET_CHAIN_ID) : undefined,
    },
  },
  gasReporter: {
    enabled: env.REPORT_GAS === "true",
    offline: true,
    currency: "USD",
    outputJSONFile: "gas-report.json",
    outputJSON: env.REPORT_GAS === "true",
    reportPureAndViewMethods: false,
    excludeContracts: ["mocks/"],
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  mocha: { timeout: 120_000 },
};

export default config;
