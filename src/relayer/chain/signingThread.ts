import path from "node:path";
import type { Worker } from "node:worker_threads";
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { PrivateKeyAccount } from "viem/accounts";
import type { Hex } from "../domain";
import { startModuleWorker } from "../workerThreads";

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
export type SignReply = ({ seq: number } & SignedTx) | { seq: number; error: string };

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
  private worker: Worker;
  private readonly inFlight = new Map<number, { resolve: (tx: SignedTx) => void; reject: (e: unknown) => void }>();
  private seq = 0;
  private closed = false;

  constructor(private readonly key: Hex) {
    this.worker = this.spawn();
  }

  sign(tx: UnsignedTx): Promise<SignedTx> {
    if (this.closed) return Promise.reject(new Error("signing thread is closed"));
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      this.inFlight.set(seq, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ seq, tx } satisfies SignRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  private spawn(): Worker {
    const worker = startModuleWorker(path.join(__dirname, "signerWorker"), { key: this.key });
    worker.on("message", (reply: SignReply) => {
      const waiting = this.inFlight.get(reply.seq);
      if (!waiting) return;
      this.inFlight.delete(reply.seq);
      if (this.inFlight.size === 0) worker.unref();
      if ("error" in reply) waiting.reject(new Error(`signing thread: ${reply.error}`));
      else waiting.resolve({ rawTx: reply.rawTx, txHash: reply.txHash });
    });
    const fail = (error: unknown) => {
      if (this.worker !== worker) return;
      for (const waiting of this.inFlight.values()) waiting.reject(error);
      this.inFlight.clear();
      if (!this.closed) this.worker = this.spawn();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`signing thread exited with code ${code}`)));
    worker.unref();
    return worker;
  }
}
