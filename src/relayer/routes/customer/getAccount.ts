import { Type, type Static } from "@sinclair/typebox";
import type { RouteModule } from "../../http/context";
import { isNonceAvailable, NONCE_WINDOW } from "../../intake/chainView";
import { lower } from "../../intake/parse";
import { Address, ERROR_RESPONSES } from "../../intake/schemas";

const Params = Type.Object({ address: Address });
const NEXT_NONCES = 5;

const AccountView = Type.Object({
  address: Address,
  balance: Type.String({ description: "Free balance in the escrow (on chain)" }),
  pending: Type.String({ description: "Sum of accepted payments not yet escrowed" }),
  available: Type.String({ description: "balance - pending (never below 0): what a new payment may spend" }),
  nonceWindow: Type.Object({ base: Type.String(), bitmap: Type.String() }),
  nextNonces: Type.Array(Type.String(), { description: "Nonces free on chain and not used by a pending payment" }),
});

/** GET /v1/accounts/:address — a payer's escrow balance, what pending payments hold of it, and free nonces. */
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
      const [account, pending, pendingNonces] = await Promise.all([
        ctx.chain.account(address),
        ctx.store.payments.pendingAmountOf(address),
        ctx.store.payments.pendingNoncesOf(address),
      ]);
      const taken = new Set(pendingNonces);
      const nextNonces: string[] = [];
      for (let n = account.nonceBase; n < account.nonceBase + NONCE_WINDOW && nextNonces.length < NEXT_NONCES; n++) {
        if (isNonceAvailable(account, n) && !taken.has(n)) nextNonces.push(n.toString());
      }
      const available = account.balance > pending ? account.balance - pending : 0n;
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
