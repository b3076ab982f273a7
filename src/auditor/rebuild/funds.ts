/**
 * Customer funds and escrow settings: deposits credit a payer's free balance (and announce a token
 * inflow from the payer), withdrawals debit it (and announce an outflow to `to`).
 */
import type { EventOf } from "../types";
import type { Replay } from "./context";

type FundsEvent = EventOf<
  "escrow",
  "Deposited" | "Withdrawn" | "FeeRecipientUpdated" | "DisputeTimeoutUpdated" | "NonceCancelled"
>;

export function applyFundsEvent(r: Replay, e: FundsEvent): void {
  switch (e.eventName) {
    case "Deposited": {
      const c = r.moveCustomer(e.args.account, e.args.amount, e.ref);
      c.deposited += e.args.amount;
      // Every credit is pulled from the credited account itself (transferFrom, or an EIP-3009
      // authorization signed by it), whoever submitted the transaction.
      r.announce("in", e.args.account, e.args.amount, e.ref);
      r.snapshot(e.ref);
      return;
    }
    case "Withdrawn": {
      const c = r.moveCustomer(e.args.account, -e.args.amount, e.ref);
      c.withdrawn += e.args.amount;
      r.announce("out", e.args.to, e.args.amount, e.ref);
      r.snapshot(e.ref);
      return;
    }
    case "FeeRecipientUpdated":
      r.ledger.feeRecipient = e.args.newRecipient;
      return;
    case "DisputeTimeoutUpdated":
      r.ledger.disputeTimeout = e.args.newTimeout;
      return;
    case "NonceCancelled":
      return;
  }
}
