import path from "node:path";
import type { Worker } from "node:worker_threads";
import type { Payment } from "../../sdk/typedData";
import { startModuleWorker } from "../workerThreads";
import type { Hex } from "../domain";
import type { EscrowDigester } from "./digest";
import { toHex } from "./digest";
import { hexToBytes, recoverAddress } from "./signature";

/** A payment's id (its EIP-712 digest) and the address its ECDSA signature recovers to. */
export interface Recovered {
  id: Hex;
  /** Null when the signature is not a valid 65-byte ECDSA signature (it may still be ERC-1271). */
  signer: Hex | null;
}

/** Digest and signature recovery of payments: the CPU-heavy part of intake. */
export interface PaymentRecovery {
  recover(payment: Payment, signature: Hex): Promise<Recovered>;
  close(): Promise<void>;
}

/** On the calling thread: for tests, tools and single-core machines. */
export class InlineRecovery implements PaymentRecovery {
  constructor(private readonly digester: EscrowDigester) {}

  async recover(payment: Payment, signature: Hex): Promise<Recovered> {
    const digest = this.digester.payment(payment);
    return { id: toHex(digest), signer: recoverAddress(digest, hexToBytes(signature)) };
  }

  async close(): Promise<void> {}
}

/** @internal Messages between the pool and its workers. */
export interface WorkerSetup {
  chainId: string;
  escrow: Hex;
}
export interface RecoveryRequest {
  seq: number;
  items: [Payment, Hex][];
}
export interface RecoveryResponse {
  seq: number;
  results: [Hex, Hex | null][];
}

/**
 * Upper bound of payments per message. One message per event-loop turn carries everything that
 * arrived in that turn: structured cloning costs per message far more than per item.
 */
const MAX_ITEMS_PER_MESSAGE = 512;

interface Waiting {
  resolve: (value: Recovered) => void;
  reject: (error: unknown) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: Map<number, { waiting: Waiting[]; answered?: () => void }>;
  items: number;
}

/**
 * Recovery on worker threads. Signature recovery (libsecp256k1, ~80 µs) and the digest (keccak in
 * JS, ~25 µs) are a third of a payment's CPU in intake; on their own threads they run beside HTTP
 * parsing and the store instead of in turn with it. Requests of one event-loop turn go to a worker
 * in one message; a worker that dies fails its batches (the requests answer 500, nothing is
 * stored) and is replaced.
 */
export class WorkerRecovery implements PaymentRecovery {
  private readonly workers: PoolWorker[] = [];
  private queue: { item: [Payment, Hex]; waiting: Waiting }[] = [];
  private scheduled = false;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly setup: WorkerSetup,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  get size(): number {
    return this.workers.length;
  }

  recover(payment: Payment, signature: Hex): Promise<Recovered> {
    if (this.closed) return Promise.reject(new Error("signature pool is closed"));
    return new Promise<Recovered>((resolve, reject) => {
      this.queue.push({ item: [payment, signature], waiting: { resolve, reject } });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves once every worker has loaded and answered (start-up: no request waits for that). */
  async ready(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (entry) =>
          new Promise<void>((resolve) => {
            const seq = ++this.seq;
            entry.inFlight.set(seq, { waiting: [], answered: resolve });
            entry.worker.ref();
            entry.worker.postMessage({ seq, items: [] } satisfies RecoveryRequest);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_ITEMS_PER_MESSAGE);
      // The least loaded worker (fewest payments in flight).
      const target = this.workers.reduce((a, b) => (b.items < a.items ? b : a));
      const seq = ++this.seq;
      target.inFlight.set(seq, { waiting: batch.map((b) => b.waiting) });
      target.items += batch.length;
      target.worker.ref();
      target.worker.postMessage({ seq, items: batch.map((b) => b.item) } satisfies RecoveryRequest);
    }
  }

  private spawn(): PoolWorker {
    const worker = startModuleWorker(path.join(__dirname, "signatureWorker"), this.setup);
    const entry: PoolWorker = { worker, inFlight: new Map(), items: 0 };
    worker.on("message", (response: RecoveryResponse) => {
      const request = entry.inFlight.get(response.seq);
      if (!request) return;
      entry.inFlight.delete(response.seq);
      const { waiting, answered } = request;
      entry.items -= waiting.length;
      if (entry.items === 0) entry.worker.unref();
      response.results.forEach(([id, signer], i) => waiting[i].resolve({ id, signer }));
      answered?.();
    });
    const fail = (error: unknown) => {
      for (const { waiting } of entry.inFlight.values()) for (const w of waiting) w.reject(error);
      entry.inFlight.clear();
      entry.items = 0;
      if (this.closed) return;
      const at = this.workers.indexOf(entry);
      if (at >= 0) this.workers[at] = this.spawn();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!this.closed) fail(new Error(`signature worker exited with code ${code}`));
    });
    // An idle worker must not keep the process alive; one with work in flight does.
    worker.unref();
    return entry;
  }
}
