/**
 * The relayer's JSON shapes (amounts, ids, nonces and timestamps as decimal strings; dates as
 * ISO 8601) and their SDK forms (bigint money, Date). `parse*` convert one way, `*Body` the other.
 * The wire types are derived from the API's schemas (src/protocol/schemas), so they cannot drift.
 */
import type {
  AccountView,
  BalanceView,
  BatchResponse,
  CurrencyList,
  ErrorDetail,
  InclusionView,
  NewApiKeyView,
  NewWebhookView,
  PageView,
  PaymentRequestTypedData,
  PaymentRequestView,
  PaymentView,
  RevokedApiKeyView,
  SentTransactionView,
  SettlementView,
  WebhookEvent as WebhookEventView,
  WebhookView,
} from "../protocol/schemas";
import { CURRENCY_CODE_PATTERN } from "../protocol/schemas/common";
import { PAYMENT_STATES, SETTLEMENT_STATES, type PaymentState, type SettlementState } from "../protocol/states";
import { StablePayError } from "./errors";
import type { DepositAuthorization } from "./eip3009";
import type { AuthorizationMessage } from "../protocol/eip3009";
import { escrowDomain, type Address, type EscrowDomain, type Hex, type Payment, type Withdrawal } from "../protocol";

export { PAYMENT_STATES, SETTLEMENT_STATES, type PaymentState, type SettlementState, type PaymentRequestTypedData };

// ------------------------------------------------------------------ wire shapes (the relayer's JSON)

export type InclusionWire = InclusionView;
export type PaymentWire = PaymentView;
export type AccountWire = AccountView;
export type PaymentRequestWire = PaymentRequestView;
export type SettlementWire = SettlementView;
export type PageWire<T> = PageView<T>;
export type BalanceWire = BalanceView;
export type ApiKeyWire = NewApiKeyView;
export type RevokedKeyWire = RevokedApiKeyView;
export type WebhookEndpointWire = NewWebhookView;
export type WebhookEndpointInfoWire = WebhookView;
export type SentTransactionWire = SentTransactionView;
export type ErrorWire = ErrorDetail;
export type BatchResultWire = BatchResponse;
export type WebhookEventWire = WebhookEventView;
export type CurrencyListWire = CurrencyList;

// ------------------------------------------------------------------ SDK shapes

export interface Inclusion {
  batchId: bigint;
  /** The batch's Merkle root as the relayer rebuilt it; compare with escrow.batchRoot(batchId). */
  root: Hex;
  leafIndex: number;
  proof: Hex[];
}

/** A payment as the relayer knows it: the signed fields plus its state and where it sits on chain. */
export interface PaymentInfo extends Payment {
  id: Hex;
  /** Its currency's code (getCurrencies): the escrow it is paid through. */
  currency: string;
  signature: Hex;
  state: PaymentState;
  rejectReason: string | null;
  batchId: bigint | null;
  leafIndex: number | null;
  txHash: Hex | null;
  refunded: bigint;
  /**
   * Unix seconds when the hold ends (once escrowed): its tranche's release time (the escrow block's
   * time + `hold`), or its own timer's once extended or paused; null while a refund request pauses it.
   */
  releaseAt: bigint | null;
  /** Its own order timer once the payer extended the hold or asked for a refund; null until then. */
  timer: OrderTimer | null;
  requestId: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Present on single-payment reads; null until the payment is escrowed. */
  inclusion?: Inclusion | null;
}

/** A refund request the payer opened: open (refund_requested) or rejected (refund_rejected). */
export interface RefundRequestInfo {
  amount: bigint;
  /** The payer's reason code and its name (REFUND_REASONS; `code_<n>` for one outside the list). */
  reason: number;
  reasonName: string;
  /** Unix seconds: unanswered by then, the request becomes a dispute. */
  respondBy: bigint;
}

