/**
 * The load generator (bench/loadgen.ts) as a child process of a bench: its own process, so that it
 * never shares an event loop with what it measures. Results arrive one JSON line per phase.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT, TS_NODE_SCRIPT } from "../../src/localnet/paths";
import type { LoadgenConfig, LoadgenResult } from "../loadgen";

/** Runs the phases of `config`; `onResult` gets each phase's result, `onSpawn` the generator's pid. */
export function runLoadgen(
  config: LoadgenConfig,
  onResult: (result: LoadgenResult) => void,
  onSpawn: (pid: number) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [TS_NODE_SCRIPT, "--transpile-only", path.join(PROJECT_ROOT, "bench", "loadgen.ts"), JSON.stringify(config)],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    onSpawn(child.pid!);
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) onResult(JSON.parse(line) as LoadgenResult);
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(child.pid!) : reject(new Error(`loadgen exited with ${code}`))));
  });
}
