/** Waiting for something to come up or happen: one poll loop for the start script, the tests and the benches. */

/** Pause between checks when the caller names none. */
export const POLL_INTERVAL_MS = 250;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A check's "not yet": anything else is the value waited for. */
type NotYet = undefined | null | false;

export interface WaitOptions {
  /** What is awaited, for the error ("the Hardhat node on http://…"). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** A reason to give up at once (e.g. the child exited); undefined keeps waiting. */
  abort?: () => string | undefined;
  /** More for the timeout error (e.g. the last log lines). */
  detail?: () => Promise<string> | string;
}

/**
 * Polls `check` until it returns something other than undefined, null or false. Rejects after
 * `timeoutMs`, at once when `abort()` gives a reason, and with whatever `check` throws.
 */
export async function waitFor<T>(check: () => Promise<T | NotYet> | T | NotYet, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    const reason = options.abort?.();
    if (reason) throw new Error(`${options.what}: ${reason}`);
    if (Date.now() > deadline) {
      const detail = options.detail ? `: ${await options.detail()}` : "";
      throw new Error(`${options.what}: no answer within ${options.timeoutMs / 1000} s${detail}`);
    }
    await sleep(options.intervalMs ?? POLL_INTERVAL_MS);
  }
}
