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
  /** Safe for clients: no secrets, no node or file paths. */
  message: string;
  /** Milliseconds since the epoch. */
  since: number;
}

export class Readiness {
  private readonly failing = new Map<NotReadyReason, NotReadyCondition>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Reports `reason` (kept as first reported while it holds). Returns true when it is new. */
  fail(reason: NotReadyReason, message: string): boolean {
    if (this.failing.has(reason)) return false;
    this.failing.set(reason, { reason, message, since: this.now() });
    return true;
  }

  /** Returns true when `reason` was failing. */
  clear(reason: NotReadyReason): boolean {
    return this.failing.delete(reason);
  }

  has(reason: NotReadyReason): boolean {
    return this.failing.has(reason);
  }

  conditions(): NotReadyCondition[] {
    return [...this.failing.values()];
  }
}
