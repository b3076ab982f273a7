/**
 * The one Keccak-256 entry point of the project (the `keccak` package).
 *
 * - The relayer hashes per payment and per transaction, so the package's native sponge is driven
 *   directly: the package's `createKeccakHash` wraps every hash in a new Transform stream, which
 *   costs more than the hash itself. One sponge per thread, reset per hash: a hash runs start to
 *   end synchronously, so none interleave.
 * - Without the native binding (another runtime, no prebuilt binary) the package's own JavaScript
 *   does the work, with the same results.
 */
import createKeccakHash from "keccak";
import type { Hex } from "./types";

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

function loadNativeSponge(): KeccakState | null {
  if (typeof process !== "object" || !process.versions?.node) return null;
  try {
    // node-gyp-build (the loader `keccak` itself uses) ships no types: it returns the addon's exports.
    const nodeGypBuild = require("node-gyp-build") as (packageDir: string) => unknown;
    const path = require("node:path") as typeof import("node:path");
    const Native = nodeGypBuild(path.dirname(require.resolve("keccak/package.json")));
    return typeof Native === "function" ? new (Native as new () => KeccakState)() : null;
  } catch {
    return null;
  }
}

const sponge = loadNativeSponge();

const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** Keccak-256 of `data` (32 bytes). */
export const keccak256: (data: Uint8Array) => Buffer = sponge
  ? (data) => {
      sponge.initialize(RATE, CAPACITY);
      sponge.absorb(asBuffer(data));
      sponge.absorbLastFewBits(KECCAK_SUFFIX);
      return sponge.squeeze(DIGEST_BYTES);
    }
  : (data) => createKeccakHash("keccak256").update(asBuffer(data)).digest();

/** @internal Whether the native binding loaded (tests check the fast path is the one in use). */
export const nativeKeccak = sponge !== null;

/** Lowercase 0x hex of `bytes`. */
export const bytesToHex = (bytes: Uint8Array): Hex => `0x${asBuffer(bytes).toString("hex")}`;

/** The bytes of a 0x-prefixed hex string of even length (callers check the charset). */
export const hexToBytes = (hex: string): Buffer => Buffer.from(hex.slice(2), "hex");

/** Keccak-256 of bytes or of a 0x hex string's bytes, as lowercase hex. */
export const keccakHex = (data: Uint8Array | Hex): Hex =>
  bytesToHex(keccak256(typeof data === "string" ? hexToBytes(data) : data));

/** Keccak-256 of a text's UTF-8 bytes, as hex (event topics, role ids, text order references). */
export const keccakUtf8 = (text: string): Hex => bytesToHex(keccak256(Buffer.from(text, "utf8")));