/** A payment's own order timer (`timer` of the payment view). */
export interface OrderTimer {
  /** Unix seconds it becomes releasable; null while a refund request pauses the clock. */
  releaseAt: bigint | null;
  extensions: number;
  refundRequests: number;
  /** Seconds of hold left while a request pauses the clock. */
  holdLeft: bigint | null;
  refundRequest: RefundRequestInfo | null;
  /** Unix seconds: until then the payer may escalate a rejected request to a dispute. */
  escalateBy: bigint | null;
}

export interface AccountInfo {
  address: Address;
  /** The currency whose escrow holds this balance. */
  currency: string;
  /** Free balance in the escrow, on chain. */
  balance: bigint;
  /** Accepted payments not yet escrowed. */
  pending: bigint;
  /** balance - pending: what a new payment may spend. */
  available: bigint;
  /** Accepted one-off payments not yet escrowed: they spend the wallet's tokens, not the escrow balance. */
  pendingOneOff: bigint;
  nonceWindow: { base: bigint; bitmap: bigint };
  /** Nonces free on chain and not used by a pending payment, lowest first. */
  nextNonces: bigint[];
}

/** A currency the relayer serves: a settlement token and the escrow that holds it. */
export interface Currency {
  /** USD, EUR: what the relayer's API names it by. */
  code: string;
  /** The token's own symbol (spUSD, USDC). */
  symbol: string;
  /** Amounts in this currency are integers in 10^-decimals of a unit. */
  decimals: number;
  /** Checksummed, as the relayer sent it. */
  token: Address;
  escrow: Address;
  chainId: bigint;
  /** The currency a request naming none is in: the first the relayer serves. */
  default: boolean;
  /** The relayer takes payments in it (another answers 409 currency_not_served). */
  served: boolean;
  /** The escrow's EIP-712 domain: a payment in this currency is signed under it, and acts in no other. */
  domain: EscrowDomain;
}

export interface PaymentRequest {
  id: string;
  merchantId: bigint;
  /** The currency it is paid in: its typed data's domain is that currency's escrow. */
  currency: string;
  amount: bigint;
  orderRef: Hex;
  /** Seconds the payment is held once escrowed (in the typed data the customer signs). */
  hold: bigint;
  expiresAt: Date;
  /** What the customer signs, exactly as the relayer sent it (see `paymentFromRequest`). */
  typedData: PaymentRequestTypedData;
}

export interface Settlement {
  key: number;
  merchantId: bigint;
  currency: string;
  batchIds: bigint[];
  state: SettlementState;
  txHash: Hex | null;
  amount: bigint | null;
  fee: bigint | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface MerchantBalance {
  merchantId: bigint;
  /** The currency whose escrow holds these funds. */
  currency: string;
  /** Released funds net of fees, paid out at the next settlement. */
  released: bigint;
  /** Payouts that could not be delivered, claimable on chain with escrow.claim. */
  claimable: bigint;
}

export interface ApiKey {
  id: string;
  merchantId: bigint;
  /** The secret (sp_live_…): shown only once, store it now. */
  key: string;
  createdAt: Date;
  /** With `revokeCurrent`, the id of the key the rotation revoked. */
  revokedKeyId?: string;
}

export interface RevokedKey {
  id: string;
  revokedAt: Date;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** The HMAC secret deliveries are signed with: shown only once, store it now. */
  secret: string;
  createdAt: Date;
}

/** The relayer sent the transaction; the payment's state follows from the escrow's events. */
export interface SentTransaction {
  txHash: Hex;
  status: "sent";
}

/** A registered endpoint as listed (never with its secret), with its delivery health. */
export interface WebhookEndpointInfo {
  id: string;
  url: string;
  createdAt: Date;
  enabled: boolean;
  disabledAt: Date | null;
  /** "merchant": disabled through the API; "failing": the relayer disabled it after repeated failed deliveries. */
  disabledReason: "merchant" | "failing" | null;
  consecutiveFailures: number;
  failingSince: Date | null;
  lastError: string | null;
}

export interface WebhookEvent {
  /** Stable per state change: dedupe deliveries on it. */
  id: string;
  /** `payment.<state>`. */
  type: string;
  /**
   * 1, 2, 3... per payment, in the order its state changed (numbers may be skipped). Deliveries
   * are not ordered: keep the highest sequence applied per payment and ignore an event below it.
   */
  sequence: number;
  createdAt: Date;
  data: PaymentInfo;
}

// ------------------------------------------------------------------ parsing (wire → SDK)

function fail(what: string, value: unknown): never {
  throw new StablePayError("invalid_response", `the relayer sent an invalid ${what}: ${JSON.stringify(value)}`);
}

export function parseBigint(value: unknown, what = "number"): bigint {
  if (typeof value !== "string" || !/^[0-9]+$/.test(value)) fail(what, value);
  return BigInt(value);
}

const optionalBigint = (value: unknown, what: string): bigint | null =>
  value === null || value === undefined ? null : parseBigint(value, what);

/** A hold in seconds: a JSON integer (uint32) on the wire, bigint like the other signed fields here. */
function parseHold(value: unknown, what = "hold"): bigint {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) fail(what, value);
  return BigInt(value);
}

