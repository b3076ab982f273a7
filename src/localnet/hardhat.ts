/** `hardhat` commands as children: their environment, and one-shot runs (deploy, tasks). */
import { DEPLOY_ENV_VARS } from "../chain/deployToNetwork";
import { HARDHAT_BIN, PROJECT_ROOT } from "./paths";
import { runCommand, type RunResult } from "./process";

/**
 * The parent's environment without the variables that change what a deploy or a task does (they
 * come from `extra` only), and without colour codes in the output.
 */
export function hardhatEnv(
  extra: Record<string, string> = {},
  parent: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent };
  for (const name of DEPLOY_ENV_VARS) delete env[name];
  return { ...env, ...extra, NO_COLOR: "1", FORCE_COLOR: "0" };
}

/** Runs `hardhat <args>` in the project root to its end (never rejects on a non-zero exit). */
export function runHardhat(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  return runCommand(HARDHAT_BIN, args, { cwd: PROJECT_ROOT, env, timeoutMs });
}
