import { ApiError } from "../../errors";
import { PaymentState, type Hex, type PaymentRecord } from "../../domain";
import type { RouteContext, ServedCurrency } from "../../http/context";
import { servedOf } from "../../http/currencies";
import type { ChainWriter, Inclusion, RelayCall, SentTransaction } from "../../chain/chainWriter";
import { checkValidity, MAX_UINT48, uint } from "../../intake/parse";
import { hexToBytes, paymentFields, escrowDomain, type EscrowDomain, type Payment } from "../../../protocol";

/** Largest ordinal: the escrow counts extensions and refund requests in a uint8. */
export const MAX_ORDINAL = 255n;

/** Not escrowed yet, or never will be: there is no order timer to act on. */
const NOT_ESCROWED: readonly string[] = [
  PaymentState.Accepted,
  PaymentState.Batched,
  PaymentState.Submitted,
  PaymentState.Rejected,
  PaymentState.Expired,
];

/** Done with the order timer: released to the merchant, refunded, under or past dispute, settled. */
const CLOSED: readonly string[] = [
  PaymentState.Released,
  PaymentState.Refunded,
  PaymentState.Disputed,
  PaymentState.Resolved,
  PaymentState.Settled,
];

/**
 * Common part of the signed order-timer actions: the payment exists (and `canAccess` it), it was
 * escrowed and has not left the escrow's hold as far as the relayer knows, the signature deadline
 * has not passed, and its inclusion proof is known. Whether it is on the right step of its timer
 * (held, request open, request rejected) is the escrow's to say: the relayer's view may lag its
 * timer, so the relay simulation's revert answers that (409, `details.revert`).
 */
export async function timerPayment(
  ctx: RouteContext,
  id: string,
  deadlineText: string,
  canAccess: (payment: PaymentRecord) => boolean = () => true,
): Promise<{
  record: PaymentRecord;
  currency: ServedCurrency;
  payment: Payment;
  inclusion: Inclusion;
  deadline: bigint;
}> {
  const record = await storedPayment(ctx, id, canAccess);
  const currency = servedOf(ctx, record);
  if (NOT_ESCROWED.includes(record.state) || CLOSED.includes(record.state)) {
    throw new ApiError("conflict", `the payment is ${record.state}: its order timer cannot change`, {
      state: record.state,
    });
  }
  const deadline = uint("deadline", deadlineText, MAX_UINT48);
  checkValidity(0n, deadline, BigInt(Math.floor(ctx.clock() / 1000)));
  const inclusion = await ctx.inclusion.of(record);
  if (!inclusion) throw new ApiError("conflict", "the payment's inclusion proof is not available yet");
  return { record, currency, payment: paymentFields(record), inclusion, deadline };
}

export const ordinalOf = (text: string): bigint => uint("ordinal", text, MAX_ORDINAL);

/** The EIP-712 domain of the currency's escrow: what an action on its payments is signed for. */
export const domainOf = (currency: ServedCurrency): EscrowDomain =>
  escrowDomain(currency.chain.chainId, currency.chain.escrow);

/** A protocol digest (hex) as intake's signature check takes it. */
export const digestBytes = (digest: Hex): Uint8Array => hexToBytes(digest);

/**
 * Relays a signed order-timer action: the same signed call sent again to the relay queue (role api,
 * a client's retry once its effect may be applied) answers its earlier outcome; anything else is
 * checked by `check` (the relayer's view and the signature), then simulated and sent.
 */
export async function relayTimerAction(
  writer: ChainWriter,
  call: RelayCall,
  check: () => Promise<void>,
): Promise<SentTransaction> {
  const earlier = writer.replay ? await writer.replay(call) : null;
  if (earlier) return earlier;
  await check();
  return writer.relayOrderTimer(call);
}

/** The payment as stored (404 not_found if absent or not `canAccess`), before any state check. */
export async function storedPayment(
  ctx: RouteContext,
  id: string,
  canAccess: (payment: PaymentRecord) => boolean = () => true,
): Promise<PaymentRecord> {
  const record = await ctx.store.payments.get(id.toLowerCase() as Hex);
  if (!record || !canAccess(record)) throw new ApiError("not_found", "no such payment");
  return record;
}
