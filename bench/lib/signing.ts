/**
 * Pre-signing the bench's payments in worker threads.
 *
 * Signing 44,000 payments takes several seconds of CPU. Done on the bench's own event loop, it
 * blocked the loop that long; the `hardhat node` meanwhile closed the bench's idle keep-alive
 * sockets (Node's HTTP server drops them after 5 s), and the FIN sat unread because the loop never
 * polled. The first JSON-RPC call after signing then wrote into a closed socket and died with
 * `fetch failed` (undici: UND_ERR_SOCKET "other side closed"). In worker threads the loop keeps
 * polling, sees each close as it happens, and every client opens a fresh socket when it needs one;
 * on two cores the signing also takes about half the time.
 */
import os from "node:os";
import type { Worker } from "node:worker_threads";
import type { Address, Hex } from "../../src/protocol";
import type { SignedPayment } from "../../src/localnet/network";
import { startModuleWorker } from "../../src/relayer/runtime/workerThreads";

export interface PaymentPlan {
  /** Index into the payers of the job. */
  payer: number;
  merchantId: bigint;
  nonce: bigint;
  /** Seconds held once escrowed (within the merchant's bounds). */
  hold: bigint;
  /** The order reference is keccak256 of this label. */
  orderLabel: string;
}

export interface SignJob {
  seq: number;
  payers: { address: Address; privateKey: Hex }[];
  amount: bigint;
  deadline: bigint;
  items: PaymentPlan[];
}

export interface SignedSlice {
  seq: number;
  payments: SignedPayment[];
}

/** Payments per message to a worker: small enough to spread the work, large enough to be cheap. */
const SLICE = 2_000;

/** Signs every planned payment (in order) on `threads` worker threads (default: one per core, at most 4). */
export async function signInWorkers(
  domain: { chainId: bigint; escrow: Hex },
  payers: { address: string; privateKey: string }[],
  amount: bigint,
  deadline: bigint,
  plan: PaymentPlan[],
  threads = Math.min(4, Math.max(1, os.availableParallelism())),
): Promise<SignedPayment[]> {
  const workers: Worker[] = Array.from({ length: threads }, () => startModuleWorker(`${__dirname}/signWorker`, domain));
  const payerList = payers.map((p) => ({ address: p.address as Address, privateKey: p.privateKey as Hex }));
  try {
    const slices: SignedPayment[][] = [];
    let next = 0;
    const drive = (worker: Worker) =>
      new Promise<void>((resolve, reject) => {
        const send = () => {
          if (next * SLICE >= plan.length) return resolve();
          const seq = next++;
          const job: SignJob = {
            seq,
            payers: payerList,
            amount,
            deadline,
            items: plan.slice(seq * SLICE, (seq + 1) * SLICE),
          };
          worker.postMessage(job);
        };
        worker.on("message", (slice: SignedSlice) => {
          slices[slice.seq] = slice.payments;
          send();
        });
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`signing worker exited with code ${code}`)));
        send();
      });
    await Promise.all(workers.map(drive));
    return slices.flat();
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
