/**
 * The payments' second half, while the funds are held: the payer confirms delivery (released at
 * once), the merchant refunds (owner key signs, relayer sends), the payer disputes and the arbiter
 * rules; then the hold ends (the local chain's clock is moved past it) and the relayer's settler
 * pays the merchant for everything still held or released. Each action is signed under the domain of
 * the payment's currency and acts on that currency's escrow.
 */
import {
  paymentFields,
  signConfirmation,
  signDispute,
  signRefund,
  type Hex,
  type PaymentState,
  type Settlement,
} from "../../../src/sdk";
import { chainNow, checkAborted, deadlineFromNow, increaseTime, receipt, type DemoContext } from "./context";
import { follow, FOLLOW_POLL_MS, FOLLOW_TIMEOUT_MS } from "./follow";
import type { DemoMerchant } from "./participants";
import type { DemoPayment } from "./payments";

/** Share of a disputed payment the arbiter returns to the payer, in percent. */
const ARBITER_PAYER_SHARE_PERCENT = 50n;

/** Settlement records in a final state (the transaction is mined and applied). */
const SETTLED_RECORD_STATES: readonly Settlement["state"][] = ["confirmed", "deferred", "failed"];

/** "USD #1": batch ids count per escrow. */
const batchLabel = (p: DemoPayment): string => `${p.currency.code} #${p.info.batchId}`;

export async function confirmPayment(ctx: DemoContext, p: DemoPayment, states: Map<Hex, PaymentState>): Promise<void> {
  const deadline = await deadlineFromNow(ctx);
  const signature = await signConfirmation(p.customer.signer, { domain: p.currency.domain, paymentId: p.id, deadline });
  const sent = await ctx.customerApi.confirm(p.id, { deadline, signature });
  await receipt(ctx, sent.txHash);
  ctx.log(`  ${p.label}: ${p.customer.name} confirmed delivery (signed, relayed; tx ${sent.txHash})`);
  await follow(ctx, [p], ["released"], states);
}

export async function refundPayment(
  ctx: DemoContext,
  merchant: DemoMerchant,
  p: DemoPayment,
  states: Map<Hex, PaymentState>,
): Promise<void> {
  const deadline = await deadlineFromNow(ctx);
  const signature = await signRefund(merchant.ownerSigner, {
    domain: p.currency.domain,
    paymentId: p.id,
    totalRefund: p.amount,
    deadline,
  });
  const sent = await merchant.api.refund(p.id, { totalRefund: p.amount, deadline, signature });
  await receipt(ctx, sent.txHash);
  ctx.log(
    `  ${p.label}: the merchant refunded ${p.currency.format(p.amount)} (owner key signed, relayed; tx ${sent.txHash})`,
  );
  await follow(ctx, [p], ["refunded"], states);
}

export async function disputeAndResolve(
  ctx: DemoContext,
  p: DemoPayment,
  states: Map<Hex, PaymentState>,
): Promise<{ toPayer: bigint; toMerchant: bigint; fee: bigint }> {
  const deadline = await deadlineFromNow(ctx);
  const signature = await signDispute(p.customer.signer, { domain: p.currency.domain, paymentId: p.id, deadline });
  const sent = await ctx.customerApi.dispute(p.id, { deadline, signature });
  await receipt(ctx, sent.txHash);
  ctx.log(`  ${p.label}: ${p.customer.name} opened a dispute (signed, relayed; tx ${sent.txHash})`);
  await follow(ctx, [p], ["disputed"], states);

  checkAborted(ctx);
  // The relayer's transaction is mined (followed to "disputed"): the arbiter, the same account by
  // default, can send now without racing it for a nonce.
  const toPayer = (p.amount * ARBITER_PAYER_SHARE_PERCENT) / 100n;
  const { escrow, format } = p.currency;
  const tx = await escrow.resolveDispute(paymentFields(p.info), toPayer);
  const mined = await receipt(ctx, tx.hash);
  const resolved = mined.logs
    .map((log) => escrow.interface.parseLog(log))
    .find((parsed) => parsed?.name === "DisputeResolved");
  if (!resolved) throw new Error(`resolveDispute ${tx.hash} emitted no DisputeResolved`);
  const ruling = {
    toPayer: resolved.args.toPayer as bigint,
    toMerchant: resolved.args.toMerchant as bigint,
    fee: resolved.args.fee as bigint,
  };
  ctx.log(
    `  ${p.label}: the arbiter ${ctx.record.deployer} ruled ${format(ruling.toPayer)} back to ` +
      `${p.customer.name}, ${format(ruling.toMerchant)} to the merchant, fee ${format(ruling.fee)} (tx ${tx.hash})`,
  );
  await follow(ctx, [p], ["resolved"], states);
  return ruling;
}

/** Moves the chain's clock past the last hold among `payments`, so their tranches can settle. */
export async function endHold(ctx: DemoContext, payments: DemoPayment[]): Promise<void> {
  const releaseAt = payments.reduce((max, p) => (p.info.releaseAt! > max ? p.info.releaseAt! : max), 0n);
  const now = await chainNow(ctx);
  const batches = [...new Set(payments.map(batchLabel))].sort().join(", ");
  if (releaseAt < now) {
    ctx.log(`  the hold of batch ${batches} is already over (chain time ${now}, release at ${releaseAt})`);
    return;
  }
  const seconds = releaseAt - now + 1n;
  await increaseTime(ctx, seconds);
  ctx.log(
    `  chain time moved ${seconds} s forward (evm_increaseTime + evm_mine): the hold of batch ${batches} is over`,
  );
}

/**
 * Waits until the relayer's settler has paid the merchant and marked `payments` settled: a
 * settlement record of each of their currencies (the settler settles per escrow), every record final.
 */
export async function awaitSettlement(
  ctx: DemoContext,
  merchant: DemoMerchant,
  payments: DemoPayment[],
  states: Map<Hex, PaymentState>,
): Promise<Settlement[]> {
  await follow(ctx, payments, ["settled"], states);
  const currencies = [...new Set(payments.map((p) => p.currency))];
  // The settlement record turns "confirmed" once its transaction is mined and applied.
  const deadline = Date.now() + FOLLOW_TIMEOUT_MS;
  for (;;) {
    checkAborted(ctx);
    const settlements: Settlement[] = [];
    for await (const s of merchant.api.iterateSettlements()) settlements.push(s);
    const everyCurrency = currencies.every((c) => settlements.some((s) => s.currency === c.code));
    if (everyCurrency && settlements.every((s) => SETTLED_RECORD_STATES.includes(s.state))) {
      for (const s of settlements) {
        const currency = ctx.currencies.find((c) => c.code === s.currency);
        const format = (amount: bigint | null) =>
          currency ? currency.format(amount ?? 0n) : `${amount ?? 0n} (${s.currency} units)`;
        ctx.log(
          `  settlement ${s.key} (${s.currency}): batch ${s.batchIds.map((b) => `#${b}`).join(", ")} ${s.state}, ` +
            `paid ${format(s.amount)} net, fee ${format(s.fee)} (tx ${s.txHash})`,
        );
      }
      return settlements;
    }
    if (Date.now() > deadline) throw new Error("the relayer's settlements were not confirmed in time");
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}