function parseCurrency(value: unknown): string {
  if (typeof value !== "string" || !new RegExp(CURRENCY_CODE_PATTERN).test(value)) fail("currency", value);
  return value;
}

function parseHex(value: unknown, what: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]*$/.test(value)) fail(what, value);
  return value.toLowerCase() as Hex;
}

function parseAddress(value: unknown, what: string): Address {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) fail(what, value);
  return value as Address;
}

function parseDate(value: unknown, what: string): Date {
  const date = typeof value === "string" ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) fail(what, value);
  return date;
}

function oneOf<T extends string>(values: readonly T[], value: unknown, what: string): T {
  if (!values.includes(value as T)) fail(what, value);
  return value as T;
}

export function parseInclusion(wire: InclusionWire): Inclusion {
  return {
    batchId: parseBigint(wire.batchId, "batchId"),
    root: parseHex(wire.root, "root"),
    leafIndex: wire.leafIndex,
    proof: wire.proof.map((node) => parseHex(node, "proof node")),
  };
}

export function parsePayment(wire: PaymentWire): PaymentInfo {
  return {
    id: parseHex(wire.id, "payment id"),
    payer: parseHex(wire.payer, "payer"),
    merchantId: parseBigint(wire.merchantId, "merchantId"),
    currency: parseCurrency(wire.currency),
    amount: parseBigint(wire.amount, "amount"),
    orderRef: parseHex(wire.orderRef, "orderRef"),
    nonce: parseBigint(wire.nonce, "nonce"),
    validAfter: parseBigint(wire.validAfter, "validAfter"),
    deadline: parseBigint(wire.deadline, "deadline"),
    hold: parseHold(wire.hold),
    signature: parseHex(wire.signature, "signature"),
    state: oneOf(PAYMENT_STATES, wire.state, "payment state"),
    rejectReason: wire.rejectReason,
    batchId: optionalBigint(wire.batchId, "batchId"),
    leafIndex: wire.leafIndex,
    txHash: wire.txHash === null ? null : parseHex(wire.txHash, "txHash"),
    refunded: parseBigint(wire.refunded, "refunded"),
    releaseAt: optionalBigint(wire.releaseAt, "releaseAt"),
    timer: wire.timer === null || wire.timer === undefined ? null : parseOrderTimer(wire.timer),
    requestId: wire.requestId,
    createdAt: parseDate(wire.createdAt, "createdAt"),
    updatedAt: parseDate(wire.updatedAt, "updatedAt"),
    ...(wire.inclusion === undefined
      ? {}
      : { inclusion: wire.inclusion === null ? null : parseInclusion(wire.inclusion) }),
  };
}

