/**
 * Intake's blocklist book: the token's blocklist held in memory, followed through its events
 * (./blocklistLogs.ts), so that checking a payer costs no eth_call.
 *
 * The first scan reads the token's blocklist logs from the start of its history; then every poll
 * reads from the last `reorgWindow` blocks to the head. Events below the window are folded into a
 * settled status per account; events inside it are kept and replaced by what each re-read returns,
 * so a Blocklisted event that a reorg removed or moved is undone or re-dated on the next poll.
 *
 * SettlementToken changes its blocklist only in `blocklist` / `unBlocklist`, each emitting its event
 * (its constructor lists no one), so the events are the whole list once they are read from the
 * token's deploy block. When that block is unknown (an external token, USDC: the deployment record
 * has no block for it), changes before the escrow's deploy block are not read, and an account with
 * no event since then is not answered here ({@link lookup} returns null: the caller asks the token).
 *
 * The book answers only while it is caught up: its last poll succeeded within `staleAfterMs`. Before
 * the first scan completes, or while the node cannot be reached, {@link lookup} returns null, so an
 * account is never reported clean just because the book is behind.
 */
import type { Hex } from "../domain";
import { silentLogger, type Logger } from "../runtime/log";
import type { RelayerMetrics } from "../runtime/metrics";
import type { ChainClient } from "./client";
import { readBlocklistEvents, type BlocklistEvent } from "./blocklistLogs";
import { classifyRpcError } from "./rpcErrors";

export interface BlocklistBookOptions {
  chain: Pick<ChainClient, "blockNumber" | "tokenLogs" | "addresses">;
  /** Blocks re-read by every poll: the finality profile's reorg depth. */
  reorgWindow: bigint;
  pollIntervalMs: number;
  /** Answers only while the last successful poll is at most this old. Default: 4 polls, at least 5 s. */
  staleAfterMs?: number;
  logger?: Logger;
  metrics?: Pick<RelayerMetrics, "failures">;
  now?: () => number;
}

/** A failing poll is logged at most once per this interval (with the count suppressed since). */
const FAILURE_LOG_INTERVAL_MS = 60_000;
const COMPONENT = "blocklist-book";

/** What answers "is this account blocklisted?" without a node call; null when it cannot. */
export interface BlocklistLookup {
  lookup(account: Hex): boolean | null;
  /** True while answers are current (caught up); false sends callers to the token. */
  readonly caughtUp: boolean;
}

export class BlocklistBook implements BlocklistLookup {
  /** First block read: the token's deploy block when known, else the escrow's. */
  readonly from: bigint;
  /** True when `from` is the start of the token's history: no event means never listed. */
  readonly complete: boolean;
  /** Status per account from the events below `settledBelow`. */
  private readonly settled = new Map<Hex, boolean>();
  /** Events at `settledBelow` and above, in chain order: re-read by every poll. */
  private recent: BlocklistEvent[] = [];
  /** `settled` with `recent` applied: what lookups read. */
  private status = new Map<Hex, boolean>();
  private settledBelow: bigint;
  private scannedTo: bigint | null = null;
  private lastSuccess: number | null = null;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly staleAfterMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<boolean> | null = null;
  private lastFailureLog = -Infinity;
  private suppressedFailures = 0;

  constructor(private readonly options: BlocklistBookOptions) {
    const { startBlock, tokenStartBlock } = options.chain.addresses;
    this.complete = tokenStartBlock !== undefined;
    this.from = tokenStartBlock !== undefined && tokenStartBlock < startBlock ? tokenStartBlock : startBlock;
    this.settledBelow = this.from;
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.staleAfterMs = options.staleAfterMs ?? Math.max(5_000, 4 * options.pollIntervalMs);
  }

  get caughtUp(): boolean {
    return this.lastSuccess !== null && this.now() - this.lastSuccess <= this.staleAfterMs;
  }

  /** The last block read (null before the first scan). */
  get block(): bigint | null {
    return this.scannedTo;
  }

  lookup(account: Hex): boolean | null {
    if (!this.caughtUp) return null;
    const listed = this.status.get(account.toLowerCase() as Hex);
    if (listed !== undefined) return listed;
    return this.complete ? false : null;
  }

  /**
   * Starts polling and resolves once the first scan completed (true), failed, or `waitMs` passed
   * (false: the book keeps polling in the background, and lookups return null until one succeeds).
   */
  async start(waitMs: number): Promise<boolean> {
    if (this.running) return this.caughtUp;
    this.running = true;
    const first = this.poll();
    void first.finally(() => this.schedule());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    });
    try {
      return await Promise.race([first, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  /** One poll (serialised with the loop's). Resolves true on success; a failure is logged and counted. */
  poll(): Promise<boolean> {
    const previous = this.inFlight ?? Promise.resolve(true);
    const next = previous.then(() =>
      this.read().then(
        () => true,
        (error: unknown) => {
          this.failed(error);
          return false;
        },
      ),
    );
    this.inFlight = next;
    void next.finally(() => {
      if (this.inFlight === next) this.inFlight = null;
    });
    return next;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll().finally(() => this.schedule());
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private async read(): Promise<void> {
    const { chain, reorgWindow } = this.options;
    const latest = await chain.blockNumber();
    let start = this.from;
    if (this.scannedTo !== null) {
      start = this.scannedTo + 1n - reorgWindow;
      if (start < this.settledBelow) start = this.settledBelow;
    }
    const events = start <= latest ? await readBlocklistEvents(chain, start, latest) : [];

    // Everything read: replace the window's events (a reorg may have removed or moved some).
    let recent = this.recent.filter((e) => e.block < start).concat(events);
    const settleBelow = latest + 1n - reorgWindow;
    if (settleBelow > this.settledBelow) {
      for (const e of recent) if (e.block < settleBelow) this.settled.set(e.account, e.listed);
      recent = recent.filter((e) => e.block >= settleBelow);
      this.settledBelow = settleBelow;
    }
    const status = new Map(this.settled);
    for (const e of recent) status.set(e.account, e.listed);
    this.recent = recent;
    this.status = status;
    this.scannedTo = latest;
    this.lastSuccess = this.now();
  }

  private failed(error: unknown): void {
    this.options.metrics?.failures.inc({ component: COMPONENT, reason: "poll" });
    const now = this.now();
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) {
      this.suppressedFailures++;
      return;
    }
    // The error's class only: the node's message names its URL (and any key in it).
    this.log.warn(
      {
        component: COMPONENT,
        err: classifyRpcError(error),
        suppressed: this.suppressedFailures,
        caughtUp: this.caughtUp,
        block: this.scannedTo?.toString() ?? null,
      },
      "blocklist book poll failed: intake asks the token while the book is behind",
    );
    this.lastFailureLog = now;
    this.suppressedFailures = 0;
  }
}
