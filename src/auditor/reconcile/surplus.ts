/**
 * Tokens the escrow holds beyond what it owes (sent to it outside the protocol) are owed to no one:
 * anyone can send them, so they are reported as their own line rather than as a mismatch, until the
 * admin sweeps them (SurplusSwept). Holding less than owed is a shortfall, which the flow and chain
 * checks flag.
 */
import { sumBuckets, type AuditTarget } from "../types";
import type { ChainState } from "../onchain";
import type { EscrowFlow, Ledger, SurplusSweep } from "../rebuild/ledger";

export interface Surplus {
  /** Transfer-derived escrow balance minus the rebuilt liabilities; zero when there is none. */
  rebuilt: bigint;
  /** balanceOf(escrow) minus escrow.liabilities() at the audited block; zero when there is none. */
  onChain: bigint;
  /** Transfers into the escrow that no protocol event explains: where surplus came from. */
  inflows: EscrowFlow[];
  /** Everything the admin swept so far, and each sweep. */
  swept: bigint;
  sweeps: SurplusSweep[];
}

export function surplusOf(ledger: Ledger, chain: ChainState, target: AuditTarget): Surplus {
  const positive = (x: bigint): bigint => (x > 0n ? x : 0n);
  return {
    rebuilt: positive((ledger.token.balances.get(target.escrow) ?? 0n) - sumBuckets(ledger.totals)),
    onChain: positive(chain.escrowTokenBalance - sumBuckets(chain.liabilities)),
    inflows: unexplainedInflows(ledger),
    swept: ledger.surplusSweeps.reduce((sum, s) => sum + s.amount, 0n),
    sweeps: ledger.surplusSweeps,
  };
}

export function unexplainedInflows(ledger: Ledger): EscrowFlow[] {
  return ledger.escrowTransfers.filter((t) => !t.matchedBy && t.direction === "in");
}
