import { PaymentState, type Hex } from "../domain";
import { isNonceAvailable } from "../../protocol";
import type { AccountState } from "../chain/chainView";
import type { PendingPayment } from "../store/types";

/**
 * Marks `nonce` used and slides the window past every used nonce (NonceWindow.use). An unavailable
 * nonce leaves the window as it is, as on chain.
 */
export function useNonce(state: AccountState, nonce: bigint): void {
  if (!isNonceAvailable(state, nonce)) return;
  let bits = state.nonceBitmap | (1n << (nonce - state.nonceBase));
  let base = state.nonceBase;
  while ((bits & 1n) === 1n) {
    bits >>= 1n;
    base += 1n;
  }
  state.nonceBase = base;
  state.nonceBitmap = bits;
}

/** A withdrawal the relayer relayed for the payer and has not seen executed yet. */
export interface Outflow {
  nonce: bigint;
  amount: bigint;
  /** The signed deadline (unix seconds): after it the withdrawal can no longer execute. */
  deadline: bigint;
}

/**
 * Relayed withdrawals in flight, per payer. One is pending while its nonce is still free in the
 * account as the relayer last applied it and its deadline has not passed: once the watcher applies
 * the withdrawal, the re-read account has the nonce used and the balance lowered, and the outflow
 * ends with no moment counted twice or not at all.
 */
export class OutflowBook {
  private readonly byPayer = new Map<Hex, Outflow[]>();

  add(payer: Hex, outflow: Outflow): void {
    const key = payer.toLowerCase() as Hex;
    this.byPayer.set(key, [...(this.byPayer.get(key) ?? []), outflow]);
  }

  /** The payer's outflows still pending against `account` at `nowSeconds`; the others are dropped. */
  current(payer: Hex, account: AccountState, nowSeconds: bigint): Outflow[] {
    const key = payer.toLowerCase() as Hex;
    const list = this.byPayer.get(key);
    if (!list) return [];
    const live = list.filter((o) => o.deadline >= nowSeconds && isNonceAvailable(account, o.nonce));
    if (live.length === 0) this.byPayer.delete(key);
    else if (live.length !== list.length) this.byPayer.set(key, live);
    return live;
  }
}

/**
 * What intake needs to know about a payer, read under the payer's lock: the escrow account as the
 * relayer last saw it on chain, the payments it accepted that are not on chain yet (which reserve
 * their amount and nonce), and the withdrawals it relayed that have not executed yet (likewise).
 */
export class PayerView {
  readonly pending = new Map<Hex, PendingPayment>();
  readonly pendingNonces = new Set<bigint>();
  pendingAmount = 0n;
  /** Relayed withdrawals in flight (set by the accounts source whenever it hands out the view). */
  outflows: readonly Outflow[] = [];

  constructor(
    readonly account: AccountState,
    pending: Iterable<PendingPayment> = [],
  ) {
    for (const p of pending) this.add(p);
  }

  /** What relayed withdrawals in flight take. */
  get outflowAmount(): bigint {
    let sum = 0n;
    for (const o of this.outflows) sum += o.amount;
    return sum;
  }

  /** Escrow balance minus what pending payments and withdrawals in flight reserve. */
  get available(): bigint {
    return this.account.balance - this.pendingAmount - this.outflowAmount;
  }

  isNonceFree(nonce: bigint): boolean {
    return (
      isNonceAvailable(this.account, nonce) &&
      !this.pendingNonces.has(nonce) &&
      !this.outflows.some((o) => o.nonce === nonce)
    );
  }

  add(payment: PendingPayment): void {
    if (this.pending.has(payment.id)) return;
    this.pending.set(payment.id, payment);
    this.pendingNonces.add(payment.nonce);
    this.pendingAmount += payment.amount;
  }

  /** A pending payment moved between pending states (accepted → batched → submitted, or back); false if unknown. */
  move(id: Hex, state: PaymentState): boolean {
    const payment = this.pending.get(id);
    if (payment) this.pending.set(id, { ...payment, state });
    return payment !== undefined;
  }

  /**
   * The account as the escrow will find it once the payments already on their way to the chain
   * (batched or submitted, not yet seen escrowed) have executed: what the next batch is checked
   * against. A copy: the view itself is not changed.
   */
  afterInFlight(): AccountState {
    const account = { ...this.account };
    // Withdrawals are sent when relayed: they run before any batch built from now on.
    for (const o of this.outflows) {
      if (!isNonceAvailable(account, o.nonce) || account.balance < o.amount) continue;
      useNonce(account, o.nonce);
      account.balance -= o.amount;
    }
    const inFlight = [...this.pending.values()]
      .filter((p) => p.state !== PaymentState.Accepted)
      .sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0));
    for (const p of inFlight) {
      if (!isNonceAvailable(account, p.nonce) || account.balance < p.amount) continue;
      useNonce(account, p.nonce);
      account.balance -= p.amount;
    }
    return account;
  }

  /** The payment left the pending states (escrowed, rejected, expired); no-op if it was not pending. */
  remove(id: Hex): PendingPayment | undefined {
    const payment = this.pending.get(id);
    if (!payment) return undefined;
    this.pending.delete(id);
    this.pendingNonces.delete(payment.nonce);
    this.pendingAmount -= payment.amount;
    return payment;
  }
}

/**
 * Intake's source of payer state. `view` is called under the payer's lock, and the lock is held
 * until the payments admitted against the view are committed, so `reserve` and `discard` never race
 * another intake of the same payer.
 */
export interface PayerAccounts {
  view(payer: Hex): Promise<PayerView>;
  /** A payment was admitted against the view: its amount and nonce are reserved from now on. */
  reserve(payer: Hex, payment: PendingPayment): void;
  /** The commit of a reserved payment did not insert it (it already existed): re-read next time. */
  discard(payer: Hex): void;
  /**
   * A withdrawal was relayed (sent): its amount and nonce are reserved until the account shows it
   * executed or its deadline passes. Called under the payer's lock, like `reserve`.
   */
  reserveOutflow(payer: Hex, outflow: Outflow): void;
  /**
   * Brings what the views reflect up to the chain now, rather than at the next poll: role `api`'s
   * follower polls the head, role `all`'s jobs thread runs its chain watcher (to its safe block).
   * True when the applied block moved. Intake asks before refusing a payer's payment for its
   * balance or nonce, so a deposit mined since the last poll counts instead of being refused.
   */
  catchUp?(): Promise<boolean>;
}
