/**
 * The submitter's batch side: sending built batches (exactly one signed transaction per batch
 * unless its nonce is taken), and what a batch transaction's fate means for the store (the handler
 * for "batch:<key>"). Payment states after `submitted` are not set here: the chain watcher sets them
 * from the escrow's events. This records the batch's on-chain identity (id, root, transaction,
 * block, gas) and puts the batch back in the queue when its transaction never happened.
 */
import {
  BatchState,
  PaymentState,
  SubmissionState,
  type BatchRecord,
  type Hex,
  type PaymentRecord,
  type SubmissionRecord,
} from "../domain";
import type { RelayerStore } from "../store/types";
import type { LedgerListener } from "../ledger/listener";
import { encodePayBatch, encodePayBatchWithAuthorization } from "../chain/calldata";
import { isOneOff } from "../../protocol";
import { gasLimitFromEstimate } from "../chain/fees";
import { EscrowEventDecoder } from "../chain/escrowEvents";
import type { RawReceipt } from "../chain/rawTypes";
import { merchantRuns, modelGas, oneOffBatchGas, withContractSignatureGas, type PayBatchGasModel } from "./batcher";
import type { BuiltBatchRecords } from "./builtBatches";
import { REQUEUE_FIELDS, writePaymentChanges } from "./paymentChanges";
import type { Logger } from "../runtime/log";
import type { JobMetrics } from "./job";

/** Store writes to run inside the transaction that finalises a submission. */
export type StoreWrites = () => Promise<void>;

/** Handles the fate of one purpose's transaction. */
export interface PurposeHandler {
  /**
   * Mined with enough confirmations (`receipt.status` 1, or 0 for a revert). Called OUTSIDE any
   * store transaction, so reading the receipt never holds the store; returns the store writes,
   * which the submitter runs inside the transaction that marks the submission mined.
   */
  onMined(keys: string, receipt: RawReceipt): StoreWrites;
  /**
   * Its nonce was consumed by a transaction it did not send: nothing it carried happened. Called
   * inside the store transaction that fails the submission (store work only).
   */
  onDropped(keys: string): Promise<void>;
}

export const NO_STORE_WRITES: StoreWrites = async () => undefined;

const batchEscrowedDecoder = new EscrowEventDecoder(["BatchEscrowed"]);

export const batchPurpose = (key: number): string => `batch:${key}`;

export function parsePurpose(purpose: string): { kind: string; keys: string } {
  const at = purpose.indexOf(":");
  return at < 0 ? { kind: purpose, keys: "" } : { kind: purpose.slice(0, at), keys: purpose.slice(at + 1) };
}

/** The BatchEscrowed event of `receipt`, if the escrow at `escrow` emitted one. */
export function batchEscrowedIn(receipt: RawReceipt, escrow: string): { batchId: bigint; root: Hex } | null {
  const address = escrow.toLowerCase();
  // payBatch emits it last, after one event per payment: scan from the end.
  for (let i = receipt.logs.length - 1; i >= 0; i--) {
    const log = receipt.logs[i];
    if (!batchEscrowedDecoder.wants(log) || log.address !== address) continue;
    const event = batchEscrowedDecoder.decode(log)!;
    return { batchId: event.batchId, root: event.root };
  }
  return null;
}

export function batchHandler(options: {
  store: RelayerStore;
  escrow: string;
  now: () => number;
  log: Logger;
  ledger: LedgerListener;
}): PurposeHandler {
  const { store, escrow, log, ledger } = options;

  /** Payments of the batch the relayer still holds (not yet seen on chain) go back to `state`. */
  async function release(key: number, state: PaymentState): Promise<void> {
    const batch = await store.batches.get(key);
    if (!batch) return;
    const stored = await store.payments.getMany(batch.paymentIds);
    const payments = batch.paymentIds
      .map((id) => stored.get(id.toLowerCase() as Hex) ?? null)
      .filter((p) => p !== null && (p.state === PaymentState.Batched || p.state === PaymentState.Submitted));
    const fields = state === PaymentState.Accepted ? REQUEUE_FIELDS : { txHash: null };
    await writePaymentChanges(
      store,
      payments.map((payment) => ({ payment: payment!, state, fields })),
      options.now(),
      ledger,
    );
  }

  return {
    onMined(keys, receipt) {
      const key = Number(keys);
      const placed = {
        txHash: receipt.transactionHash,
        blockNumber: receipt.blockNumber,
        blockHash: receipt.blockHash,
        gasUsed: receipt.gasUsed,
      };
      if (receipt.status !== 1) {
        return async () => {
          // Out of gas or similar: nothing was escrowed; the payments go back to the queue.
          log.error({ batch: key, txHash: receipt.transactionHash }, "batch transaction reverted; payments requeued");
          await store.batches.update(key, { ...placed, state: BatchState.Empty });
          await release(key, PaymentState.Accepted);
        };
      }
      const escrowed = batchEscrowedIn(receipt, escrow);
      return async () => {
        await store.batches.update(key, {
          ...placed,
          state: escrowed ? BatchState.Confirmed : BatchState.Empty,
          batchId: escrowed?.batchId ?? null,
          root: escrowed?.root ?? null,
        });
      };
    },
    async onDropped(keys) {
      const key = Number(keys);
      // Re-sent by the submitter with a fresh nonce; the calldata (the batch) stays the same.
      await store.batches.update(key, { state: BatchState.Built, txHash: null });
      await release(key, PaymentState.Batched);
    },
  };
}

