/** What a merchant does with its API key: payment requests, its payments and refunds, settlements, webhooks, keys. */
import type { Hex } from "../../protocol";
import {
  parseApiKey,
  parseBalance,
  parsePayment,
  parsePaymentRequest,
  parseRevokedKey,
  parseSentTransaction,
  parseSettlement,
  parseWebhookEndpoint,
  parseWebhookEndpointInfo,
  type ApiKey,
  type ApiKeyWire,
  type BalanceWire,
  type MerchantBalance,
  type Page,
  type PageWire,
  type PaymentInfo,
  type PaymentRequest,
  type PaymentRequestWire,
  type PaymentState,
  type PaymentWire,
  type RevokedKey,
  type RevokedKeyWire,
  type SentTransaction,
  type SentTransactionWire,
  type Settlement,
  type SettlementWire,
  type WebhookEndpoint,
  type WebhookEndpointInfo,
  type WebhookEndpointInfoWire,
  type WebhookEndpointWire,
} from "../wire";
import type { SignedAction, SignedOrdinalAction } from "./customer";
import { call, get, pages, parsed, post, type ApiClient, type CallOptions, type CreateOptions } from "./request";

export interface SignedRefund extends SignedAction {
  /** Cumulative amount refunded after this refund. */
  totalRefund: bigint;
}

export interface ListPaymentsQuery {
  state?: PaymentState | PaymentState[];
  /** Created at or after. */
  from?: Date | number;
  /** Created before. */
  to?: Date | number;
  /** Only this currency's payments (a code of getCurrencies). */
  currency?: string;
  cursor?: string;
  /** Page size 1..100 (relayer default 50). */
  limit?: number;
}

export interface PageQuery {
  cursor?: string;
  limit?: number;
}

export interface CreatePaymentRequestParams {
  amount: bigint;
  /** A 0x-prefixed bytes32, or any text up to 128 characters (its keccak256 is what the customer signs). */
  orderRef: string;
  /** Seconds until the request (and the payment's deadline) expires: 60 .. 30 days. */
  expiresIn: number;
  /**
   * Seconds the payment is held once escrowed before it releases to the merchant without the
   * customer's confirmation: within the merchant's registered bounds (else `hold_out_of_range`).
   * Default: the merchant's shortest, its minHold.
   */
  hold?: number;
  /** The currency's code (getCurrencies). Default: the relayer's default currency. */
  currency?: string;
}

const millis = (value: Date | number | undefined): string | undefined =>
  value === undefined ? undefined : String(value instanceof Date ? value.getTime() : value);

const limitOf = (limit: number | undefined): string | undefined => (limit === undefined ? undefined : String(limit));

/** POST /v1/merchant/payment-requests: the typed data a customer signs to pay this merchant. */
export function createPaymentRequest(
  client: ApiClient,
  params: CreatePaymentRequestParams,
  options?: CreateOptions,
): Promise<PaymentRequest> {
  const body = {
    amount: params.amount.toString(),
    orderRef: params.orderRef,
    expiresIn: params.expiresIn,
    ...(params.hold === undefined ? {} : { hold: params.hold }),
    ...(params.currency === undefined ? {} : { currency: params.currency }),
  };
  const path = "/v1/merchant/payment-requests";
  return post<PaymentRequestWire, PaymentRequest>(client, "merchant", path, body, parsePaymentRequest, options);
}

/** GET /v1/merchant/payments: one page of the merchant's payments (see iteratePayments for all of them). */
export function listPayments(
  client: ApiClient,
  query: ListPaymentsQuery = {},
  options?: CallOptions,
): Promise<Page<PaymentInfo>> {
  const states = query.state === undefined ? undefined : [query.state].flat().join(",");
  return get<PageWire<PaymentWire>, Page<PaymentInfo>>(
    client,
    "merchant",
    "/v1/merchant/payments",
    (wire) => ({ items: wire.items.map(parsePayment), nextCursor: wire.nextCursor }),
    options,
    {
      state: states,
      from: millis(query.from),
      to: millis(query.to),
      currency: query.currency,
      cursor: query.cursor,
      limit: limitOf(query.limit),
    },
  );
}

