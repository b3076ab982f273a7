/**
 * The relayer process: configuration from the environment (src/relayer/config.ts; defaults run it
 * against `npm start`'s local chain), one JSON log line per event on stdout, graceful stop on
 * SIGINT/SIGTERM (a second signal exits at once). See docs/relayer.md.
 *
 *   RPC_URL=... DEPLOYMENTS_FILE=deployments/<network>.json RELAYER_PRIVATE_KEY=0x... \
 *     npx ts-node --transpile-only src/relayer/main.ts
 *
 * RELAYER_ROLE=api|worker|all (default all) picks what this process runs (see ./server.ts). In role
 * all, should the chain jobs' thread die, the process exits with code 1.
 */
import os from "node:os";
import { loadConfig } from "./config";
import { redactUrls } from "./http/logging";
import { startRelayer, type RunningRelayer } from "./server";

/** A stop that takes longer than this (a hung RPC call in a tick) ends with exit code 1 instead. */
const STOP_TIMEOUT_MS = 30_000;

/** Before pino exists (bad config, unreachable node): same JSON shape, on stderr. */
function fatal(msg: string, error: unknown): never {
  // A node's error names the RPC URL: its credentials, path and query are censored.
  const err = redactUrls(error instanceof Error ? error.message : String(error));
  process.stderr.write(JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, msg, err }) + "\n");
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    fatal("invalid configuration", error);
  }
  const level = process.env.LOG_LEVEL ?? "info";
  let relayer: RunningRelayer;
  try {
    relayer = await startRelayer(config, {
      logger: level === "silent" ? false : { level },
      // Serving payments nobody batches would only grow a backlog: exit for the supervisor to
      // restart the process (a kill -9 at any point is safe, so is this).
      onJobsExit: () => process.exit(1),
    });
  } catch (error) {
    fatal("relayer failed to start", error);
  }

  // Written directly (not through pino) so that it appears whatever LOG_LEVEL is: supervisors and
  // tests wait for this line to learn the URL (the port may be chosen by the OS).
  process.stdout.write(
    JSON.stringify({
      level: 30,
      time: Date.now(),
      pid: process.pid,
      hostname: os.hostname(),
      event: "started",
      role: relayer.role,
      url: relayer.url,
      chainId: relayer.chain.chainId.toString(),
      escrow: relayer.chain.addresses.escrow,
      // The first lane's address (null for role api, which sends nothing); every lane in `signers`.
      signer: relayer.signers[0] ?? null,
      signers: relayer.signers,
      leases: relayer.heldLeases(),
      // Never the DATABASE_URL itself: it may carry a password.
      database: config.databaseUrl ? "postgres" : config.databasePath,
      msg: `relayer (${relayer.role}) listening on ${relayer.url}`,
    }) + "\n",
  );

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      relayer.log.warn({ signal }, "second signal: exiting without a graceful stop");
      process.exit(1);
    }
    relayer.log.info({ signal }, "stopping");
    const timer = setTimeout(() => {
      relayer.log.error({ timeoutMs: STOP_TIMEOUT_MS }, "graceful stop timed out");
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    timer.unref();
    relayer
      .stop()
      .then(() => {
        relayer.log.info({ event: "stopped" }, "relayer stopped");
        process.exit(0);
      })
      .catch((error: unknown) => fatal("graceful stop failed", error));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

void main();
