import path from "node:path";
import type { Worker } from "node:worker_threads";
import type { Payment } from "../../protocol/typedData";
import { startModuleWorker } from "../runtime/workerThreads";
import type { Hex } from "../domain";
import type { EscrowDigester } from "./digest";
import { bytesToHex as toHex, hexToBytes } from "../../protocol/hash";
import { recoverAddress } from "./signature";

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

/** @internal What a worker starts with. */
export interface WorkerSetup {
  chainId: string;
  escrow: Hex;
}

/**
 * @internal Messages between the pool and its workers are strings: a string is copied whole into
 * the message, while a structured clone of payments walks each one's fields (names included) on
 * the HTTP thread. A request is `seq` then each payment's fields (payer, merchantId, amount,
 * orderRef, nonce, validAfter, deadline, hold, signature; bigints in decimal) joined by ","; one with a
 * "," inside a field (intake's schema admits none) is sent as JSON of the same values instead. A
 * response is `seq` then, for each payment in order, "," id signer (signer left out if null).
 */
const SEP = ",";
const FIELDS_PER_PAYMENT = 9;

/** @internal */
export function encodeRecoveryRequest(seq: number, items: readonly (readonly [Payment, Hex])[]): string {
  let message = `${seq}`;
  for (const [p, signature] of items) {
    if (p.payer.includes(SEP) || p.orderRef.includes(SEP) || signature.includes(SEP)) {
      return JSON.stringify([
        seq,
        ...items.flatMap(([q, s]) => [
          q.payer,
          `${q.merchantId}`,
          `${q.amount}`,
          q.orderRef,
          `${q.nonce}`,
          `${q.validAfter}`,
          `${q.deadline}`,
          `${q.hold}`,
          s,
        ]),
      ]);
    }
    message +=
      `,${p.payer},${p.merchantId},${p.amount},${p.orderRef}` +
      `,${p.nonce},${p.validAfter},${p.deadline},${p.hold},${signature}`;
  }
  return message;
}

/** @internal On the worker. */
export function decodeRecoveryRequest(message: string): { seq: number; items: [Payment, Hex][] } {
  const v = (message.charCodeAt(0) === 0x5b /* "[" */ ? JSON.parse(message) : message.split(SEP)) as string[];
  const items: [Payment, Hex][] = [];
  for (let i = 1; i + FIELDS_PER_PAYMENT <= v.length; i += FIELDS_PER_PAYMENT) {
    const payment: Payment = {
      payer: v[i] as Hex,
      merchantId: BigInt(v[i + 1]),
      amount: BigInt(v[i + 2]),
      orderRef: v[i + 3] as Hex,
      nonce: BigInt(v[i + 4]),
      validAfter: BigInt(v[i + 5]),
      deadline: BigInt(v[i + 6]),
      hold: BigInt(v[i + 7]),
    };
    items.push([payment, v[i + 8] as Hex]);
  }
  return { seq: Number(v[0]), items };
}

/** @internal On the worker: ids are 0x-prefixed hex without ",", as `toHex` writes them. */
export function encodeRecoveryResponse(seq: number, results: readonly Recovered[]): string {
  let message = `${seq}`;
  for (const { id, signer } of results) message += `${SEP}${id}${signer ?? ""}`;
  return message;
}

/** @internal */
export function decodeRecoveryResponse(message: string): { seq: number; results: Recovered[] } {
  const parts = message.split(SEP);
  const results: Recovered[] = new Array(parts.length - 1);
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    results[i - 1] = {
      id: part.slice(0, ID_LENGTH) as Hex,
      signer: part.length > ID_LENGTH ? (part.slice(ID_LENGTH) as Hex) : null,
    };
  }
  return { seq: Number(parts[0]), results };
}

/** "0x" and 32 bytes in hex. */
const ID_LENGTH = 66;

/**
 * Upper bound of payments per message. One message per event-loop turn carries everything that
 * arrived in that turn: a message costs far more than an item in it, most of all when it wakes an
 * idle worker. The bound keeps a message's string under the size past which V8 allocates strings
 * apart (its large-object space), where building and sending them costs more per payment.
 */
const MAX_ITEMS_PER_MESSAGE = 256;

/** How long close() waits for the recoveries in flight. */
const CLOSE_DRAIN_MS = 5_000;

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
 * Recovery on worker threads. Signature recovery (libsecp256k1) and the digest (native keccak) are
 * a large part of a payment's CPU in intake; on their own threads they run beside HTTP parsing and the store instead of in turn with it. Requests
 * of one event-loop turn go to a worker in one message; a worker that dies fails its batches (the
 * requests answer 500, nothing is stored) and is replaced.
 */
export class WorkerRecovery implements PaymentRecovery {
  private readonly workers: PoolWorker[] = [];
  /** Payments waiting for the next flush, and their callers. */
  private queue: [Payment, Hex][] = [];
  private queueWaiting: Waiting[] = [];
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
      this.queue.push([payment, signature]);
      this.queueWaiting.push({ resolve, reject });
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
            entry.worker.postMessage(encodeRecoveryRequest(seq, []));
          }),
      ),
    );
  }

  /**
   * Refuses new work, lets the recoveries already handed over finish (bounded by `drainMs`: a
   * worker stuck in a native call must not hold shutdown), then stops the workers. Whatever is
   * still unanswered then fails with "signature pool is closed" rather than never settling.
   */
  async close(drainMs = CLOSE_DRAIN_MS): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Requests queued for this event-loop turn's message go out now, so they drain with the rest.
    if (this.queue.length > 0) this.flush();
    const deadline = Date.now() + drainMs;
    while (this.workers.some((w) => w.inFlight.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const closed = new Error("signature pool is closed");
    for (const entry of this.workers) {
      for (const { waiting, answered } of entry.inFlight.values()) {
        for (const w of waiting) w.reject(closed);
        answered?.();
      }
      entry.inFlight.clear();
      entry.items = 0;
    }
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_ITEMS_PER_MESSAGE);
      const waiting = this.queueWaiting.splice(0, MAX_ITEMS_PER_MESSAGE);
      // The least loaded worker (fewest payments in flight).
      const target = this.workers.reduce((a, b) => (b.items < a.items ? b : a));
      const seq = ++this.seq;
      const message = encodeRecoveryRequest(seq, batch);
      target.inFlight.set(seq, { waiting });
      target.items += batch.length;
      target.worker.ref();
      target.worker.postMessage(message);
    }
  }

  private spawn(): PoolWorker {
    const worker = startModuleWorker(path.join(__dirname, "signatureWorker"), this.setup);
    const entry: PoolWorker = { worker, inFlight: new Map(), items: 0 };
    worker.on("message", (message: string) => {
      const response = decodeRecoveryResponse(message);
      const request = entry.inFlight.get(response.seq);
      if (!request) return;
      entry.inFlight.delete(response.seq);
      const { waiting, answered } = request;
      entry.items -= waiting.length;
      if (entry.items === 0) entry.worker.unref();
      response.results.forEach((recovered, i) => waiting[i].resolve(recovered));
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
