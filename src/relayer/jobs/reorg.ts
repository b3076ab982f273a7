/**
 * Recovery of what a chain reorganisation undid. The watcher calls it before re-reading the logs
 * of the rewound blocks (which re-applies whatever the new chain still contains).
 *
 * For every finalised batch mined after the rewind point, its transaction is looked up again:
 *  - still mined in the same block: nothing to do;
 *  - mined in another block (re-included by the new chain): its payments go back to `submitted`
 *    so the re-read logs set their batch id and leaf index afresh;
 *  - back in the mempool: the batch and its transaction are pending again (the submitter follows it);
 *  - gone: the batch is `reorged`, its transactions failed, and its payments return to `accepted`
 *    (the batcher puts them in a new batch; if the old transaction ever resurfaces, the chain
 *    rejects the second escrow with nonce_unavailable, so a payment is still escrowed once).
 * An adopted batch (sent by someone else) that moved or vanished is `reorged` and its payments
 * return to `accepted`; the re-read logs escrow and adopt them again where the new chain has them.
 * Settlements confirmed recently get the same check; payments a vanished settlement had settled
 * return to released or escrowed as the escrow's per-payment record says.
 * Order timers: the timer states cycle, so re-reading cannot move them back. Every payment whose
 * timer an event above the rewind point wrote is set to what the escrow's record held at the rewind
 * block (state, release time, extensions, the request's pause and deadlines), stamped with that
 * block; the re-read logs then apply the new chain's timer events on top, in order.
 */
import {
  BatchState,
  PaymentState,
  SubmissionState,
  type BatchRecord,
  type Hex,
  type OrderTimer,
  type PaymentRecord,
  type SettlementRecord,
} from "../domain";
import { EscrowPaymentStatus } from "../../protocol";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import type { LedgerListener } from "../ledger/listener";
import { batchEscrowedIn, batchPurpose } from "./batchOutcome";
import {
  ONCHAIN_STATES,
  OFFCHAIN_STATES,
  REQUEUE_FIELDS,
  writePaymentChanges,
  type PaymentChange,
} from "./paymentChanges";
import { settlePurpose } from "./settlementOutcome";
import type { Logger } from "../runtime/log";

/** Confirmed settlements younger than this are re-checked after a reorg. */
export const REORG_SETTLEMENT_WINDOW_MS = 6 * 3600_000;
/** IPaymentEscrow.PaymentStatus, as the typechain reads it (bigint). */
const STATUS = Object.fromEntries(Object.entries(EscrowPaymentStatus).map(([k, v]) => [k, BigInt(v)])) as {
  [K in keyof typeof EscrowPaymentStatus]: bigint;
};

export interface ReorgOutcome {
  dropped: number[];
  moved: number[];
  pending: number[];
  settlementsUndone: number[];
  /** Payments whose order timer was put back as the chain had it at the rewind point. */
  timersRestored: number;
}

export async function recoverFromReorg(options: {
  store: RelayerStore;
  chain: ChainClient;
  rewindTo: bigint;
  now: number;
  log: Logger;
  ledger: LedgerListener;
}): Promise<ReorgOutcome> {
  const { store, chain, rewindTo, now, log, ledger } = options;
  const outcome: ReorgOutcome = { dropped: [], moved: [], pending: [], settlementsUndone: [], timersRestored: 0 };
  const finalised = await store.batches.listByState([BatchState.Confirmed, BatchState.Empty, BatchState.Adopted]);
  for (const batch of finalised) {
    if (batch.blockNumber === null || batch.blockNumber <= rewindTo || batch.txHash === null) continue;
    const receipt = await chain.receipt(batch.txHash);
    if (receipt && receipt.blockHash === batch.blockHash?.toLowerCase()) continue;
    if (batch.state === BatchState.Adopted) {
      // Not the relayer's transaction to follow: its payments go back to the queue; if the new
      // chain still escrows them, the re-read logs escrow and adopt them again.
      await store.transaction(async () => {
        await store.batches.update(batch.key, { state: BatchState.Reorged });
        const carried = (await paymentsOf(store, batch)).filter(
          (p) => p.batchKey === batch.key && ONCHAIN_STATES.includes(p.state),
        );
        await writePaymentChanges(
          store,
          carried.map((payment) => ({ payment, state: PaymentState.Accepted, fields: REQUEUE_FIELDS })),
          now,
          ledger,
        );
      });
      outcome.dropped.push(batch.key);
      continue;
    }
    const inPool = receipt ? null : await chain.transaction(batch.txHash);
    const escrowed = receipt ? batchEscrowedIn(receipt, chain.addresses.escrow) : null;
    await store.transaction(async () => {
      const payments = await paymentsOf(store, batch);
      if (receipt) {
        await store.batches.update(batch.key, {
          blockNumber: receipt.blockNumber,
          blockHash: receipt.blockHash,
          batchId: escrowed?.batchId ?? null,
          root: escrowed?.root ?? null,
          state: escrowed ? BatchState.Confirmed : BatchState.Empty,
        });
        await requeue(store, payments, batch, PaymentState.Submitted, now, ledger);
        outcome.moved.push(batch.key);
      } else if (inPool) {
        await store.batches.update(batch.key, { state: BatchState.Submitted, blockNumber: null, blockHash: null });
        await setSubmissions(store, batchPurpose(batch.key), batch.txHash!, SubmissionState.Pending);
        await requeue(store, payments, batch, PaymentState.Submitted, now, ledger);
        outcome.pending.push(batch.key);
      } else {
        await store.batches.update(batch.key, { state: BatchState.Reorged });
        await setSubmissions(store, batchPurpose(batch.key), null, SubmissionState.Failed);
        await requeue(store, payments, batch, PaymentState.Accepted, now, ledger);
        outcome.dropped.push(batch.key);
      }
    });
  }
  outcome.settlementsUndone = await recoverSettlements(store, chain, now, ledger);
  // After the batches: a payment whose batch went back to the queue has no timer any more.
  outcome.timersRestored = await recoverTimers(store, chain, rewindTo, now, ledger);
  if (
    outcome.dropped.length +
      outcome.moved.length +
      outcome.pending.length +
      outcome.settlementsUndone.length +
      outcome.timersRestored >
    0
  ) {
    log.warn({ rewindTo, ...outcome }, "reorg undid relayer transactions");
  }
  return outcome;
}

