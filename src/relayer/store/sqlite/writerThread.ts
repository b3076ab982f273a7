import path from "node:path";
import type { Hex, PaymentRecord, PaymentState, RejectReason, SignatureKind } from "../../domain";
import type { GuardedInsert, GuardedInsertOutcome } from "../types";
import { SingleWorker, type WorkerAnswer } from "../../runtime/workerThreads";
import { hex } from "./codec";
import { FALLBACK_CURRENCY } from "../currencyScope";
import type { StorageHealth } from "./storageErrors";

/**
 * @internal Messages between the writer thread and its owner are strings, one per request and one
 * per reply: a string is copied whole into the message, while a structured clone of the records
 * walks each one's fields (names included) on the HTTP thread.
 *
 * Request: `seq`, then each payment's fields in `FIELDS` order, all joined by ",": bigints and
 * numbers in decimal, null as the empty string (the writer thread reads them back exactly). That
 * needs text fields without "," and nullable ones not empty, which every payment intake stores
 * satisfies; a request with any other payment is sent as JSON of the same values instead
 * (`[seq, ...]`, bigints as decimal strings). A request of more than `PAYMENTS_PER_CHUNK` payments
 * is an array of such strings, each with `seq` and up to that many payments: V8 allocates large
 * strings apart, and building and sending one of those costs more per payment.
 *
 * A guarded insert (`insertAcceptedGuarded`) writes `g` before `seq` (JSON: `"g<seq>"`) and each
 * payment's ceiling in decimal after its fields.
 *
 * Reply: `seq,` then one character per payment of the request, "1" if it was inserted, else "0";
 * for a guarded insert "1" inserted, "0" duplicate, "b" insufficient_balance, "n" nonce_unavailable;
 * or `seq,!` then the message of the error the insert failed with.
 */
const SEP = ",";
/** Keeps a chunk's string below V8's large-object size. */
const PAYMENTS_PER_CHUNK = 200;

/** What the wire carries of a payment, in order: every field of PaymentRecord (checked below). */
const FIELDS = [
  "id",
  "currency",
  "payer",
  "merchantId",
  "amount",
  "orderRef",
  "nonce",
  "validAfter",
  "deadline",
  "signature",
  "state",
  "rejectReason",
  "batchKey",
  "batchId",
  "leafIndex",
  "txHash",
  "refunded",
  "releaseAt",
  "requestId",
  "signatureKind",
  "createdAt",
  "updatedAt",
  "hold",
] as const satisfies readonly (keyof PaymentRecord)[];
/**
 * Compile-time: a field added to PaymentRecord and not to FIELDS (and encode/decode) fails here.
 * `timer` is left out: only the chain watcher writes it, never an insert of accepted payments.
 */
const everyField: Exclude<keyof PaymentRecord, (typeof FIELDS)[number] | "timer"> extends never ? true : never = true;
void everyField;

/** Text that needs no escaping in the "," form. */
const plain = (s: string): boolean => !s.includes(SEP);
const plainOrNull = (s: string | null): boolean => s === null || (s !== "" && !s.includes(SEP));

/** @internal */
export function encodeInsert(
  seq: number,
  payments: readonly PaymentRecord[],
  ceilings?: readonly bigint[],
): string | string[] {
  if (payments.length <= PAYMENTS_PER_CHUNK) return encodeChunk(seq, payments, ceilings);
  const chunks: string[] = [];
  for (let at = 0; at < payments.length; at += PAYMENTS_PER_CHUNK) {
    chunks.push(
      encodeChunk(seq, payments.slice(at, at + PAYMENTS_PER_CHUNK), ceilings?.slice(at, at + PAYMENTS_PER_CHUNK)),
    );
  }
  return chunks;
}

/** @internal A guarded insert's request. */
export const encodeGuardedInsert = (seq: number, items: readonly GuardedInsert[]): string | string[] =>
  encodeInsert(
    seq,
    items.map((i) => i.record),
    items.map((i) => i.ceiling),
  );

function encodeChunk(seq: number, payments: readonly PaymentRecord[], ceilings?: readonly bigint[]): string {
  let message = ceilings ? `g${seq}` : `${seq}`;
  for (const [index, p] of payments.entries()) {
    if (
      !plain(p.id) ||
      !plain(p.currency) ||
      !plain(p.payer) ||
      !plain(p.orderRef) ||
      !plain(p.signature) ||
      !plain(p.state) ||
      !plainOrNull(p.rejectReason) ||
      !plainOrNull(p.txHash) ||
      !plainOrNull(p.requestId) ||
      !plainOrNull(p.signatureKind)
    ) {
      return encodeInsertJson(seq, payments, ceilings);
    }
    message +=
      `,${p.id},${p.currency},${p.payer},${p.merchantId},${p.amount},${p.orderRef},${p.nonce},${p.validAfter},${p.deadline}` +
      `,${p.signature},${p.state},${p.rejectReason ?? ""},${p.batchKey ?? ""},${p.batchId ?? ""},${p.leafIndex ?? ""}` +
      `,${p.txHash ?? ""},${p.refunded},${p.releaseAt ?? ""},${p.requestId ?? ""},${p.signatureKind ?? ""}` +
      `,${p.createdAt ?? ""},${p.updatedAt ?? ""},${p.hold}`;
    if (ceilings) message += `,${ceilings[index]}`;
  }
  return message;
}

