import path from "node:path";
import type { Worker } from "node:worker_threads";
import type { Payment } from "../../protocol/typedData";
import { startModuleWorker } from "../runtime/workerThreads";
import type { Hex } from "../domain";
import type { EscrowDigester } from "../../protocol/digest";
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

/**
 * The EIP-712 domain payments are digested under: one escrow's (each currency has its own escrow,
 * so a served currency is one domain). The name and version are the escrow's constants.
 */
export interface RecoveryDomain {
  /** Decimal. */
  chainId: string;
  escrow: Hex;
}

/**
 * @internal Messages between the pool and its workers are strings: a string is copied whole into
 * the message, while a structured clone of payments walks each one's fields (names included) on
 * the HTTP thread. A request is `seq`, the domain's chain id and escrow, then each payment's fields
 * (payer, merchantId, amount, orderRef, nonce, validAfter, deadline, hold, signature; bigints in
 * decimal) joined by ","; one with a "," inside a field (intake's schema admits none) is sent as
 * JSON of the same values instead. A request without payments (the start-up ping) is `seq` alone. A
 * response is `seq` then, for each payment in order, "," id signer (signer left out if null).
 */
const SEP = ",";
const FIELDS_PER_PAYMENT = 9;
/** seq, chain id, escrow. */
const HEADER_FIELDS = 3;

