import { Type, type Static } from "@sinclair/typebox";
import type { RouteModule } from "../../http/context";
import { NONCE_WINDOW } from "../../chain/chainView";
import { lower } from "../../intake/parse";
import { Address, ERROR_RESPONSES } from "../../intake/schemas";

const Params = Type.Object({ address: Address });
const NEXT_NONCES = 5;

const AccountView = Type.Object({
  address: Address,
  balance: Type.String({ description: "Free balance in the escrow (on chain)" }),
  pending: Type.String({
    description: "Sum of accepted payments not yet escrowed and of relayed withdrawals not yet executed",
  }),
  available: Type.String({ description: "balance - pending (never below 0): what a new payment may spend" }),
  nonceWindow: Type.Object({ base: Type.String(), bitmap: Type.String() }),
  nextNonces: Type.Array(Type.String(), { description: "Nonces free on chain and not used by a pending payment" }),
});

/**
 * GET /v1/accounts/:address — a payer's escrow balance, what pending payments and withdrawals hold
 * of it, and free nonces: the same view intake admits payments against (the chain as the relayer's
 * watcher has applied it), so what this says is available is what a payment may spend.
 */
const getAccount: RouteModule = (app, ctx) => {
  app.get<{ Params: Static<typeof Params> }>(
    "/v1/accounts/:address",
    {
      schema: {
        tags: ["customers"],
        summary: "Get a payer's balance and nonces",
        params: Params,
        response: { 200: AccountView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const address = lower(request.params.address);
      const view = await ctx.intake.payerLock.run(address, () => ctx.accounts.view(address));
      const { account } = view;
      const pending = view.pendingAmount + view.outflowAmount;
      const nextNonces: string[] = [];
      for (let n = account.nonceBase; n < account.nonceBase + NONCE_WINDOW && nextNonces.length < NEXT_NONCES; n++) {
        if (view.isNonceFree(n)) nextNonces.push(n.toString());
      }
      const available = view.available > 0n ? view.available : 0n;
      return {
        address,
        balance: account.balance.toString(),
        pending: pending.toString(),
        available: available.toString(),
        nonceWindow: { base: account.nonceBase.toString(), bitmap: account.nonceBitmap.toString() },
        nextNonces,
      };
    },
  );
};

export default getAccount;
