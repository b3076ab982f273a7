import { getAddress } from "ethers";
import { CurrencyList } from "../../../protocol/schemas";
import { defineRoute } from "../../http/route";
import { defaultServed } from "../../http/currencies";

/** The list changes only with the deployment, which a restart picks up: clients may keep it a while. */
const CACHE_CONTROL = "public, max-age=300";

/**
 * GET /v1/currencies — the currencies of the relayer's deployment, in its order: each one's token
 * and escrow (with the chain id, the escrow's EIP-712 domain), whether this relayer serves it, and
 * which is the default (the first served). Read at start-up: no store or node read.
 */
export default defineRoute(
  "GET /v1/currencies",
  "List the currencies",
  { response: { 200: CurrencyList } },
  async (_request, ctx, reply) => {
    const chainId = ctx.chain.chainId.toString();
    const first = defaultServed(ctx).currency.code;
    reply.header("cache-control", CACHE_CONTROL);
    return {
      items: ctx.currencies.map((c) => ({
        code: c.code,
        symbol: c.symbol,
        decimals: c.decimals,
        token: getAddress(c.token),
        escrow: getAddress(c.escrow),
        chainId,
        default: c.code === first,
        served: ctx.served.has(c.code),
      })),
    };
  },
);