/** @internal */
export function encodeRecoveryRequest(
  seq: number,
  domain: RecoveryDomain | null,
  items: readonly (readonly [Payment, Hex])[],
): string {
  if (items.length === 0) return `${seq}`;
  if (domain === null) throw new Error("a recovery request with payments names their domain");
  let message = `${seq}${SEP}${domain.chainId}${SEP}${domain.escrow}`;
  for (const [p, signature] of items) {
    if (p.payer.includes(SEP) || p.orderRef.includes(SEP) || signature.includes(SEP)) {
      return JSON.stringify([
        seq,
        domain.chainId,
        domain.escrow,
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
export function decodeRecoveryRequest(message: string): {
  seq: number;
  domain: RecoveryDomain | null;
  items: [Payment, Hex][];
} {
  const v = (message.charCodeAt(0) === 0x5b /* "[" */ ? JSON.parse(message) : message.split(SEP)) as string[];
  const items: [Payment, Hex][] = [];
  if (v.length < HEADER_FIELDS) return { seq: Number(v[0]), domain: null, items };
  for (let i = HEADER_FIELDS; i + FIELDS_PER_PAYMENT <= v.length; i += FIELDS_PER_PAYMENT) {
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
  return { seq: Number(v[0]), domain: { chainId: String(v[1]), escrow: v[2] as Hex }, items };
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

/** One domain's payments waiting for the next flush, and their callers. */
interface Queued {
  domain: RecoveryDomain;
  items: [Payment, Hex][];
  waiting: Waiting[];
}

const domainKey = (domain: RecoveryDomain) => `${domain.chainId}:${domain.escrow.toLowerCase()}`;

/**
 * Recovery on worker threads, for any number of domains (a relayer serving several currencies
 * recovers each one's payments under its escrow's domain on the same threads: the thread count is
 * the configured one, not one pool per currency). Signature recovery (libsecp256k1) and the digest
 * (native keccak) are a large part of a payment's CPU in intake; on their own threads they run
 * beside HTTP parsing and the store instead of in turn with it. Requests of one event-loop turn go
 * to a worker in one message per domain; a worker that dies fails its batches (the requests answer
 * 500, nothing is stored) and is replaced.
 *
 * Intake uses it through {@link forDomain}: a PaymentRecovery per domain. The pool stops when every
 * one of those has been closed (the app closes each currency's), or when {@link close} is called.
 */
export class SignaturePool {
  private readonly workers: PoolWorker[] = [];
  /** Payments waiting for the next flush, per domain (key: domainKey). */
  private queue = new Map<string, Queued>();
  private scheduled = false;
  private seq = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly open = new Set<WorkerRecovery>();

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  get size(): number {
    return this.workers.length;
  }

  /** A PaymentRecovery under `domain` on this pool's threads. */
  forDomain(domain: RecoveryDomain): WorkerRecovery {
    if (this.closed) throw new Error("signature pool is closed");
    // The escrow travels in the comma-separated request: it must be the address it claims to be.
    if (!/^0x[0-9a-fA-F]{40}$/.test(domain.escrow) || !/^[0-9]+$/.test(domain.chainId)) {
      throw new Error(`not an escrow domain: ${JSON.stringify(domain)}`);
    }
    const recovery = new WorkerRecovery(this, domain);
    this.open.add(recovery);
    return recovery;
  }

  recover(domain: RecoveryDomain, payment: Payment, signature: Hex): Promise<Recovered> {
    if (this.closed) return Promise.reject(new Error("signature pool is closed"));
    return new Promise<Recovered>((resolve, reject) => {
      const key = domainKey(domain);
      let queued = this.queue.get(key);
      if (!queued) {
        queued = { domain, items: [], waiting: [] };
        this.queue.set(key, queued);
      }
      queued.items.push([payment, signature]);
      queued.waiting.push({ resolve, reject });
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
            entry.worker.postMessage(encodeRecoveryRequest(seq, null, []));
          }),
      ),
    );
  }

  /** @internal A handle was closed: the last one stops the pool. */
  async released(recovery: WorkerRecovery): Promise<void> {
    this.open.delete(recovery);
    if (this.open.size === 0) await this.close();
  }

  /**
   * Refuses new work, lets the recoveries already handed over finish (bounded by `drainMs`: a
   * worker stuck in a native call must not hold shutdown), then stops the workers. Whatever is
   * still unanswered then fails with "signature pool is closed" rather than never settling.
   * Idempotent: a second call waits for the first.
   */
  close(drainMs = CLOSE_DRAIN_MS): Promise<void> {
    this.closing ??= this.drainAndStop(drainMs);
    return this.closing;
  }

  private async drainAndStop(drainMs: number): Promise<void> {
    this.closed = true;
    // Requests queued for this event-loop turn's message go out now, so they drain with the rest.
    if (this.queue.size > 0) this.flush();
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
    const queued = [...this.queue.values()];
    this.queue = new Map();
    for (const { domain, items, waiting } of queued) {
      for (let at = 0; at < items.length; at += MAX_ITEMS_PER_MESSAGE) {
        const batch = items.slice(at, at + MAX_ITEMS_PER_MESSAGE);
        // The least loaded worker (fewest payments in flight).
        const target = this.workers.reduce((a, b) => (b.items < a.items ? b : a));
        const seq = ++this.seq;
        const message = encodeRecoveryRequest(seq, domain, batch);
        target.inFlight.set(seq, { waiting: waiting.slice(at, at + MAX_ITEMS_PER_MESSAGE) });
        target.items += batch.length;
        target.worker.ref();
        target.worker.postMessage(message);
      }
    }
  }

  private spawn(): PoolWorker {
    const worker = startModuleWorker(path.join(__dirname, "signatureWorker"), null);
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

/**
 * Recovery under one domain on a {@link SignaturePool}'s threads (`pool.forDomain`). Closing it
 * refuses its new work; the recoveries it handed over still finish. Closing is idempotent (the app
 * may be given the same one as a currency's and as the default), and the last one closed stops the
 * pool, draining whatever is in flight.
 */
export class WorkerRecovery implements PaymentRecovery {
  private closing: Promise<void> | null = null;

  /** @internal Use `SignaturePool.forDomain`. */
  constructor(
    readonly pool: SignaturePool,
    readonly domain: RecoveryDomain,
  ) {}

  recover(payment: Payment, signature: Hex): Promise<Recovered> {
    if (this.closing) return Promise.reject(new Error("signature pool is closed"));
    return this.pool.recover(this.domain, payment, signature);
  }

  ready(): Promise<void> {
    return this.pool.ready();
  }

  close(): Promise<void> {
    this.closing ??= this.pool.released(this);
    return this.closing;
  }
}
