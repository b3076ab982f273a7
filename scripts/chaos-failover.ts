/**
 * `npm run chaos:failover`: the failover scenarios of issue #12 (scripts/lib/failover.ts) with
 * real relayer processes, a real PostgreSQL and a `hardhat node`, then one JSON line on stdout:
 *
 *   {"scenarios":[{"name":…,"acknowledged":n,"escrowedOnce":n,"lost":n,"duplicates":n,"takeoverSeconds":n,…}]}
 *
 * Progress goes to stderr. Exit code 1 when a scenario lost or duplicated a payment, took longer
 * than 15 s to take over, or failed to run. Options: --payments <n> (per scenario, default 400),
 * --payers <n> (default 40), --only <name,…>, --keep-logs <dir>.
 */
import {
  SCENARIOS,
  SCENARIO_RUNNERS,
  TAKEOVER_LIMIT_SECONDS,
  startFailoverWorld,
  type ScenarioName,
  type ScenarioResult,
} from "./lib/failover";

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function count(argv: string[], name: string, fallback: number): number {
  const raw = option(argv, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const only = option(argv, "only")?.split(",") ?? [...SCENARIOS];
  const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.join(", ")}`);
  const log = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
  const world = await startFailoverWorld({
    payments: count(argv, "payments", 400),
    payers: count(argv, "payers", 40),
    logDir: option(argv, "keep-logs"),
    log,
  });
  const results: (Omit<ScenarioResult, "details"> | { name: string; error: string })[] = [];
  let failed = false;
  try {
    for (const name of only as ScenarioName[]) {
      log(`scenario ${name}`);
      try {
        const result = await SCENARIO_RUNNERS[name](world);
        const { details, ...counts } = result;
        results.push(counts);
        log(`${name}: ${JSON.stringify(result)}`);
        void details;
        if (
          result.lost > 0 ||
          result.duplicates > 0 ||
          result.escrowedOnce !== result.acknowledged ||
          (name.startsWith("worker") && result.takeoverSeconds > TAKEOVER_LIMIT_SECONDS)
        )
          failed = true;
      } catch (error) {
        failed = true;
        const message = error instanceof Error ? error.message : String(error);
        log(`${name} failed: ${message}`);
        results.push({ name, error: message.split("\n")[0] });
      }
    }
  } finally {
    await world.stop();
  }
  log(`instance logs: ${world.logRoot}`);
  process.stdout.write(JSON.stringify({ scenarios: results }) + "\n");
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos:failover failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
