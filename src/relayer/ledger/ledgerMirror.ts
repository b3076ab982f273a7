/**
 * The intake ledger across two threads (role `all`, ../roles/jobsThread.ts): the jobs thread keeps
 * the authoritative PayerLedger, fed synchronously by its own commits; the HTTP thread admits
 * payments against a mirror of it.
 *
 *  - {@link LedgerFeed} (jobs side) is the jobs' LedgerListener: every call goes to the ledger and is
 *    streamed, numbered, to the mirror. A mirror miss is answered with a FRESH load of the payer (a
 *    read started on request, so it holds every payment committed before it) and the number of the
 *    last notice it reflects.
 *  - {@link LedgerMirror} (HTTP side) applies the notices to the views it holds, and a loaded view only
 *    the notices numbered after its load. Both travel on one message port, in order: the notices up
 *    to a load's number arrive before its answer, the later ones after it.
 *
 * Intake's reserve/discard/reserveOutflow act on the mirror only (they are decisions of the HTTP
 * thread, made under the payer's lock); the fresh load reads them back from the store once committed.
 */
import { ApiError } from "../errors";
import type { Hex, PaymentRecord, PaymentState } from "../domain";
import type { AccountState } from "../chain/chainView";
import type { PendingPayment } from "../store/types";
import type { LedgerListener } from "./listener";
import { OutflowBook, PayerView, type Outflow, type PayerAccounts } from "./payerAccounts";
import { LEDGER_DEFAULTS, applyNotice, noticeOf, type LedgerPaymentChange, type PayerLedger } from "./payerLedger";

/** One LedgerListener call, as it crosses the thread boundary (bigints survive structured clone). */
export type LedgerEvent =
  | { kind: "paymentsChanged"; changes: { before: PaymentState; after: LedgerPaymentChange }[] }
  | { kind: "chainAdvanced"; block: bigint; touched: Hex[] }
  | { kind: "rewound"; block: bigint };

/** A payer's view as plain data. */
export interface ViewData {
  account: AccountState;
  pending: PendingPayment[];
}

/** A fresh load's answer: the view, current as of notice `seq`. */
export interface LoadedView {
  view: ViewData;
  seq: number;
}

const viewData = (view: PayerView): ViewData => ({
  account: { ...view.account },
  pending: [...view.pending.values()].map((p) => ({ ...p })),
});

/** The jobs side: tees the jobs' ledger notices to the ledger and to the mirror, numbered. */
export class LedgerFeed implements LedgerListener {
  private seq = 0;

  constructor(
    private readonly ledger: PayerLedger,
    private readonly send: (seq: number, event: LedgerEvent) => void,
  ) {}

  /** The last notice sent. */
  get sequence(): number {
    return this.seq;
  }

  paymentsChanged(changes: readonly { before: PaymentState; after: PaymentRecord }[]): void {
    this.ledger.paymentsChanged(changes);
    // Only what a notice reads crosses the thread: a whole record would be cloned for nothing.
    const sent = changes.map(({ before, after }) => ({
      before,
      after: { id: after.id, payer: after.payer, amount: after.amount, nonce: after.nonce, state: after.state },
    }));
    this.send(++this.seq, { kind: "paymentsChanged", changes: sent });
  }

  chainAdvanced(block: bigint, touched: readonly Hex[]): void {
    this.ledger.chainAdvanced(block, touched);
    this.send(++this.seq, { kind: "chainAdvanced", block, touched: [...touched] });
  }

  rewound(block: bigint): void {
    this.ledger.rewound(block);
    this.send(++this.seq, { kind: "rewound", block });
  }

  /** A read of `payer` started now; its answer is sent after every notice it reflects. */
  async load(payer: Hex): Promise<LoadedView> {
    let loaded: LoadedView | null = null;
    await this.ledger.loadFresh(payer, (view) => {
      // Synchronously at completion: no later notice can fall between the snapshot and its number.
      loaded = { view: viewData(view), seq: this.seq };
    });
    return loaded!;
  }
}

interface Entry {
  view: PayerView;
  /** The last notice the view reflects. */
  seq: number;
  expiresAt: number;
}