/** How long the batcher's gas estimate stands in for a new one when the batch is sent. */
export const BATCH_ESTIMATE_FRESH_MS = 30_000;

interface SendDeps {
  store: RelayerStore;
  ledger: LedgerListener;
  now: () => number;
  log: Logger;
  metrics?: JobMetrics;
  gasLimitFor(data: string, fallback: bigint): Promise<bigint>;
  /** Trusted model: ECDSA-signed batches are sent with its limit, no estimate (absent: never). */
  gasModel?: PayBatchGasModel;
  /** The submitter's record-then-broadcast (under its lock). */
  send(purpose: string, data: string, gasLimit: bigint): Promise<SubmissionRecord>;
  /** Payments of batches this process just built (absent or forgotten: read from the store). */
  builtBatches?: BuiltBatchRecords;
  /** The built batches this sender may send (a signer lane: those it claimed); default every one. */
  batches?: () => Promise<BatchRecord[]>;
}

/** Sends every built batch and marks it and its payments submitted. */
export async function sendBuiltBatches(deps: SendDeps): Promise<void> {
  const { store } = deps;
  for (const batch of await (deps.batches?.() ?? store.batches.listByState([BatchState.Built]))) {
    const previous = await store.submissions.listByPurpose(batchPurpose(batch.key));
    const live = previous.filter((s) => s.state === SubmissionState.Pending || s.state === SubmissionState.Mined);
    const built = deps.builtBatches?.take(batch) ?? null;
    if (live.length > 0) {
      // Sent before a crash, not yet marked: the record is the proof; never sign it again.
      await markSubmitted(deps, batch, live[live.length - 1]);
      continue;
    }
    const payments = built ?? (await storedPayments(store, batch));
    // The batcher builds a batch of one kind: one-off payments (payBatchWithAuthorization) or not.
    const oneOff = payments.length > 0 && isOneOff(payments[0]);
    if (payments.some((p) => isOneOff(p) !== oneOff)) throw new Error(`batch ${batch.key} mixes one-off payments`);
    const data = oneOff ? encodePayBatchWithAuthorization(payments) : encodePayBatch(payments);
    // ECDSA-signed payments: the measured model bounds the gas, no node call. Otherwise the batcher
    // simulated this exact calldata moments ago: a second eth_estimateGas would only make the node
    // execute the whole batch again. An older batch (a restart, a backlog) is estimated afresh.
    const model = modelGas(payments.length, merchantRuns(payments));
    const fresh = batch.gasEstimate !== null && deps.now() - batch.createdAt <= BATCH_ESTIMATE_FRESH_MS;
    // An ERC-1271 payer's wallet may have been cheap when estimated and burn its whole check budget
    // when mined: the limit carries every such budget (the escrow skips a check it cannot cover).
    const gasLimit = oneOff
      ? oneOffBatchGas(payments)
      : deps.gasModel?.bounds(payments)
        ? gasLimitFromEstimate(model)
        : withContractSignatureGas(
            fresh ? gasLimitFromEstimate(batch.gasEstimate!) : await deps.gasLimitFor(data, model),
            payments,
          );
    const submission = await deps.send(batchPurpose(batch.key), data, gasLimit);
    await markSubmitted(deps, batch, submission);
    deps.metrics?.batchSize.observe(payments.length);
    deps.log.info(
      { batch: batch.key, size: payments.length, nonce: submission.nonce, txHash: submission.txHash },
      "batch sent",
    );
  }
}

async function storedPayments(store: RelayerStore, batch: BatchRecord): Promise<PaymentRecord[]> {
  const stored = await store.payments.getMany(batch.paymentIds);
  return batch.paymentIds.map((id) => stored.get(id)).filter((p) => p !== undefined);
}

async function markSubmitted(deps: SendDeps, batch: BatchRecord, submission: SubmissionRecord): Promise<void> {
  const { store } = deps;
  await store.transaction(async () => {
    // Read inside: the watcher may have escrowed them already (automining nodes), and a state read
    // before the transaction would be written back over that.
    const stored = await store.payments.getMany(batch.paymentIds);
    const payments = batch.paymentIds.map((id) => stored.get(id) ?? null);
    await store.batches.update(batch.key, { state: BatchState.Submitted, txHash: submission.txHash });
    await writePaymentChanges(
      store,
      payments
        .filter((p) => p !== null && p.state === PaymentState.Batched)
        .map((payment) => ({
          payment: payment!,
          state: PaymentState.Submitted,
          fields: { txHash: submission.txHash },
        })),
      deps.now(),
      deps.ledger,
    );
  });
}
