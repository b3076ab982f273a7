/**
 * Cross-currency payments (docs/CURRENCIES.md): a quote from the FX desk and the two linked legs it
 * is paid with. Amounts are decimal strings of each token's own units.
 */
import { Type, type Static } from "@sinclair/typebox";
import { Address, AmountString, Bytes32, CurrencyCodeParam, HoldSeconds, Signature, UintString } from "./common";
import { PaymentSubmission, PaymentView } from "./payments";

export const FxQuoteRequest = Type.Object(
  {
    payer: Address,
    payCurrency: CurrencyCodeParam,
    settleCurrency: CurrencyCodeParam,
    merchantId: UintString("The merchant paid in the settle currency (uint64)", 20),
    settleAmount: AmountString("What the merchant is paid, in the settle token's units"),
    orderRef: Bytes32,
    hold: Type.Optional(HoldSeconds("Hold of both legs (default: the merchant's shortest)")),
  },
  { additionalProperties: false },
);
export type FxQuoteRequest = Static<typeof FxQuoteRequest>;

/** The signed `Quote` fields, as strings. */
export const FxQuote = Type.Object(
  {
    quoteId: Bytes32,
    payToken: Address,
    settleToken: Address,
    payAmount: AmountString("Pay token units the payer pays"),
    settleAmount: AmountString("Settle token units the merchant is paid"),
    merchantId: UintString("The merchant (uint64)", 20),
    orderRef: Bytes32,
    expiresAt: UintString("Unix seconds (uint48)", 15),
  },
  { additionalProperties: false },
);
export type FxQuote = Static<typeof FxQuote>;

const TypedField = Type.Object({ name: Type.String(), type: Type.String() });

export const FxQuoteView = Type.Object({
  quote: FxQuote,
  /** The quoter's EIP-712 signature of the quote (domain "StablePay FX", the registry). */
  quoteSignature: Signature,
  payCurrency: Type.String(),
  settleCurrency: Type.String(),
  /** The orderRef both legs carry: the quote's digest. */
  legOrderRef: Bytes32,
  /** The payer's leg for it to sign (eth_signTypedData_v4): to the FX desk, in the pay currency's escrow. */
  payment: Type.Object({
    domain: Type.Object({
      name: Type.String(),
      version: Type.String(),
      chainId: Type.Integer(),
      verifyingContract: Address,
    }),
    types: Type.Record(Type.String(), Type.Array(TypedField)),
    primaryType: Type.Literal("Payment"),
    message: Type.Object({
      payer: Address,
      merchantId: Type.String(),
      amount: Type.String(),
      orderRef: Bytes32,
      nonce: Type.String(),
      validAfter: Type.String(),
      deadline: Type.String(),
      hold: Type.Integer(),
    }),
  }),
});
export type FxQuoteView = Static<typeof FxQuoteView>;

export const FxPaymentSubmission = Type.Object(
  {
    quote: FxQuote,
    quoteSignature: Signature,
    /** The payer's signed leg, as POST /v1/payments takes it, with `escrow` (the pay currency's). */
    payment: PaymentSubmission,
  },
  { additionalProperties: false },
);
export type FxPaymentSubmission = Static<typeof FxPaymentSubmission>;

export const FxPaymentView = Type.Object({
  orderRef: Bytes32,
  /** Leg 1: the payer to the desk, in the pay currency. */
  pay: PaymentView,
  /** Leg 2: the desk to the merchant, in the settle currency. */
  settle: PaymentView,
});
export type FxPaymentView = Static<typeof FxPaymentView>;
