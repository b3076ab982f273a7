/**
 * The FX pairing check (docs/CURRENCIES.md, "Paying across currencies"), over every audited
 * currency's rebuilt payments and their signed fields from calldata:
 * - a pay leg is a payment to the desk merchant; a settle leg a payment by an address that owned
 *   the desk merchant, to another merchant; legs pair by orderRef across two currencies;
 * - findings (`fx.*`) are what the mirror's rules forbid once their time has come; quotes and their
 *   quoter signatures are not on chain, so nothing here can re-check them.
 */
import { mirroredRefund, withinBand, type Payment, type Rate } from "../../protocol";
import type { Ledger, PaymentState } from "../rebuild/ledger";
import type { Address, EventRef, Hex, Mismatch } from "../types";
import { amountText, mismatch } from "./mismatch";

export const DEFAULT_FX_GRACE_SECONDS = 3_600n;
/** The relayer's RELAYER_FX_MAX_DEVIATION_BPS default. */
export const DEFAULT_FX_BAND_BPS = 50n;

export interface FxCheckOptions {
  /** The FX desk's merchant id: pay legs are paid to it, settle legs are paid by its owner. */
  deskMerchantId: bigint;
  /** Reference rates by pair ("USD/EUR": pay units : settle units); pairs not named are not band-checked. */
  rates?: ReadonlyMap<string, Rate>;
  /** Band around a reference rate (default {@link DEFAULT_FX_BAND_BPS}). */
  bandBps?: bigint;
  /** Seconds the desk's mirror has after a leg's deadline or a merchant's refund (default one hour). */
  graceSeconds?: bigint;
}

/** One audited currency, as the check reads it. */
export interface FxCurrencyInput {
  code: string;
  ledger: Ledger;
  /** Signed fields of escrowed payments (from their calldata); at least every candidate leg's. */
  signed: ReadonlyMap<Hex, Payment>;
}

export interface FxLeg {
  currency: string;
  side: "pay" | "settle";
  payment: PaymentState;
  orderRef: Hex;
  deadline: bigint;
  hold: bigint;
}

/** A pay leg and its settle leg in another currency. */
export interface FxPair {
  orderRef: Hex;
  pay: FxLeg;
  settle: FxLeg;
}

export interface FxCheckResult {
  deskOwners: Address[];
  legs: FxLeg[];
  pairs: FxPair[];
  mismatches: Mismatch[];
}

const finding = (input: Parameters<typeof mismatch>[1]): Mismatch => mismatch("events", input);

/** Order of two events on one chain (log indexes are per block, whatever the contract). */
const byChainOrder = (a: EventRef, b: EventRef): number =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;

const legName = (leg: FxLeg): string => `${leg.currency} payment ${leg.payment.id}`;

/** The merchant's refunds' last PaymentRefunded total (0 when none). */
const refundedByMerchant = (p: PaymentState): bigint =>
  p.refunds.reduce((max, r) => (r.totalRefunded > max ? r.totalRefunded : max), 0n);

const legEvents = (...legs: FxLeg[]): EventRef[] =>
  legs.flatMap((l) => [l.payment.escrowed, ...l.payment.refunds.map((r) => r.ref)]).sort(byChainOrder);

export function checkFx(
  currencies: readonly FxCurrencyInput[],
  blockTimestamp: number,
  options: FxCheckOptions,
): FxCheckResult {
  const desk = options.deskMerchantId;
  const grace = options.graceSeconds ?? DEFAULT_FX_GRACE_SECONDS;
  const bandBps = options.bandBps ?? DEFAULT_FX_BAND_BPS;
  const now = BigInt(blockTimestamp);
  // The registry is shared: every currency's ledger holds the same merchants.
  const deskMerchant = currencies.map((c) => c.ledger.merchants.get(desk)).find((m) => m !== undefined);
  const deskOwners = [...new Set((deskMerchant?.owners ?? []).map((a) => a.toLowerCase() as Address))];
  const owners = new Set(deskOwners);
  const mismatches: Mismatch[] = [];
  const legs: FxLeg[] = [];

  for (const { code, ledger, signed } of currencies) {
    for (const payment of ledger.payments.values()) {
      const toDesk = payment.merchantId === desk;
      const byDesk = !toDesk && owners.has(payment.payer.toLowerCase() as Address);
      if (!toDesk && !byDesk) continue;
      const side = toDesk ? "pay" : "settle";
      const fields = signed.get(payment.id.toLowerCase() as Hex);
      if (!fields) {
        // Escrowed by a route whose calldata the auditor cannot read (a wallet contract's call,
        // payWithAuthorization): its orderRef is unknown, so it can be paired with nothing.
        mismatches.push(
          finding({
            check: "fx.order-ref-unknown",
            subject: `${code} payment ${payment.id}`,
            message: `a ${side} leg of the FX desk whose orderRef its escrowing transaction's calldata does not show: it cannot be paired`,
            events: [payment.escrowed],
          }),
        );
        continue;
      }
      legs.push({
        currency: code,
        side,
        payment,
        orderRef: fields.orderRef,
        deadline: fields.deadline,
        hold: fields.hold,
      });
    }
  }

  const groups = new Map<Hex, { pays: FxLeg[]; settles: FxLeg[] }>();
  for (const leg of legs) {
    let group = groups.get(leg.orderRef);
    if (!group) groups.set(leg.orderRef, (group = { pays: [], settles: [] }));
    (leg.side === "pay" ? group.pays : group.settles).push(leg);
  }

  const pairs: FxPair[] = [];
  for (const [orderRef, { pays, settles }] of groups) {
    pays.sort((a, b) => byChainOrder(a.payment.escrowed, b.payment.escrowed));
    settles.sort((a, b) => byChainOrder(a.payment.escrowed, b.payment.escrowed));
    for (const [side, list] of [
      ["pay", pays],
      ["settle", settles],
    ] as const) {
      if (list.length < 2) continue;
      mismatches.push(
        finding({
          check: "fx.quote-reused",
          subject: `orderRef ${orderRef}`,
          message: `${list.length} ${side} legs carry one quote's orderRef (a quote pays once): ${list.map(legName).join(", ")}`,
          expected: 1,
          actual: list.length,
          events: list.map((l) => l.payment.escrowed),
        }),
      );
    }
    const pay = pays[0];
    // The first leg pays; a later one with the same orderRef is the reuse reported above.
    const settle = pay ? settles.find((s) => s.currency !== pay.currency) : undefined;
    if (pay && settle) {
      pairs.push({ orderRef, pay, settle });
      mismatches.push(...pairFindings({ orderRef, pay, settle }, now, grace, options.rates, bandBps));
      continue;
    }
    // A pay leg without a settle leg in another currency, and a settle leg without a pay leg in
    // another currency, are each unpaired.
    for (const lone of [pay, settles[0]]) {
      if (lone) mismatches.push(...loneLegFindings(lone, orderRef, now, grace));
    }
  }
  return { deskOwners, legs, pairs, mismatches };
}

