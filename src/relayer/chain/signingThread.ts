import path from "node:path";
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { PrivateKeyAccount } from "viem/accounts";
import type { Hex } from "../domain";
import { SingleWorker, type WorkerAnswer } from "../workerThreads";

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
 * Signs with viem and hashes the raw bytes: the ethers Wallet RLP-encodes and hashes a batch's
 * calldata a byte at a time in JavaScript (~1 s for 166 KB); viem takes ~40 ms.
 */
export async function signEip1559(account: PrivateKeyAccount, tx: UnsignedTx): Promise<SignedTx> {
  const rawTx = await account.signTransaction({ type: "eip1559", ...tx });
  return { rawTx, txHash: `0x${Buffer.from(keccak_256(Buffer.from(rawTx.slice(2), "hex"))).toString("hex")}` };
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
