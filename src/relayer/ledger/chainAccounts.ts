import type { Hex } from "../domain";
import type { ChainView } from "../chain/chainView";
import type { PaymentRepository } from "../store/types";
import { OutflowBook, PayerView, type Outflow, type PayerAccounts } from "./payerAccounts";

/**
 * Payer state read afresh for every intake: the chain's latest account state (through the chain
 * view's cache) and the store's pending payments. Costs a chain read and a query per payer per
 * request; for an app built without a ledger (tools, API tests). A relayer process uses the
 * {@link PayerLedger}, which tracks the same state from the watcher's events (roles all, worker)
 * or from a follower of the escrow's logs (role api, jobs/ledgerFollower.ts).
 */
export class ChainAccounts implements PayerAccounts {
  private readonly outflows = new OutflowBook();

  constructor(
    private readonly chain: ChainView,
    private readonly payments: PaymentRepository,
    private readonly now: () => number = Date.now,
  ) {}

  async view(payer: Hex): Promise<PayerView> {
    const [account, pending] = await Promise.all([this.chain.account(payer), this.payments.pendingOf(payer)]);
    const view = new PayerView({ ...account }, pending);
    view.outflows = this.outflows.current(payer, view.account, BigInt(Math.floor(this.now() / 1000)));
    return view;
  }

  reserveOutflow(payer: Hex, outflow: Outflow): void {
    this.outflows.add(payer, outflow);
  }

  reserve(): void {
    // Nothing to track: the next view re-reads the store, where the payment is committed by then.
  }

  discard(): void {}
}
