import secp256k1 from "secp256k1";
import { SECP256K1_HALF_N } from "../../protocol/secp256k1";
import { keccak256 } from "../../protocol/hash";
import type { Hex } from "../../protocol/types";

/**
 * Signature recovery with libsecp256k1 (the native `secp256k1` binding), far faster than ethers or
 * viem (docs/benchmarks.md). Rules match OpenZeppelin's ECDSA, which the escrow uses: 65 bytes
 * `r ‖ s ‖ v`, v ∈ {27, 28}, s in the lower half of the curve order.
 */

/** The address that signed `digest`, or null if `signature` is not a valid 65-byte ECDSA signature. */
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): Hex | null {
  if (signature.length !== 65) return null;
  const v = signature[64];
  if (v !== 27 && v !== 28) return null;
  const rs = signature.subarray(0, 64);
  const s = BigInt(`0x${Buffer.from(rs.subarray(32)).toString("hex")}`);
  // Malleability: (r, n - s) recovers the same key; OpenZeppelin (and so the escrow) refuses it.
  if (s === 0n || s > SECP256K1_HALF_N) return null;
  let publicKey: Uint8Array;
  try {
    publicKey = secp256k1.ecdsaRecover(rs, v - 27, digest, false);
  } catch {
    // r outside the curve order, or no point with that x: not a signature.
    return null;
  }
  // The address: the last 20 bytes of the keccak of the key's x ‖ y (after the 0x04 prefix byte).
  const hash = keccak256(Buffer.from(publicKey.buffer, publicKey.byteOffset + 1, 64));
  return `0x${hash.toString("hex", 12)}`;
}

/** True if `signature` is `signer`'s ECDSA signature of `digest`. */
export function isEcdsaSignedBy(digest: Uint8Array, signature: Uint8Array, signer: Hex): boolean {
  const recovered = recoverAddress(digest, signature);
  return recovered !== null && recovered === signer.toLowerCase();
}
