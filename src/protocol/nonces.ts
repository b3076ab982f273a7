/**
 * The escrow's nonce window (contracts/libraries/NonceWindow.sol): each account may use the 64
 * nonces from its base, in any order; using the base slides the window past every used nonce.
 */

/** Width of the window. */
export const NONCE_WINDOW = 64n;

/** An account's window as `escrow.nonceWindow(account)` reports it. */
export interface NonceWindowState {
  nonceBase: bigint;
  nonceBitmap: bigint;
}

/** True if `nonce` is inside the window and unused (the escrow's `isNonceAvailable`). */
export function isNonceAvailable(state: NonceWindowState, nonce: bigint): boolean {
  if (nonce < state.nonceBase) return false;
  const offset = nonce - state.nonceBase;
  return offset < NONCE_WINDOW && ((state.nonceBitmap >> offset) & 1n) === 0n;
}
