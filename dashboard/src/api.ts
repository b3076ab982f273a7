/**
 * The relayer's merchant API as the page calls it: same origin only, the API key in the
 * Authorization header. The key lives in this module's closure and nowhere else (no storage, no
 * cookie, no URL); `forget()` drops it. Wire types come from the protocol's schemas.
 */
import type {
  BalanceView,
  CreditView,
  CurrencyView,
  PageView,
  PaymentTimelineView,
  PaymentView,
  RefundRejectionTypedDataView,
  RefundTypedDataView,
  SentTransactionView,
  SettlementView,
  WebhookDeliveryView,
  WebhookView,
} from "../../src/protocol/schemas";

export type {
  BalanceView,
  CurrencyView,
  RefundRejectionTypedDataView,
  CreditView,
  PaymentTimelineView,
  PaymentView,
  SettlementView,
  WebhookDeliveryView,
  WebhookView,
};

/** An error answer of the API: its stable code and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let apiKey: string | null = null;

export const signedIn = (): boolean => apiKey !== null;

export function forget(): void {
  apiKey = null;
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  if (apiKey === null) throw new ApiFailure(401, "signed_out", "signed out");
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${apiKey}`);
  const response = await fetch(path, { ...init, headers, credentials: "omit", cache: "no-store" });
  if (!response.ok) {
    let code = "http_error";
    let message = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // Not JSON: the status says it all.
    }
    throw new ApiFailure(response.status, code, message);
  }
  return response;
}

const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await call(path, init)).json() as Promise<T>;

const query = (params: Record<string, string | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};

/** Checks `key` against the API and keeps it for the session when it works. */
export async function signIn(key: string): Promise<BalanceView> {
  apiKey = key;
  try {
    return await balance();
  } catch (error) {
    apiKey = null;
    throw error;
  }
}

/** Released and claimable funds in `currency` (default: the relayer's default currency). */
export const balance = (currency?: string) => json<BalanceView>(`/v1/merchant/balance${query({ currency })}`);

/** The deployment's currencies: which the relayer serves, each token's decimals. */
export const currencies = () => json<{ items: CurrencyView[] }>("/v1/currencies");

export const payments = (filters: {
  state?: string;
  orderRef?: string;
  from?: string;
  to?: string;
  currency?: string;
  cursor?: string;
}) => json<PageView<PaymentView>>(`/v1/merchant/payments${query({ ...filters, limit: "50" })}`);

export const payment = (id: string) => json<PaymentView>(`/v1/merchant/payments/${encodeURIComponent(id)}`);

export const timeline = (id: string) =>
  json<PaymentTimelineView>(`/v1/merchant/payments/${encodeURIComponent(id)}/timeline`);

export const refundTypedData = (id: string, totalRefund: string) =>
  json<RefundTypedDataView>(
    `/v1/merchant/payments/${encodeURIComponent(id)}/refund-typed-data${query({ totalRefund })}`,
  );

export const refund = (id: string, body: { totalRefund: string; deadline: string; signature: string }) =>
  json<SentTransactionView>(`/v1/merchant/payments/${encodeURIComponent(id)}/refunds`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** The typed data of a rejection of the payment's refund request number `ordinal` (its latest: the open one). */
export const refundRejectionTypedData = (id: string, ordinal: string) =>
  json<RefundRejectionTypedDataView>(
    `/v1/merchant/payments/${encodeURIComponent(id)}/refund-rejection-typed-data${query({ ordinal })}`,
  );

export const rejectRefundRequest = (id: string, body: { ordinal: string; deadline: string; signature: string }) =>
  json<SentTransactionView>(`/v1/merchant/payments/${encodeURIComponent(id)}/refund-requests/reject`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Most open refund requests the Refund requests view gathers (pages of 100, newest payments first). */
const MAX_OPEN_REQUESTS = 1_000;

/**
 * Every payment with an open refund request, oldest respond-by first: the list API pages newest
 * payments first, so the view gathers them all (up to MAX_OPEN_REQUESTS) and sorts by the deadline.
 */
export async function openRefundRequests(): Promise<{ items: PaymentView[]; more: boolean }> {
  const items: PaymentView[] = [];
  let cursor: string | undefined;
  do {
    const page = await json<PageView<PaymentView>>(
      `/v1/merchant/payments${query({ state: "refund_requested", cursor, limit: "100" })}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && items.length < MAX_OPEN_REQUESTS);
  const respondBy = (p: PaymentView) => BigInt(p.timer?.refundRequest?.respondBy ?? "0");
  items.sort((a, b) => (respondBy(a) < respondBy(b) ? -1 : respondBy(a) > respondBy(b) ? 1 : 0));
  return { items, more: cursor !== undefined };
}

export const settlements = (cursor?: string) =>
  json<PageView<SettlementView>>(`/v1/merchant/settlements${query({ cursor, limit: "50" })}`);

export const credit = (merchantId: string) =>
  json<CreditView>(`/v1/merchants/${encodeURIComponent(merchantId)}/credit`);

export const webhooks = () => json<{ items: WebhookView[] }>("/v1/merchant/webhooks");

export const deliveries = (id: string) =>
  json<{ items: WebhookDeliveryView[] }>(`/v1/merchant/webhooks/${encodeURIComponent(id)}/deliveries`);

/** A reconciliation file as a Blob (fetched with the key header, so no link can carry the key). */
export async function report(kind: string, date: string, tz: string): Promise<{ blob: Blob; name: string }> {
  const response = await call(`/v1/merchant/reports/${encodeURIComponent(kind)}${query({ date, tz })}`);
  const disposition = response.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${kind}-${date}.csv`;
  return { blob: await response.blob(), name };
}

/** The relayer's settings for this page (the idle sign-out time). */
export async function settings(): Promise<{ idleSeconds: number }> {
  const response = await fetch("./config.json", { credentials: "omit", cache: "no-store" });
  return response.json() as Promise<{ idleSeconds: number }>;
}
