/**
 * The secp256k1 group order. A signature (r, s) has a twin (r, n - s) that recovers the same key;
 * OpenZeppelin's ECDSA, and so the escrow, accept only the low one (s <= n/2).
 */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const SECP256K1_HALF_N = SECP256K1_N >> 1n;
