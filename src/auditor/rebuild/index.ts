/**
 * Rebuild: replays every decoded event, in chain order, into a {@link Ledger}. Pure: no RPC, no
 * clock; the same events always rebuild the same ledger (which is what makes a resumed scan's
 * audit identical to a fresh one).
 */
import type { AuditEvent, AuditTarget, EscrowEvent } from "../types";
import { applyBatchEvent } from "./batches";
import { Replay } from "./context";
import { applyFundsEvent } from "./funds";
import type { EscrowFlow, Ledger } from "./ledger";
import { applyLifecycleEvent } from "./lifecycle";
import { applyRegistryEvent } from "./registry";
import { applySettlementEvent } from "./settlement";
import { applyTimerEvent } from "./timers";
import { applyTokenEvent } from "./token";

export function rebuild(events: readonly AuditEvent[], target: AuditTarget): Ledger {
  const r = new Replay(target);
  const ordered = [...events].sort((a, b) =>
    a.ref.blockNumber === b.ref.blockNumber
      ? a.ref.logIndex - b.ref.logIndex
      : a.ref.blockNumber < b.ref.blockNumber
        ? -1
        : 1,
  );
  for (const e of ordered) {
    if (e.ref.transactionHash !== r.tx) {
      endTransaction(r);
      r.tx = e.ref.transactionHash;
    }
    r.ledger.eventCounts[e.ref.event] = (r.ledger.eventCounts[e.ref.event] ?? 0) + 1;
    r.ledger.firstRef ??= e.ref;
    r.ledger.lastRef = e.ref;
    if (e.contract === "token") applyTokenEvent(r, e);
    else if (e.contract === "registry") applyRegistryEvent(r, e);
    else applyEscrowEvent(r, e);
  }
  endTransaction(r);
  for (const [batchId, pending] of r.pendingBatches) {
    const refs = pending.ids.map((id) => r.ledger.payments.get(id)!.escrowed);
    r.anomaly(
      "batch.uncommitted",
      `batch ${batchId}`,
      `payments were escrowed in batch ${batchId}, but no BatchEscrowed commits it`,
      refs,
    );
  }
  return r.ledger;
}

function applyEscrowEvent(r: Replay, e: EscrowEvent): void {
  switch (e.eventName) {
    case "Deposited":
    case "Withdrawn":
    case "FeeRecipientUpdated":
    case "DisputeTimeoutUpdated":
    case "NonceCancelled":
      return applyFundsEvent(r, e);
    case "PaymentEscrowed":
    case "PaymentRejected":
    case "TrancheFunded":
    case "BatchEscrowed":
      return applyBatchEvent(r, e);
    case "PaymentConfirmed":
    case "PaymentRefunded":
    case "DisputeOpened":
    case "DisputeResolved":
      return applyLifecycleEvent(r, e);
    case "HoldExtended":
    case "RefundRequested":
    case "RefundRequestRejected":
    case "HoldResumed":
    case "PaymentReleased":
      return applyTimerEvent(r, e);
    case "TrancheSettled":
    case "MerchantPaid":
    case "PayoutDeferred":
    case "Claimed":
    case "FeesCollected":
    case "SurplusSwept":
      return applySettlementEvent(r, e);
    case "BlocklistSynced":
      return; // the escrow's mirror of the token's blocklist: no balance moves
    default:
      return; // roles and admin: no accounting effect
  }
}

/**
 * Closes the current transaction: its settlements are complete, and every token movement of the
 * escrow in it is paired with the escrow event that explains it (same direction, counterparty and
 * amount). Whatever stays unpaired is for the reconciler to flag.
 */
function endTransaction(r: Replay): void {
  r.openSettlements.clear();
  for (const id of r.pendingResumes) {
    const p = r.ledger.payments.get(id)!;
    const resumed = p.timer?.resumePending;
    if (!resumed) continue;
    delete p.timer!.resumePending;
    r.anomaly(
      "timer.resume-without-refund",
      `payment ${id}`,
      `HoldResumed resumed the payment's clock, but no partial refund in its transaction answered the request`,
      [...p.history.map((h) => h.ref)],
    );
  }
  r.pendingResumes = [];
  const transfers = r.ledger.escrowTransfers.slice(r.txTransfersStart);
  const announced = r.ledger.escrowAnnouncements.slice(r.txAnnouncementsStart);
  for (const transfer of transfers) {
    const match = announced.find((a) => !a.matchedBy && sameFlow(a, transfer));
    if (match) {
      match.matchedBy = transfer.ref;
      transfer.matchedBy = match.ref;
    }
  }
  r.txTransfersStart = r.ledger.escrowTransfers.length;
  r.txAnnouncementsStart = r.ledger.escrowAnnouncements.length;
}

const sameFlow = (a: EscrowFlow, b: EscrowFlow): boolean =>
  a.direction === b.direction && a.amount === b.amount && a.counterparty === b.counterparty;

export type { Ledger } from "./ledger";
