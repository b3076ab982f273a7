/**
 * Conditions that make the relayer unable to do its work although its process, store and node
 * answer: the signer has no ETH for gas, the disk is full. Components report them here; GET /ready
 * answers 503 `not_ready` listing their reason codes while any holds, and the
 * `relayer_not_ready{reason}` gauge shows them. Each clears itself when the component recovers.
 */
export type NotReadyReason =
  /** The signer's balance does not cover a transaction's gas: nothing can be sent until funded. */
  | "signer_unfunded"
  /** The database refuses writes (disk full, I/O error): nothing can be accepted. */
  | "storage_unavailable"
  /** Role all: the chain jobs' thread stopped unexpectedly; nothing is batched or sent any more. */
  | "jobs_unavailable";

export interface NotReadyCondition {
  reason: NotReadyReason;
  /**
   * What holds it, when several parts can (each signer lane: its address). A condition holds while
   * any of its sources does: one lane funded again does not clear another's.
   */
  source: string;
  /** Safe for clients: no secrets, no node or file paths. */
  message: string;
  /** Milliseconds since the epoch. */
  since: number;
}

export class Readiness {
  /** By reason and source. */
  private readonly failing = new Map<string, NotReadyCondition>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Reports `reason` from `source` (kept as first reported while it holds). Returns true when it is new. */
  fail(reason: NotReadyReason, message: string, source = ""): boolean {
    const key = `${reason}\u0000${source}`;
    if (this.failing.has(key)) return false;
    this.failing.set(key, { reason, source, message, since: this.now() });
    return true;
  }

  /** Ends `reason` from `source`; returns true when it was failing. */
  clear(reason: NotReadyReason, source = ""): boolean {
    return this.failing.delete(`${reason}\u0000${source}`);
  }

  /** Whether `reason` holds from any source. */
  has(reason: NotReadyReason): boolean {
    return this.conditions().some((c) => c.reason === reason);
  }

  conditions(): NotReadyCondition[] {
    return [...this.failing.values()];
  }
}
