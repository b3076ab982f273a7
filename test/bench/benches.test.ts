/**
 * The benches in small versions (the full ones are `npm run bench:*`): each runs end to end as a
 * process, exits 0 and prints its JSON with every payment acknowledged, escrowed once and found in
 * the store, so a bench that rots fails here rather than on the day it is needed.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT, TS_NODE_SCRIPT } from "../../src/localnet/paths";

/** A small run: one acceptance run of 300 single payments, 100 in batches of 50, no warm-up. */
const SMALL = {
  BENCH_RUNS: "1",
  BENCH_PAYMENTS_PER_RUN: "300",
  BENCH_BATCH_PAYMENTS: "100",
  BENCH_BATCH_SIZE: "50",
  BENCH_WARMUP_PAYMENTS: "0",
};

/** Runs `bench/<script>` with `args`; its exit code and the JSON line it printed last. */
function runBench(
  script: string,
  args: string[] = [],
): Promise<{ code: number | null; result: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_NODE_SCRIPT, "--transpile-only", path.join("bench", script), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...SMALL },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve({ code, result: JSON.parse(last) as Record<string, unknown>, stderr });
      } catch {
        reject(new Error(`bench/${script} printed no JSON (exit ${code}): ${stderr.slice(-2_000)}`));
      }
    });
  });
}

describe("benches (small versions)", function () {
  this.timeout(240_000);

  for (const layout of [
    { name: "SQLite, one all process", args: [], processes: ["all"] },
    {
      name: "PostgreSQL, two api instances and a worker",
      args: ["--store", "postgres", "--api-instances", "2"],
      processes: ["worker", "api-1", "api-2", "total"],
    },
  ]) {
    it(`bench:relayer, ${layout.name}: every payment acknowledged, escrowed once, settled, none lost or duplicated`, async function () {
      const { code, result, stderr } = await runBench("relayer.ts", layout.args);
      expect(code, stderr.slice(-2_000)).to.equal(0);
      expect(result).to.include({
        payments: 400,
        accepted: 400,
        acknowledged: 400,
        escrowedOnce: 400,
        rejectedOnChain: 0,
        verifiedOnChain: true,
        lost: 0,
        duplicates: 0,
        node: "hardhat",
        store: layout.args.length > 0 ? "postgres" : "sqlite",
        apiInstances: layout.args.length > 0 ? 2 : 1,
      });
      expect(result.tranchesSettled).to.be.greaterThan(0);
      expect(result.recoversPerSecondOneCore).to.be.greaterThan(0);
      const ratios = result.ratios as { acceptedPerSecond: number; batchAcceptedPerSecond: number };
      expect(ratios.acceptedPerSecond).to.be.greaterThan(0);
      expect(ratios.batchAcceptedPerSecond).to.be.greaterThan(0);
      expect(Object.keys(result.cpuMicrosPerPayment as object)).to.have.members(layout.processes);
    });
  }

  it("bench:floor: every payment answered 201 by the floor server, with its CPU per payment and ratio", async function () {
    const { code, result, stderr } = await runBench("floor.ts");
    expect(code, stderr.slice(-2_000)).to.equal(0);
    expect(result.failed).to.equal(0);
    expect(result.runs).to.have.length(1);
    expect(result.acceptedPerSecond).to.be.greaterThan(0);
    expect(result.cpuMicrosPerPayment).to.be.greaterThan(0);
    expect((result.ratios as { acceptedPerSecond: number }).acceptedPerSecond).to.be.greaterThan(0);
  });
});