function encodeInsertJson(seq: number, payments: readonly PaymentRecord[], ceilings?: readonly bigint[]): string {
  const values: unknown[] = [ceilings ? `g${seq}` : seq];
  const decimal = (v: bigint | null) => (v === null ? null : v.toString());
  for (const [index, p] of payments.entries()) {
    values.push(
      p.id,
      p.currency,
      p.payer,
      decimal(p.merchantId),
      decimal(p.amount),
      p.orderRef,
      decimal(p.nonce),
      decimal(p.validAfter),
      decimal(p.deadline),
      p.signature,
      p.state,
      p.rejectReason,
      p.batchKey,
      decimal(p.batchId),
      p.leafIndex,
      p.txHash,
      decimal(p.refunded),
      decimal(p.releaseAt),
      p.requestId,
      p.signatureKind,
      p.createdAt,
      p.updatedAt,
      decimal(p.hold),
    );
    if (ceilings) values.push(decimal(ceilings[index]));
  }
  return JSON.stringify(values);
}

/** @internal What a request carries: its payments, and their ceilings if it is a guarded insert. */
export interface DecodedInsert {
  seq: number;
  payments: PaymentRecord[];
  ceilings?: bigint[];
}

/** @internal The request's sequence number and payments (on the writer thread). */
export function decodeInsert(message: string | string[]): DecodedInsert {
  if (typeof message === "string") return decodeChunk(message);
  const chunks = message.map(decodeChunk);
  const decoded: DecodedInsert = { seq: chunks[0].seq, payments: chunks.flatMap((chunk) => chunk.payments) };
  if (chunks[0].ceilings) decoded.ceilings = chunks.flatMap((chunk) => chunk.ceilings ?? []);
  return decoded;
}

function decodeChunk(message: string): DecodedInsert {
  const json = message.charCodeAt(0) === 0x5b; // "["
  const v = (json ? JSON.parse(message) : message.split(SEP)) as (string | number | null)[];
  // In the "," form every value is a string, null the empty one; in JSON they have their types.
  const str = json ? (x: unknown) => x as string | null : (x: unknown) => (x === "" ? null : (x as string));
  const num = json ? (x: unknown) => x as number | null : (x: unknown) => (x === "" ? null : Number(x));
  const big = (x: unknown) => BigInt(x as string);
  const bigOrNull = (x: unknown) => (x === null || x === "" ? null : BigInt(x as string));
  const head = String(v[0]);
  const guarded = head.charCodeAt(0) === 0x67; // "g"
  const stride = FIELDS.length + (guarded ? 1 : 0);
  const payments: PaymentRecord[] = [];
  const ceilings: bigint[] = [];
  for (let i = 1; i + stride <= v.length; i += stride) {
    if (guarded) ceilings.push(big(v[i + FIELDS.length]));
    payments.push({
      id: v[i] as Hex,
      currency: v[i + 1] as string,
      payer: v[i + 2] as Hex,
      merchantId: big(v[i + 3]),
      amount: big(v[i + 4]),
      orderRef: v[i + 5] as Hex,
      nonce: big(v[i + 6]),
      validAfter: big(v[i + 7]),
      deadline: big(v[i + 8]),
      signature: v[i + 9] as Hex,
      state: v[i + 10] as PaymentState,
      rejectReason: str(v[i + 11]) as RejectReason | null,
      batchKey: num(v[i + 12]),
      batchId: bigOrNull(v[i + 13]),
      leafIndex: num(v[i + 14]),
      txHash: str(v[i + 15]) as Hex | null,
      refunded: big(v[i + 16]),
      releaseAt: bigOrNull(v[i + 17]),
      requestId: str(v[i + 18]),
      signatureKind: str(v[i + 19]) as SignatureKind | null,
      // Numbers, but a null one (which the insert refuses) gets there as null.
      createdAt: num(v[i + 20]) as number,
      updatedAt: num(v[i + 21]) as number,
      hold: big(v[i + 22]),
      timer: null,
    });
  }
  const seq = Number(guarded ? head.slice(1) : head);
  return guarded ? { seq, payments, ceilings } : { seq, payments };
}

/** @internal The reply to request `seq`: which of its payments were inserted (ids as the store returned them). */
export function encodeInserted(seq: number, payments: readonly PaymentRecord[], inserted: ReadonlySet<Hex>): string {
  let flags = "";
  for (const p of payments) flags += inserted.has(hex(p.id)) ? "1" : "0";
  return `${seq},${flags}`;
}

