import { PaymentState, type Hex } from "../domain";
import { isNonceAvailable, type AccountState } from "../intake/chainView";
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

/**
 * What intake needs to know about a payer, read under the payer's lock: the escrow account as the
 * relayer last saw it on chain, and the payments it accepted that are not on chain yet (which
 * reserve their amount and nonce).
 */
export class PayerView {
  readonly pending = new Map<Hex, PendingPayment>();
  readonly pendingNonces = new Set<bigint>();
  pendingAmount = 0n;

  constructor(
    readonly account: AccountState,
    pending: Iterable<PendingPayment> = [],
  ) {
    for (const p of pending) this.add(p);
  }

  /** Escrow balance minus what pending payments reserve. */
  get available(): bigint {
    return this.account.balance - this.pendingAmount;
  }

  isNonceFree(nonce: bigint): boolean {
    return isNonceAvailable(this.account, nonce) && !this.pendingNonces.has(nonce);
  }

  add(payment: PendingPayment): void {
    if (this.pending.has(payment.id)) return;
    this.pending.set(payment.id, payment);
    this.pendingNonces.add(payment.nonce);
    this.pendingAmount += payment.amount;
  }

  /** A pending payment moved between pending states (accepted → batched → submitted, or back). */
  move(id: Hex, state: PaymentState): void {
    const payment = this.pending.get(id);
    if (payment) this.pending.set(id, { ...payment, state });
  }

  /**
   * The account as the escrow will find it once the payments already on their way to the chain
   * (batched or submitted, not yet seen escrowed) have executed: what the next batch is checked
   * against. A copy: the view itself is not changed.
   */
  afterInFlight(): AccountState {
    const account = { ...this.account };
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
}
