import path from "node:path";
import secp256k1 from "secp256k1";
import { serializeTransaction } from "viem";
import { keccak256 } from "../../protocol/hash";
import type { Hex } from "../domain";
import { SingleWorker, type WorkerAnswer } from "../runtime/workerThreads";

/** An EIP-1559 transaction as the relayer signs it. */
export interface UnsignedTx {
  chainId: number;
  to: Hex;
  data: Hex;
  value: bigint;
  nonce: number;
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface SignedTx {
  rawTx: Hex;
  txHash: Hex;
}

/** @internal Messages between the signing thread and its owner. */
export interface SignRequest {
  seq: number;
  tx: UnsignedTx;
}
export type SignReply = WorkerAnswer<SignedTx>;

/**
 * Signs an EIP-1559 transaction: viem serialises it, the native bindings hash (keccak) and sign
 * (libsecp256k1, RFC 6979 nonces, low s: the same bytes as viem's and ethers' own signers, which
 * the tests check). The ethers Wallet RLP-encodes and hashes a batch's calldata a byte at a time in
 * JavaScript, and viem's account signer runs two @noble keccaks over the whole transaction; the
 * native keccak is much faster on a batch's calldata.
 */
export function signEip1559(key: Uint8Array, tx: UnsignedTx): SignedTx {
  const unsigned = serializeTransaction({ type: "eip1559", ...tx });
  const { signature, recid } = secp256k1.ecdsaSign(keccak256(Buffer.from(unsigned.slice(2), "hex")), key);
  const word = (at: number): Hex => `0x${Buffer.from(signature.subarray(at, at + 32)).toString("hex")}`;
  const rawTx = serializeTransaction({ type: "eip1559", ...tx }, { r: word(0), s: word(32), yParity: recid });
  return { rawTx, txHash: `0x${keccak256(Buffer.from(rawTx.slice(2), "hex")).toString("hex")}` };
}

/** The 32 bytes of a private key given as hex. */
export function privateKeyBytes(key: Hex): Uint8Array {
  const bytes = Buffer.from(key.slice(2), "hex");
  if (bytes.length !== 32 || !secp256k1.privateKeyVerify(bytes)) throw new Error("invalid private key");
  return bytes;
}

/**
 * The relayer key's signer on a thread of its own. One request at a time is all the submitter
 * sends (it signs under its lock); a dead thread fails the request in flight (the submitter's
 * send fails before anything is recorded or broadcast, and the next tick retries) and is replaced.
 */
export class SigningThread {
  private readonly thread: SingleWorker<UnsignedTx, SignedTx>;

  constructor(key: Hex) {
    this.thread = new SingleWorker({
      module: path.join(__dirname, "signerWorker"),
      workerData: { key },
      name: "signing thread",
      encode: (seq, tx): SignRequest => ({ seq, tx }),
    });
  }

  sign(tx: UnsignedTx): Promise<SignedTx> {
    return this.thread.request(tx);
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}
