import { TypeCompiler } from "@sinclair/typebox/compiler";
import {
  BatchBody,
  BatchResponse,
  MAX_BATCH_ITEMS,
  PaymentSubmission,
  type BatchItemResult,
} from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { paymentView } from "../../views";
import { rateLimitKey } from "../../http/auth";
import { defineRoute } from "../../http/route";

/** Items are checked one by one, so one malformed payment fails only itself. */
const itemChecker = TypeCompiler.Compile(PaymentSubmission);

function itemError(item: unknown): ApiError | null {
  if (itemChecker.Check(item)) return null;
  const errors = [...itemChecker.Errors(item)].slice(0, 5).map((e) => ({ path: `body${e.path}`, message: e.message }));
  return new ApiError("validation_failed", `${errors[0].path}: ${errors[0].message}`, { errors });
}

/**
 * POST /v1/payments/batch — up to 1,000 signed payments in one request, with a result per item
 * (the status and body POST /v1/payments would have given it). 200 whatever the items' outcomes.
 * Counts against the caller's rate limit per item, and the node calls its unverified items may
 * cause are bounded per request (items past the bound: 429 node_call_budget_exceeded).
 */
export default defineRoute(
  "POST /v1/payments/batch",
  "Submit up to 1,000 signed payments",
  {
    description: `Each item is a PaymentSubmission (see POST /v1/payments); at most ${MAX_BATCH_ITEMS} items.`,
    body: BatchBody,
    response: { 200: BatchResponse },
  },
  async (request, ctx) => {
    const items = request.body.payments;
    // Every item costs what a single payment does: the request took one token, the rest are charged here.
    ctx.limits.requests.charge(rateLimitKey(request.principal), items.length - 1);
    const results: BatchItemResult[] = new Array(items.length);
    const valid: { index: number; body: PaymentSubmission }[] = [];
    items.forEach((item, index) => {
      const error = itemError(item);
      if (error) results[index] = { index, status: error.status, error: error.toJSON().error };
      else valid.push({ index, body: item as PaymentSubmission });
    });
    const outcomes = await ctx.intake.submitMany(valid.map((v) => v.body));
    outcomes.forEach((outcome, i) => {
      const index = valid[i].index;
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