export function parseOrderTimer(wire: NonNullable<PaymentWire["timer"]>): OrderTimer {
  const request = wire.refundRequest;
  return {
    releaseAt: optionalBigint(wire.releaseAt, "timer.releaseAt"),
    extensions: wire.extensions,
    refundRequests: wire.refundRequests,
    holdLeft: optionalBigint(wire.holdLeft, "timer.holdLeft"),
    refundRequest:
      request === null
        ? null
        : {
            amount: parseBigint(request.amount, "refundRequest.amount"),
            reason: request.reason,
            reasonName: request.reasonName,
            respondBy: parseBigint(request.respondBy, "refundRequest.respondBy"),
          },
    escalateBy: optionalBigint(wire.escalateBy, "timer.escalateBy"),
  };
}

export function parseAccount(wire: AccountWire): AccountInfo {
  return {
    address: parseHex(wire.address, "address"),
    currency: parseCurrency(wire.currency),
    balance: parseBigint(wire.balance, "balance"),
    pending: parseBigint(wire.pending, "pending"),
    available: parseBigint(wire.available, "available"),
    pendingOneOff: parseBigint(wire.pendingOneOff, "pendingOneOff"),
    nonceWindow: {
      base: parseBigint(wire.nonceWindow.base, "nonce base"),
      bitmap: parseBigint(wire.nonceWindow.bitmap, "nonce bitmap"),
    },
    nextNonces: wire.nextNonces.map((n) => parseBigint(n, "nonce")),
  };
}

export function parseCurrencies(wire: CurrencyListWire): Currency[] {
  return wire.items.map((c) => {
    const escrow = parseAddress(c.escrow, "escrow");
    const chainId = parseBigint(c.chainId, "chainId");
    return {
      code: c.code,
      symbol: c.symbol,
      decimals: c.decimals,
      token: parseAddress(c.token, "token"),
      escrow,
      chainId,
      default: c.default,
      served: c.served,
      domain: escrowDomain(chainId, escrow),
    };
  });
}

export function parsePaymentRequest(wire: PaymentRequestWire): PaymentRequest {
  return {
    id: wire.id,
    merchantId: parseBigint(wire.merchantId, "merchantId"),
    currency: parseCurrency(wire.currency),
    amount: parseBigint(wire.amount, "amount"),
    orderRef: parseHex(wire.orderRef, "orderRef"),
    hold: parseHold(wire.hold),
    expiresAt: parseDate(wire.expiresAt, "expiresAt"),
    typedData: wire.typedData,
  };
}

export function parseSettlement(wire: SettlementWire): Settlement {
  return {
    key: wire.key,
    merchantId: parseBigint(wire.merchantId, "merchantId"),
    currency: parseCurrency(wire.currency),
    batchIds: wire.batchIds.map((id) => parseBigint(id, "batchId")),
    state: oneOf(SETTLEMENT_STATES, wire.state, "settlement state"),
    txHash: wire.txHash === null ? null : parseHex(wire.txHash, "txHash"),
    amount: optionalBigint(wire.amount, "amount"),
    fee: optionalBigint(wire.fee, "fee"),
    createdAt: parseDate(wire.createdAt, "createdAt"),
    updatedAt: parseDate(wire.updatedAt, "updatedAt"),
  };
}

export function parseBalance(wire: BalanceWire): MerchantBalance {
  return {
    merchantId: parseBigint(wire.merchantId, "merchantId"),
    currency: parseCurrency(wire.currency),
    released: parseBigint(wire.released, "released"),
    claimable: parseBigint(wire.claimable, "claimable"),
  };
}

export function parseApiKey(wire: ApiKeyWire): ApiKey {
  return {
    id: wire.id,
    merchantId: parseBigint(wire.merchantId, "merchantId"),
    key: wire.key,
    createdAt: parseDate(wire.createdAt, "createdAt"),
    ...(wire.revokedKeyId === undefined ? {} : { revokedKeyId: wire.revokedKeyId }),
  };
}

export const parseRevokedKey = (wire: RevokedKeyWire): RevokedKey => ({
  id: wire.id,
  revokedAt: parseDate(wire.revokedAt, "revokedAt"),
});

export const parseWebhookEndpoint = (wire: WebhookEndpointWire): WebhookEndpoint => ({
  id: wire.id,
  url: wire.url,
  secret: wire.secret,
  createdAt: parseDate(wire.createdAt, "createdAt"),
});

