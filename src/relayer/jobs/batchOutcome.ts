/**
 * What a batch transaction's fate means for the store (the submitter's handler for "batch:<key>").
 * Payment states are not set here: the chain watcher sets them from the escrow's events. This
 * records the batch's on-chain identity (id, root, transaction, block, gas) and puts the batch
 * back in the queue when its transaction never happened.
 */
import type { TransactionReceipt } from "ethers";
import { BatchState, PaymentState, type Hex } from "../domain";
import type { RelayerStore } from "../store/types";
import { escrowInterface } from "../chain/calldata";
import { REQUEUE_FIELDS, writePaymentChanges } from "./paymentChanges";
import type { Logger } from "./runtime";

/** Handles the fate of one purpose's transaction; called inside a store transaction. */
export interface PurposeHandler {
  /** Mined with enough confirmations (`receipt.status` 1, or 0 for a revert). */
  onMined(keys: string, receipt: TransactionReceipt): Promise<void>;
  /** Its nonce was consumed by a transaction it did not send: nothing it carried happened. */
  onDropped(keys: string): Promise<void>;
}

export const batchPurpose = (key: number): string => `batch:${key}`;

export function parsePurpose(purpose: string): { kind: string; keys: string } {
  const at = purpose.indexOf(":");
  return at < 0 ? { kind: purpose, keys: "" } : { kind: purpose.slice(0, at), keys: purpose.slice(at + 1) };
}

/** The BatchEscrowed event of `receipt`, if the escrow at `escrow` emitted one. */
export function batchEscrowedIn(receipt: TransactionReceipt, escrow: string): { batchId: bigint; root: Hex } | null {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== escrow.toLowerCase()) continue;
    const parsed = escrowInterface.parseLog(log);
    if (parsed?.name === "BatchEscrowed") return { batchId: parsed.args.batchId as bigint, root: parsed.args.root as Hex };
  }
  return null;
}

export function batchHandler(options: {
  store: RelayerStore;
  escrow: string;
  now: () => number;
  log: Logger;
}): PurposeHandler {
  const { store, escrow, log } = options;

  /** Payments of the batch the relayer still holds (not yet seen on chain) go back to `state`. */
  async function release(key: number, state: PaymentState): Promise<void> {
    const batch = await store.batches.get(key);
    if (!batch) return;
    const payments = (await Promise.all(batch.paymentIds.map((id) => store.payments.get(id)))).filter(
      (p) => p !== null && (p.state === PaymentState.Batched || p.state === PaymentState.Submitted),
    );
    const fields = state === PaymentState.Accepted ? REQUEUE_FIELDS : { txHash: null };
    await writePaymentChanges(
      store,
      payments.map((payment) => ({ payment: payment!, state, fields })),
      options.now(),
    );
  }

  return {
    async onMined(keys, receipt) {
      const key = Number(keys);
      const placed = {
        txHash: receipt.hash as Hex,
        blockNumber: BigInt(receipt.blockNumber),
        blockHash: receipt.blockHash as Hex,
        gasUsed: receipt.gasUsed,
      };
      if (receipt.status !== 1) {
        // Out of gas or similar: nothing was escrowed; the payments go back to the queue.
        log.error({ batch: key, txHash: receipt.hash }, "batch transaction reverted; payments requeued");
        await store.batches.update(key, { ...placed, state: BatchState.Empty });
        await release(key, PaymentState.Accepted);
        return;
      }
      const escrowed = batchEscrowedIn(receipt, escrow);
      await store.batches.update(key, {
        ...placed,
        state: escrowed ? BatchState.Confirmed : BatchState.Empty,
        batchId: escrowed?.batchId ?? null,
        root: escrowed?.root ?? null,
      });
    },
    async onDropped(keys) {
      const key = Number(keys);
      // Re-sent by the submitter with a fresh nonce; the calldata (the batch) stays the same.
      await store.batches.update(key, { state: BatchState.Built, txHash: null });
      await release(key, PaymentState.Batched);
    },
  };
}
