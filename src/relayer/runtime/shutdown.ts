import { errorMessage, type Logger } from "./log";

/** A named shutdown step; null when what it would stop never started. */
export type ShutdownStep = [name: string, step: (() => Promise<void> | void) | null];

/**
 * Runs the steps in order. A failing step is logged and the next one still runs: a store that
 * fails to close must not keep the leases from being released, nor the reverse.
 */
export async function runShutdown(steps: readonly ShutdownStep[], log: Logger): Promise<void> {
  for (const [name, step] of steps) {
    if (!step) continue;
    try {
      await step();
    } catch (error) {
      log.error({ step: name, err: errorMessage(error) }, "shutdown step failed");
    }
  }
}
