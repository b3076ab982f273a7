/**
 * The FX desk (docs/CURRENCIES.md, "Paying across currencies"): quotes signed by an FX_QUOTER_ROLE
 * holder, and a quote paid as two linked ordinary payments, each through its currency's intake:
 * leg 1, the payer to the desk merchant in the pay currency for `payAmount`; leg 2, the desk's own
 * liquidity account to the merchant in the settle currency for `settleAmount`. Both carry the
 * quote's digest as orderRef (the auditor pairs them by it) and the same hold.
 */
import { randomBytes } from "node:crypto";
import { SigningKey, computeAddress } from "ethers";
import {
  FX_QUOTER_ROLE,
  MerchantStatus,
  escrowDomain,
  escrowTypedDataJson,
  fxDomain,
  paymentId,
  paymentTypes,
  payAmountFor,
  quoteDigest,
  quoteOrderRef,
  withinBand,
  type Address,
  type FxDomain,
  type Payment,
  type Quote,
} from "../../protocol";
import type {
  FxPaymentSubmission,
  FxPaymentView,
  FxQuote,
  FxQuoteRequest,
  FxQuoteView,
  PaymentSubmission,
} from "../../protocol/schemas";
import type { Hex } from "../domain";
import { ApiError, isApiError } from "../errors";
import type { FxDeskService, RouteContext, ServedCurrency } from "../http/context";
import { servedByCode } from "../http/currencies";
import { checkHold } from "../intake/parse";
import { recoverAddress } from "../intake/signature";
import { KeyedMutex } from "../runtime/keyedMutex";
import { paymentView } from "../views";
import type { FxConfig } from "../config";

type Ctx = Pick<RouteContext, "currencies" | "served" | "chain" | "clock">;

const lower = (value: string) => value.toLowerCase() as Hex;

/** The quote's wire form (decimal strings) as the signed struct. */
export function parseQuote(wire: FxQuote): Quote {
  return {
    quoteId: lower(wire.quoteId),
    payToken: lower(wire.payToken),
    settleToken: lower(wire.settleToken),
    payAmount: BigInt(wire.payAmount),
    settleAmount: BigInt(wire.settleAmount),
    merchantId: BigInt(wire.merchantId),
    orderRef: lower(wire.orderRef),
    expiresAt: BigInt(wire.expiresAt),
  };
}

const quoteWire = (q: Quote): FxQuote => ({
  quoteId: q.quoteId,
  payToken: q.payToken,
  settleToken: q.settleToken,
  payAmount: q.payAmount.toString(),
  settleAmount: q.settleAmount.toString(),
  merchantId: q.merchantId.toString(),
  orderRef: q.orderRef,
  expiresAt: q.expiresAt.toString(),
});

/** A signed payment as intake takes it (POST /v1/payments' body). */
const submission = (p: Payment, signature: Hex, chainId: bigint, escrow: Hex): PaymentSubmission => ({
  payer: p.payer,
  merchantId: p.merchantId.toString(),
  amount: p.amount.toString(),
  orderRef: p.orderRef,
  nonce: p.nonce.toString(),
  validAfter: p.validAfter.toString(),
  deadline: p.deadline.toString(),
  hold: Number(p.hold),
  signature,
  chainId: chainId.toString(),
  escrow,
});

const mismatch = (field: string, expected: string, got: string) =>
  new ApiError("fx_leg_mismatch", `the payer's leg does not match the quote: ${field}`, { field, expected, got });

export class FxDesk implements FxDeskService {
  // SigningKeys hold the keys from here on; the config's Secrets are not kept.
  readonly #quoter: SigningKey;
  readonly #desk: SigningKey;
  readonly quoterAddress: Hex;
  readonly deskAddress: Hex;
  /**
   * One FX payment at a time per desk: the desk's settle-currency balance and nonces are checked
   * and then spent by leg 2 with no other leg 2 in between.
   */
  private readonly lock = new KeyedMutex();