/** Every page of listPayments, following the cursors. */
export function paymentPages(
  client: ApiClient,
  query: ListPaymentsQuery = {},
  options?: CallOptions,
): AsyncGenerator<Page<PaymentInfo>, void, undefined> {
  return pages((cursor) => listPayments(client, { ...query, cursor }, options), query.cursor);
}

/** Every payment matching `query`, page after page: `for await (const p of client.iteratePayments()) …`. */
export async function* iteratePayments(
  client: ApiClient,
  query: ListPaymentsQuery = {},
  options?: CallOptions,
): AsyncGenerator<PaymentInfo, void, undefined> {
  for await (const page of paymentPages(client, query, options)) yield* page.items;
}

/** GET /v1/merchant/payments/:id: one of the merchant's payments, with its inclusion proof once escrowed. */
export function getPaymentAsMerchant(client: ApiClient, id: Hex, options?: CallOptions): Promise<PaymentInfo> {
  return get<PaymentWire, PaymentInfo>(client, "merchant", `/v1/merchant/payments/${id}`, parsePayment, options);
}

/** POST /v1/merchant/payments/:id/refunds: relays a refund signed by the merchant's owner key (see signRefund). */
export function refund(
  client: ApiClient,
  id: Hex,
  signed: SignedRefund,
  options?: CreateOptions,
): Promise<SentTransaction> {
  const body = {
    totalRefund: signed.totalRefund.toString(),
    deadline: signed.deadline.toString(),
    signature: signed.signature,
  };
  const path = `/v1/merchant/payments/${id}/refunds`;
  return post<SentTransactionWire, SentTransaction>(client, "merchant", path, body, parseSentTransaction, options);
}

/**
 * POST /v1/merchant/payments/:id/refund-requests/reject: relays the owner key's rejection of the
 * payment's open refund request number `ordinal` (see signRefundRejection).
 */
export function rejectRefundRequest(
  client: ApiClient,
  id: Hex,
  signed: SignedOrdinalAction,
  options?: CreateOptions,
): Promise<SentTransaction> {
  const body = {
    ordinal: signed.ordinal.toString(),
    deadline: signed.deadline.toString(),
    signature: signed.signature,
  };
  const path = `/v1/merchant/payments/${id}/refund-requests/reject`;
  return post<SentTransactionWire, SentTransaction>(client, "merchant", path, body, parseSentTransaction, options);
}

/** GET /v1/merchant/settlements: one page of the merchant's settlements (payouts). */
export function listSettlements(
  client: ApiClient,
  query: PageQuery = {},
  options?: CallOptions,
): Promise<Page<Settlement>> {
  return get<PageWire<SettlementWire>, Page<Settlement>>(
    client,
    "merchant",
    "/v1/merchant/settlements",
    (wire) => ({ items: wire.items.map(parseSettlement), nextCursor: wire.nextCursor }),
    options,
    { cursor: query.cursor, limit: limitOf(query.limit) },
  );
}

/** Every settlement, page after page. */
export async function* iterateSettlements(
  client: ApiClient,
  query: PageQuery = {},
  options?: CallOptions,
): AsyncGenerator<Settlement, void, undefined> {
  const all = pages((cursor) => listSettlements(client, { ...query, cursor }, options), query.cursor);
  for await (const page of all) yield* page.items;
}

/** GET /v1/merchant/balance: released and claimable funds, read from the escrow. */
/** GET /v1/merchant/balance: released and claimable funds in `currency` (default: the relayer's default currency). */
export function getBalance(client: ApiClient, options?: CallOptions & { currency?: string }): Promise<MerchantBalance> {
  return get<BalanceWire, MerchantBalance>(client, "merchant", "/v1/merchant/balance", parseBalance, options, {
    currency: options?.currency,
  });
}

export interface ReportQuery {
  /** The day, YYYY-MM-DD. */
  date: string;
  /** IANA time zone of the day (default UTC), e.g. "Asia/Shanghai". */
  tz?: string;
}

/**
 * GET /v1/merchant/reports/:kind: the day's reconciliation file as CSV text (columns in
 * docs/REPORTS.md; the auditor rebuilds the same bytes from the chain).
 */
