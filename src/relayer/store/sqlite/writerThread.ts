import path from "node:path";
import type { Worker } from "node:worker_threads";
import type { Hex, PaymentRecord } from "../../domain";
import { startModuleWorker } from "../../workerThreads";

/** @internal Messages between the writer thread and its owner. */
export interface WriterRequest {
  seq: number;
  payments: PaymentRecord[];
}
export type WriterReply = { seq: number; inserted: Hex[] } | { seq: number; error: string };

/**
 * `payments.insertAccepted` on a thread of its own with its own connection to the same SQLite
 * file (WAL: the main connection keeps reading, and writers take turns on SQLite's write lock).
 * Same contract as the repository method: resolves with the ids inserted once the commit is on
 * disk. If the thread dies, the inserts in flight fail (their requests answer 500 and are not
 * acknowledged; a retry is safe) and a new thread takes over.
 */
export class WriterThread {
  private worker: Worker;
  private readonly inFlight = new Map<number, { resolve: (ids: Set<Hex>) => void; reject: (e: unknown) => void }>();
  private seq = 0;
  private closed = false;

  constructor(private readonly file: string) {
    this.worker = this.spawn();
  }

  insertAccepted(payments: PaymentRecord[]): Promise<Set<Hex>> {
    if (this.closed) return Promise.reject(new Error("intake writer is closed"));
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      this.inFlight.set(seq, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ seq, payments } satisfies WriterRequest);
    });
  }

  /** Waits for the inserts in flight, then stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    this.closed = true;
    await this.worker.terminate();
  }

  private spawn(): Worker {
    const worker = startModuleWorker(path.join(__dirname, "writerWorker"), { file: path.resolve(this.file) });
    worker.on("message", (reply: WriterReply) => {
      const waiting = this.inFlight.get(reply.seq);
      if (!waiting) return;
      this.inFlight.delete(reply.seq);
      if (this.inFlight.size === 0) worker.unref();
      if ("error" in reply) waiting.reject(new Error(`intake writer: ${reply.error}`));
      else waiting.resolve(new Set(reply.inserted));
    });
    const fail = (error: unknown) => {
      if (this.worker !== worker) return;
      for (const waiting of this.inFlight.values()) waiting.reject(error);
      this.inFlight.clear();
      if (!this.closed) this.worker = this.spawn();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`intake writer thread exited with code ${code}`)));
    worker.unref();
    return worker;
  }
}
