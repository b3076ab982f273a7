import createKeccakHash from "keccak";

/**
 * Keccak-256 with the native `keccak` binding, for the hashes the relayer computes per payment and
 * per transaction: ~5 µs per hash of a few hundred bytes here against ~13 µs for @noble/hashes
 * (which stays for the one-off hashes), and ~1 ms against ~25 ms for a 400-payment batch
 * transaction. Without the binding the package falls back to its own JavaScript. Buffers only.
 */
export const keccak256 = (data: Buffer): Buffer => createKeccakHash("keccak256").update(data).digest();