export async function downloadReport(
  client: ApiClient,
  kind: "transactions" | "settlements" | "summary",
  query: ReportQuery,
  options?: CallOptions,
): Promise<string> {
  const path = `/v1/merchant/reports/${kind}`;
  const { body } = await call<string>(
    client,
    "merchant",
    { method: "GET", path, query: { date: query.date, tz: query.tz }, responseType: "text" },
    options,
  );
  return body;
}

/** POST /v1/merchant/webhooks: registers an endpoint; the returned secret verifies its deliveries (verifyWebhook). */
export function registerWebhook(client: ApiClient, url: string, options?: CreateOptions): Promise<WebhookEndpoint> {
  const path = "/v1/merchant/webhooks";
  return post<WebhookEndpointWire, WebhookEndpoint>(client, "merchant", path, { url }, parseWebhookEndpoint, options);
}

/** GET /v1/merchant/webhooks: the merchant's endpoints (no secrets) with their delivery health. */
export function listWebhooks(client: ApiClient, options?: CallOptions): Promise<WebhookEndpointInfo[]> {
  return get<{ items: WebhookEndpointInfoWire[] }, WebhookEndpointInfo[]>(
    client,
    "merchant",
    "/v1/merchant/webhooks",
    (wire) => wire.items.map(parseWebhookEndpointInfo),
    options,
  );
}

function webhookAction(client: ApiClient, id: string, action: "enable" | "disable", options?: CallOptions) {
  return post<WebhookEndpointInfoWire, WebhookEndpointInfo>(
    client,
    "merchant",
    `/v1/merchant/webhooks/${encodeURIComponent(id)}/${action}`,
    undefined,
    parseWebhookEndpointInfo,
    { ...options, idempotencyKey: false },
  );
}

/** POST /v1/merchant/webhooks/:id/disable: stops deliveries; undelivered events are set aside for `enableWebhook`. */
export const disableWebhook = (client: ApiClient, id: string, options?: CallOptions): Promise<WebhookEndpointInfo> =>
  webhookAction(client, id, "disable", options);

/** POST /v1/merchant/webhooks/:id/enable: delivers again, also after the relayer disabled a failing endpoint. */
export const enableWebhook = (client: ApiClient, id: string, options?: CallOptions): Promise<WebhookEndpointInfo> =>
  webhookAction(client, id, "enable", options);

/** DELETE /v1/merchant/webhooks/:id: removes the endpoint and its queued deliveries. */
export async function deleteWebhook(client: ApiClient, id: string, options?: CallOptions): Promise<void> {
  const path = `/v1/merchant/webhooks/${encodeURIComponent(id)}`;
  await call<unknown>(client, "merchant", { method: "DELETE", path }, options);
}

/** POST /v1/merchant/api-keys: a new key; with `revokeCurrent` the key of this client is revoked in the same step. */
export function rotateApiKey(
  client: ApiClient,
  params: { revokeCurrent?: boolean } = {},
  options?: CreateOptions,
): Promise<ApiKey> {
  const body = params.revokeCurrent === undefined ? {} : { revokeCurrent: params.revokeCurrent };
  return post<ApiKeyWire, ApiKey>(client, "merchant", "/v1/merchant/api-keys", body, parseApiKey, options);
}

/** DELETE /v1/merchant/api-keys/:id: the key fails from its next request on. */
export async function revokeApiKey(client: ApiClient, keyId: string, options?: CallOptions): Promise<RevokedKey> {
  const path = `/v1/merchant/api-keys/${encodeURIComponent(keyId)}`;
  const { body } = await call<RevokedKeyWire>(client, "merchant", { method: "DELETE", path }, options);
  return parsed(parseRevokedKey, body, path);
}

export const merchantActions = {
  createPaymentRequest,
  listPayments,
  paymentPages,
  iteratePayments,
  getPaymentAsMerchant,
  refund,
  rejectRefundRequest,
  listSettlements,
  iterateSettlements,
  getBalance,
  downloadReport,
  registerWebhook,
  listWebhooks,
  disableWebhook,
  enableWebhook,
  deleteWebhook,
  rotateApiKey,
  revokeApiKey,
};
