/**
 * Settlement and payouts: TrancheSettled (a tranche leaves held, its fee accrues), then one
 * MerchantPaid or PayoutDeferred per merchant entry paying the tranches net of fees plus the
 * merchant's released balance; Claimed pays deferred payouts, FeesCollected the protocol's fees,
 * SurplusSwept the tokens the escrow held beyond what it owes.
 *
 * The escrow emits every TrancheSettled of a settle call before any payout, so when a payout event
 * arrives, the net of all of the merchant's tranches in the transaction is known: whatever the
 * payouts exceed it by is released balance being paid.
 */
import type { EventOf, EventRef } from "../types";
import type { Replay } from "./context";
import type { MerchantState, SettlementRecord } from "./ledger";

type SettlementEvent = EventOf<
  "escrow",
  "TrancheSettled" | "MerchantPaid" | "PayoutDeferred" | "Claimed" | "FeesCollected" | "SurplusSwept"
>;

export function applySettlementEvent(r: Replay, e: SettlementEvent): void {
  const ledger = r.ledger;
  switch (e.eventName) {
    case "TrancheSettled": {
      const { batchId, merchantId, amount, fee } = e.args;
      const t = r.tranche(batchId, merchantId);
      if (t.fundings.length === 0) {
        r.anomaly("tranche.unknown", `tranche ${batchId}/${merchantId}`, `settled a tranche that was never funded`, [
          e.ref,
        ]);
      } else if (t.settled) {
        r.anomaly("tranche.settled-twice", `tranche ${batchId}/${merchantId}`, `tranche settled twice`, [
          t.settled.ref,
          e.ref,
        ]);
      }
      t.settled = { amount, fee, expectedAmount: t.amount, ref: e.ref };
      t.amount -= amount;
      r.bucket("held", -amount, e.ref);
      r.bucket("fees", fee, e.ref);
      ledger.feesAccrued += fee;
      for (const id of t.paymentIds) {
        const p = ledger.payments.get(id)!;
        // A payment on its own timer left the tranche before it settled.
        if (p.status !== "held" || p.timer) continue;
        p.status = "settled";
        p.settled = { amount: p.amount - p.refunded, ref: e.ref };
        p.history.push({
          kind: "settled",
          ref: e.ref,
          amount: p.amount - p.refunded,
          detail: `with tranche ${batchId}/${merchantId}`,
        });
      }
      const m = r.merchant(merchantId, e.ref);
      if (!m) return;
      m.held -= amount;
      m.feesCharged += fee;
      m.settledGross += amount;
      const s = openSettlement(r, m, e.ref);
      s.tranches.push({ batchId, amount, fee, ref: e.ref });
      s.net += amount - fee;
      r.statement(m, { ref: e.ref, kind: "tranche-settled", batchId, gross: amount, fee, payout: 0n });
      r.snapshot(e.ref);
      return;
    }
    case "MerchantPaid":
    case "PayoutDeferred": {
      const { merchantId, payout, amount } = e.args;
      const m = r.merchant(merchantId, e.ref);
      if (!m) return;
      const s = openSettlement(r, m, e.ref);
      const paidBefore = s.payouts.reduce((sum, x) => sum + x.amount, 0n);
      const deferred = e.eventName === "PayoutDeferred";
      s.payouts.push({
        kind: deferred ? "deferred" : "paid",
        address: payout,
        expectedAddress: m.payout,
        amount,
        ref: e.ref,
      });
      // Payouts beyond the transaction's tranche net come out of the released balance.
      const releasedNow = max0(paidBefore + amount - s.net) - s.releasedUsed;
      s.releasedUsed += releasedNow;
      m.released -= releasedNow;
      r.bucket("released", -releasedNow, e.ref);
      if (deferred) {
        m.deferred += amount;
        m.claimable += amount;
        r.bucket("claimable", amount, e.ref);
      } else {
        m.paid += amount;
        r.announce("out", payout, amount, e.ref);
      }
      r.statement(m, {
        ref: e.ref,
        kind: deferred ? "deferred" : "paid",
        gross: amount,
        fee: 0n,
        payout: deferred ? 0n : amount,
        counterparty: payout,
      });
      r.snapshot(e.ref);
      return;
    }
    case "Claimed": {
      const { merchantId, payout, amount } = e.args;
      const m = r.merchant(merchantId, e.ref);
      if (!m) return;
      ledger.claims.push({
        merchantId,
        address: payout,
        expectedAddress: m.payout,
        amount,
        claimableBefore: m.claimable,
        ref: e.ref,
      });
      m.claimable -= amount;
      m.claimed += amount;
      r.bucket("claimable", -amount, e.ref);
      r.announce("out", payout, amount, e.ref);
      r.statement(m, { ref: e.ref, kind: "claimed", gross: amount, fee: 0n, payout: amount, counterparty: payout });
      r.snapshot(e.ref);
      return;
    }
    case "FeesCollected": {
      const { recipient, amount } = e.args;
      ledger.feeCollections.push({
        recipient,
        expectedRecipient: ledger.feeRecipient ?? recipient,
        amount,
        accruedBefore: ledger.totals.fees,
        ref: e.ref,
      });
      r.bucket("fees", -amount, e.ref);
      r.announce("out", recipient, amount, e.ref);
      r.snapshot(e.ref);
      return;
    }
    case "SurplusSwept": {
      // Owed to no one, so no bucket moves; a sweep beyond the surplus shows as a shortfall.
      const { to, amount } = e.args;
      ledger.surplusSweeps.push({ to, amount, ref: e.ref });
      r.announce("out", to, amount, e.ref);
      return;
    }
  }
}

/** The merchant's settlement record of the current transaction (created on its first event). */
function openSettlement(r: Replay, m: MerchantState, ref: EventRef): SettlementRecord {
  let s = r.openSettlements.get(m.id);
  if (!s) {
    s = {
      transactionHash: ref.transactionHash,
      merchantId: m.id,
      tranches: [],
      net: 0n,
      // Nothing in a settle transaction moves released funds before its payouts.
      releasedBefore: m.released,
      releasedUsed: 0n,
      payouts: [],
      ref,
    };
    r.openSettlements.set(m.id, s);
    r.ledger.settlements.push(s);
  }
  return s;
}

const max0 = (x: bigint): bigint => (x > 0n ? x : 0n);
