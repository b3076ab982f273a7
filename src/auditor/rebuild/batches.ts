/**
 * The batch path: PaymentEscrowed (one per accepted item, in order: the batch's Merkle leaves),
 * PaymentRejected, TrancheFunded (one per merchant run) and finally BatchEscrowed with the root.
 */
import { BatchTree } from "../../protocol";
import type { EventOf } from "../types";
import type { Replay } from "./context";

type BatchEvent = EventOf<"escrow", "PaymentEscrowed" | "PaymentRejected" | "TrancheFunded" | "BatchEscrowed">;

export function applyBatchEvent(r: Replay, e: BatchEvent): void {
  const ledger = r.ledger;
  switch (e.eventName) {
    case "PaymentEscrowed": {
      const { paymentId, payer, merchantId, batchId, amount } = e.args;
      const earlier = ledger.payments.get(paymentId);
      if (earlier) {
        r.anomaly("payment.duplicate", `payment ${paymentId}`, `payment ${paymentId} was escrowed twice`, [
          earlier.escrowed,
          e.ref,
        ]);
        return;
      }
      const c = r.moveCustomer(payer, -amount, e.ref);
      c.escrowed += amount;
      let pending = r.pendingBatches.get(batchId);
      if (!pending) r.pendingBatches.set(batchId, (pending = { ids: [], total: 0n, merchantIds: [] }));
      pending.ids.push(paymentId);
      pending.total += amount;
      const t = r.tranche(batchId, merchantId);
      t.paymentIds.push(paymentId);
      t.escrowedSum += amount;
      ledger.payments.set(paymentId, {
        id: paymentId,
        payer,
        merchantId,
        batchId,
        index: pending.ids.length - 1,
        amount,
        status: "held",
        recordStatus: 0,
        touched: false,
        refunded: 0n,
        escrowed: e.ref,
        refunds: [],
        history: [{ kind: "escrowed", ref: e.ref, amount }],
      });
      const m = r.merchant(merchantId, e.ref);
      if (m) {
        m.escrowed += amount;
        r.statement(m, { ref: e.ref, kind: "escrowed", batchId, paymentId, gross: amount, fee: 0n, payout: 0n });
      }
      return;
    }
    case "PaymentRejected":
      ledger.rejections.push({ paymentId: e.args.paymentId, payer: e.args.payer, reason: e.args.reason, ref: e.ref });
      return;
    case "TrancheFunded": {
      const { batchId, merchantId, amount, releaseAt, feeBps } = e.args;
      const t = r.tranche(batchId, merchantId);
      const m = r.merchant(merchantId, e.ref);
      let pending = r.pendingBatches.get(batchId);
      if (!pending) r.pendingBatches.set(batchId, (pending = { ids: [], total: 0n, merchantIds: [] }));
      if (!pending.merchantIds.includes(merchantId)) pending.merchantIds.push(merchantId);
      t.funded += amount;
      t.amount += amount;
      t.releaseAt = releaseAt;
      t.feeBps = feeBps;
      t.fundings.push({
        amount,
        releaseAt,
        feeBps,
        // The escrow reads the registry's current terms when it funds a tranche, and escrows a run
        // only if its hold lies within the merchant's bounds.
        expectedFeeBps: m?.feeBps,
        expectedHold: m ? { minHold: m.minHold, maxHold: m.maxHold } : undefined,
        ref: e.ref,
      });
      r.bucket("held", amount, e.ref);
      if (m) m.held += amount;
      r.snapshot(e.ref);
      return;
    }
    case "BatchEscrowed": {
      const { batchId, root, paymentCount, total, submitter } = e.args;
      const earlier = ledger.batches.get(batchId);
      if (earlier) {
        r.anomaly("batch.duplicate", `batch ${batchId}`, `batch ${batchId} was committed twice`, [earlier.ref, e.ref]);
        return;
      }
      const pending = r.pendingBatches.get(batchId) ?? { ids: [], total: 0n, merchantIds: [] };
      r.pendingBatches.delete(batchId);
      const tranches = pending.merchantIds.map((merchantId) => r.tranche(batchId, merchantId));
      ledger.batches.set(batchId, {
        id: batchId,
        root,
        paymentCount,
        total,
        submitter,
        ref: e.ref,
        paymentIds: pending.ids,
        escrowedTotal: pending.total,
        rebuiltRoot: pending.ids.length > 0 ? new BatchTree(pending.ids).root : undefined,
        trancheFunded: tranches.reduce((sum, t) => sum + t.funded, 0n),
        merchantIds: tranches.map((t) => t.merchantId),
      });
      return;
    }
  }
}
