/**
 * Pre-send simulation of a batch. `payBatch` never reverts for a bad item (it emits
 * PaymentRejected), and eth_call returns no events, so instead each item is checked the way the
 * escrow's `_tryEscrow` checks it, against the escrow's and registry's views read at the `pending`
 * block (which includes the relayer's own transactions still in the mempool), carrying forward what
 * earlier items of the same batch (and earlier batches of the same tick) take: balance and nonce.
 *
 * The signature is not re-checked: intake recovered it, and it cannot change since.
 */
import { readEscrowAccount } from "../chain/accountReads";
import { isNonceAvailable } from "../../protocol";
import { useNonce } from "../ledger/payerAccounts";
import type { Hex, PaymentRecord, RejectReason } from "../domain";
import type { ChainClient } from "../chain/client";

const MAX_UINT128 = (1n << 128n) - 1n;
/** MerchantRegistry.MerchantStatus.Active */
const MERCHANT_ACTIVE = 1n;
/** Parallel view calls per round (ethers batches them into JSON-RPC batch requests). */
const VIEW_CONCURRENCY = 64;

interface PayerView {
  balance: bigint;
  nonceBase: bigint;
  nonceBitmap: bigint;
}

export type Verdict = { ok: true } | { ok: false; reason: RejectReason };

/**
 * Payer accounts from the relayer's own tracking (src/relayer/ledger): the chain as the watcher
 * applied it, minus the payments the relayer already has in flight. Without one, every payer of a
 * batch is read from the node at the `pending` block: two eth_calls per payer, which at thousands
 * of payments per second was the node's largest load.
 */
export interface BatchAccountSource {
  accountForBatching(payer: Hex): Promise<PayerView>;
}

/** NonceWindow.use on a copy: the trial must not change the view it started from. */
function withNonceUsed(view: PayerView, nonce: bigint): PayerView {
  const next = { ...view };
  useNonce(next, nonce);
  return next;
}

/**
 * The chain's view of the payers and merchants of a tick, loaded lazily, plus what the batches
 * built so far in this tick have taken. `trial()` checks items without committing; `commit()`
 * keeps a trial's effects once its batch is stored.
 */
export class ChainSnapshot {
  private readonly payers = new Map<Hex, PayerView>();
  private readonly merchants = new Map<bigint, boolean>();

  constructor(
    private readonly chain: ChainClient,
    readonly chainTime: bigint,
    private readonly accounts?: BatchAccountSource,
  ) {}

  /** Reads the views of every payer and merchant of `payments` not read yet. */
  async load(payments: PaymentRecord[]): Promise<void> {
    const payers = [...new Set(payments.map((p) => p.payer.toLowerCase() as Hex))].filter((a) => !this.payers.has(a));
    const merchants = [...new Set(payments.map((p) => p.merchantId))].filter((m) => !this.merchants.has(m));
    const pending = { blockTag: "pending" };
    await inChunks(merchants, async (merchantId) => {
      const [status] = await this.chain.rpc("registry.terms", () => this.chain.registry.terms(merchantId, pending));
      this.merchants.set(merchantId, status === MERCHANT_ACTIVE);
    });
    const escrow = this.chain.addresses.escrow;
    await inChunks(payers, async (payer) => {
      const account = this.accounts
        ? await this.accounts.accountForBatching(payer)
        : await this.chain.rpc("escrow.account", () =>
            readEscrowAccount(this.chain.provider, escrow, payer, "pending"),
          );
      this.payers.set(payer, account);
    });
  }

  /** Checks `payments` in order as one batch would, on top of what was committed so far. */
  trial(payments: PaymentRecord[]): Trial {
    const working = new Map<Hex, PayerView>();
    const verdicts: Verdict[] = payments.map((p) => {
      const payer = p.payer.toLowerCase() as Hex;
      const view = working.get(payer) ?? this.payers.get(payer);
      if (!view || !this.merchants.has(p.merchantId)) throw new Error(`precheck: ${p.id} was not loaded`);
      const verdict = check(p, view, this.merchants.get(p.merchantId)!, this.chainTime);
      if (verdict.ok) {
        working.set(payer, { ...withNonceUsed(view, p.nonce), balance: view.balance - p.amount });
      }
      return verdict;
    });
    return { verdicts, working };
  }

  commit(trial: Trial): void {
    for (const [payer, view] of trial.working) this.payers.set(payer, view);
  }
}

export interface Trial {
  verdicts: Verdict[];
  working: Map<Hex, PayerView>;
}

/** The escrow's checks, in its order (PaymentEscrow._tryEscrow), minus the signature. */
function check(p: PaymentRecord, payer: PayerView, merchantActive: boolean, chainTime: bigint): Verdict {
  if (p.amount === 0n || p.amount > MAX_UINT128) return { ok: false, reason: "invalid_amount" };
  // The next block's timestamp is above the latest one's: a deadline at or before it has passed.
  if (p.deadline <= chainTime) return { ok: false, reason: "expired" };
  if (!merchantActive) return { ok: false, reason: "merchant_not_active" };
  if (!isNonceAvailable(payer, p.nonce)) return { ok: false, reason: "nonce_unavailable" };
  if (payer.balance < p.amount) return { ok: false, reason: "insufficient_balance" };
  return { ok: true };
}

async function inChunks<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += VIEW_CONCURRENCY) {
    await Promise.all(items.slice(i, i + VIEW_CONCURRENCY).map(work));
  }
}
