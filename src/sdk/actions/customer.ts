/** What a payer does through the relayer: submit payments, read them and its account, relay its signed actions. */
import { MAX_BATCH_ITEMS, type CreditView } from "../../protocol/schemas";
import { RelayerApiError, StablePayError } from "../errors";
import type { DepositAuthorization } from "../eip3009";
import { paymentFromRequest, pickNonce, type PaymentFromRequestParams } from "../payments";
import { signPayment, type SignedOneOffPayment } from "../sign";
import type { TypedDataSigner } from "../signers";
import type { Address, EscrowDomain, Hex, Payment, RefundReason, Withdrawal } from "../../protocol";
import {
  depositBody,
  oneOffPaymentBody,
  parseAccount,
  parseCurrencies,
  parsePayment,
  parseSentTransaction,
  paymentBody,
  withdrawalBody,
  type AccountInfo,
  type AccountWire,
  type BatchResultWire,
  type Currency,
  type CurrencyListWire,
  type PaymentInfo,
  type PaymentRequestTypedData,
  type PaymentState,
  type PaymentWire,
  type SentTransaction,
  type SentTransactionWire,
} from "../wire";
import { call, get, parsed, post, type ApiClient, type CallOptions, type CreateOptions } from "./request";

/** Payments per POST /v1/payments/batch at most (the relayer's MAX_BATCH_ITEMS). */
export const MAX_PAYMENTS_PER_BATCH = MAX_BATCH_ITEMS;
/** How often waitForPayment polls, and how long it waits by default. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 120_000;

export interface SignedPayment {
  payment: Payment;
  signature: Hex;
  /** Sent as chainId/escrow: the relayer refuses a payment signed for another domain (wrong_domain). */
  domain?: EscrowDomain;
  /** The payment request this payment pays. */
  requestId?: string;
}

export interface PaymentSubmission {
  /** false when the relayer already had this exact signed payment (a retry is never a second payment). */
  created: boolean;
  payment: PaymentInfo;
}

export interface BatchItemResult {
  index: number;
  /** What POST /v1/payments would have answered for this item. */
  status: number;
  payment?: PaymentInfo;
  error?: RelayerApiError;
}

export interface BatchSubmission {
  accepted: number;
  duplicates: number;
  failed: number;
  results: BatchItemResult[];
}

export interface SignedAction {
  /** Unix seconds the signature is valid to. */
  deadline: bigint;
  signature: Hex;
}

/** A signed order-timer action: `ordinal` is the extension or refund request it makes or answers. */
export interface SignedOrdinalAction extends SignedAction {
  ordinal: bigint;
}

export interface SignedHoldExtension extends SignedOrdinalAction {
  /** Seconds the hold is extended by. */
  extension: bigint;
}

export interface SignedRefundRequest extends SignedOrdinalAction {
  amount: bigint;
  /** A REFUND_REASONS name: its code is what the payer signed. */
  reason: RefundReason;
}

export interface PayRequestOptions extends CreateOptions {
  /** Nonce to use (default: the lowest free one from GET /v1/accounts/:payer). */
  nonce?: bigint;
  /** The chain and escrow the customer expects (see paymentFromRequest). */
  expect?: PaymentFromRequestParams["expect"];
}

export interface WaitForPaymentOptions extends CallOptions {
  /** Resolve once the payment is in one of these states. */
  states: PaymentState[];
  timeoutMs?: number;
  pollIntervalMs?: number;
}

/** POST /v1/payments: submit one signed payment; answers once it is durably stored. */
export async function submitPayment(
  client: ApiClient,
  signed: SignedPayment,
  options?: CreateOptions,
): Promise<PaymentSubmission> {
  const path = "/v1/payments";
  const { status, body } = await call<PaymentWire>(
    client,
    "none",
    { method: "POST", path, body: paymentBody(signed) },
    options,
  );
  return { created: status === 201, payment: parsed(parsePayment, body, path) };
}

/** A one-off payment as `submitOneOffPayment` takes it (signed by `signOneOffPayment`). */
type OneOffItem = Pick<SignedOneOffPayment, "payment" | "authorization" | "signature"> & {
  domain?: EscrowDomain;
  requestId?: string;
};

/**
 * POST /v1/payments/one-off: submit a one-off payment signed by `signOneOffPayment` (the payer's
 * wallet pays by its bound EIP-3009 authorization; no escrow balance needed). Answers once it is
 * durably stored; `created` is false when the relayer already had it.
 */
