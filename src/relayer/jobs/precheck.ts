/**
 * Pre-send simulation of a batch. `payBatch` never reverts for a bad item (it emits
 * PaymentRejected), and eth_call returns no events, so instead each item is checked the way the
 * escrow's `_tryEscrow` checks it (the merchant's status and hold bounds included), against the escrow's and registry's views read at the `pending`
 * block (which includes the relayer's own transactions still in the mempool), carrying forward what
 * earlier items of the same batch (and earlier batches of the same tick) take: balance and nonce.
 *
 * The signature is not re-checked: intake recovered it, and it cannot change since.
 *
 * One-off payments (payBatchWithAuthorization) are checked as `_tryReceive` and the token check
 * them instead: the payer's wallet balance (carried forward like an escrow balance) and whether the
 * token already spent or cancelled the authorization (nonce = the payment id).
 */
import pMap from "p-map";
import { readEscrowAccount } from "../chain/accountReads";
import { isNonceAvailable, isOneOff } from "../../protocol";
import { useNonce } from "../ledger/payerAccounts";
import type { Hex, PaymentRecord, RejectReason } from "../domain";
import type { ChainClient } from "../chain/client";

const MAX_UINT128 = (1n << 128n) - 1n;
/** MerchantRegistry.MerchantStatus.Active */
const MERCHANT_ACTIVE = 1n;
/** View calls in flight at once (ethers batches those sent together into JSON-RPC batch requests). */
const VIEW_CONCURRENCY = 64;

/** A merchant's terms as the escrow judges a run: Active, and the hold bounds a payment's hold must lie within. */
interface MerchantView {
  active: boolean;
  minHold: bigint;
  maxHold: bigint;
}

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
  private readonly merchants = new Map<bigint, MerchantView>();
  /** One-off payers' wallet balances. */
  private readonly wallets = new Map<Hex, bigint>();
  /** One-off payments whose authorization the token has spent or cancelled. */
  private readonly usedAuthorizations = new Set<Hex>();
  private readonly authorizationsRead = new Set<Hex>();

  constructor(
    private readonly chain: ChainClient,
    readonly chainTime: bigint,
    private readonly accounts?: BatchAccountSource,
  ) {}

  /** Reads the views of every payer and merchant of `payments` not read yet. */
  async load(payments: PaymentRecord[]): Promise<void> {
    const oneOffs = payments.filter(isOneOff);
    await this.loadOneOffs(oneOffs);
    payments = payments.filter((p) => !isOneOff(p));
    const payers = [...new Set(payments.map((p) => p.payer.toLowerCase() as Hex))].filter((a) => !this.payers.has(a));
    const merchants = [...new Set(payments.map((p) => p.merchantId))].filter((m) => !this.merchants.has(m));
    await this.loadMerchants(merchants);
    const escrow = this.chain.addresses.escrow;
    await pMap(
      payers,
      async (payer) => {
        const account = this.accounts
          ? await this.accounts.accountForBatching(payer)
          : await this.chain.rpc("escrow.account", () =>
              readEscrowAccount(this.chain.provider, escrow, payer, "pending"),
            );
        this.payers.set(payer, account);
      },
      { concurrency: VIEW_CONCURRENCY },
    );
  }

  private async loadMerchants(merchants: bigint[]): Promise<void> {
    const pending = { blockTag: "pending" };
    await pMap(
      merchants,
      async (merchantId) => {
        const [status, , minHold, maxHold] = await this.chain.rpc("registry.terms", () =>
          this.chain.registry.terms(merchantId, pending),
        );
        this.merchants.set(merchantId, {
          active: status === MERCHANT_ACTIVE,
          minHold: BigInt(minHold),
          maxHold: BigInt(maxHold),
        });
      },
      { concurrency: VIEW_CONCURRENCY },
    );
  }

  /** One-off payers' wallet balances and their payments' authorization states, at the pending block. */
  private async loadOneOffs(payments: PaymentRecord[]): Promise<void> {
    if (payments.length === 0) return;
    const pending = { blockTag: "pending" };
    await this.loadMerchants([...new Set(payments.map((p) => p.merchantId))].filter((m) => !this.merchants.has(m)));
    const wallets = [...new Set(payments.map((p) => p.payer.toLowerCase() as Hex))].filter((a) => !this.wallets.has(a));
    await pMap(
      wallets,
      async (payer) => {
        this.wallets.set(
          payer,
          await this.chain.rpc("token.balanceOf", () => this.chain.token.balanceOf(payer, pending)),
        );
      },
      { concurrency: VIEW_CONCURRENCY },
    );
    const unread = payments.filter((p) => !this.authorizationsRead.has(p.id));
    await pMap(
      unread,
      async (p) => {
        const used = await this.chain.rpc("token.authorizationState", () =>
          this.chain.token.authorizationState(p.payer, p.id, pending),
        );
        this.authorizationsRead.add(p.id);
        if (used) this.usedAuthorizations.add(p.id);
      },
      { concurrency: VIEW_CONCURRENCY },
    );
  }

  /** Checks `payments` in order as one batch would, on top of what was committed so far. */
  trial(payments: PaymentRecord[]): Trial {
    const working = new Map<Hex, PayerView>();
    const wallets = new Map<Hex, bigint>();
    const verdicts: Verdict[] = payments.map((p) => {
      const payer = p.payer.toLowerCase() as Hex;
      if (isOneOff(p)) {
        const wallet = wallets.get(payer) ?? this.wallets.get(payer);
        if (wallet === undefined || !this.merchants.has(p.merchantId) || !this.authorizationsRead.has(p.id)) {
          throw new Error(`precheck: ${p.id} was not loaded`);
        }
        const verdict = checkOneOff(
          p,
          wallet,
          this.usedAuthorizations.has(p.id),
          this.merchants.get(p.merchantId)!,
          this.chainTime,
        );
        if (verdict.ok) wallets.set(payer, wallet - p.amount);
        return verdict;
      }
      const view = working.get(payer) ?? this.payers.get(payer);
      if (!view || !this.merchants.has(p.merchantId)) throw new Error(`precheck: ${p.id} was not loaded`);
      const verdict = check(p, view, this.merchants.get(p.merchantId)!, this.chainTime);
      if (verdict.ok) {
        working.set(payer, { ...withNonceUsed(view, p.nonce), balance: view.balance - p.amount });
      }
      return verdict;
    });
    return { verdicts, working, wallets };
  }

  commit(trial: Trial): void {
    for (const [payer, view] of trial.working) this.payers.set(payer, view);
    for (const [payer, balance] of trial.wallets) this.wallets.set(payer, balance);
  }
}

