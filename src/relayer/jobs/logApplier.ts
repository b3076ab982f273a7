/**
 * Applies a page of the escrow's logs to the stored payments, in two steps: `decodeEscrowLogs`
 * (CPU only, before any store transaction: decoding must never hold the store that intake commits
 * to) and `applyEscrowPage` (store work only; the chain watcher calls it inside the transaction
 * that also moves its cursor, so a page is applied entirely or not at all).
 *
 *   PaymentEscrowed → escrowed (batch id; leaf index = position among that batch's PaymentEscrowed
 *                     logs, i.e. in the batch's Merkle tree; tx hash; releaseAt from TrancheFunded)
 *   BatchEscrowed   → when another address sent the batch (payBatch is open: anyone holding a
 *                     payment's signature can escrow it first), the batch is adopted: recorded with
 *                     its leaves and root from these logs, and its payments point at it, so they
 *                     get inclusion proofs like the relayer's own
 *   PaymentRejected → rejected with the escrow's reason, unless already escrowed (exactly-once)
 *   PaymentConfirmed → released · PaymentRefunded → refunded when full, else `refunded` updated
 *   DisputeOpened → disputed · DisputeResolved → resolved
 *   TrancheSettled → settled, for every escrowed/released payment of that (batch, merchant) still
 *                    in its tranche
 *   Deposited, Withdrawn, NonceCancelled → no payment change; their payer is reported `touched`
 * The order timer (a payment a buyer's action took out of its tranche; its `timer` field):
 *   HoldExtended → held (releaseAt, extensions) · RefundRequested → refund_requested (clock paused:
 *   releaseAt null, the request's amount, reason and respondBy) · RefundRequestRejected →
 *   refund_rejected (escalateBy, releaseAt) · HoldResumed → held (a partial refund answered the
 *   request) · PaymentReleased → released · DisputeOpened on it (an escalation) → disputed ·
 *   MerchantPaid / PayoutDeferred → settled, for the merchant's payments released outside their
 *   tranche before that log (the settle call paid the merchant's whole released balance).
 * Every transition goes through `canMove`, so applying the same logs twice changes nothing. The
 * timer's states cycle, so its events also carry their chain position (block, index among the
 * block's watched logs) into the timer, and a log at or before the stored position changes nothing;
 * a reorg rewind first puts the timers written above its point back as the chain had them there
 * (./reorg.ts).
 */
