import type { Hex, PaymentRecord, PaymentState } from "../domain";

/**
 * What the chain jobs tell the intake's account ledger (src/relayer/ledger), always from
 * `store.onCommit` so that the ledger only ever sees committed state, in commit order, and in the
 * same tick as the commit (no intake read can fall between the two).
 */
export interface LedgerListener {
  /** Payments whose state changed (`before` is the state they had, `after` the record as written). */
  paymentsChanged(changes: readonly { before: PaymentState; after: PaymentRecord }[]): void;
  /**
   * The watcher applied the escrow's events up to `block` (its cursor). `touched` are payers whose
   * balance or nonce window changed other than by one of their pending payments being escrowed:
   * deposits, withdrawals, cancelled nonces, refunds, dispute rulings, and payments escrowed that
   * the relayer did not know or could not move.
   */
  chainAdvanced(block: bigint, touched: readonly Hex[]): void;
  /** A reorg rewound the watcher to `block`: everything derived from later blocks is void. */
  rewound(block: bigint): void;
}

/** A listener that ignores everything (jobs run without an intake, e.g. in tools and tests). */
export const NO_LEDGER: LedgerListener = {
  paymentsChanged() {},
  chainAdvanced() {},
  rewound() {},
};
