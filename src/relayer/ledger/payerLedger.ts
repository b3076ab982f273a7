import { ApiError } from "../errors";
import { PaymentState, type Hex, type PaymentRecord } from "../domain";
import { isOneOff } from "../../protocol";
import type { AccountState } from "../chain/chainView";
import type { PaymentRepository, PendingPayment } from "../store/types";
import type { LedgerListener } from "./listener";
import { OutflowBook, PayerView, useNonce, type Outflow, type PayerAccounts } from "./payerAccounts";

/** Reads a payer's escrow account as it was at the end of `block`. */
export interface AccountReader {
  accountAt(payer: Hex, block: bigint): Promise<AccountState>;
}

export const LEDGER_DEFAULTS = {
  /**
   * A view is re-read after this long even if nothing said it changed: a bound on how long a
   * missed notification (a bug, or the key used outside the relayer in a way no event shows) can
   * skew intake. The escrow re-checks everything anyway.
   */
  ttlMs: 60_000,
  maxEntries: 200_000,
  /** A payer touched by every page while we read it: give up (503) rather than spin. */
  maxLoadAttempts: 8,
} as const;

const PENDING = new Set<PaymentState>([PaymentState.Accepted, PaymentState.Batched, PaymentState.Submitted]);

/** What the ledger reads of a changed payment (a follower of the escrow's logs knows no more). */
export type LedgerPaymentChange = Pick<PaymentRecord, "id" | "payer" | "amount" | "nonce" | "state">;

/** What one committed payment change does to its payer's view. */
export type Notice =
  | { kind: "escrowed"; payment: PendingPayment }
  | { kind: "released"; id: Hex }
  | { kind: "moved"; payment: PendingPayment };

/**
 * A payment state change as the ledger sees it: a notice to apply to the payer's view, or
 * "invalidate" (back in the queue after a batch lost to a reorg: only a fresh read knows what it
 * reserves), or null (nothing a view holds changed).
 */
export function noticeOf(before: PaymentState, after: LedgerPaymentChange): Notice | "invalidate" | null {
  // A one-off payment is paid from the payer's wallet: it never reserved escrow balance or a nonce,
  // and its escrow (Deposited then PaymentEscrowed) leaves the balance as it was.
  if (isOneOff(after)) return null;
  if (after.state === PaymentState.Escrowed) {
    return {
      kind: "escrowed",
      payment: { id: after.id, amount: after.amount, nonce: after.nonce, state: after.state },
    };
  }
  if (PENDING.has(before) && !PENDING.has(after.state)) return { kind: "released", id: after.id };
  if (!PENDING.has(before) && PENDING.has(after.state)) return "invalidate";
  if (PENDING.has(before) && PENDING.has(after.state) && before !== after.state) {
    return { kind: "moved", payment: { id: after.id, amount: after.amount, nonce: after.nonce, state: after.state } };
  }
  return null;
}

interface Entry {
  view: PayerView;
  expiresAt: number;
}

interface Loading {
  notices: Notice[];
  invalid: boolean;
}

export interface PayerLedgerOptions {
  reader: AccountReader;
  payments: Pick<PaymentRepository, "pendingOf">;
  /** The chain watcher's cursor when the ledger starts: the last block whose events are applied. */
  block: bigint;
  /** The escrow's deployment block: before it every account is empty. */
  startBlock: bigint;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * Payer state for intake without a chain read per payment: each payer's escrow account is read
 * once, at the block the chain watcher has applied, and from then on kept current from what the
 * watcher commits (a listener on the store's commits, so the ledger and the store never disagree).
 *
 *  - one of the payer's payments escrowed: its amount leaves the balance AND the pending set in the
 *    same step, so a payment is never counted twice (on chain and pending) nor freed early;
 *  - a pending payment rejected or expired: its reservation ends;
 *  - anything else that moves the payer's balance or nonces (deposit, withdrawal, cancelled nonce,
 *    refund, dispute ruling, a payment escrowed by someone else): the view is dropped and re-read;
 *  - a reorg: everything is dropped.
 *
 * Withdrawals the relayer relays are reserved (amount and nonce) from the moment they are sent
 * until the applied account shows them executed (their nonce used) or their deadline passes, so
 * intake never accepts a payment against money on its way out.
 *
 * A read races the watcher: it is taken at the block applied when it starts, and what the watcher
 * commits meanwhile is queued and replayed onto it (or, for a drop, the read starts over).
 */
export class PayerLedger implements PayerAccounts, LedgerListener {
  private block: bigint;
  private readonly entries = new Map<Hex, Entry>();
  /** Reads in progress per payer (a fresh load may run beside a shared one). */
  private readonly loading = new Map<Hex, Set<Loading>>();
  private readonly reads = new Map<Hex, Promise<PayerView>>();
  private readonly outflows = new OutflowBook();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Counts for metrics and the benchmark. */
  readonly stats = { hits: 0, loads: 0, retries: 0, invalidations: 0, resets: 0 };

