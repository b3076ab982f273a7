module.exports = {
  skipFiles: ["mocks/"],
  // The escrow compiles through the IR pipeline (see hardhat.config.ts); coverage instruments
  // without the optimizer, so keep the minimum IR optimizer steps to avoid stack-too-deep.
  irMinimum: true,
  mocha: { timeout: 300000 },
};
module.exports.istanbulReporter = ["html", "lcov", "text", "json-summary"];
