/**
 * Which served currency a request is in (docs/CURRENCIES.md): a signed body by the escrow whose
 * EIP-712 domain it names, a query by its `currency` code, an action on a payment by the payment's
 * currency; with none named, the first served. A currency of the deployment that this relayer does
 * not serve is 409 `currency_not_served`; a code or escrow the deployment lacks, 400.
 */
import type { CurrencyAddresses } from "../chain/client";
import type { Hex } from "../domain";
import { ApiError } from "../errors";
import type { RouteContext, ServedCurrency } from "./context";

type Ctx = Pick<RouteContext, "currencies" | "served">;

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

/** The first served currency: the one a request naming none is in. */
export function defaultServed(ctx: Pick<RouteContext, "served">): ServedCurrency {
  return ctx.served.values().next().value as ServedCurrency;
}

function served(ctx: Ctx, currency: CurrencyAddresses): ServedCurrency {
  const found = ctx.served.get(currency.code);
  if (!found) {
    throw new ApiError("currency_not_served", `this relayer does not take payments in ${currency.code}`, {
      served: [...ctx.served.keys()],
    });
  }
  return found;
}

/** The served currency `code` names (absent: the first served). */
export function servedByCode(ctx: Ctx, code?: string): ServedCurrency {
  return code === undefined ? defaultServed(ctx) : served(ctx, knownCurrency(ctx, code));
}

/**
 * The served currency a signed body is for: the one whose escrow its `escrow` names (absent: the
 * first served). An escrow of no currency of the deployment is `wrong_domain`, as is another chain.
 */
export function servedByDomain(ctx: Ctx, body: { chainId?: string; escrow?: string }): ServedCurrency {
  const first = defaultServed(ctx);
  if (body.chainId !== undefined && BigInt(body.chainId) !== first.chain.chainId) {
    throw new ApiError("wrong_domain", "signed for another chain", {
      expected: first.chain.chainId.toString(),
      got: body.chainId,
    });
  }
  if (body.escrow === undefined) return first;
  const escrow = body.escrow.toLowerCase();
  const currency = ctx.currencies.find((c) => c.escrow.toLowerCase() === escrow);
  if (!currency) {
    throw new ApiError("wrong_domain", "signed for an escrow contract that is not this deployment's", {
      expected: [...ctx.served.values()].map((s) => s.chain.escrow),
      got: body.escrow,
    });
  }
  return served(ctx, currency);
}

/** The served currency of a stored payment (or payment request): the escrow it was signed for. */
export function servedOf(ctx: Ctx, record: { currency: string }): ServedCurrency {
  return served(ctx, knownCurrency(ctx, record.currency));
}

/** The escrow of deployment currency `code` (lowercase): the domain its payments' actions are signed for. */
export function escrowOf(ctx: Pick<RouteContext, "currencies">, code: string): Hex {
  return knownCurrency(ctx, code).escrow.toLowerCase() as Hex;
}