async function paymentsOf(store: RelayerStore, batch: BatchRecord): Promise<PaymentRecord[]> {
  const stored = await store.payments.getMany(batch.paymentIds);
  return batch.paymentIds.map((id) => stored.get(id.toLowerCase() as Hex)).filter((p) => p !== undefined);
}

/**
 * Puts the batch's payments that its transaction carried (escrowed or rejected by it, or still
 * waiting for it) into `state`. A payment escrowed by another transaction is left alone.
 */
async function requeue(
  store: RelayerStore,
  payments: PaymentRecord[],
  batch: BatchRecord,
  state: PaymentState,
  now: number,
  ledger: LedgerListener,
) {
  const hashes = new Set(
    (await store.submissions.listByPurpose(batchPurpose(batch.key))).map((s) => s.txHash.toLowerCase()),
  );
  const carried = (p: PaymentRecord) =>
    OFFCHAIN_STATES.includes(p.state) ||
    ((ONCHAIN_STATES.includes(p.state) || p.state === PaymentState.Rejected) &&
      p.txHash !== null &&
      hashes.has(p.txHash.toLowerCase()));
  const fields =
    state === PaymentState.Accepted ? REQUEUE_FIELDS : { ...REQUEUE_FIELDS, batchKey: batch.key, txHash: batch.txHash };
  const changes: PaymentChange[] = payments.filter(carried).map((payment) => ({ payment, state, fields }));
  await writePaymentChanges(store, changes, now, ledger);
}

/** Sets the purpose's submissions (or only the one with `txHash`) to `state`. */
async function setSubmissions(store: RelayerStore, purpose: string, txHash: Hex | null, state: SubmissionState) {
  for (const s of await store.submissions.listByPurpose(purpose)) {
    if (txHash === null || s.txHash.toLowerCase() === txHash.toLowerCase())
      await store.submissions.setState(s.id, state);
  }
}

