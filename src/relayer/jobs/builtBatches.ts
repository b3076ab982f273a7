import type { Hex, PaymentRecord } from "../domain";

/**
 * At most this many batches are remembered. The batcher builds a batch only while none waits to be
 * sent, so one or two are the most ever held; the bound keeps a batch that is never sent from this
 * process (its state changed under it) from being held for ever.
 */
const MAX_REMEMBERED = 8;

/**
 * The payments of batches this process built and has not sent yet, exactly as the batcher wrote
 * them (state batched, their batch key and update time). Sending a batch needs every payment to
 * encode the calldata, and reading a batch's rows back from the store right after writing them
 * would cost the HTTP thread. After a restart nothing is remembered and the submitter reads the store.
 */
export class BuiltBatchRecords {
  private readonly byKey = new Map<number, readonly PaymentRecord[]>();

  /** Called by the batcher once the batch's transaction has committed. */
  remember(key: number, payments: readonly PaymentRecord[]): void {
    this.byKey.set(key, payments);
    while (this.byKey.size > MAX_REMEMBERED) this.byKey.delete(this.byKey.keys().next().value as number);
  }

  /**
   * The batch's payments in its order, if this process built it with exactly these ids; null
   * otherwise. Forgets the batch either way: a batch is sent once, and a re-send after a dropped
   * transaction reads the store afresh.
   */
  take(batch: { key: number; paymentIds: readonly Hex[] }): PaymentRecord[] | null {
    const payments = this.byKey.get(batch.key);
    this.byKey.delete(batch.key);
    if (!payments || payments.length !== batch.paymentIds.length) return null;
    for (let i = 0; i < payments.length; i++) if (payments[i].id !== batch.paymentIds[i]) return null;
    return [...payments];
  }

  get size(): number {
    return this.byKey.size;
  }
}
