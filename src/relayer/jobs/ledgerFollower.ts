/**
 * Keeps an api process's payer ledger current without the chain jobs: follows the escrow's logs near
 * the chain head and tells the ledger what the watcher would (ledger/listener.ts), so intake judges a
 * payer from memory instead of an `eth_call` per payment.
 *
 * Each poll reads the logs of the blocks after the last one applied, up to the head, in pages, with
 * the watcher's topics and decoder (./logApplier.ts), and per page, synchronously (no intake read
 * falls between):
 *   PaymentEscrowed  → held pending by the payer's cached view: escrowed (balance and nonce move with
 *                      the pending entry in one step); not held but in the store (another instance
 *                      accepted it after the view was read): escrowed all the same, with the stored
 *                      nonce (one store read per page for all of them); otherwise the payer is
 *                      touched (re-read)
 *   PaymentRejected  → held: its reservation ends
 *   Deposited, Withdrawn, NonceCancelled, PaymentRefunded, DisputeResolved → touched (their balance
 *                      or nonce window moved)
 *   then `chainAdvanced(to, touched)`: the ledger reads a missing payer at the block applied here.
 *
 * Payments another instance accepted after a view was read are not in it (the store's guarded insert
 * judges those); the worker's watcher moves the stored states, never this follower.
 *
 * Reorgs: the hash of each page's last block is kept for a window of pages. When the last applied
 * block's hash changed, the newest block of the window still on the chain is the rewind point:
 * the ledger drops every view (`rewound`) and they are re-read there. A reorg deeper than the window
 * rewinds to the window's oldest block and is logged as an error. Every view is read afresh at the
 * rewind point of the chain as it is now, so a rewind further back than the fork costs reads only.
 *
 * A failing node: the ledger keeps what it has (its views age out by its TTL), the failure is
 * counted and logged at most once per interval, and the next poll resumes where the last applied.
 */
import { PaymentState, type Hex, type PaymentRecord } from "../domain";
import type { ChainClient } from "../chain/client";
import { classifyRpcError } from "../chain/rpcErrors";
import type { LedgerPaymentChange } from "../ledger/payerLedger";
import type { PaymentRepository, PendingPayment } from "../store/types";
import { LogThrottle } from "../webhooks/logThrottle";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { WATCHED_TOPICS, decodeEscrowLogs, type EscrowPage } from "./logApplier";
import { Job, type JobMetrics } from "./job";

/** What the follower tells (PayerLedger): the watcher's listener calls, and a look at a cached view. */
export interface FollowedLedger {
  hasView(payer: Hex): boolean;
  pendingPayment(payer: Hex, id: Hex): PendingPayment | undefined;
  paymentsChanged(changes: readonly { before: PaymentState; after: LedgerPaymentChange }[]): void;
  chainAdvanced(block: bigint, touched: readonly Hex[]): void;
  rewound(block: bigint): void;
}

export const FOLLOWER_DEFAULTS = {
  /** Polls at most this far apart: how long a payment escrowed stays counted as pending here. */
  maxPollIntervalMs: 500,
  /** Pages whose last block's hash is kept for finding a reorg's rewind point. */
  windowPages: 128,
  pageBlocks: 1_000n,
  /** Pages per poll at most, so one poll never runs unbounded after an outage. */
  maxPagesPerPoll: 20,
  /** Repeated failure lines: at most one per reason per this interval. */
  logIntervalMs: 60_000,
} as const;

export interface LedgerFollowerOptions {
  chain: Pick<ChainClient, "blockNumber" | "block" | "escrowLogs">;
  ledger: FollowedLedger;
  /** Where a payment escrowed that a cached view does not hold is looked up (its nonce). */
  payments: Pick<PaymentRepository, "getMany">;
  /** Capped at FOLLOWER_DEFAULTS.maxPollIntervalMs. */
  pollIntervalMs: number;
  windowPages?: number;
  pageBlocks?: bigint;
  logger?: Logger;
  metrics?: JobMetrics;
  now?: () => number;
}

interface Applied {
  number: bigint;
  hash: string;
}

