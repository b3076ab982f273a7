/**
 * Final balances, read from the chain (token balances, escrow balances, the escrow's events for the
 * merchant), and a check that they add up: the payout received exactly what the escrow says it paid,
 * which is every released amount minus its fee.
 */
import { checkAborted, type DemoContext } from "./context";
import { formatToken } from "./format";
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
  merchant: MerchantTotals;
  customers: CustomerBalance[];
  /** Protocol fees accrued in the escrow (all merchants), collectable by the fee recipient. */
  protocolFees: bigint;
  feeRecipient: string;
}

export async function readBalances(
  ctx: DemoContext,
  merchant: DemoMerchant,
  customers: DemoCustomer[],
): Promise<DemoBalances> {
  checkAborted(ctx);
  const { escrow, token } = ctx;
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
    merchant: { paid, fees, payoutBalance },
    customers: customerBalances,
    protocolFees: liabilities.fees,
    feeRecipient,
  };
}

export function printBalances(ctx: DemoContext, merchant: DemoMerchant, b: DemoBalances, gross: bigint): void {
  const t = (amount: bigint) => formatToken(amount, ctx.symbol);
  ctx.log(`  merchant #${merchant.id} payout ${merchant.payout}: ${t(b.merchant.payoutBalance)}`);
  ctx.log(
    `    = ${t(gross)} released to it - ${t(b.merchant.fees)} fees (${t(b.merchant.paid)} in MerchantPaid events)`,
  );
  ctx.log(`  protocol fees accrued in the escrow: ${t(b.protocolFees)} (fee recipient ${b.feeRecipient})`);
  for (const c of b.customers) {
    ctx.log(`  ${c.name.padEnd(6)} ${c.address}: wallet ${t(c.wallet)}, escrow balance ${t(c.escrow)}`);
  }
}

/** Throws when the payout does not hold exactly what was released to the merchant, net of fees. */
export function checkBalances(b: DemoBalances, gross: bigint): void {
  const { paid, fees, payoutBalance } = b.merchant;
  if (payoutBalance !== paid) {
    throw new Error(`the payout holds ${payoutBalance} but MerchantPaid events total ${paid}`);
  }
  if (paid !== gross - fees) {
    throw new Error(`the merchant was paid ${paid}, expected ${gross} released - ${fees} fees = ${gross - fees}`);
  }
}
