import type { Static, TSchema } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import { PaymentState, type Hex, type PaymentRecord } from "../../domain";
import type { RouteContext, RouteModule, ServedCurrency } from "../../http/context";
import { servedByDomain, servedOf } from "../../http/currencies";
import { storedPayment } from "./orderTimerAction";
import type { EscrowDigester } from "../../../protocol/digest";
import { defineRoute } from "../../http/route";
import { IdParams, SentTransactionView, SignedPaymentAction as SignedActionBody } from "../../../protocol/schemas";
import {
  RelayPendingError,
  type ChainWriter,
  type Inclusion,
  type RelayCall,
  type SentTransaction,
} from "../../chain/chainWriter";
import { relayCalls } from "../../chain/relayCalls";
import { checkValidity, MAX_UINT48, uint } from "../../intake/parse";
import { paymentFields, type Payment } from "../../../protocol";

/** The currency's writer (503 chain_unavailable when this relayer sends no transactions for it). */
export function requireWriter(currency: ServedCurrency): ChainWriter {
  if (!currency.writer) throw new ApiError("chain_unavailable", "this relayer does not send transactions");
  return currency.writer;
}

/**
 * The served currency of stored payment `id`: its escrow is where an action on it is signed for and
 * sent to. 404 not_found if absent or not `canAccess`.
 */
export async function paymentCurrency(
  ctx: RouteContext,
  id: string,
  canAccess: (payment: PaymentRecord) => boolean = () => true,
): Promise<ServedCurrency> {
  return servedOf(ctx, await storedPayment(ctx, id, canAccess));
}

/**
 * States in which the escrow holds a payment (PaymentLifecycle._loadHeld): untouched in its tranche,
 * or on its own order timer. Confirm and refund accept every one of them.
 */
export const HELD_STATES: readonly PaymentState[] = [
  PaymentState.Escrowed,
  PaymentState.Held,
  PaymentState.RefundRequested,
  PaymentState.RefundRejected,
];
/** A dispute is refused while a refund request is open or rejected: that one is escalated instead. */
export const DISPUTABLE_STATES: readonly PaymentState[] = [PaymentState.Escrowed, PaymentState.Held];

/**
 * Common part of the signed operations on a held payment (confirm, dispute, refund): the payment
 * exists, is held on chain in one of `states`, the signature deadline has not passed, and we can
 * prove its inclusion. Returns what the escrow call needs.
 */
export async function heldPayment(
  ctx: RouteContext,
  id: string,
  deadlineText: string,
  canAccess: (payment: PaymentRecord) => boolean = () => true,
  states: readonly PaymentState[] = HELD_STATES,
): Promise<{ record: PaymentRecord; payment: Payment; inclusion: Inclusion; deadline: bigint }> {
  const record = await ctx.store.payments.get(id.toLowerCase() as Hex);
  if (!record || !canAccess(record)) throw new ApiError("not_found", "no such payment");
  if (!states.includes(record.state)) {
    throw new ApiError("conflict", `the payment is ${record.state}, not ${states.join(" or ")}`, {
      state: record.state,
    });
  }
  const deadline = uint("deadline", deadlineText, MAX_UINT48);
  checkValidity(0n, deadline, BigInt(Math.floor(ctx.clock() / 1000)));
  const inclusion = await ctx.inclusion.of(record);
  if (!inclusion) throw new ApiError("conflict", "the payment's inclusion proof is not available yet");
  return { record, payment: paymentFields(record), inclusion, deadline };
}

export const sent = (txHash: Hex) => ({ txHash, status: "sent" as const });

/**
 * The outcome of a signed action on a payment that is no longer held, if exactly this action was
 * relayed before (the relay queue of role api: a client's retry after its effect was applied); null
 * otherwise, and the route answers as for any action on a payment not held.
 */
export async function replayedAction(
  ctx: RouteContext,
  writer: ChainWriter,
  id: string,
  deadlineText: string,
  call: (action: { payment: Payment; inclusion: Inclusion; deadline: bigint }) => RelayCall,
  canAccess: (payment: PaymentRecord) => boolean = () => true,
): Promise<SentTransaction | null> {
  if (!writer.replay) return null;
  const record = await ctx.store.payments.get(id.toLowerCase() as Hex);
  if (!record || !canAccess(record) || HELD_STATES.includes(record.state)) return null;
  const inclusion = await ctx.inclusion.of(record);
  if (!inclusion) return null;
  const deadline = uint("deadline", deadlineText, MAX_UINT48);
  return writer.replay(call({ payment: paymentFields(record), inclusion, deadline }));
}

