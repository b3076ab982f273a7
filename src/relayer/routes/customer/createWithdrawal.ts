import { WithdrawalBody } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { amount, checkValidity, lower, MAX_UINT48, MAX_UINT64, uint } from "../../intake/parse";
import type { Withdrawal } from "../../../protocol";
import { relayCalls } from "../../chain/relayCalls";
import type { ServedCurrency } from "../../http/context";
import { checkRelayMinimum, relayedRoute, relayWithinQuota } from "./paymentAction";

/**
 * POST /v1/withdrawals — the payer's signed Withdrawal of free escrow balance, relayed with the
 * relayer paying gas. Checked like a payment, against the same view: money promised to pending
 * payments cannot be withdrawn through the relayer, and the nonce must be free of pending payments
 * too. Once sent, the withdrawal is reserved in that view until it is seen executed. The relayer
 * pays the gas, so it relays at least `relayMinAmount` (400 amount_below_minimum) and at most
 * `relayQuotaPerDay` withdrawals and deposits per payer (429 relay_quota_exceeded).
 */
export default relayedRoute(
  "POST /v1/withdrawals",
  "Withdraw escrow balance (payer-signed)",
  WithdrawalBody,
  async (body, ctx, currency, writer) => {
    const withdrawal = {
      payer: lower(body.payer),
      to: lower(body.to),
      amount: amount("amount", body.amount),
      nonce: uint("nonce", body.nonce, MAX_UINT64),
      deadline: uint("deadline", body.deadline, MAX_UINT48),
    };
    const signature = body.signature.toLowerCase() as Hex;
    // Relayed before (role api's queue: a client's retry): its outcome, whatever the view says now.
    const earlier = await writer.replay?.(relayCalls.withdrawWithSignature(withdrawal, signature));
    if (earlier) {
      await currency.intake.payerLock.run(withdrawal.payer, async () => reserve(currency, withdrawal));
      return earlier;
    }
    checkRelayMinimum(ctx, withdrawal.amount);
    checkValidity(0n, withdrawal.deadline, currency.intake.nowSeconds());
    await currency.intake.checkSignature(withdrawal.payer, currency.digester.withdrawal(withdrawal), signature);

    return relayWithinQuota(ctx, withdrawal.payer, () =>
      currency.intake.payerLock.run(withdrawal.payer, async () => {
        // The view intake admits payments against: the withdrawal is checked and reserved there.
        const view = await currency.accounts.view(withdrawal.payer);
        if (!view.isNonceFree(withdrawal.nonce)) {
          throw new ApiError("nonce_unavailable", `nonce ${withdrawal.nonce} is used, pending or outside the window`);
        }
        if (view.available < withdrawal.amount) {
          throw new ApiError("insufficient_balance", "escrow balance minus pending payments is below the amount", {
            balance: view.account.balance.toString(),
            pending: (view.pendingAmount + view.outflowAmount).toString(),
          });
        }
        const result = await writer.withdrawWithSignature(withdrawal, signature);
        reserve(currency, withdrawal);
        return result;
      }),
    );
  },
);

/** Sent: until the watcher applies it, no payment may spend what it takes, nor its nonce (under the payer's lock). */
function reserve(currency: ServedCurrency, withdrawal: Withdrawal): void {
  currency.accounts.reserveOutflow(withdrawal.payer, {
    nonce: withdrawal.nonce,
    amount: withdrawal.amount,
    deadline: withdrawal.deadline,
  });
  currency.chain.forget(withdrawal.payer);
}
