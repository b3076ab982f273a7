/**
 * The currency a request names, checked against the deployment's currencies and those this relayer
 * takes payments in. Intake verifies and books payments under the default currency's escrow only so
 * far (docs/CURRENCIES.md, "What is left"), so that is the one currency served; a payment request in
 * another would give typed data whose payment intake then refuses.
 */
import type { CurrencyAddresses } from "../chain/client";
import { ApiError } from "../errors";
import type { RouteContext } from "./context";

/** A currency of the deployment, by code (`unknown_currency` otherwise). */
export function knownCurrency(ctx: Pick<RouteContext, "currencies">, code: string): CurrencyAddresses {
  const found = ctx.currencies.find((c) => c.code === code);
  if (!found) {
    throw new ApiError("unknown_currency", `${code} is not a currency of this deployment`, {
      currencies: ctx.currencies.map((c) => c.code),
    });
  }
  return found;
}

/** The currency a payment request is in: `code`, default the deployment's first, if this relayer serves it. */
export function servedCurrency(ctx: Pick<RouteContext, "currencies">, code?: string): CurrencyAddresses {
  const fallback = ctx.currencies[0];
  const found = code === undefined ? fallback : knownCurrency(ctx, code);
  const served = [fallback.code];
  if (!served.includes(found.code)) {
    throw new ApiError("currency_not_served", `this relayer does not take payments in ${found.code}`, { served });
  }
  return found;
}
