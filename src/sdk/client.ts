/**
 * Typed client of the relayer's HTTP API (/v1) for customers, merchants (API key) and the operator
 * (admin token). Money, nonces and ids are bigint here and decimal strings on the wire; dates are
 * Date. Every failure is a RelayerApiError with the relayer's stable `code` (see errors.ts).
 *
 * Every POST carries an Idempotency-Key (a random UUID unless you pass your own), so a POST whose
 * answer was lost can be sent again without doing anything twice; that is also what makes POSTs
 * retryable (see http.ts). Pass the same key yourself to retry across process restarts.
 */
import { RelayerApiError, StablePayError } from "./errors";
import type { DepositAuthorization } from "./eip3009";
import { HttpTransport, type HttpRequest, type RetryOptions } from "./http";
import { paymentFromRequest, pickNonce, type PaymentFromRequestParams } from "./payments";
import { signPayment } from "./sign";
import type { TypedDataSigner } from "./signers";
import type { Address, EscrowDomain, Hex, Payment, Withdrawal } from "./typedData";
import {
  depositBody,
  parseAccount,
  parseApiKey,
  parseBalance,
  parsePayment,
  parsePaymentRequest,
  parseRevokedKey,
  parseSentTransaction,
  parseSettlement,
  parseWebhookEndpoint,
  parseWebhookEndpointInfo,
  paymentBody,
  withdrawalBody,
  type AccountInfo,
  type AccountWire,
  type ApiKey,
  type ApiKeyWire,
  type BalanceWire,
  type BatchResultWire,
  type MerchantBalance,
  type Page,
  type PageWire,
  type PaymentInfo,
  type PaymentRequest,
  type PaymentRequestTypedData,
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
  type WebhookEndpointWire,
  type WebhookEndpointInfo,
  type WebhookEndpointInfoWire,
} from "./wire";

/** Payments per POST /v1/payments/batch at most (the relayer's MAX_BATCH_ITEMS). */
export const MAX_PAYMENTS_PER_BATCH = 1_000;
/** How often waitForPayment polls, and how long it waits by default. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 120_000;

export interface RelayerClientOptions {
  /** The relayer's origin, e.g. `https://relayer.example.com`. */
  baseUrl: string;
  /** Merchant API key (sp_live_…), for the merchant routes. */
  apiKey?: string;
  /** Operator token (X-Admin-Token), for the admin routes. */
  adminToken?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: RetryOptions;
  headers?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface CreateOptions extends CallOptions {
  /** Idempotency-Key to send (default: a random UUID); `false` sends none, which also disables retries. */
  idempotencyKey?: string | false;
}

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

type Auth = "none" | "merchant" | "admin";

const millis = (value: Date | number | undefined): string | undefined =>
  value === undefined ? undefined : String(value instanceof Date ? value.getTime() : value);

const limitOf = (limit: number | undefined): string | undefined => (limit === undefined ? undefined : String(limit));

/** Re-throws a malformed answer as `invalid_response` rather than a bare TypeError. */
function parsed<W, T>(parse: (wire: W) => T, wire: W, path: string): T {
  try {
    return parse(wire);
  } catch (error) {
    if (error instanceof StablePayError) throw error;
    throw new StablePayError("invalid_response", `unexpected response from ${path}`, undefined, { cause: error });
  }
}

export class RelayerClient {
  private readonly transport: HttpTransport;

