/**
 * Payment state changes made by the chain jobs, each with its webhook event queued in the same
 * store transaction (call these inside `store.transaction`), and reported to intake's ledger once
 * that transaction commits.
 *
 * The chain's events are applied through `canMove`: a payment only moves forward along the state
 * machine of src/relayer/domain.ts, so re-applying a block range (after a restart or a reorg
 * rewind) changes nothing, and a rejection never overrides an escrow (a re-sent batch rejects with
 * nonce_unavailable what an earlier transaction already escrowed: that is how exactly-once holds).
 */
import { PaymentState, type PaymentRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import type { LedgerListener } from "../ledger/listener";
import { enqueuePaymentEvents, type PaymentEventType } from "../webhooks/events";

const S = PaymentState;

/** Not on chain yet: what the relayer still controls. */
export const OFFCHAIN_STATES: readonly PaymentState[] = [S.Accepted, S.Batched, S.Submitted];

/** On its own order timer: held on chain outside its tranche (IPaymentEscrow Held, RefundRequested, RefundRejected). */
export const OWN_TIMER_STATES: readonly PaymentState[] = [S.Held, S.RefundRequested, S.RefundRejected];

/** Escrowed on chain, in any later state. */
export const ONCHAIN_STATES: readonly PaymentState[] = [
  S.Escrowed,
  ...OWN_TIMER_STATES,
  S.Released,
  S.Refunded,
  S.Disputed,
  S.Resolved,
  S.Settled,
];

/**
 * From which states each chain-driven state may be entered. The order timer's states cycle
 * (held → refund_requested → held after a partial refund), so re-reading its events is guarded by
 * their chain position instead (OrderTimer.block/logIndex, see logApplier.ts).
 */
const ALLOWED_FROM: Partial<Record<PaymentState, readonly PaymentState[]>> = {
  // The chain is the final word: an escrow also overrides a relayer-side verdict (rejected/expired).
  [S.Escrowed]: [...OFFCHAIN_STATES, S.Rejected, S.Expired],
  [S.Rejected]: OFFCHAIN_STATES,
  [S.Held]: [S.Escrowed, S.RefundRequested],
  [S.RefundRequested]: [S.Escrowed, S.Held],
  [S.RefundRejected]: [S.RefundRequested],
  [S.Released]: [S.Escrowed, ...OWN_TIMER_STATES],
  [S.Refunded]: [S.Escrowed, ...OWN_TIMER_STATES, S.Disputed],
  [S.Disputed]: [S.Escrowed, ...OWN_TIMER_STATES],
  [S.Resolved]: [S.Disputed],
  [S.Settled]: [S.Escrowed, S.Released],
};

export function canMove(from: PaymentState, to: PaymentState): boolean {
  return ALLOWED_FROM[to]?.includes(from) ?? false;
}

export interface PaymentChange {
  payment: PaymentRecord;
  /** Omitted: only fields change (no event unless `event` names one). */
  state?: PaymentState;
  fields?: Partial<PaymentRecord>;
  /** The webhook event to queue instead of `payment.<state>`, also when the state stays (a second extension). */
  event?: PaymentEventType;
}

/**
 * Writes the changes and queues a `payment.<state>` event for each one that changes a state; the
 * same ones go to `ledger` when the enclosing transaction commits (never if it rolls back).
 * Returns the payments as written.
 */
export async function writePaymentChanges(
  store: RelayerStore,
  changes: PaymentChange[],
  now: number,
  ledger: LedgerListener,
): Promise<PaymentRecord[]> {
  if (changes.length === 0) return [];
  // Each change gets a later updatedAt than the payment had: the webhook event id is derived from
  // (payment, type, updatedAt), so a payment that reaches a state twice (a reorg) gets two events.
  const stamped = changes.map((c) => ({ ...c, at: Math.max(now, c.payment.updatedAt + 1) }));
  // One group write (a statement per set of changed fields), not one UPDATE per payment.
  await store.payments.updateMany(
    stamped.map((c) => ({ id: c.payment.id, state: c.state, fields: { ...c.fields, updatedAt: c.at } })),
  );
  const written: PaymentRecord[] = [];
  const moved: PaymentStateChange[] = [];
  const events: { payment: PaymentRecord; eventType?: PaymentEventType }[] = [];
  for (const c of stamped) {
    const after: PaymentRecord = { ...c.payment, ...c.fields, state: c.state ?? c.payment.state, updatedAt: c.at };
    written.push(after);
    const changed = c.state !== undefined && c.state !== c.payment.state;
    if (changed) moved.push({ before: c.payment.state, after });
    if (changed || c.event !== undefined) events.push({ payment: after, eventType: c.event });
  }
  await enqueuePaymentEvents(store, events, now);
  reportOnCommit(store, ledger, moved);
  return written;
}

export type PaymentStateChange = Parameters<LedgerListener["paymentsChanged"]>[0][number];

/** Tells `ledger` about `changes` once the enclosing store transaction has committed them. */
export function reportOnCommit(store: RelayerStore, ledger: LedgerListener, changes: PaymentStateChange[]): void {
  if (changes.length > 0) store.onCommit(() => ledger.paymentsChanged(changes));
}

/** Fields cleared when a payment goes back to the queue (its batch never made it on chain). */
export const REQUEUE_FIELDS: Partial<PaymentRecord> = {
  batchKey: null,
  batchId: null,
  leafIndex: null,
  txHash: null,
  releaseAt: null,
  rejectReason: null,
  timer: null,
};
