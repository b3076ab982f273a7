/**
 * Order references as the chain holds them. The escrow's events do not carry a payment's orderRef
 * (a bytes32: the merchant's reference, or the keccak256 of a text one); the calldata of the
 * transaction that escrowed it does. Both report builders read it from there the same way: decode
 * a direct `payBatch` / `payBatchWithAuthorization` call's packed batch and keep each item whose
 * EIP-712 id is the escrowed payment's (so a reference is only ever attributed to the payment
 * whose signed fields carry it). Payments escrowed by another route (a wallet contract's internal
 * call, the single `payWithAuthorization`) have no reference in the reports. The same decoding
 * gives each payment's whole signed fields (deadline, hold), which the auditor's FX pairing needs.
 */
import pMap from "p-map";
import { decodeAbiParameters, toFunctionSelector } from "viem";
import { decodeBatch } from "../batch";
import { paymentId } from "../paymentId";
import type { EscrowDomain, Payment } from "../typedData";
import type { Hex } from "../types";

const BATCH_SELECTORS = new Set<string>([
  toFunctionSelector("payBatch(bytes)"),
  toFunctionSelector("payBatchWithAuthorization(bytes)"),
]);

/** payment id → signed fields of the payments `input` (a transaction's calldata) escrows, for `wanted` ids. */
export function signedPaymentsOfCalldata(
  input: Hex,
  domain: EscrowDomain,
  wanted: ReadonlySet<Hex>,
): Map<Hex, Payment> {
  const out = new Map<Hex, Payment>();
  const selector = input.slice(0, 10).toLowerCase();
  if (!BATCH_SELECTORS.has(selector)) return out;
  let items;
  try {
    const [batch] = decodeAbiParameters([{ type: "bytes" }], `0x${input.slice(10)}`);
    items = decodeBatch(batch);
  } catch {
    return out; // not a batch the escrow accepted: nothing escrowed came from it
  }
  for (const { payment } of items) {
    const id = paymentId(domain, payment).toLowerCase() as Hex;
    if (wanted.has(id)) out.set(id, { ...payment, orderRef: payment.orderRef.toLowerCase() as Hex });
  }
  return out;
}

/** payment id → orderRef of the payments `input` (a transaction's calldata) escrows, for `wanted` ids. */
export function orderRefsOfCalldata(input: Hex, domain: EscrowDomain, wanted: ReadonlySet<Hex>): Map<Hex, Hex> {
  return new Map([...signedPaymentsOfCalldata(input, domain, wanted)].map(([id, p]) => [id, p.orderRef]));
}

/**
 * The signed fields of every escrowed payment among `events`, reading each escrowing transaction's
 * calldata once through `inputOf` (the caller's chain access: null when the node has no such
 * transaction). Transactions are read in chain order, a few at a time.
 */
export async function collectSignedPayments(
  events: readonly { kind: string; txHash: Hex; paymentId?: Hex }[],
  domain: EscrowDomain,
  inputOf: (txHash: Hex) => Promise<Hex | null>,
  concurrency = 8,
): Promise<Map<Hex, Payment>> {
  const byTx = new Map<Hex, Set<Hex>>();
  for (const e of events) {
    if (e.kind !== "escrowed" || !e.paymentId) continue;
    let ids = byTx.get(e.txHash);
    if (!ids) byTx.set(e.txHash, (ids = new Set()));
    ids.add(e.paymentId);
  }
  const out = new Map<Hex, Payment>();
  await pMap(
    byTx,
    async ([txHash, ids]) => {
      const input = await inputOf(txHash);
      if (input) for (const [id, payment] of signedPaymentsOfCalldata(input, domain, ids)) out.set(id, payment);
    },
    { concurrency },
  );
  return out;
}

/** The orderRef of every escrowed payment among `events` (see collectSignedPayments). */
export async function collectOrderRefs(
  events: readonly { kind: string; txHash: Hex; paymentId?: Hex }[],
  domain: EscrowDomain,
  inputOf: (txHash: Hex) => Promise<Hex | null>,
  concurrency = 8,
): Promise<Map<Hex, Hex>> {
  const payments = await collectSignedPayments(events, domain, inputOf, concurrency);
  return new Map([...payments].map(([id, p]) => [id, p.orderRef]));
}
