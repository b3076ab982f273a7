import { ListPaymentsQuery, Page, PaymentView } from "../../../protocol/schemas";
import { PAYMENT_STATES } from "../../../protocol/states";
import { ApiError } from "../../errors";
import type { PaymentState } from "../../domain";
import { merchantOf } from "../../http/context";
import { paymentView } from "../../views";
import { knownCurrency } from "../../http/currencies";
import { defineRoute } from "../../http/route";
import { keccakUtf8 } from "../../../protocol/hash";
import type { Hex } from "../../domain";

const STATES: readonly string[] = PAYMENT_STATES;

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 100;

export function pageLimit(limit: string | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  const value = Number(limit);
  if (value < 1 || value > MAX_PAGE) throw new ApiError("validation_failed", `limit must be 1..${MAX_PAGE}`);
  return value;
}

function instant(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^[0-9]{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ApiError("validation_failed", `${name} must be ISO 8601 or unix milliseconds`);
  return ms;
}

/** A bytes32 as given, any other text as its keccak256 (the rule of payment requests). */
const orderRefOf = (ref: string): Hex =>
  /^0x[0-9a-fA-F]{64}$/.test(ref) ? (ref.toLowerCase() as Hex) : keccakUtf8(ref);

/** GET /v1/merchant/payments — the merchant's own payments, filtered, cursor-paginated. */
export default defineRoute(
  "GET /v1/merchant/payments",
  "List the merchant's payments",
  { auth: "merchant", querystring: ListPaymentsQuery, response: { 200: Page(PaymentView) } },
  async (request, ctx) => {
    const { merchantId } = merchantOf(request.principal);
    const q = request.query;
    const states = q.state?.split(",").map((s) => s.trim());
    const unknown = states?.filter((s) => !STATES.includes(s));
    if (unknown?.length) throw new ApiError("validation_failed", `unknown state ${unknown[0]}`, { states: STATES });
    const page = await ctx.store.payments.list({
      merchantId,
      states: states as PaymentState[] | undefined,
      orderRef: q.orderRef === undefined ? undefined : orderRefOf(q.orderRef),
      from: instant("from", q.from),
      to: instant("to", q.to),
      currency: q.currency === undefined ? undefined : knownCurrency(ctx, q.currency).code,
      cursor: q.cursor,
      limit: pageLimit(q.limit),
    });
    return { items: page.items.map((p) => paymentView(p)), nextCursor: page.nextCursor };
  },
);