function loneLegFindings(lone: FxLeg, orderRef: Hex, now: bigint, grace: bigint): Mismatch[] {
  // Until its deadline the partner may still be escrowed (each currency's batcher runs on its
  // own), and the mirror then has the grace to refund the lone leg in full.
  if (now <= lone.deadline + grace) return [];
  const returned = lone.side === "pay" ? lone.payment.refunded : refundedByMerchant(lone.payment);
  if (returned >= lone.payment.amount) return [];
  return [
    lone.side === "pay"
      ? finding({
          check: "fx.unpaired-pay-leg",
          subject: legName(lone),
          message:
            `the traveller paid the desk ${amountText(lone.payment.amount)} for orderRef ${orderRef}, no settle leg ` +
            `was escrowed in another currency by its deadline ${lone.deadline}, and the desk refunded ` +
            `${amountText(returned)} of it`,
          expected: lone.payment.amount,
          actual: returned,
          events: legEvents(lone),
        })
      : finding({
          check: "fx.unpaired-settle-leg",
          subject: legName(lone),
          message:
            `the desk paid merchant ${lone.payment.merchantId} ${amountText(lone.payment.amount)} for orderRef ` +
            `${orderRef}, no pay leg to the desk was escrowed in another currency by its deadline ` +
            `${lone.deadline}, and ${amountText(returned)} of it came back`,
          expected: lone.payment.amount,
          actual: returned,
          events: legEvents(lone),
        }),
  ];
}

function pairFindings(
  { orderRef, pay, settle }: FxPair,
  now: bigint,
  grace: bigint,
  rates: ReadonlyMap<string, Rate> | undefined,
  bandBps: bigint,
): Mismatch[] {
  const out: Mismatch[] = [];
  const subject = `orderRef ${orderRef}`;
  const payAmount = pay.payment.amount;
  const settleAmount = settle.payment.amount;

  if (pay.deadline !== settle.deadline || pay.hold !== settle.hold) {
    out.push(
      finding({
        check: "fx.leg-terms",
        subject,
        message: `the settle leg ${legName(settle)} does not carry the pay leg ${legName(pay)}'s deadline and hold`,
        expected: `deadline ${pay.deadline}, hold ${pay.hold}`,
        actual: `deadline ${settle.deadline}, hold ${settle.hold}`,
        events: [pay.payment.escrowed, settle.payment.escrowed],
      }),
    );
  }

  const pair = `${pay.currency}/${settle.currency}`;
  const rate = rates?.get(pair);
  if (rate && !withinBand(payAmount, settleAmount, rate, bandBps)) {
    out.push(
      finding({
        check: "fx.rate-out-of-band",
        subject,
        message: `${pair} paid ${payAmount}:${settleAmount} units, outside ${bandBps} bps of the reference ${rate.pay}:${rate.settle}`,
        expected: `${rate.pay}:${rate.settle} ±${bandBps} bps`,
        actual: `${payAmount}:${settleAmount}`,
        events: [pay.payment.escrowed, settle.payment.escrowed],
      }),
    );
  }

  const merchantRefunded = refundedByMerchant(settle.payment);
  const lastRefund = settle.payment.refunds.at(-1);
  if (merchantRefunded > 0n && lastRefund && now > BigInt(lastRefund.ref.timestamp) + grace) {
    const owed = mirroredRefund(merchantRefunded, payAmount, settleAmount);
    // What came back to the traveller: the desk's refunds and its share of any ruling.
    const returned = pay.payment.refunded;
    if (returned < owed) {
      out.push(
        finding({
          check: "fx.refund-not-mirrored",
          subject,
          message:
            `the merchant refunded ${amountText(merchantRefunded)} of ${amountText(settleAmount)} on ${legName(settle)}, ` +
            `so the traveller is owed ${amountText(owed)} of ${amountText(payAmount)} on ${legName(pay)}, ` +
            `but got ${amountText(returned)}`,
          expected: owed,
          actual: returned,
          events: legEvents(pay, settle),
        }),
      );
    }
  }
  return out;
}
