/** Where the harness finds the project's commands, wherever the caller's current directory is. */
import path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
export const HARDHAT_BIN = path.join(PROJECT_ROOT, "node_modules", ".bin", "hardhat");
/** ts-node's entry script, run with this Node.js binary (so Node.js flags such as --cpu-prof apply). */
export const TS_NODE_SCRIPT = require.resolve("ts-node/dist/bin.js");
export const RELAYER_MAIN = path.join(PROJECT_ROOT, "src", "relayer", "main.ts");
/** The deploy command line (a path the harness runs, not a module it imports). */
export const DEPLOY_SCRIPT = path.join("scripts", "deploy.ts");