export async function submitOneOffPayment(
  client: ApiClient,
  signed: OneOffItem,
  options?: CreateOptions,
): Promise<PaymentSubmission> {
  const path = "/v1/payments/one-off";
  const { status, body } = await call<PaymentWire>(
    client,
    "none",
    { method: "POST", path, body: oneOffPaymentBody(signed) },
    options,
  );
  return { created: status === 201, payment: parsed(parsePayment, body, path) };
}

/**
 * POST /v1/payments/batch: up to 1,000 signed payments, with a result per item (a failed item fails
 * only itself). One-off payments (from `signOneOffPayment`) may be mixed in.
 */
export async function submitPayments(
  client: ApiClient,
  items: (SignedPayment | OneOffItem)[],
  options?: CreateOptions,
): Promise<BatchSubmission> {
  if (items.length === 0 || items.length > MAX_PAYMENTS_PER_BATCH) {
    throw new StablePayError("invalid_argument", `a batch holds 1..${MAX_PAYMENTS_PER_BATCH} payments`);
  }
  const path = "/v1/payments/batch";
  return post<BatchResultWire, BatchSubmission>(
    client,
    "none",
    path,
    { payments: items.map((item) => ("authorization" in item ? oneOffPaymentBody(item) : paymentBody(item))) },
    (wire) => ({
      accepted: wire.accepted,
      duplicates: wire.duplicates,
      failed: wire.failed,
      results: wire.results.map((r) => ({
        index: r.index,
        status: r.status,
        ...(r.payment ? { payment: parsePayment(r.payment) } : {}),
        ...(r.error
          ? {
              error: new RelayerApiError(
                r.status,
                r.error.code,
                r.error.message,
                r.error.details as Record<string, unknown> | undefined,
                { method: "POST", path, attempts: 1 },
              ),
            }
          : {}),
      })),
    }),
    options,
  );
}

/**
 * The whole customer side of a payment request in one call: the signer's address, a free nonce,
 * the Payment filled from the request, its signature, and POST /v1/payments with the request id.
 */
export async function payRequest(
  client: ApiClient,
  signer: TypedDataSigner,
  request: { id: string; typedData: PaymentRequestTypedData; currency?: string },
  options: PayRequestOptions = {},
): Promise<PaymentSubmission> {
  const payer = await signer.getAddress();
  // The nonce is free in the request's currency: each escrow keeps its own nonce window.
  const nonce = options.nonce ?? pickNonce(await getAccount(client, payer, { ...options, currency: request.currency }));
  const prepared = paymentFromRequest(request, { payer, nonce, expect: options.expect });
  const signature = await signPayment(signer, prepared);
  return submitPayment(client, { ...prepared, signature }, options);
}

/** GET /v1/payments/:id: state, and once escrowed the batch and inclusion proof (see verifyInclusion). */
export function getPayment(client: ApiClient, id: Hex, options?: CallOptions): Promise<PaymentInfo> {
  return get<PaymentWire, PaymentInfo>(client, "none", `/v1/payments/${id}`, parsePayment, options);
}

/** Polls GET /v1/payments/:id until the payment reaches one of `states` (throws `timeout` otherwise). */
export async function waitForPayment(client: ApiClient, id: Hex, options: WaitForPaymentOptions): Promise<PaymentInfo> {
  const until = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
  for (;;) {
    const payment = await getPayment(client, id, options);
    if (options.states.includes(payment.state)) return payment;
    if (Date.now() >= until) {
      throw new StablePayError("timeout", `payment ${id} is still ${payment.state}`, { state: payment.state });
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS));
  }
}

/** A payer-signed action on a held payment (confirm or dispute), relayed by the relayer. */
function payerAction(
  client: ApiClient,
  id: Hex,
  action: "confirm" | "dispute",
  signed: SignedAction,
  options?: CreateOptions,
): Promise<SentTransaction> {
  const body = { deadline: signed.deadline.toString(), signature: signed.signature };
  return post<SentTransactionWire, SentTransaction>(
    client,
    "none",
    `/v1/payments/${id}/${action}`,
    body,
    parseSentTransaction,
    options,
  );
}

/** POST /v1/payments/:id/confirm: relays the payer's signed Confirmation (see signConfirmation). */
export const confirm = (client: ApiClient, id: Hex, action: SignedAction, options?: CreateOptions) =>
  payerAction(client, id, "confirm", action, options);

