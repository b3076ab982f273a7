import { Type, type Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import { PaymentState } from "../../domain";
import { merchantOf, type RouteModule } from "../../http/context";
import { paymentView } from "../../views";
import { CursorQuery, ERROR_RESPONSES, Page, PaymentView } from "../../intake/schemas";

const STATES = Object.values(PaymentState) as string[];

const Query = Type.Object(
  {
    state: Type.Optional(Type.String({ maxLength: 200, description: `Comma-separated states: ${STATES.join(", ")}` })),
    from: Type.Optional(
      Type.String({ maxLength: 40, description: "Created at or after: ISO 8601 or unix milliseconds" }),
    ),
    to: Type.Optional(Type.String({ maxLength: 40, description: "Created before: ISO 8601 or unix milliseconds" })),
    ...CursorQuery,
  },
  { additionalProperties: false },
);

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

/** GET /v1/merchant/payments — the merchant's own payments, filtered, cursor-paginated. */
const listPayments: RouteModule = (app, ctx) => {
  app.get<{ Querystring: Static<typeof Query> }>(
    "/v1/merchant/payments",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "List the merchant's payments",
        security: [{ merchantKey: [] }],
        querystring: Query,
        response: { 200: Page(PaymentView), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { merchantId } = merchantOf(request.principal);
      const q = request.query;
      const states = q.state?.split(",").map((s) => s.trim());
      const unknown = states?.filter((s) => !STATES.includes(s));
      if (unknown?.length) throw new ApiError("validation_failed", `unknown state ${unknown[0]}`, { states: STATES });
      const page = await ctx.store.payments.list({
        merchantId,
        states: states as PaymentState[] | undefined,
        from: instant("from", q.from),
        to: instant("to", q.to),
        cursor: q.cursor,
        limit: pageLimit(q.limit),
      });
      return { items: page.items.map((p) => paymentView(p)), nextCursor: page.nextCursor };
    },
  );
};

export default listPayments;
