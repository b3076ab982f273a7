/** A merchant's side: payment requests, settlements and balance. */
import { Type, type Static, type TArray, type TProperties } from "@sinclair/typebox";
import { SETTLEMENT_STATES, type SettlementState } from "../states";
import {
  AmountString,
  Bytes32,
  CurrencyCodeParam,
  CurrencyCodeView,
  CursorQuery,
  DateTime,
  HoldSeconds,
  Nullable,
  UintString,
} from "./common";
import { OrderTimerView } from "./payments";

export const MerchantIdParams = Type.Object({ id: UintString("Merchant id in the registry", 20) });

export const PAYMENT_REQUEST_MIN_EXPIRY_SECONDS = 60;
export const PAYMENT_REQUEST_MAX_EXPIRY_SECONDS = 30 * 24 * 3600;

export const PaymentRequestBody = Type.Object(
  {
    amount: AmountString("Token units, 1 .. 2^128-1"),
    orderRef: Type.String({
      minLength: 1,
      maxLength: 128,
      description: "The merchant's order reference: a 0x-prefixed bytes32, or any text (its keccak256 is signed)",
    }),
    expiresIn: Type.Integer({
      minimum: PAYMENT_REQUEST_MIN_EXPIRY_SECONDS,
      maximum: PAYMENT_REQUEST_MAX_EXPIRY_SECONDS,
      description: "Seconds",
    }),
    hold: Type.Optional(
      HoldSeconds(
        "Seconds the payment is held once escrowed (signed by the customer); within the merchant's bounds [minHold, maxHold], default minHold",
      ),
    ),
    currency: Type.Optional(CurrencyCodeParam),
  },
  { additionalProperties: false },
);

const TypedField = Type.Object({ name: Type.String(), type: Type.String() });

/** The EIP-712 typed data of a payment request: `payer` and `nonce` are left null for the customer's wallet. */
export const PaymentRequestTypedData = Type.Object({
  domain: Type.Object({
    name: Type.String(),
    version: Type.String(),
    chainId: Type.Integer(),
    verifyingContract: Type.String(),
  }),
  types: Type.Object({ EIP712Domain: Type.Array(TypedField), Payment: Type.Array(TypedField) }),
  primaryType: Type.Literal("Payment"),
  message: Type.Object({
    payer: Type.Null(),
    merchantId: Type.String(),
    amount: Type.String(),
    orderRef: Bytes32,
    nonce: Type.Null(),
    validAfter: Type.String(),
    deadline: Type.String(),
    hold: Type.Integer(),
  }),
});
export type PaymentRequestTypedData = Static<typeof PaymentRequestTypedData>;

export const PaymentRequestView = Type.Object({
  id: Type.String(),
  merchantId: Type.String(),
  currency: CurrencyCodeView,
  amount: Type.String(),
  orderRef: Bytes32,
  hold: Type.Integer({ description: "Seconds the payment is held once escrowed" }),
  expiresAt: DateTime,
  typedData: PaymentRequestTypedData,
  placeholders: Type.Object({ payer: Type.String(), nonce: Type.String() }),
  submit: Type.Object({ method: Type.Literal("POST"), path: Type.String(), requestId: Type.String() }),
});
export type PaymentRequestView = Static<typeof PaymentRequestView>;

export const SettlementsQuery = Type.Object({ ...CursorQuery }, { additionalProperties: false });

export const SettlementView = Type.Object({
  key: Type.Integer(),
  merchantId: Type.String(),
  currency: CurrencyCodeView,
  batchIds: Type.Array(Type.String()),
  state: Type.Unsafe<SettlementState>(Type.String({ enum: [...SETTLEMENT_STATES] })),
  txHash: Nullable(Type.String()),
  amount: Nullable(Type.String()),
  fee: Nullable(Type.String()),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export type SettlementView = Static<typeof SettlementView>;

export const BalanceView = Type.Object({
  merchantId: Type.String(),
  currency: CurrencyCodeView,
  released: Type.String({
    description: "Released (confirmed or ruled) funds net of fees, paid out at the next settlement",
  }),
  claimable: Type.String({ description: "Payouts that could not be delivered, claimable with escrow.claim" }),
});
export type BalanceView = Static<typeof BalanceView>;

/** What happened to a payment, one step of its timeline. */
export const TIMELINE_KINDS = [
  "accepted",
  "batched",
  "escrowed",
  "rejected",
  "confirmed",
  "refunded",
  "dispute_opened",
  "dispute_resolved",
  "hold_extended",
  "refund_requested",
  "refund_request_rejected",
  "hold_resumed",
  "released",
  "settled",
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export const TimelineEntry = Type.Object({
  kind: Type.Unsafe<TimelineKind>(Type.String({ enum: [...TIMELINE_KINDS] })),
  source: Type.Union([Type.Literal("relayer"), Type.Literal("chain")], {
    description: "relayer: its own records; chain: an escrow event",
  }),
  at: Nullable(DateTime),
  blockNumber: Nullable(Type.Integer()),
  txHash: Nullable(Type.String()),
  /** The step's amounts and facts as decimal strings (amount, fee, totalRefunded, toPayer, ...). */
  details: Type.Record(Type.String(), Type.String()),
});
export type TimelineEntry = Static<typeof TimelineEntry>;

export const PaymentTimelineView = Type.Object({
  paymentId: Bytes32,
  state: Type.String(),
  amount: Type.String(),
  refunded: Type.String(),
  orderRef: Bytes32,
  orderRefText: Nullable(Type.String({ description: "The text of the payment request's order reference, if any" })),
  timer: Nullable(OrderTimerView),
  entries: Type.Array(TimelineEntry),
});
export type PaymentTimelineView = Static<typeof PaymentTimelineView>;

export const RefundTypedDataQuery = Type.Object(
  {
    totalRefund: AmountString(
      "Cumulative amount refunded after this refund (above what is refunded, up to the amount)",
    ),
    deadline: Type.Optional(
      UintString("Unix seconds (uint48) the signature is valid to; default 15 minutes from now", 15),
    ),
  },
  { additionalProperties: false },
);

/**
 * The EIP-712 typed data of an action the merchant's owner key signs (`eth_signTypedData_v4`'s
 * shape), who must sign it, and where to post the signature with which body.
 */
export const OwnerTypedDataView = <P extends string, M extends TProperties, B extends TProperties>(
  primaryType: P,
  message: M,
  submitBody: B,
) =>
  Type.Object({
    typedData: Type.Object({
      domain: Type.Object({
        name: Type.String(),
        version: Type.String(),
        chainId: Type.Integer(),
        verifyingContract: Type.String(),
      }),
      types: Type.Object({
        EIP712Domain: Type.Array(TypedField),
        ...({ [primaryType]: Type.Array(TypedField) } as Record<P, TArray<typeof TypedField>>),
      }),
      primaryType: Type.Literal(primaryType),
      message: Type.Object({ paymentId: Bytes32, ...message }),
    }),
    signer: Type.String({ description: "The merchant's owner key in the registry: the only valid signer" }),
    submit: Type.Object({
      method: Type.Literal("POST"),
      path: Type.String(),
      body: Type.Object({ ...submitBody, deadline: Type.String(), signature: Type.Null() }),
    }),
  });

/** The EIP-712 typed data of a refund, as `eth_signTypedData_v4` takes it. */
export const RefundTypedDataView = OwnerTypedDataView(
  "Refund",
  { totalRefund: Type.String(), deadline: Type.String() },
  { totalRefund: Type.String() },
);
export type RefundTypedDataView = Static<typeof RefundTypedDataView>;