  constructor(private readonly options: RelayerClientOptions) {
    this.transport = new HttpTransport(options);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** The same client with another API key (e.g. after rotateApiKey). */
  withApiKey(apiKey: string): RelayerClient {
    return new RelayerClient({ ...this.options, apiKey });
  }

  // ---------------------------------------------------------------- plumbing

  private authHeaders(auth: Auth): Record<string, string> {
    if (auth === "merchant") {
      if (!this.options.apiKey) throw new StablePayError("missing_credentials", "this call needs a merchant API key");
      return { authorization: `Bearer ${this.options.apiKey}` };
    }
    if (auth === "admin") {
      if (!this.options.adminToken) throw new StablePayError("missing_credentials", "this call needs the admin token");
      return { "x-admin-token": this.options.adminToken };
    }
    return {};
  }

  private async call<W>(
    auth: Auth,
    req: Omit<HttpRequest, "headers" | "idempotencyKey">,
    options: CreateOptions = {},
  ): Promise<{ status: number; body: W }> {
    const idempotencyKey =
      req.method !== "POST" || options.idempotencyKey === false
        ? undefined
        : (options.idempotencyKey ?? crypto.randomUUID());
    const response = await this.transport.request<W>({
      ...req,
      headers: this.authHeaders(auth),
      idempotencyKey,
      signal: options.signal,
    });
    return { status: response.status, body: response.body };
  }

  private async get<W, T>(
    auth: Auth,
    path: string,
    parse: (w: W) => T,
    options?: CallOptions,
    query?: HttpRequest["query"],
  ) {
    const { body } = await this.call<W>(auth, { method: "GET", path, query }, options);
    return parsed(parse, body, path);
  }

  private async post<W, T>(auth: Auth, path: string, body: unknown, parse: (w: W) => T, options?: CreateOptions) {
    const response = await this.call<W>(auth, { method: "POST", path, body }, options);
    return parsed(parse, response.body, path);
  }

  private async *pages<T>(
    fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
    cursor: string | undefined,
  ): AsyncGenerator<Page<T>, void, undefined> {
    for (;;) {
      const page = await fetchPage(cursor);
      yield page;
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }

  // ---------------------------------------------------------------- customers

  /** POST /v1/payments: submit one signed payment; answers once it is durably stored. */
  async submitPayment(signed: SignedPayment, options?: CreateOptions): Promise<PaymentSubmission> {
    const { status, body } = await this.call<PaymentWire>(
      "none",
      { method: "POST", path: "/v1/payments", body: paymentBody(signed) },
      options,
    );
    return { created: status === 201, payment: parsed(parsePayment, body, "/v1/payments") };
  }

  /** POST /v1/payments/batch: up to 1,000 signed payments, with a result per item (a failed item fails only itself). */
  async submitPayments(items: SignedPayment[], options?: CreateOptions): Promise<BatchSubmission> {
    if (items.length === 0 || items.length > MAX_PAYMENTS_PER_BATCH) {
      throw new StablePayError("invalid_argument", `a batch holds 1..${MAX_PAYMENTS_PER_BATCH} payments`);
    }
    const path = "/v1/payments/batch";
    return this.post<BatchResultWire, BatchSubmission>(
      "none",
      path,
      { payments: items.map(paymentBody) },
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
  async payRequest(
    signer: TypedDataSigner,
    request: { id: string; typedData: PaymentRequestTypedData },
    options: PayRequestOptions = {},
  ): Promise<PaymentSubmission> {
    const payer = await signer.getAddress();
    const nonce = options.nonce ?? pickNonce(await this.getAccount(payer, options));
    const prepared = paymentFromRequest(request, { payer, nonce, expect: options.expect });
    const signature = await signPayment(signer, prepared);
    return this.submitPayment({ ...prepared, signature }, options);
  }

  /** GET /v1/payments/:id: state, and once escrowed the batch and inclusion proof (see verifyInclusion). */
  getPayment(id: Hex, options?: CallOptions): Promise<PaymentInfo> {
    return this.get<PaymentWire, PaymentInfo>("none", `/v1/payments/${id}`, parsePayment, options);
  }

  /** Polls GET /v1/payments/:id until the payment reaches one of `states` (throws `timeout` otherwise). */
  async waitForPayment(id: Hex, options: WaitForPaymentOptions): Promise<PaymentInfo> {
    const until = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
    for (;;) {
      const payment = await this.getPayment(id, options);
      if (options.states.includes(payment.state)) return payment;
      if (Date.now() >= until) {
        throw new StablePayError("timeout", `payment ${id} is still ${payment.state}`, { state: payment.state });
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS));
    }
  }

  /** POST /v1/payments/:id/confirm: relays the payer's signed Confirmation (see signConfirmation). */
  confirm(id: Hex, action: SignedAction, options?: CreateOptions): Promise<SentTransaction> {
    const body = { deadline: action.deadline.toString(), signature: action.signature };
    return this.post<SentTransactionWire, SentTransaction>(
      "none",
      `/v1/payments/${id}/confirm`,
      body,
      parseSentTransaction,
      options,
    );
  }

  /** POST /v1/payments/:id/dispute: relays the payer's signed Dispute (see signDispute). */
  dispute(id: Hex, action: SignedAction, options?: CreateOptions): Promise<SentTransaction> {
    const body = { deadline: action.deadline.toString(), signature: action.signature };
    return this.post<SentTransactionWire, SentTransaction>(
      "none",
      `/v1/payments/${id}/dispute`,
      body,
      parseSentTransaction,
      options,
    );
  }

  /** POST /v1/deposits: gasless deposit of a signed EIP-3009 authorization (see signDepositAuthorization). */
  deposit(
    signed: { authorization: DepositAuthorization; signature: Hex; domain?: EscrowDomain },
    options?: CreateOptions,
  ): Promise<SentTransaction> {
    return this.post<SentTransactionWire, SentTransaction>(
      "none",
      "/v1/deposits",
      depositBody(signed),
      parseSentTransaction,
      options,
    );
  }

  /** POST /v1/withdrawals: relays the payer's signed Withdrawal (see signWithdrawal). */
  withdraw(
    signed: { withdrawal: Withdrawal; signature: Hex; domain?: EscrowDomain },
    options?: CreateOptions,
  ): Promise<SentTransaction> {
    return this.post<SentTransactionWire, SentTransaction>(
      "none",
      "/v1/withdrawals",
      withdrawalBody(signed),
      parseSentTransaction,
      options,
    );
  }

  /** GET /v1/accounts/:address: escrow balance, pending payments, free nonces (see pickNonce). */
  getAccount(address: Address, options?: CallOptions): Promise<AccountInfo> {
    return this.get<AccountWire, AccountInfo>("none", `/v1/accounts/${address}`, parseAccount, options);
  }

  // ---------------------------------------------------------------- merchants (API key)

  /** POST /v1/merchant/payment-requests: the typed data a customer signs to pay this merchant. */
  createPaymentRequest(params: CreatePaymentRequestParams, options?: CreateOptions): Promise<PaymentRequest> {
    const body = { amount: params.amount.toString(), orderRef: params.orderRef, expiresIn: params.expiresIn };
    return this.post<PaymentRequestWire, PaymentRequest>(
      "merchant",
      "/v1/merchant/payment-requests",
      body,
      parsePaymentRequest,
      options,
    );
  }

  /** GET /v1/merchant/payments: one page of the merchant's payments (see iteratePayments for all of them). */
  listPayments(query: ListPaymentsQuery = {}, options?: CallOptions): Promise<Page<PaymentInfo>> {
    const states = query.state === undefined ? undefined : [query.state].flat().join(",");
    return this.get<PageWire<PaymentWire>, Page<PaymentInfo>>(
      "merchant",
      "/v1/merchant/payments",
      (wire) => ({ items: wire.items.map(parsePayment), nextCursor: wire.nextCursor }),
      options,
      {
        state: states,
        from: millis(query.from),
        to: millis(query.to),
        cursor: query.cursor,
        limit: limitOf(query.limit),
      },
    );
  }

  /** Every page of listPayments, following the cursors. */
  paymentPages(
    query: ListPaymentsQuery = {},
    options?: CallOptions,
  ): AsyncGenerator<Page<PaymentInfo>, void, undefined> {
    return this.pages((cursor) => this.listPayments({ ...query, cursor }, options), query.cursor);
  }

  /** Every payment matching `query`, page after page: `for await (const p of client.iteratePayments()) …`. */
  async *iteratePayments(
    query: ListPaymentsQuery = {},
    options?: CallOptions,
  ): AsyncGenerator<PaymentInfo, void, undefined> {
    for await (const page of this.paymentPages(query, options)) yield* page.items;
  }

  /** GET /v1/merchant/payments/:id: one of the merchant's payments, with its inclusion proof once escrowed. */
  getPaymentAsMerchant(id: Hex, options?: CallOptions): Promise<PaymentInfo> {
    return this.get<PaymentWire, PaymentInfo>("merchant", `/v1/merchant/payments/${id}`, parsePayment, options);
  }

  /** POST /v1/merchant/payments/:id/refunds: relays a refund signed by the merchant's owner key (see signRefund). */
  refund(id: Hex, refund: SignedRefund, options?: CreateOptions): Promise<SentTransaction> {
    const body = {
      totalRefund: refund.totalRefund.toString(),
      deadline: refund.deadline.toString(),
      signature: refund.signature,
    };
    return this.post<SentTransactionWire, SentTransaction>(
      "merchant",
      `/v1/merchant/payments/${id}/refunds`,
      body,
      parseSentTransaction,
      options,
    );
  }

  /** GET /v1/merchant/settlements: one page of the merchant's settlements (payouts). */
  listSettlements(query: PageQuery = {}, options?: CallOptions): Promise<Page<Settlement>> {
    return this.get<PageWire<SettlementWire>, Page<Settlement>>(
      "merchant",
      "/v1/merchant/settlements",
      (wire) => ({ items: wire.items.map(parseSettlement), nextCursor: wire.nextCursor }),
      options,
      { cursor: query.cursor, limit: limitOf(query.limit) },
    );
  }

  /** Every settlement, page after page. */
  async *iterateSettlements(query: PageQuery = {}, options?: CallOptions): AsyncGenerator<Settlement, void, undefined> {
    const pages = this.pages((cursor) => this.listSettlements({ ...query, cursor }, options), query.cursor);
    for await (const page of pages) yield* page.items;
  }

  /** GET /v1/merchant/balance: released and claimable funds, read from the escrow. */
  getBalance(options?: CallOptions): Promise<MerchantBalance> {
    return this.get<BalanceWire, MerchantBalance>("merchant", "/v1/merchant/balance", parseBalance, options);
  }

  /** POST /v1/merchant/webhooks: registers an endpoint; the returned secret verifies its deliveries (verifyWebhook). */
  registerWebhook(url: string, options?: CreateOptions): Promise<WebhookEndpoint> {
    return this.post<WebhookEndpointWire, WebhookEndpoint>(
      "merchant",
      "/v1/merchant/webhooks",
      { url },
      parseWebhookEndpoint,
      options,
    );
  }

  /** GET /v1/merchant/webhooks: the merchant's endpoints (no secrets) with their delivery health. */
  listWebhooks(options?: CallOptions): Promise<WebhookEndpointInfo[]> {
    return this.get<{ items: WebhookEndpointInfoWire[] }, WebhookEndpointInfo[]>(
      "merchant",
      "/v1/merchant/webhooks",
      (wire) => wire.items.map(parseWebhookEndpointInfo),
      options,
    );
  }

  /** POST /v1/merchant/webhooks/:id/disable: stops deliveries; undelivered events are set aside for `enableWebhook`. */
  disableWebhook(id: string, options?: CallOptions): Promise<WebhookEndpointInfo> {
    return this.webhookAction(id, "disable", options);
  }

  /** POST /v1/merchant/webhooks/:id/enable: delivers again, also after the relayer disabled a failing endpoint. */
  enableWebhook(id: string, options?: CallOptions): Promise<WebhookEndpointInfo> {
    return this.webhookAction(id, "enable", options);
  }

  /** DELETE /v1/merchant/webhooks/:id: removes the endpoint and its queued deliveries. */
  async deleteWebhook(id: string, options?: CallOptions): Promise<void> {
    const path = `/v1/merchant/webhooks/${encodeURIComponent(id)}`;
    await this.call<unknown>("merchant", { method: "DELETE", path }, options);
  }

  private webhookAction(id: string, action: "enable" | "disable", options?: CallOptions) {
    return this.post<WebhookEndpointInfoWire, WebhookEndpointInfo>(
      "merchant",
      `/v1/merchant/webhooks/${encodeURIComponent(id)}/${action}`,
      undefined,
      parseWebhookEndpointInfo,
      { ...options, idempotencyKey: false },
    );
  }

  /** POST /v1/merchant/api-keys: a new key; with `revokeCurrent` the key of this client is revoked in the same step. */
  rotateApiKey(params: { revokeCurrent?: boolean } = {}, options?: CreateOptions): Promise<ApiKey> {
    const body = params.revokeCurrent === undefined ? {} : { revokeCurrent: params.revokeCurrent };
    return this.post<ApiKeyWire, ApiKey>("merchant", "/v1/merchant/api-keys", body, parseApiKey, options);
  }

  /** DELETE /v1/merchant/api-keys/:id: the key fails from its next request on. */
  async revokeApiKey(keyId: string, options?: CallOptions): Promise<RevokedKey> {
    const path = `/v1/merchant/api-keys/${encodeURIComponent(keyId)}`;
    const { body } = await this.call<RevokedKeyWire>("merchant", { method: "DELETE", path }, options);
    return parsed(parseRevokedKey, body, path);
  }

  // ---------------------------------------------------------------- operator (admin token)

  /** POST /v1/admin/merchants/:id/api-keys: the operator issues a merchant's API key (the merchant must be registered). */
  createMerchantApiKey(merchantId: bigint, options?: CreateOptions): Promise<ApiKey> {
    return this.post<ApiKeyWire, ApiKey>(
      "admin",
      `/v1/admin/merchants/${merchantId.toString()}/api-keys`,
      undefined,
      parseApiKey,
      options,
    );
  }
}