export interface Trial {
  verdicts: Verdict[];
  working: Map<Hex, PayerView>;
  /** One-off payers' wallet balances after the trial's payments. */
  wallets: Map<Hex, bigint>;
}

/** The escrow's merchant checks of a run: Active, then the run's hold within its bounds. */
function checkMerchant(p: PaymentRecord, merchant: MerchantView): Verdict {
  if (!merchant.active) return { ok: false, reason: "merchant_not_active" };
  if (p.hold < merchant.minHold || p.hold > merchant.maxHold) return { ok: false, reason: "hold_out_of_range" };
  return { ok: true };
}

/** The escrow's checks, in its order (PaymentEscrow._tryEscrow), minus the signature. */
function check(p: PaymentRecord, payer: PayerView, merchant: MerchantView, chainTime: bigint): Verdict {
  if (p.amount === 0n || p.amount > MAX_UINT128) return { ok: false, reason: "invalid_amount" };
  // The next block's timestamp is above the latest one's: a deadline at or before it has passed.
  if (p.deadline <= chainTime) return { ok: false, reason: "expired" };
  const terms = checkMerchant(p, merchant);
  if (!terms.ok) return terms;
  if (!isNonceAvailable(payer, p.nonce)) return { ok: false, reason: "nonce_unavailable" };
  if (payer.balance < p.amount) return { ok: false, reason: "insufficient_balance" };
  return { ok: true };
}

/**
 * The escrow's checks of a one-off item (PaymentEscrow `_tryReceive`), then the token's: the
 * authorization not spent or cancelled, the wallet holding the amount. A refusal by the token is
 * AuthorizationFailed on chain, as here.
 */
function checkOneOff(
  p: PaymentRecord,
  wallet: bigint,
  authorizationUsed: boolean,
  merchant: MerchantView,
  chainTime: bigint,
): Verdict {
  if (p.amount === 0n || p.amount > MAX_UINT128) return { ok: false, reason: "invalid_amount" };
  if (p.deadline <= chainTime) return { ok: false, reason: "expired" };
  const terms = checkMerchant(p, merchant);
  if (!terms.ok) return terms;
  if (authorizationUsed || wallet < p.amount) return { ok: false, reason: "authorization_failed" };
  return { ok: true };
}
