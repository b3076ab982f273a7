import { BatchTree } from "../../protocol";
import { BatchState, PaymentState, type BatchRecord, type Hex, type PaymentRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import type { Inclusion } from "../chain/chainWriter";
import type { InclusionView } from "../views";

/** States in which a payment is a leaf of its on-chain batch. */
export const ON_CHAIN_STATES: ReadonlySet<PaymentState> = new Set([
  PaymentState.Escrowed,
  PaymentState.Held,
  PaymentState.RefundRequested,
  PaymentState.RefundRejected,
  PaymentState.Released,
  PaymentState.Refunded,
  PaymentState.Disputed,
  PaymentState.Resolved,
  PaymentState.Settled,
]);
const UNSETTLED_STATES: ReadonlySet<PaymentState> = new Set([
  PaymentState.Accepted,
  PaymentState.Batched,
  PaymentState.Submitted,
]);
const CACHED_BATCHES = 256;

/**
 * Inclusion proofs of escrowed payments. The batch's tree is rebuilt from its payments in store
 * order (by leaf index when the watcher recorded it) keeping only those the escrow accepted, as
 * the escrow built its root; an adopted batch (sent by someone else) keeps its leaves as the
 * chain's logs listed them. A tree whose root differs from the recorded one is never served.
 * Trees of batches whose every item is decided are cached: their leaves can no longer change.
 */
export class InclusionProver {
  private readonly trees = new Map<number, BatchLeaves>();

  constructor(private readonly store: RelayerStore) {}

  async view(payment: PaymentRecord): Promise<InclusionView | null> {
    if (!ON_CHAIN_STATES.has(payment.state) || payment.batchKey === null || payment.batchId === null) return null;
    const batch = await this.leavesOf(payment.batchKey, payment.batchId);
    const leafIndex = batch?.index.get(payment.id.toLowerCase() as Hex);
    if (!batch || leafIndex === undefined) return null;
    const { tree } = batch;
    return { batchId: payment.batchId.toString(), root: tree.root, leafIndex, proof: tree.proof(leafIndex) };
  }

  async of(payment: PaymentRecord): Promise<Inclusion | null> {
    const view = await this.view(payment);
    return view && { batchId: BigInt(view.batchId), proof: view.proof };
  }

  private async leavesOf(batchKey: number, batchId: bigint): Promise<BatchLeaves | null> {
    const cached = this.trees.get(batchKey);
    if (cached) return cached;
    const batch = await this.store.batches.get(batchKey);
    if (!batch) return null;
    if (batch.state === BatchState.Adopted) return this.adopted(batchKey, batch);
    const records = (await Promise.all(batch.paymentIds.map((id) => this.store.payments.get(id)))).filter(
      (r): r is PaymentRecord => r !== null,
    );
    const leaves = records.filter((r) => ON_CHAIN_STATES.has(r.state) && r.batchId === batchId);
    if (leaves.length === 0) return null;
    if (leaves.every((r) => r.leafIndex !== null)) leaves.sort((a, b) => a.leafIndex! - b.leafIndex!);
    const ids = leaves.map((r) => r.id.toLowerCase() as Hex);
    const tree = new BatchTree(ids);
    if (batch.root !== null && batch.root.toLowerCase() !== tree.root) return null;
    const result = { tree, index: new Map(ids.map((id, i) => [id, i])) };
    if (!records.some((r) => UNSETTLED_STATES.has(r.state))) {
      if (this.trees.size >= CACHED_BATCHES) this.trees.delete(this.trees.keys().next().value!);
      this.trees.set(batchKey, result);
    }
    return result;
  }

  /** A batch someone else sent: its leaves were taken from the chain's logs, others' payments included. */
  private adopted(batchKey: number, batch: BatchRecord): BatchLeaves | null {
    const tree = new BatchTree(batch.paymentIds);
    if (batch.root === null || batch.root.toLowerCase() !== tree.root) return null;
    const result = { tree, index: new Map(batch.paymentIds.map((id, i) => [id.toLowerCase() as Hex, i])) };
    if (this.trees.size >= CACHED_BATCHES) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(batchKey, result);
    return result;
  }
}

interface BatchLeaves {
  tree: BatchTree;
  index: Map<Hex, number>;
}
