/** The currencies a relayer serves: one settlement token and its escrow each (docs/CURRENCIES.md). */
import { Type, type Static } from "@sinclair/typebox";
import { Address, UintString } from "./common";

export const CurrencyView = Type.Object({
  code: Type.String({ description: "The currency's code in the deployment (USD, EUR)", examples: ["USD"] }),
  symbol: Type.String({ description: "The token's own symbol (spUSD, USDC)" }),
  decimals: Type.Integer({ minimum: 0, maximum: 36, description: "The token's decimals: amounts are in its units" }),
  token: Address,
  escrow: Address,
  chainId: UintString("Chain id of the escrow's EIP-712 domain", 20),
  default: Type.Boolean({
    description: "The currency a request naming none is in: the first this relayer serves (RELAYER_CURRENCIES)",
  }),
  served: Type.Boolean({
    description: "This relayer takes payments in it; another is 409 currency_not_served (served by another relayer)",
  }),
});
export type CurrencyView = Static<typeof CurrencyView>;

export const CurrencyList = Type.Object({ items: Type.Array(CurrencyView) });
export type CurrencyList = Static<typeof CurrencyList>;
