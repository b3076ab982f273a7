/**
 * Final balances of one currency, read from the chain (its token's balances, its escrow's balances
 * and events for the merchant), and a check that they add up in that currency: the payout received
 * exactly what the escrow says it paid, which is every released amount minus its fee, and each
 * customer holds what was funded minus what it paid plus what came back. Another currency's
 * payments never show in these: each currency is its own token and escrow.
 */
import { checkAborted, type DemoContext, type DemoCurrency } from "./context";
import type { DemoCustomer, DemoMerchant } from "./participants";

export interface MerchantTotals {
  /** MerchantPaid amounts: what the escrow sent to the payout address. */
  paid: bigint;
  /** Fees this merchant's payments accrued to the protocol (confirmations, rulings, tranches). */
  fees: bigint;
  /** Token balance of the payout address. */
  payoutBalance: bigint;
}

export interface CustomerBalance {
  name: string;
  address: string;
  wallet: bigint;
  escrow: bigint;
}

export interface DemoBalances {
  /** The currency's code: every amount here is in it. */
  currency: string;
  merchant: MerchantTotals;
  customers: CustomerBalance[];
  /** Protocol fees accrued in the escrow (all merchants), collectable by the fee recipient. */
  protocolFees: bigint;
  feeRecipient: string;
}

export async function readBalances(
  ctx: DemoContext,
  currency: DemoCurrency,
  merchant: DemoMerchant,
  customers: DemoCustomer[],
): Promise<DemoBalances> {
  checkAborted(ctx);
  const { escrow, token } = currency;
  const from = merchant.registeredAtBlock;
  const [confirmed, resolved, settled, paidLogs] = await Promise.all([
    escrow.queryFilter(escrow.filters.PaymentConfirmed(undefined, merchant.id), from),
    escrow.queryFilter(escrow.filters.DisputeResolved(undefined, merchant.id), from),
    escrow.queryFilter(escrow.filters.TrancheSettled(undefined, merchant.id), from),
    escrow.queryFilter(escrow.filters.MerchantPaid(merchant.id), from),
  ]);
  const fees = [...confirmed, ...resolved, ...settled].reduce((sum, log) => sum + log.args.fee, 0n);
  const paid = paidLogs.reduce((sum, log) => sum + log.args.amount, 0n);
  const [payoutBalance, liabilities, feeRecipient] = await Promise.all([
    token.balanceOf(merchant.payout),
    escrow.liabilities(),
    escrow.feeRecipient(),
  ]);
  const customerBalances = await Promise.all(
    customers.map(async (c) => ({
      name: c.name,
      address: c.address,
      wallet: await token.balanceOf(c.address),
      escrow: await escrow.balanceOf(c.address),
    })),
  );
  return {
    currency: currency.code,
    merchant: { paid, fees, payoutBalance },
    customers: customerBalances,
    protocolFees: liabilities.fees,
    feeRecipient,
  };
}

/** What the demo expects of a currency's balances, from what it did in that currency. */
export interface ExpectedBalances {
  /** Released to the merchant before fees: settled payments plus the merchant's share of rulings. */
  gross: bigint;
  /** By customer name: its wallet (minted - deposited) and escrow balance (deposited - paid + returned). */
  customers: Map<string, { wallet: bigint; escrow: bigint }>;
}

export function printBalances(
  ctx: DemoContext,
  currency: DemoCurrency,
  merchant: DemoMerchant,
  b: DemoBalances,
  gross: bigint,
): void {
  const t = currency.format;
  ctx.log(`  ${currency.code}: merchant #${merchant.id} payout ${merchant.payout}: ${t(b.merchant.payoutBalance)}`);
  ctx.log(
    `    = ${t(gross)} released to it - ${t(b.merchant.fees)} fees (${t(b.merchant.paid)} in MerchantPaid events)`,
  );
  ctx.log(
    `    protocol fees accrued in the ${currency.code} escrow: ${t(b.protocolFees)} (fee recipient ${b.feeRecipient})`,
  );
  for (const c of b.customers) {
    ctx.log(`    ${c.name.padEnd(6)} ${c.address}: wallet ${t(c.wallet)}, escrow balance ${t(c.escrow)}`);
  }
}

/** Throws, naming the currency, when a balance is not what the demo's payments in that currency leave. */
export function checkBalances(b: DemoBalances, expected: ExpectedBalances): void {
  const { paid, fees, payoutBalance } = b.merchant;
  const { gross } = expected;
  if (payoutBalance !== paid) {
    throw new Error(`${b.currency}: the payout holds ${payoutBalance} but MerchantPaid events total ${paid}`);
  }
  if (paid !== gross - fees) {
    throw new Error(
      `${b.currency}: the merchant was paid ${paid}, expected ${gross} released - ${fees} fees = ${gross - fees}`,
    );
  }
  for (const c of b.customers) {
    const want = expected.customers.get(c.name);
    if (!want) throw new Error(`${b.currency}: no expected balances for ${c.name}`);
    if (c.wallet !== want.wallet || c.escrow !== want.escrow) {
      throw new Error(
        `${b.currency}: ${c.name} holds wallet ${c.wallet} and escrow ${c.escrow}, ` +
          `expected wallet ${want.wallet} and escrow ${want.escrow}`,
      );
    }
  }
}