const OUTCOME_FLAGS: Record<GuardedInsertOutcome, string> = {
  inserted: "1",
  duplicate: "0",
  insufficient_balance: "b",
  nonce_unavailable: "n",
};
const FLAG_OUTCOMES = new Map(Object.entries(OUTCOME_FLAGS).map(([o, f]) => [f, o as GuardedInsertOutcome]));

/** @internal The reply to guarded request `seq`: each payment's outcome, in request order. */
export function encodeOutcomes(
  seq: number,
  payments: readonly PaymentRecord[],
  outcomes: ReadonlyMap<Hex, GuardedInsertOutcome>,
): string {
  let flags = "";
  for (const p of payments) flags += OUTCOME_FLAGS[outcomes.get(hex(p.id)) ?? "duplicate"];
  return `${seq},${flags}`;
}

/** @internal Each payment's outcome, from a guarded request's payments and the reply's flags. */
export function outcomesOf(payments: readonly PaymentRecord[], flags: string): Map<Hex, GuardedInsertOutcome> {
  const outcomes = new Map<Hex, GuardedInsertOutcome>();
  for (let i = 0; i < payments.length; i++) {
    const outcome = FLAG_OUTCOMES.get(flags[i]);
    if (outcome === undefined) throw new Error(`intake writer: unknown outcome flag ${JSON.stringify(flags[i])}`);
    if (!outcomes.has(hex(payments[i].id))) outcomes.set(hex(payments[i].id), outcome);
  }
  return outcomes;
}

/** @internal The reply to request `seq` when its insert failed. */
export const encodeInsertFailed = (seq: number, error: string): string => `${seq},!${error}`;

/** @internal A reply as an answer: the inserted flags, or the error. */
export function decodeReply(reply: string): WorkerAnswer<string> {
  const at = reply.indexOf(SEP);
  const seq = Number(reply.slice(0, at));
  return reply.charCodeAt(at + 1) === 0x21 // "!"
    ? { seq, error: reply.slice(at + 2) }
    : { seq, result: reply.slice(at + 1) };
}

/** @internal The ids a request inserted, from its payments and the reply's flags. */
export function insertedIds(payments: readonly PaymentRecord[], flags: string): Set<Hex> {
  const inserted = new Set<Hex>();
  for (let i = 0; i < payments.length; i++) if (flags.charCodeAt(i) === 0x31) inserted.add(hex(payments[i].id));
  return inserted;
}

/** What the owner asks of the thread: a plain insert or a guarded one. */
interface WriterRequest {
  payments?: readonly PaymentRecord[];
  guarded?: readonly GuardedInsert[];
}

/**
 * `payments.insertAccepted` on a thread of its own with its own connection to the same SQLite
 * file (WAL: the main connection keeps reading, and writers take turns on SQLite's write lock).
 * Same contract as the repository method: resolves with the ids inserted once the commit is on
 * disk. If the thread dies, the inserts in flight fail (their requests answer 500 and are not
 * acknowledged; a retry is safe) and a new thread takes over.
 */
export class WriterThread {
  private readonly thread: SingleWorker<WriterRequest, string>;

  /**
   * `storage`: the main connection's health, told of a full disk the thread ran into.
   * `maxPageCount` (tests): caps the thread's connection as a full disk would.
   */
  constructor(
    file: string,
    private readonly storage?: StorageHealth,
    options: { maxPageCount?: number; defaultCurrency?: string } = {},
  ) {
    this.thread = new SingleWorker({
      module: path.join(__dirname, "writerWorker"),
      workerData: {
        file: path.resolve(file),
        maxPageCount: options.maxPageCount,
        // What its connection's migrations would backfill with, were it the first to open the file.
        defaultCurrency: options.defaultCurrency ?? FALLBACK_CURRENCY,
      },
      name: "intake writer",
      thread: "intake writer thread",
      encode: (seq, request) =>
        request.guarded ? encodeGuardedInsert(seq, request.guarded) : encodeInsert(seq, request.payments!),
      decode: (reply) => decodeReply(reply as string),
    });
  }

  async insertAccepted(payments: PaymentRecord[]): Promise<Set<Hex>> {
    let flags: string;
    try {
      flags = await this.thread.request({ payments });
    } catch (error) {
      throw this.storage ? this.storage.map(error) : error;
    }
    return insertedIds(payments, flags);
  }

  /** `payments.insertAcceptedGuarded` on the thread's connection (BEGIN IMMEDIATE: exact across writers). */
  async insertAcceptedGuarded(items: readonly GuardedInsert[]): Promise<Map<Hex, GuardedInsertOutcome>> {
    let flags: string;
    try {
      flags = await this.thread.request({ guarded: items });
    } catch (error) {
      throw this.storage ? this.storage.map(error) : error;
    }
    return outcomesOf(
      items.map((i) => i.record),
      flags,
    );
  }

  /** Waits for the inserts in flight, then stops the thread. */
  async close(): Promise<void> {
    await this.thread.close(true);
  }
}
