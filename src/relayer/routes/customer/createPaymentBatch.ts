import { TypeCompiler } from "@sinclair/typebox/compiler";
import {
  BatchBody,
  BatchResponse,
  MAX_BATCH_ITEMS,
  OneOffPaymentSubmission,
  PaymentSubmission,
  type BatchItemResult,
} from "../../../protocol/schemas";
import { ApiError, isApiError } from "../../errors";
import type { BatchItemResult as Outcome, IntakeResult } from "../../intake/intake";
import type { ServedCurrency } from "../../http/context";
import { defaultServed, servedByDomain } from "../../http/currencies";
import { paymentView } from "../../views";
import { rateLimitKey } from "../../http/auth";
import { defineRoute } from "../../http/route";

/** Items are checked one by one, so one malformed payment fails only itself. */
const itemChecker = TypeCompiler.Compile(PaymentSubmission);
const oneOffChecker = TypeCompiler.Compile(OneOffPaymentSubmission);

/** An item carrying an EIP-3009 authorization is a one-off payment (POST /v1/payments/one-off's body). */
const isOneOffItem = (item: unknown): boolean =>
  typeof item === "object" && item !== null && !Array.isArray(item) && "authorization" in item;

function itemError(item: unknown, checker: typeof itemChecker | typeof oneOffChecker): ApiError | null {
  if (checker.Check(item)) return null;
  const errors = [...checker.Errors(item)].slice(0, 5).map((e) => ({ path: `body${e.path}`, message: e.message }));
  return new ApiError("validation_failed", `${errors[0].path}: ${errors[0].message}`, { errors });
}

/**
 * POST /v1/payments/batch — up to 1,000 signed payments in one request, with a result per item
 * (the status and body POST /v1/payments, or POST /v1/payments/one-off for an item that carries an
 * `authorization`, would have given it). 200 whatever the items' outcomes.
 * Counts against the caller's rate limit per item, and the node calls its unverified items may
 * cause are bounded per request (items past the bound: 429 node_call_budget_exceeded).
 */
export default defineRoute(
  "POST /v1/payments/batch",
  "Submit up to 1,000 signed payments",
  {
    description: `Each item is a PaymentSubmission (see POST /v1/payments) or, when it carries an \`authorization\`, a OneOffPaymentSubmission (see POST /v1/payments/one-off); at most ${MAX_BATCH_ITEMS} items.`,
    body: BatchBody,
    response: { 200: BatchResponse },
  },
  async (request, ctx) => {
    const items = request.body.payments;
    // Every item costs what a single payment does: the request took one token, the rest are charged here.
    ctx.limits.requests.charge(rateLimitKey(request.principal), items.length - 1);
    const results: BatchItemResult[] = new Array(items.length);
    const valid: { index: number; body: PaymentSubmission }[] = [];
    const oneOffs: { index: number; body: OneOffPaymentSubmission }[] = [];
    items.forEach((item, index) => {
      const oneOff = isOneOffItem(item);
      const error = itemError(item, oneOff ? oneOffChecker : itemChecker);
      if (error) results[index] = { index, status: error.status, error: error.toJSON().error };
      else if (oneOff) oneOffs.push({ index, body: item as OneOffPaymentSubmission });
      else valid.push({ index, body: item as PaymentSubmission });
    });
    // One node call budget for the whole request, whichever kind and currency its items are.
    const budget = defaultServed(ctx).intake.budget();
    // Each item goes to the intake of the currency whose escrow it was signed for.
    const byCurrency = new Map<ServedCurrency, { index: number; body: PaymentSubmission }[]>();
    for (const item of valid) {
      try {
        const currency = servedByDomain(ctx, item.body);
        byCurrency.set(currency, [...(byCurrency.get(currency) ?? []), item]);
      } catch (error) {
        if (!isApiError(error)) throw error;
        results[item.index] = { index: item.index, status: error.status, error: error.toJSON().error };
      }
    }
    const settle = (work: Promise<IntakeResult>): Promise<Outcome> =>
      work.then(
        (result): Outcome => ({ ok: true, result }),
        (error: unknown): Outcome => {
          if (!isApiError(error)) throw error;
          return { ok: false, error };
        },
      );
    const groups = [...byCurrency];
    const [escrowed, wallet] = await Promise.all([
      Promise.all(
        groups.map(([currency, group]) =>
          currency.intake.submitMany(
            group.map((v) => v.body),
            budget,
          ),
        ),
      ),
      Promise.all(
        oneOffs.map(({ body }) =>
          settle(Promise.resolve().then(() => servedByDomain(ctx, body).intake.submitOneOff(body, budget))),
        ),
      ),
    ]);
    const outcomes = [...escrowed.flat(), ...wallet];
    const indexes = [...groups.flatMap(([, group]) => group), ...oneOffs].map((v) => v.index);
    outcomes.forEach((outcome, i) => {
      const index = indexes[i];
      results[index] = outcome.ok
        ? { index, status: outcome.result.created ? 201 : 200, payment: paymentView(outcome.result.payment) }
        : { index, status: outcome.error.status, error: outcome.error.toJSON().error };
    });
    return {
      accepted: results.filter((r) => r.status === 201).length,
      duplicates: results.filter((r) => r.status === 200).length,
      failed: results.filter((r) => r.status >= 400).length,
      results,
    };
  },
);