export interface LedgerMirrorOptions {
  /** Asks the jobs thread for a fresh load (LedgerFeed.load). */
  load(payer: Hex): Promise<LoadedView>;
  /**
   * Asks the jobs thread to run its chain watcher now (PayerAccounts.catchUp); the notices of what
   * it applied arrive before the answer, so a touched payer's view is already dropped.
   */
  catchUp?(): Promise<boolean>;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/** The HTTP side: intake's PayerAccounts, fed by the jobs thread's LedgerFeed. */
export class LedgerMirror implements PayerAccounts {
  private readonly entries = new Map<Hex, Entry>();
  private readonly reads = new Map<Hex, Promise<PayerView>>();
  private readonly outflows = new OutflowBook();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** The last notice received. */
  private seq = 0;
  /** Counts for tests and the benchmark. */
  readonly stats = { hits: 0, loads: 0, retries: 0, resets: 0 };

  constructor(private readonly options: LedgerMirrorOptions) {
    this.ttlMs = options.ttlMs ?? LEDGER_DEFAULTS.ttlMs;
    this.maxEntries = options.maxEntries ?? LEDGER_DEFAULTS.maxEntries;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async catchUp(): Promise<boolean> {
    if (!this.options.catchUp) return false;
    try {
      return await this.options.catchUp();
    } catch {
      return false;
    }
  }

  /** The last notice received. */
  get sequence(): number {
    return this.seq;
  }

  /** A notice from the jobs thread, in the order they were sent. */
  receive(seq: number, event: LedgerEvent): void {
    if (seq !== this.seq + 1) {
      // A gap would mean a lost notice: nothing held can be trusted any more.
      this.entries.clear();
      this.stats.resets++;
    }
    this.seq = seq;
    switch (event.kind) {
      case "paymentsChanged":
        for (const { before, after } of event.changes) {
          const payer = after.payer.toLowerCase() as Hex;
          const entry = this.entries.get(payer);
          if (!entry || entry.seq >= seq) continue;
          const notice = noticeOf(before, after);
          if (notice === "invalidate") this.entries.delete(payer);
          else if (notice) applyNotice(entry.view, notice);
        }
        break;
      case "chainAdvanced":
        for (const payer of event.touched) {
          const key = payer.toLowerCase() as Hex;
          if ((this.entries.get(key)?.seq ?? seq) < seq) this.entries.delete(key);
        }
        break;
      case "rewound":
        for (const [payer, entry] of this.entries) if (entry.seq < seq) this.entries.delete(payer);
        this.stats.resets++;
        break;
    }
  }

  async view(payer: Hex): Promise<PayerView> {
    const key = payer.toLowerCase() as Hex;
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) {
      this.stats.hits++;
      return this.withOutflows(key, entry.view);
    }
    let reading = this.reads.get(key);
    if (!reading) {
      reading = this.load(key).finally(() => this.reads.delete(key));
      this.reads.set(key, reading);
    }
    return this.withOutflows(key, await reading);
  }

  private async load(payer: Hex): Promise<PayerView> {
    for (let attempt = 0; attempt < LEDGER_DEFAULTS.maxLoadAttempts; attempt++) {
      if (attempt > 0) this.stats.retries++;
      this.stats.loads++;
      const loaded = await this.options.load(payer);
      // Notices numbered after the load came in before its answer: the view misses them, so read
      // again. Cannot happen on one ordered port; checked all the same.
      if (loaded.seq < this.seq) continue;
      const view = new PayerView({ ...loaded.view.account }, loaded.view.pending);
      this.entries.delete(payer);
      this.entries.set(payer, { view, seq: loaded.seq, expiresAt: this.now() + this.ttlMs });
      if (this.entries.size > this.maxEntries) this.evictOldest();
      return view;
    }
    throw new ApiError("chain_unavailable", `the account of ${payer} could not be read in order; retry`);
  }

  reserve(payer: Hex, payment: PendingPayment): void {
    this.entries.get(payer.toLowerCase() as Hex)?.view.add(payment);
  }

  discard(payer: Hex): void {
    this.entries.delete(payer.toLowerCase() as Hex);
  }

  reserveOutflow(payer: Hex, outflow: Outflow): void {
    const key = payer.toLowerCase() as Hex;
    this.outflows.add(key, outflow);
    const entry = this.entries.get(key);
    if (entry) this.withOutflows(key, entry.view);
  }

  private withOutflows(payer: Hex, view: PayerView): PayerView {
    view.outflows = this.outflows.current(payer, view.account, BigInt(Math.floor(this.now() / 1000)));
    return view;
  }

  private evictOldest(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}
