module.exports = {
  skipFiles: ["mocks/"],
  // The escrow compiles through the IR pipeline (see hardhat.config.ts); coverage instruments
  // without the optimizer, so keep the minimum IR optimizer steps to avoid stack-too-deep.
  irMinimum: true,
  // Instrumentation distorts gas: tests that depend on the real bytecode's gas (tagged
  // @skip-on-coverage) run in `npm test` only.
  mocha: { timeout: 300000, grep: "@skip-on-coverage", invert: true },
};
module.exports.istanbulReporter = ["html", "lcov", "text", "json-summary"];
