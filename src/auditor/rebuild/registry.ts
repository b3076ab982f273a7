/**
 * Registry events: who each merchant is, where it is paid, and on what terms, over time. The terms
 * in force when a tranche was funded are what its fee must follow, so the history is kept.
 */
import type { EventRef, RegistryEvent } from "../types";
import type { Replay } from "./context";
import type { MerchantState } from "./ledger";

export function applyRegistryEvent(r: Replay, e: RegistryEvent): void {
  const merchants = r.ledger.merchants;
  switch (e.eventName) {
    case "MerchantRegistered": {
      const { merchantId, owner, payout, feeBps, minHold, maxHold, metadata } = e.args;
      if (merchants.has(merchantId)) {
        r.anomaly("merchant.duplicate", `merchant ${merchantId}`, `merchant ${merchantId} registered twice`, [
          merchants.get(merchantId)!.registered,
          e.ref,
        ]);
        return;
      }
      merchants.set(merchantId, {
        id: merchantId,
        owner,
        owners: [owner],
        payout,
        feeBps,
        minHold,
        maxHold,
        status: 1, // Active
        metadata,
        registered: e.ref,
        terms: [{ feeBps, minHold, maxHold, ref: e.ref }],
        held: 0n,
        released: 0n,
        claimable: 0n,
        escrowed: 0n,
        refunded: 0n,
        feesCharged: 0n,
        settledGross: 0n,
        paid: 0n,
        deferred: 0n,
        claimed: 0n,
        lastRef: e.ref,
        statement: [],
      });
      return;
    }
    case "MerchantTermsUpdated": {
      const m = r.merchant(e.args.merchantId, e.ref);
      if (!m) return;
      m.feeBps = e.args.feeBps;
      m.minHold = e.args.minHold;
      m.maxHold = e.args.maxHold;
      m.terms.push({ feeBps: e.args.feeBps, minHold: e.args.minHold, maxHold: e.args.maxHold, ref: e.ref });
      return;
    }
    case "MerchantPayoutRotated": {
      const m = r.merchant(e.args.merchantId, e.ref);
      if (!m) return;
      checkPrevious(r, m, "merchant.payout-history", "payout rotated", e.args.previousPayout, m.payout, e.ref);
      m.payout = e.args.newPayout;
      return;
    }
    case "MerchantOwnerRotated": {
      const m = r.merchant(e.args.merchantId, e.ref);
      if (!m) return;
      m.owner = e.args.newOwner;
      m.owners.push(e.args.newOwner);
      return;
    }
    case "MerchantStatusChanged": {
      const m = r.merchant(e.args.merchantId, e.ref);
      if (!m) return;
      checkPrevious(r, m, "merchant.status-history", "status changed", e.args.previousStatus, m.status, e.ref);
      m.status = e.args.newStatus;
      return;
    }
    case "MerchantMetadataUpdated": {
      const m = r.merchant(e.args.merchantId, e.ref);
      if (m) m.metadata = e.args.metadata;
      return;
    }
    default:
      return; // role and admin events: nothing to rebuild
  }
}

/** A change event names the value it replaced: it must be the one the events so far had. */
function checkPrevious<T>(
  r: Replay,
  m: MerchantState,
  check: string,
  change: string,
  previous: T,
  had: T,
  ref: EventRef,
): void {
  if (had !== previous) {
    r.anomaly(check, `merchant ${m.id}`, `${change} from ${previous}, but the events had it at ${had}`, [ref]);
  }
}
