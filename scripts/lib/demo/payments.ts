/**
 * The payments' first half: the merchant creates a payment request per order, in the order's
 * currency; each customer signs it (EIP-712 `Payment` under that currency's escrow domain, with the
 * request's hold; the SDK fills in payer and a free nonce of that escrow), one POST per currency
 * submits them, and the relayer batches them: one `payBatch` per escrow and hold, as a batch goes to
 * one escrow and escrows a merchant's payments under one hold. Each escrowed payment's inclusion
 * proof is then checked against the batch root read from its escrow, not the one the relayer reports.
 */
import {
  paymentFromRequest,
  paymentId,
  pickNonce,
  signPayment,
  verifyInclusion,
  type Hex,
  type PaymentInfo,
  type SignedPayment,
} from "../../../src/sdk";
import { checkAborted, type DemoContext, type DemoCurrency } from "./context";
import { follow } from "./follow";
import type { DemoCustomer, DemoMerchant } from "./participants";

/** How long the demo waits for the relayer to see its own deposits before paying with them. */
const DEPOSIT_VISIBLE_RETRIES = 40;
const DEPOSIT_VISIBLE_WAIT_MS = 250;

/** What happens to a payment after it is escrowed. */
export type Outcome = "confirm" | "refund" | "dispute" | "hold";

export interface PlannedPayment {
  customer: DemoCustomer;
  /** What it is paid in: the request's currency, whose escrow holds it. */
  currency: DemoCurrency;
  amount: bigint;
  order: string;
  /** Seconds the payment is held once escrowed (the payment request's, so signed by the customer). */
  hold: number;
  outcome: Outcome;
}

export interface DemoPayment extends PlannedPayment {
  id: Hex;
  requestId: string;
  /** For messages: "order-1001 (alice, USD)". */
  label: string;
  info: PaymentInfo;
}

/**
 * Payment requests validity: the demo pays and escrows them within seconds. The relayer counts the
 * signed deadline from the chain's clock when it is ahead (an earlier run moved it), so this holds
 * on a chain of any age.
 */
const REQUEST_EXPIRY_SECONDS = 15 * 60;

export async function payAndEscrow(
  ctx: DemoContext,
  merchant: DemoMerchant,
  plan: PlannedPayment[],
): Promise<DemoPayment[]> {
  // Nonces are per escrow: the same customer has a nonce 0 in each currency.
  const usedNonces = new Map<string, bigint[]>();
  const signed = new Map<DemoCurrency, SignedPayment[]>();
  const prepared: Omit<DemoPayment, "info">[] = [];
  for (const p of plan) {
    checkAborted(ctx);
    const { currency } = p;
    const request = await merchant.api.createPaymentRequest({
      amount: p.amount,
      orderRef: p.order,
      expiresIn: REQUEST_EXPIRY_SECONDS,
      hold: p.hold,
      currency: currency.code,
    });
    if (request.currency !== currency.code) {
      throw new Error(`a payment request for ${currency.code} came back in ${request.currency}`);
    }
    // The customer's app: a free nonce (skipping the ones signed but not submitted yet), then sign.
    const nonceKey = `${currency.code}:${p.customer.address}`;
    const used = usedNonces.get(nonceKey) ?? [];
    const nonce = pickNonce(await ctx.customerApi.getAccount(p.customer.address, { currency: currency.code }), used);
    usedNonces.set(nonceKey, [...used, nonce]);
    const payment = paymentFromRequest(request, {
      payer: p.customer.address,
      nonce,
      expect: { chainId: ctx.chainId, escrow: currency.domain.verifyingContract },
    });
    const signature = await signPayment(p.customer.signer, payment);
    const id = paymentId(payment.domain, payment.payment);
    const label = `${p.order} (${p.customer.name}, ${currency.code})`;
    ctx.log(
      `  ${label}: request ${request.id} for ${currency.format(p.amount)}, held ${request.hold} s; ` +
        `${p.customer.name} signed payment ${id} under the ${currency.code} escrow's domain (nonce ${nonce})`,
    );
    signed.set(currency, [...(signed.get(currency) ?? []), { ...payment, signature }]);
    prepared.push({ ...p, id, requestId: request.id, label });
  }

  for (const [currency, payments] of signed) await submit(ctx, currency, payments);

  const escrowed = await follow(ctx, prepared, ["escrowed"]);
  for (const p of prepared) {
    const info = await ctx.customerApi.getPayment(p.id);
    escrowed.set(p.id, info);
    if (info.currency !== p.currency.code) {
      throw new Error(`payment ${p.id} was signed in ${p.currency.code}, the relayer has it in ${info.currency}`);
    }
    if (!info.inclusion) throw new Error(`payment ${p.id} is escrowed but has no inclusion proof`);
    const root = (await p.currency.escrow.batchRoot(info.inclusion.batchId)) as Hex;
    if (!verifyInclusion(info, root, p.currency.domain)) {
      throw new Error(
        `the inclusion proof of ${p.id} does not lead to ${p.currency.code} batch #${info.inclusion.batchId}'s root ${root}`,
      );
    }
  }
  const batches = [...new Set(prepared.map((p) => `${p.currency.code} #${escrowed.get(p.id)!.batchId}`))].sort();
  ctx.log(`  every inclusion proof checks out against the root its escrow holds for batch ${batches.join(", ")}`);
  return prepared.map((p) => ({ ...p, info: escrowed.get(p.id)! }));
}

/** One POST /v1/payments/batch of one currency's signed payments; throws on any refusal. */
async function submit(ctx: DemoContext, currency: DemoCurrency, signed: SignedPayment[]): Promise<void> {
  // The relayer spends a deposit once its chain watcher has applied it (a poll or two after the
  // deposit's receipt): resubmitting the same signed payments is idempotent, so wait and retry
  // while the only refusals are insufficient_balance.
  let result = await ctx.customerApi.submitPayments(signed);
  for (let attempt = 0; attempt < DEPOSIT_VISIBLE_RETRIES; attempt++) {
    const refused = result.results.filter((r) => r.error);
    if (refused.length === 0 || refused.some((r) => r.error!.code !== "insufficient_balance")) break;
    await new Promise((resolve) => setTimeout(resolve, DEPOSIT_VISIBLE_WAIT_MS));
    result = await ctx.customerApi.submitPayments(signed);
  }
  ctx.log(
    `  POST /v1/payments/batch (${currency.code}): ${result.accepted} accepted, ${result.duplicates} duplicates, ` +
      `${result.failed} failed`,
  );
  const failed = result.results.filter((r) => r.error);
  if (failed.length > 0) {
    throw new Error(
      `the relayer refused ${currency.code} payments: ${failed.map((r) => `#${r.index} ${r.error!.code}`).join(", ")}`,
    );
  }
}