  constructor(private readonly options: PayerLedgerOptions) {
    this.block = options.block;
    this.ttlMs = options.ttlMs ?? LEDGER_DEFAULTS.ttlMs;
    this.maxEntries = options.maxEntries ?? LEDGER_DEFAULTS.maxEntries;
    this.now = options.now ?? Date.now;
  }

  private follower: { catchUp(): Promise<boolean> } | null = null;

  /** Set by role `api`: its follower of the escrow's logs can be asked to poll now (PayerAccounts.catchUp). */
  followedBy(follower: { catchUp(): Promise<boolean> }): void {
    this.follower = follower;
  }

  async catchUp(): Promise<boolean> {
    return this.follower ? this.follower.catchUp() : false;
  }

  /** The last block whose events the ledger reflects. */
  get appliedBlock(): bigint {
    return this.block;
  }

  get size(): number {
    return this.entries.size;
  }

  async view(payer: Hex): Promise<PayerView> {
    const key = payer.toLowerCase() as Hex;
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) {
      this.stats.hits++;
      return this.withOutflows(key, entry.view);
    }
    // Intake (under the payer's lock) and the batcher may ask at once: they share one read.
    let loading = this.reads.get(key);
    if (!loading) {
      loading = this.load(key).finally(() => this.reads.delete(key));
      this.reads.set(key, loading);
    }
    return this.withOutflows(key, await loading);
  }

  reserveOutflow(payer: Hex, outflow: Outflow): void {
    const key = payer.toLowerCase() as Hex;
    this.outflows.add(key, outflow);
    const entry = this.entries.get(key);
    if (entry) this.withOutflows(key, entry.view);
  }

  /** Relayed withdrawals are kept apart from the views: a view re-read before one executes keeps it. */
  private withOutflows(payer: Hex, view: PayerView): PayerView {
    view.outflows = this.outflows.current(payer, view.account, BigInt(Math.floor(this.now() / 1000)));
    return view;
  }

  /**
   * For the batcher's pre-send simulation: the account the escrow will find once the payer's
   * payments already batched or submitted have executed. Same knowledge as intake's (the watcher's
   * applied blocks plus what the relayer has in flight), without a chain read per payer per batch.
   */
  async accountForBatching(payer: Hex): Promise<AccountState> {
    return (await this.view(payer)).afterInFlight();
  }

  reserve(payer: Hex, payment: PendingPayment): void {
    this.entries.get(payer.toLowerCase() as Hex)?.view.add(payment);
  }

  discard(payer: Hex): void {
    this.invalidate(payer.toLowerCase() as Hex);
  }

  /** Whether a view of the payer is cached (one a notification would move rather than drop). */
  hasView(payer: Hex): boolean {
    return this.entries.has(payer.toLowerCase() as Hex);
  }

  /**
   * The payer's pending payment `id` as its cached view holds it, or undefined when no view of the
   * payer is cached (or the view does not hold it). For a follower of the escrow's logs: a payment
   * the view holds can be moved on; anything else about the payer needs a re-read.
   */
  pendingPayment(payer: Hex, id: Hex): PendingPayment | undefined {
    const view = this.entries.get(payer.toLowerCase() as Hex)?.view;
    return view?.pending.get(id) ?? view?.pending.get(id.toLowerCase() as Hex);
  }