export class LedgerFollower extends Job {
  private readonly ledger: FollowedLedger;
  private readonly chain: LedgerFollowerOptions["chain"];
  private readonly windowPages: number;
  private readonly pageBlocks: bigint;
  private readonly throttle: LogThrottle;
  /** The last block applied (null before the first poll), and the window's page ends, oldest first. */
  private applied: Applied | null = null;
  private window: Applied[] = [];
  /** Counts for tests and logs. */
  readonly stats = {
    polls: 0,
    catchUps: 0,
    pages: 0,
    escrowed: 0,
    rejected: 0,
    touched: 0,
    reorgs: 0,
    deepReorgs: 0,
    failures: 0,
  };

  constructor(private readonly options: LedgerFollowerOptions) {
    super("follower", options.logger ?? silentLogger, options.metrics);
    this.ledger = options.ledger;
    this.chain = options.chain;
    this.windowPages = Math.max(1, options.windowPages ?? FOLLOWER_DEFAULTS.windowPages);
    this.pageBlocks = options.pageBlocks ?? FOLLOWER_DEFAULTS.pageBlocks;
    this.throttle = new LogThrottle(FOLLOWER_DEFAULTS.logIntervalMs, options.now);
  }

  /** The last block whose logs the ledger has been told, or null before the first poll. */
  get appliedBlock(): bigint | null {
    return this.applied?.number ?? null;
  }

  /**
   * Runs the first poll (the ledger starts at the head: accounts are read at the block applied, so
   * no history is needed), then polls on the timer. Throws when the first poll fails: without a
   * block to read at, the ledger would judge every payer by an empty account.
   */
  async begin(): Promise<void> {
    await this.tick();
    this.start();
  }

  protected intervalMs(): number {
    return Math.min(this.options.pollIntervalMs, FOLLOWER_DEFAULTS.maxPollIntervalMs);
  }

  /**
   * A poll that starts after this call, shared by every caller that asks before it starts (a payer
   * refused for balance can cost the node at most one poll per poll's duration, however many ask);
   * true when it applied new blocks. A failed poll answers false: the caller keeps its view.
   */
  async catchUp(): Promise<boolean> {
    const before = this.applied?.number ?? null;
    this.stats.catchUps++;
    try {
      await this.runSoon();
    } catch {
      return false;
    }
    return (this.applied?.number ?? null) !== before;
  }

  protected async run(): Promise<void> {
    this.stats.polls++;
    try {
      await this.poll();
    } catch (error) {
      this.stats.failures++;
      const reason = classifyRpcError(error);
      this.metrics?.failures.inc({ component: this.name, reason });
      const suppressed = this.throttle.take(reason);
      if (suppressed !== null) {
        this.log.warn(
          { job: this.name, err: errorMessage(error), suppressed, applied: this.applied?.number.toString() },
          "ledger follower poll failed: intake keeps the payer views it has",
        );
      }
      // Logged (rate-limited) here: the job loop must not log it again on every poll.
      throw Object.assign(error instanceof Error ? error : new Error(String(error)), { reported: true });
    }
  }

  private async poll(): Promise<void> {
    const head = await this.chain.blockNumber();
    if (!this.applied) {
      const block = await this.chain.block(head);
      if (!block?.hash) throw new Error(`node has no block ${head}`);
      this.advance({ number: head, hash: block.hash.toLowerCase() });
      this.ledger.chainAdvanced(head, []);
      return;
    }
    if (!(await this.isCanonical(this.applied))) await this.rewind();
    let from = this.applied.number + 1n;
    for (let pages = 0; from <= head && pages < FOLLOWER_DEFAULTS.maxPagesPerPoll; pages++) {
      const to = from + this.pageBlocks - 1n < head ? from + this.pageBlocks - 1n : head;
      const block = await this.chain.block(to);
      if (!block?.hash) return; // the chain moved under us: the next poll checks again
      const hash = block.hash.toLowerCase();
      const logs = await this.chain.escrowLogs(from, to, [WATCHED_TOPICS]);
      // A log from another version of block `to`: a reorg raced the two reads; retry next poll.
      if (logs.some((l) => l.blockNumber === to && l.blockHash.toLowerCase() !== hash)) return;
      const page = decodeEscrowLogs(logs);
      this.apply(page, to, await this.unheldEscrows(page));
      this.advance({ number: to, hash });
      from = to + 1n;
    }
  }