/** POST /v1/payments/:id/dispute: relays the payer's signed Dispute (see signDispute). */
export const dispute = (client: ApiClient, id: Hex, action: SignedAction, options?: CreateOptions) =>
  payerAction(client, id, "dispute", action, options);

/** Posts a signed order-timer action's body to `path` (a payer's action needs no key). */
function timerAction(
  client: ApiClient,
  path: string,
  body: Record<string, string>,
  options?: CreateOptions,
): Promise<SentTransaction> {
  return post<SentTransactionWire, SentTransaction>(client, "none", path, body, parseSentTransaction, options);
}

const ordinalBody = (signed: SignedOrdinalAction) => ({
  ordinal: signed.ordinal.toString(),
  deadline: signed.deadline.toString(),
  signature: signed.signature,
});

/** POST /v1/payments/:id/extend-hold: relays the payer's signed HoldExtension (see signHoldExtension). */
export const extendHold = (client: ApiClient, id: Hex, signed: SignedHoldExtension, options?: CreateOptions) =>
  timerAction(
    client,
    `/v1/payments/${id}/extend-hold`,
    { extension: signed.extension.toString(), ...ordinalBody(signed) },
    options,
  );

/** POST /v1/payments/:id/refund-requests: relays the payer's signed RefundRequest (see signRefundRequest). */
export const requestRefund = (client: ApiClient, id: Hex, signed: SignedRefundRequest, options?: CreateOptions) =>
  timerAction(
    client,
    `/v1/payments/${id}/refund-requests`,
    { amount: signed.amount.toString(), reason: signed.reason, ...ordinalBody(signed) },
    options,
  );

/** POST /v1/payments/:id/escalate: relays the payer's signed Escalation (see signEscalation). */
export const escalate = (client: ApiClient, id: Hex, signed: SignedOrdinalAction, options?: CreateOptions) =>
  timerAction(client, `/v1/payments/${id}/escalate`, ordinalBody(signed), options);

/** POST /v1/deposits: gasless deposit of a signed EIP-3009 authorization (see signDepositAuthorization). */
export function deposit(
  client: ApiClient,
  signed: { authorization: DepositAuthorization; signature: Hex; domain?: EscrowDomain },
  options?: CreateOptions,
): Promise<SentTransaction> {
  return post(client, "none", "/v1/deposits", depositBody(signed), parseSentTransaction, options);
}

/** POST /v1/withdrawals: relays the payer's signed Withdrawal (see signWithdrawal). */
export function withdraw(
  client: ApiClient,
  signed: { withdrawal: Withdrawal; signature: Hex; domain?: EscrowDomain },
  options?: CreateOptions,
): Promise<SentTransaction> {
  return post(client, "none", "/v1/withdrawals", withdrawalBody(signed), parseSentTransaction, options);
}

/**
 * GET /v1/accounts/:address: escrow balance, pending payments, free nonces (see pickNonce), in
 * `currency` (default: the relayer's default currency).
 */
export function getAccount(
  client: ApiClient,
  address: Address,
  options?: CallOptions & { currency?: string },
): Promise<AccountInfo> {
  return get<AccountWire, AccountInfo>(client, "none", `/v1/accounts/${address}`, parseAccount, options, {
    currency: options?.currency,
  });
}

/**
 * GET /v1/merchants/:id/credit: a merchant's credit record from its escrow events (public; formulas
 * in docs/REPORTS.md). Money as decimal strings, rates in basis points.
 */
export function getCreditRecord(client: ApiClient, merchantId: bigint, options?: CallOptions): Promise<CreditView> {
  return get<CreditView, CreditView>(client, "none", `/v1/merchants/${merchantId}/credit`, (w) => w, options);
}

/**
 * GET /v1/currencies: the relayer's currencies, its default first, each with its escrow's EIP-712
 * domain. The list changes only when the relayer is redeployed: fetch it once and keep it.
 */
export function getCurrencies(client: ApiClient, options?: CallOptions): Promise<Currency[]> {
  return get<CurrencyListWire, Currency[]>(client, "none", "/v1/currencies", parseCurrencies, options);
}

export const customerActions = {
  submitPayment,
  submitOneOffPayment,
  submitPayments,
  payRequest,
  getPayment,
  waitForPayment,
  confirm,
  dispute,
  extendHold,
  requestRefund,
  escalate,
  deposit,
  withdraw,
  getAccount,
  getCreditRecord,
  getCurrencies,
};