  paymentsChanged(changes: readonly { before: PaymentState; after: LedgerPaymentChange }[]): void {
    for (const { before, after } of changes) {
      const payer = after.payer.toLowerCase() as Hex;
      const notice = noticeOf(before, after);
      if (notice === "invalidate") this.invalidate(payer);
      else if (notice) this.notify(payer, notice);
    }
  }

  chainAdvanced(block: bigint, touched: readonly Hex[]): void {
    if (block > this.block) this.block = block;
    for (const payer of touched) this.invalidate(payer.toLowerCase() as Hex);
  }

  rewound(block: bigint): void {
    this.block = block;
    this.entries.clear();
    for (const loads of this.loading.values()) for (const loading of loads) loading.invalid = true;
    this.stats.resets++;
  }

  private notify(payer: Hex, notice: Notice): void {
    for (const loading of this.loading.get(payer) ?? []) loading.notices.push(notice);
    const entry = this.entries.get(payer);
    if (entry) applyNotice(entry.view, notice);
  }

  private invalidate(payer: Hex): void {
    this.stats.invalidations++;
    this.entries.delete(payer);
    for (const loading of this.loading.get(payer) ?? []) loading.invalid = true;
  }

  /**
   * A read of the payer started now, never shared with one already running nor served from the
   * cache: it sees every payment committed before the call (another thread's ledger mirror asks for
   * it, ../roles/jobsThread.ts). `current` is called synchronously with the finished view, before
   * any later commit can change it.
   */
  async loadFresh(payer: Hex, current: (view: PayerView) => void): Promise<PayerView> {
    return this.load(payer.toLowerCase() as Hex, current);
  }

  private async load(payer: Hex, current?: (view: PayerView) => void): Promise<PayerView> {
    for (let attempt = 0; attempt < LEDGER_DEFAULTS.maxLoadAttempts; attempt++) {
      if (attempt > 0) this.stats.retries++;
      this.stats.loads++;
      // Registered before either read starts: every commit from here on is queued for replay.
      const loading: Loading = { notices: [], invalid: false };
      let loads = this.loading.get(payer);
      if (!loads) this.loading.set(payer, (loads = new Set()));
      loads.add(loading);
      const block = this.block;
      try {
        const [account, pending] = await Promise.all([
          block < this.options.startBlock
            ? Promise.resolve<AccountState>({ balance: 0n, nonceBase: 0n, nonceBitmap: 0n })
            : this.options.reader.accountAt(payer, block),
          this.options.payments.pendingOf(payer),
        ]);
        if (loading.invalid) continue;
        // The account is as of `block`, the pending set as of some commit after it: replaying the
        // queued notices fixes both (removals from the pending set are idempotent; escrows after
        // `block` are not in the account yet).
        const view = new PayerView(account, pending);
        for (const notice of loading.notices) applyNotice(view, notice);
        this.entries.delete(payer);
        this.entries.set(payer, { view, expiresAt: this.now() + this.ttlMs });
        if (this.entries.size > this.maxEntries) this.evictOldest();
        current?.(view);
        return view;
      } finally {
        loads.delete(loading);
        if (loads.size === 0 && this.loading.get(payer) === loads) this.loading.delete(payer);
      }
    }
    throw new ApiError("chain_unavailable", `the account of ${payer} kept changing while it was read; retry`);
  }

  private evictOldest(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

export function applyNotice(view: PayerView, notice: Notice): void {
  if (notice.kind === "moved") {
    // Accepted after this view was read (a reservation the view never saw): from now on it is known.
    if (!view.move(notice.payment.id, notice.payment.state)) view.add(notice.payment);
    return;
  }
  if (notice.kind === "released") {
    view.remove(notice.id);
    return;
  }
  view.remove(notice.payment.id);
  view.account.balance -= notice.payment.amount;
  useNonce(view.account, notice.payment.nonce);
}
