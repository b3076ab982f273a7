import { AccountParams, AccountView, CurrencyQuery } from "../../../protocol/schemas";
import { servedByCode } from "../../http/currencies";
import { defineRoute } from "../../http/route";
import { NONCE_WINDOW } from "../../chain/chainView";
import { lower } from "../../intake/parse";

const NEXT_NONCES = 5;

/**
 * GET /v1/accounts/:address?currency= — a payer's escrow balance in one currency (default the first served), what pending payments and withdrawals hold
 * of it, and free nonces: the same view intake admits payments against (the chain as the relayer's
 * watcher has applied it), so what this says is available is what a payment may spend. One-off
 * payments spend the wallet, not the escrow balance: they are listed apart (`pendingOneOff`).
 */
export default defineRoute(
  "GET /v1/accounts/:address",
  "Get a payer's balance and nonces",
  { params: AccountParams, querystring: CurrencyQuery, response: { 200: AccountView } },
  async (request, ctx) => {
    const address = lower(request.params.address);
    const currency = servedByCode(ctx, request.query.currency);
    const [view, pendingOneOff] = await Promise.all([
      currency.intake.payerLock.run(address, () => currency.accounts.view(address)),
      currency.store.payments.pendingOneOffAmountOf(address),
    ]);
    const { account } = view;
    const pending = view.pendingAmount + view.outflowAmount;
    const nextNonces: string[] = [];
    for (let n = account.nonceBase; n < account.nonceBase + NONCE_WINDOW && nextNonces.length < NEXT_NONCES; n++) {
      if (view.isNonceFree(n)) nextNonces.push(n.toString());
    }
    const available = view.available > 0n ? view.available : 0n;
    return {
      address,
      currency: currency.currency.code,
      balance: account.balance.toString(),
      pending: pending.toString(),
      available: available.toString(),
      pendingOneOff: pendingOneOff.toString(),
      nonceWindow: { base: account.nonceBase.toString(), bitmap: account.nonceBitmap.toString() },
      nextNonces,
    };
  },
);
