/**
 * Token events: balances from Transfer, supply from mints and burns (both as Mint/Burn events and
 * as Transfers from/to the zero address, which must agree), and every token movement of the escrow,
 * which the escrow's own events must account for.
 */
import { zeroAddress } from "viem";
import type { Address, TokenEvent } from "../types";
import type { Replay } from "./context";

export function applyTokenEvent(r: Replay, e: TokenEvent): void {
  const t = r.ledger.token;
  switch (e.eventName) {
    case "Transfer": {
      const { from, to, value } = e.args;
      t.transfers++;
      if (from === zeroAddress) t.mintedByTransfer += value;
      else move(r, from, -value, e.ref);
      if (to === zeroAddress) t.burnedByTransfer += value;
      else move(r, to, value, e.ref);
      // A transfer from the escrow to itself moves nothing and needs no explanation.
      if (from === r.target.escrow && to !== r.target.escrow) {
        r.ledger.escrowTransfers.push({ direction: "out", counterparty: to, amount: value, ref: e.ref });
      } else if (to === r.target.escrow && from !== r.target.escrow) {
        r.ledger.escrowTransfers.push({ direction: "in", counterparty: from, amount: value, ref: e.ref });
      }
      return;
    }
    case "Mint":
      t.minted += e.args.amount;
      t.mints.push({ minter: e.args.minter, to: e.args.to, amount: e.args.amount, ref: e.ref });
      return;
    case "Burn":
      t.burned += e.args.amount;
      t.burns.push({ burner: e.args.burner, amount: e.args.amount, ref: e.ref });
      return;
    default:
      return; // approvals, roles, pause, blocklist: no balance effect
  }
}

function move(r: Replay, holder: Address, delta: bigint, ref: TokenEvent["ref"]): void {
  const t = r.ledger.token;
  const balance = (t.balances.get(holder) ?? 0n) + delta;
  t.balances.set(holder, balance);
  t.lastRef.set(holder, ref);
  if (balance < 0n && !r.target.externalToken) {
    r.anomaly(
      "token.negative-balance",
      `holder ${holder}`,
      `Transfer events take ${holder}'s token balance below zero`,
      [ref],
      {
        actual: balance.toString(),
      },
    );
  }
}
