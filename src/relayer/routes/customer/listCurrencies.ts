import { getAddress } from "ethers";
import { CurrencyList } from "../../../protocol/schemas";
import { defineRoute } from "../../http/route";

/** The list changes only with the deployment, which a restart picks up: clients may keep it a while. */
const CACHE_CONTROL = "public, max-age=300";

/**
 * GET /v1/currencies — the currencies of the relayer's deployment, in its order, the first being
 * the default: each one's token and escrow (with the chain id, the escrow's EIP-712 domain). Read
 * from the deployment record at start-up: no store or node read.
 */
export default defineRoute(
  "GET /v1/currencies",
  "List the currencies",
  { response: { 200: CurrencyList } },
  async (_request, ctx, reply) => {
    const chainId = ctx.chain.chainId.toString();
    reply.header("cache-control", CACHE_CONTROL);
    return {
      items: ctx.currencies.map((c, i) => ({
        code: c.code,
        symbol: c.symbol,
        decimals: c.decimals,
        token: getAddress(c.token),
        escrow: getAddress(c.escrow),
        chainId,
        default: i === 0,
      })),
    };
  },
);
