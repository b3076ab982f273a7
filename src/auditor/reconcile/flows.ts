/**
 * Token-side checks from events alone: every token movement into or out of the escrow must be
 * explained by an escrow event in the same transaction (and every such event by a movement); the
 * escrow's token balance from Transfer events must equal the sum of what it owes; supply events
 * (Mint, Burn) must agree with the Transfers from and to the zero address.
 *
 * Tokens sent straight to the escrow (a plain transfer, outside deposit) are owed to no one: they
 * are surplus, reported on its own line (./surplus), not a mismatch. Holding less than owed is.
 */
import { sumBuckets, type AuditTarget, type EventRef, type Mismatch } from "../types";
import type { Ledger } from "../rebuild/ledger";
import { amountText, mismatch, type MismatchInput } from "./mismatch";

export function checkFlows(ledger: Ledger, target: AuditTarget): Mismatch[] {
  const out: Mismatch[] = [];
  const add = (input: MismatchInput): void => void out.push(mismatch("events", input));
  const unexplained = ledger.escrowTransfers.filter((t) => !t.matchedBy && t.direction === "out");
  for (const t of unexplained) {
    add({
      check: "escrow.unexplained-transfer",
      subject: `transfer to ${t.counterparty}`,
      message: `${amountText(t.amount)} left the escrow to ${t.counterparty} with no Withdrawn, MerchantPaid, Claimed, FeesCollected or SurplusSwept accounting for it`,
      actual: t.amount,
      events: [t.ref],
    });
  }
  for (const a of ledger.escrowAnnouncements.filter((x) => !x.matchedBy)) {
    add({
      check: "escrow.unbacked-event",
      subject: `${a.ref.event} ${a.direction === "in" ? "from" : "to"} ${a.counterparty}`,
      message: `${a.ref.event} reports ${amountText(a.amount)}, but no matching token Transfer ${a.direction === "in" ? "into" : "out of"} the escrow happened in that transaction`,
      expected: a.amount,
      events: [a.ref],
    });
  }
  const held = ledger.token.balances.get(target.escrow) ?? 0n;
  const owed = sumBuckets(ledger.totals);
  if (held < owed) {
    add({
      check: "escrow.solvency",
      subject: "escrow token balance",
      message: `the escrow holds ${amountText(owed - held)} less than it owes (Transfer events ${amountText(held)}, liabilities ${amountText(owed)})`,
      expected: owed,
      actual: held,
      events: unexplained.length > 0 ? unexplained.map((t) => t.ref) : ledger.lastRef ? [ledger.lastRef] : [],
    });
  }
  // A token that predates the deployment has mints and burns we never saw.
  if (!target.externalToken) {
    const t = ledger.token;
    // Mint and Burn events against the Transfers from and to the zero address.
    const supply = (kind: "mint" | "burn", total: bigint, byTransfer: bigint, events: { ref: EventRef }[]) => {
      if (total === byTransfer) return;
      const [name, direction] = kind === "mint" ? ["Mint", "from"] : ["Burn", "to"];
      add({
        check: `token.${kind}-events`,
        subject: "token supply",
        message: `${name} events total ${amountText(total)}, Transfers ${direction} the zero address ${amountText(byTransfer)}`,
        expected: byTransfer,
        actual: total,
        events: events.map((e) => e.ref),
      });
    };
    supply("mint", t.minted, t.mintedByTransfer, t.mints);
    supply("burn", t.burned, t.burnedByTransfer, t.burns);
  }
  return out;
}