/**
 * The route of a payer-signed action on a held payment (confirm, dispute): the payer's signature
 * over `digest`, then the writer relays it. 202 once the transaction is sent.
 */
export const payerSignedRoute = (
  route: `POST /${string}`,
  summary: string,
  digest: (currency: ServedCurrency, id: Hex, deadline: bigint) => ReturnType<EscrowDigester["confirmation"]>,
  operation: "confirmWithSignature" | "openDisputeWithSignature",
): RouteModule =>
  defineRoute(
    route,
    summary,
    { params: IdParams, body: SignedActionBody, response: { 202: SentTransactionView } },
    async (request, ctx, reply) => {
      const currency = await paymentCurrency(ctx, request.params.id);
      const writer = requireWriter(currency);
      const signature = request.body.signature.toLowerCase() as Hex;
      const earlier = await replayedAction(ctx, writer, request.params.id, request.body.deadline, (a) =>
        relayCalls[operation]({ ...a, signature }),
      );
      if (earlier) return reply.status(202).send(sent(earlier.txHash));
      const states = operation === "openDisputeWithSignature" ? DISPUTABLE_STATES : HELD_STATES;
      const { record, payment, inclusion, deadline } = await heldPayment(
        ctx,
        request.params.id,
        request.body.deadline,
        () => true,
        states,
      );
      await currency.intake.checkSignature(record.payer, digest(currency, record.id, deadline), signature);
      const { txHash } = await writer[operation]({ payment, inclusion, deadline, signature });
      return reply.status(202).send(sent(txHash));
    },
  );

/** Relayed withdrawals and deposits below the configured minimum cost more gas than they move. */
export function checkRelayMinimum(ctx: RouteContext, value: bigint): void {
  if (value < ctx.config.relayMinAmount) {
    throw new ApiError("amount_below_minimum", `the relayer relays amounts of at least ${ctx.config.relayMinAmount}`, {
      minimum: ctx.config.relayMinAmount.toString(),
    });
  }
}

/**
 * Runs `send` on one of `payer`'s daily relay slots (429 relay_quota_exceeded when none is left);
 * a send that fails gives its slot back: nothing was relayed. A request queued for the workers'
 * lanes (role api) keeps its slot while it waits (503 relay_pending: it will be sent); a retry of
 * a queued request (`replayed`) gives its slot back: that request was counted when it was queued.
 */
export async function relayWithinQuota<T extends SentTransaction>(
  ctx: RouteContext,
  payer: Hex,
  send: () => Promise<T>,
): Promise<T> {
  const slot = ctx.relayQuota.reserve(payer);
  let result: T;
  try {
    result = await send();
  } catch (error) {
    if (!(error instanceof RelayPendingError) || error.replayed) ctx.relayQuota.release(payer, slot);
    throw error;
  }
  if (result.replayed) ctx.relayQuota.release(payer, slot);
  return result;
}

/**
 * The route of a call the relayer relays and pays gas for (deposit, withdrawal): the body's domain
 * names the served currency (its escrow; absent, the first served), then `relay` sends there. 202
 * once sent.
 */
export const relayedRoute = <B extends TSchema>(
  route: `POST /${string}`,
  summary: string,
  body: B,
  relay: (
    body: Static<B>,
    ctx: RouteContext,
    currency: ServedCurrency,
    writer: ChainWriter,
  ) => Promise<SentTransaction>,
): RouteModule =>
  defineRoute(route, summary, { body, response: { 202: SentTransactionView } }, async (request, ctx, reply) => {
    const signed = request.body as Static<B> & { chainId?: string; escrow?: string };
    const currency = servedByDomain(ctx, signed);
    const writer = requireWriter(currency);
    const { txHash } = await relay(signed, ctx, currency, writer);
    return reply.status(202).send(sent(txHash));
  });