  /**
   * The stored payments among the page's escrows that a cached view does not hold (read before the
   * page is applied: applying it must not wait on anything).
   */
  private async unheldEscrows(page: EscrowPage): Promise<Map<Hex, PaymentRecord>> {
    const ids: Hex[] = [];
    for (const { event } of page.events) {
      if (event.name !== "PaymentEscrowed" || !this.ledger.hasView(event.payer)) continue;
      if (!this.ledger.pendingPayment(event.payer, event.paymentId)) ids.push(event.paymentId);
    }
    return ids.length > 0 ? this.options.payments.getMany(ids) : new Map();
  }

  /** Tells the ledger one page, in one synchronous step. */
  private apply(page: EscrowPage, to: bigint, stored: Map<Hex, PaymentRecord>): void {
    const touched = new Set<Hex>();
    const touch = (payer: Hex) => touched.add(payer.toLowerCase() as Hex);
    for (const { event } of page.events) {
      switch (event.name) {
        case "PaymentEscrowed":
        case "PaymentRejected": {
          let held = this.ledger.pendingPayment(event.payer, event.paymentId);
          const record = stored.get(event.paymentId);
          if (!held && event.name === "PaymentEscrowed" && record && this.ledger.hasView(event.payer)) {
            // Not counted by the view (accepted elsewhere after it was read): only the debit and the
            // nonce move, exactly as for a held one.
            held = { id: record.id, amount: record.amount, nonce: record.nonce, state: record.state };
          }
          if (!held) {
            // Escrowed without the view holding it (another instance's, or not cached): re-read.
            // Rejected: the view never counted it, and the account did not move.
            if (event.name === "PaymentEscrowed") touch(event.payer);
            continue;
          }
          const escrowed = event.name === "PaymentEscrowed";
          if (escrowed) this.stats.escrowed++;
          else this.stats.rejected++;
          this.ledger.paymentsChanged([
            {
              before: held.state,
              after: {
                id: held.id,
                payer: event.payer,
                amount: escrowed ? event.amount : held.amount,
                nonce: held.nonce,
                state: escrowed ? PaymentState.Escrowed : PaymentState.Rejected,
              },
            },
          ]);
          break;
        }
        case "Deposited":
        case "Withdrawn":
        case "NonceCancelled":
          touch(event.account);
          break;
        case "PaymentRefunded":
        case "DisputeResolved":
          // Both credit the payer's escrow balance.
          touch(event.payer);
          break;
        default:
          break; // merchant-side events: no payer balance or nonce moves
      }
    }
    this.stats.pages++;
    this.stats.touched += touched.size;
    this.ledger.chainAdvanced(to, [...touched]);
  }

  private advance(applied: Applied): void {
    this.applied = applied;
    this.window.push(applied);
    if (this.window.length > this.windowPages) this.window.splice(0, this.window.length - this.windowPages);
  }

  private async isCanonical(at: Applied): Promise<boolean> {
    const block = await this.chain.block(at.number);
    return block?.hash?.toLowerCase() === at.hash;
  }

  /** The last applied block is gone: back to the newest window block still on the chain. */
  private async rewind(): Promise<void> {
    const from = this.applied!.number;
    let keep = -1;
    for (let i = this.window.length - 1; i >= 0; i--) {
      if (await this.isCanonical(this.window[i])) {
        keep = i;
        break;
      }
    }
    this.stats.reorgs++;
    this.metrics?.failures.inc({ component: this.name, reason: "reorg" });
    let target: Applied;
    if (keep >= 0) {
      target = this.window[keep];
      this.window = this.window.slice(0, keep + 1);
      this.log.warn(
        { job: this.name, from: from.toString(), rewindTo: target.number.toString() },
        "reorg: the api ledger re-reads its payers",
      );
    } else {
      // Beyond the window: its oldest block, as the chain has it now, is as good a start as any
      // (every view is read afresh there), but the depth is worth an operator's look.
      const oldest = this.window[0]?.number ?? from;
      const block = await this.chain.block(oldest);
      if (!block?.hash) throw new Error(`node has no block ${oldest}`);
      target = { number: oldest, hash: block.hash.toLowerCase() };
      this.window = [target];
      this.stats.deepReorgs++;
      this.metrics?.deepReorgs.inc({ reason: "beyond_window" });
      this.log.error(
        {
          job: this.name,
          event: "deep_reorg",
          from: from.toString(),
          rewindTo: oldest.toString(),
          windowPages: this.windowPages,
        },
        "reorg deeper than the api ledger's window: re-reading its payers from the window's start",
      );
    }
    this.applied = target;
    this.ledger.rewound(target.number);
  }
}
