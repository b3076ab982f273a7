/**
 * The packed calldata of `payBatch` (layout in IPaymentEscrow.payBatch): a count, then runs of
 * consecutive payments to one merchant with one hold (the run header carries both), each payment as
 * fixed-width big-endian fields and its signature. The relayer, the tests and the benches encode
 * with `encodeBatch`; `decodeBatch` reads one back (the auditor's and the tests' view of what was
 * sent).
 *
 * The escrow funds one tranche per (batch, merchant) with one release time, so all of a merchant's
 * runs in one batch must carry the same hold (else the whole transaction reverts ConflictingHold):
 * `encodeBatch` refuses such a batch, and `planBatch` picks, per merchant, the one hold a batch takes.
 */
import type { Payment } from "./typedData";
import type { Hex } from "./types";

/** A payment and its signature (65-byte ECDSA, or whatever its ERC-1271 wallet accepts). */
export interface BatchItem {
  payment: Payment;
  signature: Hex;
}

const MAX_UINT16 = 0xffff;
/** Bytes of an item before its signature: payer, amount, orderRef, nonce, validAfter, deadline, length. */
export const BATCH_ITEM_FIXED_BYTES = 90;
/** A run's header: merchantId (uint64), hold (uint32), item count (uint16). */
export const BATCH_RUN_HEADER_BYTES = 14;
export const BATCH_HEADER_BYTES = 2;

/** Why an item cannot be encoded: a field wider than its slot (the escrow could not accept it anyway). */
export class BatchEncodingError extends RangeError {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(`batch item ${index}: ${message}`);
    this.name = "BatchEncodingError";
  }
}

function field(value: bigint, bytes: number, name: string, index: number): string {
  if (value < 0n || value >> BigInt(bytes * 8) !== 0n) {
    throw new BatchEncodingError(index, `${name} ${value} does not fit ${bytes * 8} bits`);
  }
  return value.toString(16).padStart(bytes * 2, "0");
}

function hexBody(value: Hex, bytes: number | null, name: string, index: number): string {
  const body = value.slice(2);
  if (!/^[0-9a-fA-F]*$/.test(body) || body.length % 2 !== 0 || (bytes !== null && body.length !== bytes * 2)) {
    throw new BatchEncodingError(index, `${name} is not ${bytes === null ? "" : `${bytes}-byte `}hex`);
  }
  return body.toLowerCase();
}

export interface EncodeBatchOptions {
  /**
   * Encode a merchant's runs with different holds anyway (the escrow then reverts the whole batch
   * ConflictingHold): only for tests of that revert. Default false: such a batch throws.
   */
  allowConflictingHolds?: boolean;
}

/**
 * Encodes `items` in order; consecutive items of one merchant and one hold share a run. Throws a
 * {@link BatchEncodingError} when a merchant appears with two holds (see the module's comment).
 */
export function encodeBatch(items: readonly BatchItem[], options: EncodeBatchOptions = {}): Hex {
  if (items.length > MAX_UINT16) {
    throw new RangeError(`a batch holds at most ${MAX_UINT16} payments, not ${items.length}`);
  }
  const parts: string[] = [field(BigInt(items.length), 2, "count", 0)];
  const holds = new Map<bigint, bigint>();
  let i = 0;
  while (i < items.length) {
    const { merchantId, hold } = items[i].payment;
    const first = holds.get(merchantId);
    if (first === undefined) holds.set(merchantId, hold);
    else if (first !== hold && !options.allowConflictingHolds) {
      throw new BatchEncodingError(
        i,
        `merchant ${merchantId} has payments held ${first} s and ${hold} s in one batch: a batch escrows ` +
          `a merchant's payments under one hold (the escrow would revert ConflictingHold); ` +
          `send the others in another batch (planBatch)`,
      );
    }
    let end = i + 1;
    while (end < items.length && items[end].payment.merchantId === merchantId && items[end].payment.hold === hold) {
      end++;
    }
    parts.push(
      field(merchantId, 8, "merchantId", i),
      field(hold, 4, "hold", i),
      field(BigInt(end - i), 2, "run length", i),
    );
    for (; i < end; i++) {
      const { payment: p, signature } = items[i];
      const sig = hexBody(signature, null, "signature", i);
      parts.push(
        hexBody(p.payer, 20, "payer", i),
        field(p.amount, 16, "amount", i),
        hexBody(p.orderRef, 32, "orderRef", i),
        field(p.nonce, 8, "nonce", i),
        field(p.validAfter, 6, "validAfter", i),
        field(p.deadline, 6, "deadline", i),
        field(BigInt(sig.length / 2), 2, "signature length", i),
        sig,
      );
    }
  }
  return `0x${parts.join("")}`;
}

/** What {@link planBatch} takes of a payment: its merchant and its hold. */
export interface HeldPayment {
  merchantId: bigint;
  hold: bigint;
}

/**
 * Orders `payments` (given oldest first) for one batch: merchants by their oldest payment, each
 * merchant's payments in their order, one run per merchant. Each merchant takes the hold of its
 * oldest payment in this batch; its payments with another hold are `deferred` to a later batch (a
 * merchant's payments in one batch share one hold: one tranche, one release time). The oldest
 * payment is always included, so deferred payments are taken by a later batch in their turn.
 */
export function planBatch<P extends HeldPayment>(payments: readonly P[]): { included: P[]; deferred: P[] } {
  const runs = new Map<bigint, { hold: bigint; payments: P[] }>();
  const deferred: P[] = [];
  for (const p of payments) {
    const run = runs.get(p.merchantId);
    if (!run) runs.set(p.merchantId, { hold: p.hold, payments: [p] });
    else if (run.hold === p.hold) run.payments.push(p);
    else deferred.push(p);
  }
  return { included: [...runs.values()].flatMap((run) => run.payments), deferred };
}

/** Reads a batch `encodeBatch` made; throws on anything the escrow would revert MalformedBatch on. */
export function decodeBatch(batch: Hex): BatchItem[] {
  const body = batch.slice(2);
  const size = body.length / 2;
  const read = (at: number, bytes: number): string => {
    if (at + bytes > size) throw new RangeError(`malformed batch at byte ${at}`);
    return body.slice(at * 2, (at + bytes) * 2);
  };
  const count = Number.parseInt(read(0, 2), 16);
  const items: BatchItem[] = [];
  let at = BATCH_HEADER_BYTES;
  while (at < size) {
    const merchantId = BigInt(`0x${read(at, 8)}`);
    const hold = BigInt(`0x${read(at + 8, 4)}`);
    const runLength = Number.parseInt(read(at + 12, 2), 16);
    if (runLength === 0 || items.length + runLength > count) throw new RangeError(`malformed batch at byte ${at}`);
    at += BATCH_RUN_HEADER_BYTES;
    for (let k = 0; k < runLength; k++) {
      const sigLength = Number.parseInt(read(at + 88, 2), 16);
      items.push({
        payment: {
          payer: `0x${read(at, 20)}`,
          merchantId,
          amount: BigInt(`0x${read(at + 20, 16)}`),
          orderRef: `0x${read(at + 36, 32)}`,
          nonce: BigInt(`0x${read(at + 68, 8)}`),
          validAfter: BigInt(`0x${read(at + 76, 6)}`),
          deadline: BigInt(`0x${read(at + 82, 6)}`),
          hold,
        },
        signature: `0x${read(at + BATCH_ITEM_FIXED_BYTES, sigLength)}`,
      });
      at += BATCH_ITEM_FIXED_BYTES + sigLength;
    }
  }
  if (items.length !== count) throw new RangeError(`malformed batch: ${items.length} items, header says ${count}`);
  return items;
}
