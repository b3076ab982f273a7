/**
 * Typed client of the relayer's HTTP API (/v1) for customers, merchants (API key) and the operator
 * (admin token): the action groups in ./actions bound to one transport and set of credentials.
 * Money, nonces and ids are bigint here and decimal strings on the wire; dates are Date. Every
 * failure is a RelayerApiError with the relayer's stable `code` (see errors.ts).
 *
 * Every POST carries an Idempotency-Key (a random UUID unless you pass your own), so a POST whose
 * answer was lost can be sent again without doing anything twice; that is also what makes POSTs
 * retryable (see http.ts). Pass the same key yourself to retry across process restarts.
 */
import { customerActions } from "./actions/customer";
import { merchantActions } from "./actions/merchant";
import { operatorActions } from "./actions/operator";
import { bind, type ApiClient, type Bound } from "./actions/request";
import { HttpTransport, type RetryOptions } from "./http";

export {
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
  MAX_PAYMENTS_PER_BATCH,
  type BatchItemResult,
  type BatchSubmission,
  type PayRequestOptions,
  type PaymentSubmission,
  type SignedAction,
  type SignedHoldExtension,
  type SignedOrdinalAction,
  type SignedRefundRequest,
  type SignedPayment,
  type WaitForPaymentOptions,
} from "./actions/customer";
export type { CreatePaymentRequestParams, ListPaymentsQuery, PageQuery, SignedRefund } from "./actions/merchant";
export type { ApiClient, CallOptions, CreateOptions } from "./actions/request";
export { customerActions, merchantActions, operatorActions };

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

export type CustomerActions = Bound<typeof customerActions>;
export type MerchantActions = Bound<typeof merchantActions>;
export type OperatorActions = Bound<typeof operatorActions>;

/** The transport and credentials of `options`, without any actions. */
export function createApiClient(options: RelayerClientOptions): ApiClient {
  return { transport: new HttpTransport(options), apiKey: options.apiKey, adminToken: options.adminToken };
}

/** A payer's client: payments, account, signed actions. */
export const createCustomerClient = (options: RelayerClientOptions): CustomerActions =>
  bind(customerActions, createApiClient(options));

/** A merchant's client (needs `apiKey`). */
export const createMerchantClient = (options: RelayerClientOptions): MerchantActions =>
  bind(merchantActions, createApiClient(options));

/** The operator's client (needs `adminToken`). */
export const createOperatorClient = (options: RelayerClientOptions): OperatorActions =>
  bind(operatorActions, createApiClient(options));

// The class's methods are the three action groups, bound in the constructor.
export interface RelayerClient extends CustomerActions, MerchantActions, OperatorActions {}

/** Every role's actions on one client, for code that acts as several (tests, demos, the operator's tools). */
export class RelayerClient implements ApiClient {
  readonly transport: HttpTransport;
  readonly apiKey?: string;
  readonly adminToken?: string;

  constructor(private readonly options: RelayerClientOptions) {
    const client = createApiClient(options);
    this.transport = client.transport;
    this.apiKey = client.apiKey;
    this.adminToken = client.adminToken;
    Object.assign(this, bind(customerActions, this), bind(merchantActions, this), bind(operatorActions, this));
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** The same client with another API key (e.g. after rotateApiKey). */
  withApiKey(apiKey: string): RelayerClient {
    return new RelayerClient({ ...this.options, apiKey });
  }
}
