/**
 * The escrow's fee rule (EscrowStorage.fee): the fee in basis points, rounded up, on each aggregate
 * it is charged on (a tranche, a confirmed payment, a ruling). Splitting an amount never pays less
 * fee than the whole would; the dust goes to the protocol. test/protocol/fees.test.ts checks it
 * against the contract.
 */

/** Basis points in one whole. */
export const BPS = 10_000n;

/** ceil(amount × feeBps / 10,000). */
export const feeOf = (amount: bigint, feeBps: number | bigint): bigint => (amount * BigInt(feeBps) + BPS - 1n) / BPS;

/** What the merchant receives of `amount` after the fee. */
export const netOf = (amount: bigint, feeBps: number | bigint): bigint => amount - feeOf(amount, feeBps);