import { ONCHAIN_REJECT_REASONS, PaymentState, type Hex, type OrderTimer, type PaymentRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import type { LedgerListener } from "../ledger/listener";
import { EscrowEventDecoder, type EscrowEventOf } from "../chain/escrowEvents";
import type { RawLog } from "../chain/rawTypes";
import { ONCHAIN_STATES, OWN_TIMER_STATES, canMove, writePaymentChanges, type PaymentChange } from "./paymentChanges";
import type { PaymentEventType } from "../webhooks/events";

/** Events the watcher asks for (topic0 of each). */
export const WATCHED_EVENTS = [
  "PaymentEscrowed",
  "PaymentRejected",
  "TrancheFunded",
  "PaymentConfirmed",
  "PaymentRefunded",
  "DisputeOpened",
  "DisputeResolved",
  "TrancheSettled",
  "BatchEscrowed",
  "HoldExtended",
  "RefundRequested",
  "RefundRequestRejected",
  "HoldResumed",
  "PaymentReleased",
  // A settle call paid (or deferred) the merchant's released balance: payments released outside
  // their tranche are settled by it.
  "MerchantPaid",
  "PayoutDeferred",
  // No payment changes with these: they move a payer's balance or nonce window, which intake's
  // ledger must re-read.
  "Deposited",
  "Withdrawn",
  "NonceCancelled",
] as const;

type WatchedEvent = EscrowEventOf<(typeof WATCHED_EVENTS)[number]>;

const decoder = new EscrowEventDecoder(WATCHED_EVENTS);

export const WATCHED_TOPICS: string[] = decoder.topics;

export type AppliedCounts = Partial<
  Record<PaymentState | "refundedPartly" | "adopted" | "holdExtended" | "holdResumed", number>
>;

/** A page of logs, decoded. */
export interface EscrowPage {
  /** `logIndex`: the log's position among the watched logs of its block (stable across re-reads). */
  events: { event: WatchedEvent; tx: Hex; blockNumber: bigint; blockHash: Hex; logIndex: number }[];
  /** releaseAt of each (tx, batch, merchant) run: its TrancheFunded comes after its payments. */
  releaseAt: Map<string, bigint>;
}

export interface AppliedPage {
  counts: AppliedCounts;
  /**
   * Payers (lowercase) whose escrow balance or nonce window the page changed other than by one of
   * their payments the relayer moved to escrowed here (see LedgerListener.chainAdvanced).
   */
  touched: Hex[];
}

const runKey = (tx: Hex, batchId: bigint, merchantId: bigint) => `${tx}:${batchId}:${merchantId}`;

export function decodeEscrowLogs(logs: readonly RawLog[]): EscrowPage {
  const events: EscrowPage["events"] = [];
  const releaseAt = new Map<string, bigint>();
  let block = -1n;
  let logIndex = 0;
  for (const log of logs) {
    if (log.removed) continue;
    const event = decoder.decode(log);
    if (!event) continue;
    const tx = log.transactionHash;
    logIndex = log.blockNumber === block ? logIndex + 1 : 0;
    block = log.blockNumber;
    events.push({ event, tx, blockNumber: log.blockNumber, blockHash: log.blockHash.toLowerCase() as Hex, logIndex });
    if (event.name === "TrancheFunded") releaseAt.set(runKey(tx, event.batchId, event.merchantId), event.releaseAt);
  }
  return { events, releaseAt };
}

/**
 * `self` is the relayer's signer (every lane's): batches they sent are the relayer's own (recorded by the submitter);
 * those of any other sender are adopted.
 */
export async function applyEscrowPage(
  store: RelayerStore,
  page: EscrowPage,
  now: number,
  ledger: LedgerListener,
  self: Hex | readonly Hex[],
): Promise<AppliedPage> {
  const own = new Set((typeof self === "string" ? [self] : self).map((a) => a.toLowerCase()));
  // Every payment the page names, in one read: each await inside the watcher's transaction lets
  // the HTTP thread's backlog run while the write lock is held.
  const named = new Set<Hex>();
  for (const { event } of page.events) if ("paymentId" in event) named.add(event.paymentId.toLowerCase() as Hex);
  const current = await store.payments.getMany([...named]);
  const lookup = (id: Hex): PaymentRecord | null => current.get(id.toLowerCase() as Hex) ?? null;
  const changes: PaymentChange[] = [];
  const counts: AppliedCounts = {};
  const touched = new Set<Hex>();
  const touch = (payer: Hex) => touched.add(payer.toLowerCase() as Hex);
  const move = (
    payment: PaymentRecord,
    state: PaymentState | undefined,
    fields: Partial<PaymentRecord>,
    label: keyof AppliedCounts,
    event?: PaymentEventType,
  ) => {
    changes.push({ payment, state, fields, event });
    const at = Math.max(now, payment.updatedAt + 1);
    current.set(payment.id.toLowerCase() as Hex, {
      ...payment,
      ...fields,
      state: state ?? payment.state,
      updatedAt: at,
    });
    counts[label] = (counts[label] ?? 0) + 1;
  };
  /** The payment moves to `state` (counted under it) if it is known and may. */
  const advance = (id: Hex, state: PaymentState) => {
    const p = lookup(id);
    if (p && canMove(p.state, state)) move(p, state, {}, state);
  };
  /** Leaves of each (tx, batch) in tree order, and the escrow changes of the relayer's payments in it. */
  const batches = new Map<string, { leaves: Hex[]; escrowed: PaymentChange[] }>();
  const settled = new Map<bigint, Set<bigint>>();
  /** Per merchant: the position of the last settle payout (MerchantPaid / PayoutDeferred) in the page. */
  const paidAt = new Map<bigint, { block: bigint; logIndex: number }>();
  /**
   * The payment of a timer event at (block, logIndex), if known, in one of `from`, and the event is
   * later than the last one its timer applied; with the timer it starts from.
   */
  const timerOf = (
    id: Hex,
    from: readonly PaymentState[],
    block: bigint,
    logIndex: number,
  ): { p: PaymentRecord; timer: OrderTimer } | null => {
    const p = lookup(id);
    if (!p || !from.includes(p.state)) return null;
    const t = p.timer;
    if (t && (block < t.block || (block === t.block && logIndex <= t.logIndex))) return null;
    const timer: OrderTimer = t
      ? { ...t, block, logIndex }
      : {
          extensions: 0,
          refundRequests: 0,
          holdLeft: null,
          request: null,
          escalateBy: null,
          dueAt: null,
          block,
          logIndex,
        };
    return { p, timer };
  };
  /** A payment on its own timer leaves it (released, refunded, disputed): nothing left for the keeper. */
  const leftTimer = (p: PaymentRecord, block: bigint, logIndex: number): Partial<PaymentRecord> => {
    const on = timerOf(p.id, OWN_TIMER_STATES, block, logIndex);
    return on ? { timer: { ...on.timer, dueAt: null } } : {};
  };
  /** Whether a timer event at this position is stale for `p` (already applied, or restored after a reorg). */
  const staleFor = (p: PaymentRecord, block: bigint, logIndex: number): boolean =>
    p.timer != null && (block < p.timer.block || (block === p.timer.block && logIndex <= p.timer.logIndex));
  const adopt: { key: string; batchId: bigint; root: Hex; tx: Hex; blockNumber: bigint; blockHash: Hex }[] = [];

  for (const { event: e, tx, blockNumber, blockHash, logIndex } of page.events) {
    switch (e.name) {
      case "PaymentEscrowed": {
        // Counted for every escrowed log, known payment or not: it is the position in the tree.
        const leafKey = `${tx}:${e.batchId}`;
        let batch = batches.get(leafKey);
        if (!batch) batches.set(leafKey, (batch = { leaves: [], escrowed: [] }));
        const leafIndex = batch.leaves.length;
        batch.leaves.push(e.paymentId.toLowerCase() as Hex);
        const p = lookup(e.paymentId);
        if (!p || !canMove(p.state, PaymentState.Escrowed)) {
          // Not one of the payer's pending payments leaving with it: the ledger cannot follow it.
          touch(e.payer);
          continue;
        }
        move(
          p,
          PaymentState.Escrowed,
          {
            batchId: e.batchId,
            leafIndex,
            txHash: tx,
            releaseAt: page.releaseAt.get(runKey(tx, e.batchId, e.merchantId)) ?? null,
            rejectReason: null,
          },
          PaymentState.Escrowed,
        );
        batch.escrowed.push(changes[changes.length - 1]);
        break;
      }
      case "BatchEscrowed": {
        // Emitted after the batch's payments: the leaves of (tx, batch) are all known here.
        if (!own.has(e.submitter.toLowerCase())) {
          adopt.push({ key: `${tx}:${e.batchId}`, batchId: e.batchId, root: e.root, tx, blockNumber, blockHash });
        }
        break;
      }
      case "PaymentRejected": {
        const p = lookup(e.paymentId);
        if (!p || !canMove(p.state, PaymentState.Rejected)) continue;
        move(
          p,
          PaymentState.Rejected,
          { rejectReason: ONCHAIN_REJECT_REASONS[e.reason], txHash: tx },
          PaymentState.Rejected,
        );
        break;
      }
      case "PaymentConfirmed": {
        const p = lookup(e.paymentId);
        if (!p || !canMove(p.state, PaymentState.Released) || staleFor(p, blockNumber, logIndex)) continue;
        move(p, PaymentState.Released, leftTimer(p, blockNumber, logIndex), PaymentState.Released);
        break;
      }
      case "PaymentRefunded": {
        touch(e.payer);
        const p = lookup(e.paymentId);
        if (!p || !ONCHAIN_STATES.includes(p.state) || staleFor(p, blockNumber, logIndex)) continue;
        if (e.totalRefunded >= p.amount && canMove(p.state, PaymentState.Refunded)) {
          const fields = { refunded: e.totalRefunded, ...leftTimer(p, blockNumber, logIndex) };
          move(p, PaymentState.Refunded, fields, PaymentState.Refunded);
        } else if (e.totalRefunded > p.refunded) {
          // Cumulative on chain: only ever grows (an older log re-read after a rewind changes nothing).
          move(p, undefined, { refunded: e.totalRefunded }, "refundedPartly");
        }
        break;
      }
      case "DisputeOpened": {
        // From escrowed (the payer disputes) or from its own timer (a refund request escalated).
        const p = lookup(e.paymentId);
        if (!p || !canMove(p.state, PaymentState.Disputed) || staleFor(p, blockNumber, logIndex)) continue;
        move(p, PaymentState.Disputed, leftTimer(p, blockNumber, logIndex), PaymentState.Disputed);
        break;
      }
      case "HoldExtended": {
        const on = timerOf(e.paymentId, [PaymentState.Escrowed, PaymentState.Held], blockNumber, logIndex);
        if (!on) continue;
        const timer: OrderTimer = { ...on.timer, extensions: Number(e.extensions), dueAt: e.releaseAt };
        move(on.p, PaymentState.Held, { releaseAt: e.releaseAt, timer }, "holdExtended", "payment.hold_extended");
        break;
      }
      case "RefundRequested": {
        const on = timerOf(e.paymentId, [PaymentState.Escrowed, PaymentState.Held], blockNumber, logIndex);
        if (!on) continue;
        const timer: OrderTimer = {
          ...on.timer,
          refundRequests: on.timer.refundRequests + 1,
          holdLeft: e.holdLeft,
          request: { amount: e.amount, reason: Number(e.reason), respondBy: e.respondBy },
          escalateBy: null,
          // Unanswered by then, anyone may escalate it.
          dueAt: e.respondBy,
        };
        move(on.p, PaymentState.RefundRequested, { releaseAt: null, timer }, PaymentState.RefundRequested);
        break;
      }
      case "RefundRequestRejected": {
        const on = timerOf(e.paymentId, [PaymentState.RefundRequested], blockNumber, logIndex);
        if (!on) continue;
        const timer: OrderTimer = { ...on.timer, holdLeft: null, escalateBy: e.escalateBy, dueAt: e.releaseAt };
        move(
          on.p,
          PaymentState.RefundRejected,
          { releaseAt: e.releaseAt, timer },
          PaymentState.RefundRejected,
          "payment.refund_request_rejected",
        );
        break;
      }
      case "HoldResumed": {
        const on = timerOf(e.paymentId, [PaymentState.RefundRequested], blockNumber, logIndex);
        if (!on) continue;
        const timer: OrderTimer = { ...on.timer, holdLeft: null, request: null, dueAt: e.releaseAt };
        move(on.p, PaymentState.Held, { releaseAt: e.releaseAt, timer }, "holdResumed", "payment.hold_resumed");
        break;
      }
      case "PaymentReleased": {
        const on = timerOf(e.paymentId, OWN_TIMER_STATES, blockNumber, logIndex);
        if (!on) continue;
        move(on.p, PaymentState.Released, { timer: { ...on.timer, dueAt: null } }, PaymentState.Released);
        break;
      }
      case "MerchantPaid":
      case "PayoutDeferred":
        paidAt.set(e.merchantId, { block: blockNumber, logIndex });
        break;
      case "DisputeResolved": {
        touch(e.payer);
        advance(e.paymentId, PaymentState.Resolved);
        break;
      }
      case "TrancheSettled": {
        if (!settled.has(e.merchantId)) settled.set(e.merchantId, new Set());
        settled.get(e.merchantId)!.add(e.batchId);
        break;
      }
      case "Deposited":
      case "Withdrawn":
      case "NonceCancelled":
        touch(e.account);
        break;
      case "TrancheFunded":
        break; // read by decodeEscrowLogs (releaseAt)
    }
  }
  for (const a of adopt) {
    const batch = batches.get(a.key);
    // Only batches carrying a payment of the relayer's: others' batches are none of its business.
    if (!batch || batch.escrowed.length === 0) continue;
    const record = await store.batches.adopt({
      leaves: batch.leaves,
      batchId: a.batchId,
      root: a.root,
      txHash: a.tx,
      blockNumber: a.blockNumber,
      blockHash: a.blockHash,
    });
    for (const change of batch.escrowed) change.fields = { ...change.fields, batchKey: record.key };
    counts.adopted = (counts.adopted ?? 0) + batch.escrowed.length;
  }
  await writePaymentChanges(store, changes, now, ledger);

  // Settlements last: a tranche is settled after (never with) the escrows of its own payments.
  const settles: PaymentChange[] = [];
  if (settled.size > 0) {
    const batchIds = [...new Set([...settled.values()].flatMap((ids) => [...ids]))];
    for (const p of await store.payments.listByBatchIds(batchIds, [PaymentState.Escrowed, PaymentState.Released])) {
      // A tranche is one (batch, merchant): another merchant's payments in that batch stay held. A
      // payment released outside its tranche is settled by its merchant's payout below.
      if (p.batchId !== null && !p.timer && settled.get(p.merchantId)?.has(p.batchId)) {
        settles.push({ payment: p, state: PaymentState.Settled });
      }
    }
  }
  for (const [merchantId, at] of paidAt) {
    for (const p of await store.payments.listReleasedOffTranche(merchantId)) {
      const t = p.timer!;
      // Released after this payout (later in the page): the next settle pays it.
      if (t.block > at.block || (t.block === at.block && t.logIndex > at.logIndex)) continue;
      settles.push({ payment: p, state: PaymentState.Settled });
    }
  }
  await writePaymentChanges(store, settles, now, ledger);
  if (settles.length > 0) counts[PaymentState.Settled] = settles.length;
  return { counts, touched: [...touched] };
}