async function recoverSettlements(
  store: RelayerStore,
  chain: ChainClient,
  now: number,
  ledger: LedgerListener,
): Promise<number[]> {
  const recent = (await store.settlements.listByState(["confirmed", "deferred"])).filter(
    (s) => s.txHash !== null && now - s.updatedAt < REORG_SETTLEMENT_WINDOW_MS,
  );
  const byTx = new Map<string, SettlementRecord[]>();
  for (const s of recent) byTx.set(s.txHash!.toLowerCase(), [...(byTx.get(s.txHash!.toLowerCase()) ?? []), s]);
  const undone: number[] = [];
  for (const [txHash, records] of byTx) {
    if (await chain.receipt(txHash as Hex)) continue;
    const inPool = await chain.transaction(txHash as Hex);
    const purpose = settlePurpose(records.map((r) => r.key));
    // Payments this settlement marked settled: back to what the escrow's own record says.
    const restore: PaymentChange[] = [];
    if (!inPool) {
      for (const record of records) {
        const batchIds = new Set(record.batchIds);
        let cursor: string | undefined;
        do {
          const page = await store.payments.list({
            merchantId: record.merchantId,
            states: [PaymentState.Settled],
            limit: 500,
            cursor,
          });
          for (const p of page.items) {
            if (p.batchId === null || !batchIds.has(p.batchId)) continue;
            const status = (await chain.rpc("escrow.paymentRecord", () => chain.escrow.paymentRecord(p.id))).status;
            restore.push({
              payment: p,
              state:
                status === STATUS.Confirmed || status === STATUS.Released
                  ? PaymentState.Released
                  : PaymentState.Escrowed,
            });
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        // Payments released outside their tranche are settled by their merchant's payout, not by a
        // tranche: those settled since this settlement was made go back to released.
        const restored = new Set(restore.map((r) => r.payment.id));
        const offTranche = await store.payments.list({
          merchantId: record.merchantId,
          states: [PaymentState.Settled],
          limit: 500,
        });
        for (const p of offTranche.items) {
          if (p.timer && p.updatedAt >= record.createdAt && !restored.has(p.id)) {
            restore.push({ payment: p, state: PaymentState.Released });
          }
        }
      }
    }
    await store.transaction(async () => {
      for (const r of records) await store.settlements.update(r.key, { state: inPool ? "submitted" : "failed" });
      await setSubmissions(store, purpose, txHash as Hex, inPool ? SubmissionState.Pending : SubmissionState.Failed);
      await writePaymentChanges(store, restore, now, ledger);
    });
    undone.push(...records.map((r) => r.key));
  }
  return undone;
}

/**
 * Puts every payment whose order timer an event above `rewindTo` wrote back to the escrow's record
 * at block `rewindTo` (see the header). Returns how many were restored.
 */
async function recoverTimers(
  store: RelayerStore,
  chain: ChainClient,
  rewindTo: bigint,
  now: number,
  ledger: LedgerListener,
): Promise<number> {
  const touched = (await store.payments.listTimersAfter(rewindTo)).filter((p) => ONCHAIN_STATES.includes(p.state));
  if (touched.length === 0) return 0;
  const blockTag = Number(rewindTo);
  // Before the escrow's deployment block every payment is untouched (and there is no code to ask).
  const deployed = rewindTo >= chain.addresses.startBlock;
  const restore: PaymentChange[] = [];
  for (const p of touched) {
    const r = deployed
      ? await chain.rpc("escrow.paymentRecord", () => chain.escrow.paymentRecord(p.id, { blockTag }))
      : null;
    const status = r?.status ?? STATUS.None;
    // Stamped with the rewind block: every re-read log is later, so it applies again.
    const position = { block: rewindTo, logIndex: Number.MAX_SAFE_INTEGER };
    const fields: Partial<PaymentRecord> = { refunded: r?.refunded ?? 0n };
    let state: PaymentState;
    if (r === null || status === STATUS.None) {
      // Untouched in its tranche then (its tranche could not have settled: a timer event followed),
      // or escrowed after the rewind point by a batch that kept its block: back to escrowed, with
      // its tranche's release time, the batch block's time plus its hold.
      state = PaymentState.Escrowed;
      fields.timer = null;
      fields.releaseAt = await trancheReleaseAt(store, chain, p);
    } else {
      const ownTimer = status === STATUS.Held || status === STATUS.RefundRequested || status === STATUS.RefundRejected;
      // The request's amount and reason are in its event only: kept when it is the same request.
      const sameRequest = p.timer?.request && p.timer.refundRequests === Number(r.refundRequests);
      const request =
        (status === STATUS.RefundRequested || status === STATUS.RefundRejected) && sameRequest
          ? p.timer!.request
          : null;
      const timer: OrderTimer = {
        extensions: Number(r.extensions),
        refundRequests: Number(r.refundRequests),
        holdLeft: status === STATUS.RefundRequested ? r.holdLeft : null,
        request:
          request ?? (status === STATUS.RefundRequested ? { amount: 0n, reason: 0, respondBy: r.deadline } : null),
        escalateBy: status === STATUS.RefundRejected ? r.deadline : null,
        dueAt: !ownTimer ? null : status === STATUS.RefundRequested ? r.deadline : r.releaseAt,
        ...position,
      };
      // A payment that never left its tranche (confirmed, refunded or disputed from it) has no timer.
      fields.timer = r.batchId === 0n ? null : timer;
      if (ownTimer) fields.releaseAt = status === STATUS.RefundRequested ? null : r.releaseAt;
      state = STATE_OF_STATUS.get(status) ?? p.state;
    }
    restore.push({ payment: p, state, fields });
  }
  await store.transaction(() => writePaymentChanges(store, restore, now, ledger));
  return restore.length;
}

async function trancheReleaseAt(store: RelayerStore, chain: ChainClient, p: PaymentRecord): Promise<bigint | null> {
  const batch = p.batchKey === null ? null : await store.batches.get(p.batchKey);
  if (!batch || batch.blockNumber === null) return null;
  const block = await chain.block(batch.blockNumber);
  return block ? BigInt(block.timestamp) + p.hold : null;
}

const STATE_OF_STATUS = new Map<bigint, PaymentState>([
  [STATUS.Confirmed, PaymentState.Released],
  [STATUS.Refunded, PaymentState.Refunded],
  [STATUS.Disputed, PaymentState.Disputed],
  [STATUS.Resolved, PaymentState.Resolved],
  [STATUS.Held, PaymentState.Held],
  [STATUS.RefundRequested, PaymentState.RefundRequested],
  [STATUS.RefundRejected, PaymentState.RefundRejected],
  [STATUS.Released, PaymentState.Released],
]);
