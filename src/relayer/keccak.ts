import path from "node:path";
import createKeccakHash from "keccak";

/**
 * Keccak-256 with the native `keccak` binding, for the hashes the relayer computes per payment and
 * per transaction: ~2 µs per hash of a few hundred bytes here against ~13 µs for @noble/hashes
 * (which stays for the one-off hashes), and ~1 ms against ~25 ms for a 400-payment batch
 * transaction. Buffers only.
 *
 * The binding's sponge is used directly: the package's `createKeccakHash` wraps every hash in a
 * new Transform stream, which more than doubled the cost (~5 µs a hash) for nothing the relayer
 * uses. Without the binding the package's own JavaScript does the work.
 */

/** The native sponge state the `keccak` package loads (src/keccak.cc of that package). */
interface KeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Buffer;
}

// Keccak-256 (the pre-SHA-3 padding Ethereum uses): rate 1088 bits, capacity 512, suffix 0x01.
const RATE = 1088;
const CAPACITY = 512;
const KECCAK_SUFFIX = 0x01;
const DIGEST_BYTES = 32;

// node-gyp-build (the loader `keccak` itself uses) ships no types: it returns the addon's exports.
const nodeGypBuild = require("node-gyp-build") as (packageDir: string) => unknown;

function loadNativeSponge(): KeccakState | null {
  try {
    const Native = nodeGypBuild(path.dirname(require.resolve("keccak/package.json")));
    return typeof Native === "function" ? new (Native as new () => KeccakState)() : null;
  } catch {
    return null;
  }
}

// One sponge per thread, reset per hash: a hash runs start to end synchronously, so none interleave.
const sponge = loadNativeSponge();

export const keccak256: (data: Buffer) => Buffer = sponge
  ? (data) => {
      sponge.initialize(RATE, CAPACITY);
      sponge.absorb(data);
      sponge.absorbLastFewBits(KECCAK_SUFFIX);
      return sponge.squeeze(DIGEST_BYTES);
    }
  : (data) => createKeccakHash("keccak256").update(data).digest();

/** @internal Whether the native binding loaded (tests check the fast path is the one in use). */
export const nativeKeccak = sponge !== null;