export const parseSentTransaction = (wire: SentTransactionWire): SentTransaction => ({
  txHash: parseHex(wire.txHash, "txHash"),
  status: "sent",
});

const optionalDate = (value: string | null, what: string): Date | null =>
  value === null ? null : parseDate(value, what);

export const parseWebhookEndpointInfo = (wire: WebhookEndpointInfoWire): WebhookEndpointInfo => ({
  id: wire.id,
  url: wire.url,
  createdAt: parseDate(wire.createdAt, "createdAt"),
  enabled: wire.enabled,
  disabledAt: optionalDate(wire.disabledAt, "disabledAt"),
  disabledReason: wire.disabledReason,
  consecutiveFailures: wire.consecutiveFailures,
  failingSince: optionalDate(wire.failingSince, "failingSince"),
  lastError: wire.lastError,
});

export const parseWebhookEvent = (wire: WebhookEventWire): WebhookEvent => ({
  id: wire.id,
  type: wire.type,
  sequence: Number.isSafeInteger(wire.sequence) ? wire.sequence : fail("event sequence", wire.sequence),
  createdAt: parseDate(wire.createdAt, "createdAt"),
  data: parsePayment(wire.data),
});

// ------------------------------------------------------------------ bodies (SDK → wire)

const domainFields = (domain?: EscrowDomain) =>
  domain ? { chainId: domain.chainId.toString(), escrow: domain.verifyingContract } : {};

/** POST /v1/payments body. With `domain`, the relayer checks it is the one it serves (wrong_domain). */
export function paymentBody(p: { payment: Payment; signature: Hex; domain?: EscrowDomain; requestId?: string }) {
  const { payment, signature } = p;
  return {
    payer: payment.payer,
    merchantId: payment.merchantId.toString(),
    amount: payment.amount.toString(),
    orderRef: payment.orderRef,
    nonce: payment.nonce.toString(),
    validAfter: payment.validAfter.toString(),
    deadline: payment.deadline.toString(),
    hold: Number(payment.hold),
    signature,
    ...domainFields(p.domain),
    ...(p.requestId === undefined ? {} : { requestId: p.requestId }),
  };
}

/** POST /v1/payments/one-off body: the payment without its nonce (always ONE_OFF_NONCE) and its authorization. */
export function oneOffPaymentBody(p: {
  payment: Payment;
  authorization: AuthorizationMessage;
  signature: Hex;
  domain?: EscrowDomain;
  requestId?: string;
}) {
  const { payment, authorization: a } = p;
  return {
    payer: payment.payer,
    merchantId: payment.merchantId.toString(),
    amount: payment.amount.toString(),
    orderRef: payment.orderRef,
    validAfter: payment.validAfter.toString(),
    deadline: payment.deadline.toString(),
    hold: Number(payment.hold),
    authorization: {
      from: a.from,
      to: a.to,
      value: a.value.toString(),
      validAfter: a.validAfter.toString(),
      validBefore: a.validBefore.toString(),
      nonce: a.nonce,
      signature: p.signature,
    },
    ...domainFields(p.domain),
    ...(p.requestId === undefined ? {} : { requestId: p.requestId }),
  };
}

export function withdrawalBody(p: { withdrawal: Withdrawal; signature: Hex; domain?: EscrowDomain }) {
  const { withdrawal, signature } = p;
  return {
    payer: withdrawal.payer,
    to: withdrawal.to,
    amount: withdrawal.amount.toString(),
    nonce: withdrawal.nonce.toString(),
    deadline: withdrawal.deadline.toString(),
    signature,
    ...domainFields(p.domain),
  };
}

export function depositBody(p: { authorization: DepositAuthorization; signature: Hex; domain?: EscrowDomain }) {
  const { authorization: a, signature } = p;
  return {
    from: a.from,
    amount: a.value.toString(),
    validAfter: a.validAfter.toString(),
    validBefore: a.validBefore.toString(),
    salt: a.salt,
    signature,
    ...domainFields(p.domain),
  };
}
