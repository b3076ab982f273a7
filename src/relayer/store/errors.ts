import type { Fence } from "./types";

/**
 * A write refused because its writer no longer holds the lease it acted under: another process took
 * the lane or the jobs over (the writer stalled, or lost the database, past the lease's expiry).
 * The writer must stop; nothing it attempted was stored.
 */
export class FencedError extends Error {
  readonly code = "lease_lost";

  constructor(
    readonly fence: Fence,
    readonly current: { holder: string; epoch: number } | null,
  ) {
    super(
      `lease ${fence.lease} is no longer held at epoch ${fence.epoch}` +
        (current ? ` (now epoch ${current.epoch})` : " (released)"),
    );
    this.name = "FencedError";
  }
}