  constructor(private readonly config: FxConfig) {
    this.#quoter = new SigningKey(config.quoterKey.reveal());
    this.#desk = new SigningKey(config.deskKey.reveal());
    this.quoterAddress = lower(computeAddress(this.#quoter.publicKey));
    this.deskAddress = lower(computeAddress(this.#desk.publicKey));
  }

  get deskMerchantId(): bigint {
    return this.config.deskMerchantId;
  }

  /** The desk key's signature over an EIP-712 digest (the mirror's actions on the two legs). */
  signDigest(digest: Hex | Uint8Array): Hex {
    return this.#desk.sign(digest).serialized as Hex;
  }

  private domain(ctx: Ctx): FxDomain {
    const registry = ctx.chain.registryAddress;
    if (!registry || !ctx.chain.hasRole) throw new ApiError("fx_unavailable", "the chain view reads no registry roles");
    return fxDomain(ctx.chain.chainId, registry);
  }

  private pair(pay: ServedCurrency, settle: ServedCurrency) {
    const rate = this.config.rates.get(`${pay.currency.code}/${settle.currency.code}`);
    if (!rate) {
      throw new ApiError("fx_unavailable", `the desk quotes no ${pay.currency.code}/${settle.currency.code} rate`, {
        pairs: [...this.config.rates.keys()],
      });
    }
    return rate;
  }

  private nowSeconds(ctx: Ctx): bigint {
    return BigInt(Math.floor(ctx.clock() / 1000));
  }

  /** The first nonce of `payer` in `currency` that is neither used on chain nor taken by a pending payment. */
  private async freeNonce(currency: ServedCurrency, payer: Hex): Promise<bigint> {
    return currency.intake.payerLock.run(payer, async () => {
      const view = await currency.accounts.view(payer);
      let nonce = view.account.nonceBase;
      while (!view.isNonceFree(nonce)) nonce += 1n;
      return nonce;
    });
  }

  /** A signed quote for the merchant's `settleAmount`, and the payer's leg 1 to sign. */
  async quote(ctx: Ctx, request: FxQuoteRequest): Promise<FxQuoteView> {
    const pay = servedByCode(ctx, request.payCurrency);
    const settle = servedByCode(ctx, request.settleCurrency);
    if (pay === settle) {
      throw new ApiError(
        "validation_failed",
        "payCurrency and settleCurrency are the same: pay with POST /v1/payments",
      );
    }
    const rate = this.pair(pay, settle);
    const domain = this.domain(ctx);
    const merchantId = BigInt(request.merchantId);
    const merchant = await settle.chain.merchant(merchantId);
    if (merchant.status !== MerchantStatus.Active) {
      throw new ApiError(
        merchant.status === MerchantStatus.None ? "unknown_merchant" : "merchant_not_active",
        `merchant ${merchantId} cannot receive payments`,
        { merchantId: merchantId.toString() },
      );
    }
    const hold = BigInt(request.hold ?? merchant.minHold);
    checkHold(hold, merchantId, merchant);
    const settleAmount = BigInt(request.settleAmount);
    const quote: Quote = {
      quoteId: `0x${randomBytes(32).toString("hex")}`,
      payToken: lower(pay.currency.token),
      settleToken: lower(settle.currency.token),
      payAmount: payAmountFor(settleAmount, rate),
      settleAmount,
      merchantId,
      orderRef: lower(request.orderRef),
      expiresAt: this.nowSeconds(ctx) + this.config.quoteTtlSeconds,
    };
    const quoteSignature = this.#quoter.sign(quoteDigest(domain, quote)).serialized as Hex;
    const legOrderRef = quoteOrderRef(domain, quote);
    const payer = lower(request.payer);
    const nonce = await this.freeNonce(pay, payer);
    const payment = escrowTypedDataJson(pay.chain.chainId, pay.chain.escrow, "Payment", paymentTypes.Payment, {
      payer,
      merchantId: this.config.deskMerchantId.toString(),
      amount: quote.payAmount.toString(),
      orderRef: legOrderRef,
      nonce: nonce.toString(),
      validAfter: "0",
      deadline: quote.expiresAt.toString(),
      hold: Number(hold),
    });
    return {
      quote: quoteWire(quote),
      quoteSignature,
      payCurrency: pay.currency.code,
      settleCurrency: settle.currency.code,
      legOrderRef,
      payment: { ...payment, primaryType: "Payment" as const },
    };
  }

  /** The served currency whose token is `token` (`invalid_quote` if none). */
  private byToken(ctx: Ctx, token: Hex, side: string): ServedCurrency {
    for (const served of ctx.served.values()) if (lower(served.currency.token) === token) return served;
    throw new ApiError("invalid_quote", `the quote's ${side} token is no served currency's`, { token });
  }

  /**
   * Checks the quote and the payer's leg, then submits leg 1 and leg 2. Leg 2's refusals that the
   * relayer can foresee (the merchant cannot receive, the hold is out of its bounds, the desk's
   * balance is short) are checked before leg 1 is submitted, so such a refusal leaves nothing
   * behind. Leg 1 goes first: if it is refused (the payer's balance, nonce or signature), the desk
   * has paid nothing. Should leg 2 still be refused after leg 1 was accepted (a chain change in
   * between), the answer says so with leg 1's id, and the mirror (./mirror.ts) refunds leg 1 in full
   * once it is escrowed.
   */
  async pay(ctx: Ctx, body: FxPaymentSubmission): Promise<FxPaymentView> {
    const quote = parseQuote(body.quote);
    const domain = this.domain(ctx);
    if (quote.expiresAt < this.nowSeconds(ctx)) {
      throw new ApiError("quote_expired", "the quote has expired: ask for a new one", {
        expiresAt: quote.expiresAt.toString(),
      });
    }
    const signer = recoverAddress(
      Buffer.from(quoteDigest(domain, quote).slice(2), "hex"),
      Buffer.from(body.quoteSignature.slice(2), "hex"),
    );
    // Read the role fresh: a revoked quoter's quotes are refused from the next request on.
    if (signer === null || !(await ctx.chain.hasRole!(FX_QUOTER_ROLE, signer))) {
      throw new ApiError("invalid_quote", "the quote is not signed by an FX quoter");
    }
    const pay = this.byToken(ctx, quote.payToken, "pay");
    const settle = this.byToken(ctx, quote.settleToken, "settle");
    const rate = this.pair(pay, settle);
    if (!withinBand(quote.payAmount, quote.settleAmount, rate, this.config.maxDeviationBps)) {
      throw new ApiError("quote_out_of_band", "the quote's rate is outside the desk's band", {
        reference: `${rate.pay}:${rate.settle}`,
        maxDeviationBps: Number(this.config.maxDeviationBps),
      });
    }
    const orderRef = quoteOrderRef(domain, quote);
    const leg1 = body.payment;
    const payEscrow = lower(pay.chain.escrow);
    if (leg1.escrow === undefined || lower(leg1.escrow) !== payEscrow) {
      throw mismatch("escrow", payEscrow, leg1.escrow ?? "none");
    }
    if (BigInt(leg1.merchantId) !== this.config.deskMerchantId) {
      throw mismatch("merchantId", this.config.deskMerchantId.toString(), leg1.merchantId);
    }
    if (BigInt(leg1.amount) !== quote.payAmount) throw mismatch("amount", quote.payAmount.toString(), leg1.amount);
    if (lower(leg1.orderRef) !== orderRef) throw mismatch("orderRef", orderRef, leg1.orderRef);

    return this.lock.run(this.deskAddress, async () => {
      // A quote pays one order once: a payment to the desk with its orderRef means it was used.
      const used = await pay.store.payments.list({
        merchantId: this.config.deskMerchantId,
        orderRef,
        limit: 1,
      });
      if (used.items.length > 0) {
        throw new ApiError("quote_used", "this quote has been paid already", { paymentId: used.items[0].id });
      }
      const hold = BigInt(leg1.hold);
      await this.checkSettleLeg(settle, quote, hold);
      const first = await this.claimed(ctx, pay, quote, () => pay.intake.submit(leg1));
      const nonce = await this.freeNonce(settle, this.deskAddress);
      const leg2: Payment = {
        payer: this.deskAddress as Address,
        merchantId: quote.merchantId,
        amount: quote.settleAmount,
        orderRef,
        nonce,
        validAfter: 0n,
        deadline: BigInt(leg1.deadline),
        hold,
      };
      const digest = paymentId(escrowDomain(settle.chain.chainId, settle.chain.escrow), leg2);
      const signature = this.#desk.sign(digest).serialized as Hex;
      try {
        const second = await settle.intake.submit(
          submission(leg2, signature, settle.chain.chainId, lower(settle.chain.escrow)),
        );
        return { orderRef, pay: paymentView(first.payment), settle: paymentView(second.payment) };
      } catch (error) {
        if (!isApiError(error)) throw error;
        throw new ApiError("fx_settle_leg_refused", "the desk's leg was refused after the payer's leg was accepted", {
          reason: error.code,
          payPaymentId: first.payment.id,
        });
      }
    });
  }

  /**
   * Runs `submitLeg1` holding the quote's claim: a lease named by its quoteId in the store every
   * instance shares, taken until a minute past the quote's expiry (after which `quote_expired`
   * refuses it anyway). Of two instances paying one quote at once, one gets the claim, the other
   * `quote_used`. A refused leg 1 spent nothing: the claim is released so the payer may retry.
   */
  private async claimed<T>(ctx: Ctx, pay: ServedCurrency, quote: Quote, submitLeg1: () => Promise<T>): Promise<T> {
    const name = `fx-quote:${quote.quoteId}`;
    const holder = `fx-desk:${randomBytes(8).toString("hex")}`;
    const now = ctx.clock();
    const ttlMs = Math.max(1, Number(quote.expiresAt) * 1000 - now + 60_000);
    const lease = await pay.store.leases.acquire(name, holder, ttlMs, now, "fx quote claim");
    if (!lease) throw new ApiError("quote_used", "this quote is being paid or has been paid");
    try {
      return await submitLeg1();
    } catch (error) {
      await pay.store.leases.release(name, holder, lease.epoch);
      throw error;
    }
  }

  /** What the settle intake would refuse leg 2 for that the desk can see before leg 1 goes in. */
  private async checkSettleLeg(settle: ServedCurrency, quote: Quote, hold: bigint): Promise<void> {
    const merchant = await settle.chain.merchant(quote.merchantId);
    if (merchant.status !== MerchantStatus.Active) {
      throw new ApiError("fx_settle_leg_refused", `merchant ${quote.merchantId} cannot receive payments`, {
        reason: merchant.status === MerchantStatus.None ? "unknown_merchant" : "merchant_not_active",
      });
    }
    try {
      checkHold(hold, quote.merchantId, merchant);
    } catch (error) {
      if (!isApiError(error)) throw error;
      throw new ApiError("fx_settle_leg_refused", error.message, { reason: error.code });
    }
    const available = () =>
      settle.intake.payerLock.run(
        this.deskAddress,
        async () => (await settle.accounts.view(this.deskAddress)).available,
      );
    // As intake does: a top-up of the desk mined since the last poll counts before it is refused.
    if (
      (await available()) < quote.settleAmount &&
      !((await settle.accounts.catchUp?.()) && (await available()) >= quote.settleAmount)
    ) {
      throw new ApiError("fx_settle_leg_refused", `the desk's ${settle.currency.code} balance is short`, {
        reason: "insufficient_balance",
      });
    }
  }
}

/** The app's desk from its settings (null: none). */
export function fxDesk(config: FxConfig | null): FxDesk | null {
  return config ? new FxDesk(config) : null;
}

/** The app's desk, or 503 fx_unavailable when it runs none. */
export function deskOf(ctx: Pick<RouteContext, "fx">): FxDeskService {
  if (!ctx.fx) throw new ApiError("fx_unavailable", "this relayer runs no FX desk");
  return ctx.fx;
}
