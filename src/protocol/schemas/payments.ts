/**
 * Payments: submission (one or a batch), the payment view, the payer's signed actions on a held
 * payment (confirm, dispute), the merchant's refund and the merchant's payment list.
 */
import { Type, type Static } from "@sinclair/typebox";
import { PAYMENT_STATES, type PaymentState } from "../states";
import { ErrorDetail } from "./errors";
import {
  Address,
  AmountString,
  Bytes32,
  CurrencyCodeParam,
  CurrencyCodeView,
  CursorQuery,
  HoldSeconds,
  Nullable,
  PaymentId,
  Signature,
  Timestamp,
  UintString,
} from "./common";

export const PaymentFields = {
  payer: Address,
  merchantId: UintString("Merchant id in the registry (uint64)", 20),
  amount: AmountString("Token units, 1 .. 2^128-1"),
  orderRef: Bytes32,
  nonce: UintString("Payer nonce in its 64-wide window (uint64)", 20),
  validAfter: UintString("Unix seconds (uint48)", 15),
  deadline: UintString("Unix seconds (uint48)", 15),
  hold: HoldSeconds(
    "Seconds the payment is held once escrowed before it releases to the merchant without the payer's confirmation (uint32; within the merchant's bounds [minHold, maxHold])",
  ),
};

/** What a submission may add to the signed fields: the domain it was signed for, the request it pays. */
const SubmissionContext = {
  chainId: Type.Optional(UintString("Chain id the payer signed for; checked against the relayer's", 20)),
  escrow: Type.Optional(Address),
  requestId: Type.Optional(
    Type.String({ pattern: "^req_[A-Za-z0-9_-]{1,64}$", description: "Payment request it pays" }),
  ),
};

export const PaymentSubmission = Type.Object(
  {
    ...PaymentFields,
    signature: Signature,
    ...SubmissionContext,
  },
  { additionalProperties: false, description: "A payment signed by its payer (EIP-712 `Payment`)" },
);
export type PaymentSubmission = Static<typeof PaymentSubmission>;

/**
 * The payer's EIP-3009 ReceiveWithAuthorization of a one-off payment, as it signed it on the token:
 * from = payer, to = the escrow, value = amount, validAfter = the payment's, validBefore = its
 * deadline + 1, nonce = the payment id (what binds it to the payment).
 */
export const ReceiveAuthorization = Type.Object(
  {
    from: Address,
    to: Address,
    value: AmountString("Token units: the payment's amount"),
    validAfter: UintString("EIP-3009 validAfter (unix seconds, exclusive): the payment's validAfter"),
    validBefore: UintString("EIP-3009 validBefore (unix seconds, exclusive): the payment's deadline + 1"),
    nonce: Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "EIP-3009 nonce: the payment id" }),
    signature: Signature,
  },
  { additionalProperties: false },
);
export type ReceiveAuthorization = Static<typeof ReceiveAuthorization>;

const { nonce: _paymentNonce, ...OneOffPaymentFields } = PaymentFields;

export const OneOffPaymentSubmission = Type.Object(
  {
    ...OneOffPaymentFields,
    authorization: ReceiveAuthorization,
    ...SubmissionContext,
  },
  {
    additionalProperties: false,
    description:
      "A one-off payment: paid from the payer's wallet (no escrow balance) by its EIP-3009 authorization bound to the payment (the payment's nonce is 2^64-1)",
  },
);
export type OneOffPaymentSubmission = Static<typeof OneOffPaymentSubmission>;

export const MAX_BATCH_ITEMS = 1_000;

export const Inclusion = Type.Object({
  batchId: Type.String(),
  root: Bytes32,
  leafIndex: Type.Integer(),
  proof: Type.Array(Bytes32),
});
export type InclusionView = Static<typeof Inclusion>;

/** A refund request the payer opened on chain (open, or rejected by the merchant). */
export const RefundRequestView = Type.Object({
  amount: Type.String(),
  reason: Type.Integer({ description: "The payer's reason code" }),
  reasonName: Type.String({ description: "The reason code's name (code_<n> for one outside the list)" }),
  respondBy: Type.String({ description: "Unix seconds: unanswered by then, the request becomes a dispute" }),
});

/** A payment's own order timer, once a buyer's action took it out of its tranche. */
export const OrderTimerView = Type.Object({
  releaseAt: Nullable(
    Type.String({ description: "Unix seconds it becomes releasable; null while a refund request pauses the clock" }),
  ),
  extensions: Type.Integer({ description: "Hold extensions the payer made" }),
  refundRequests: Type.Integer({ description: "Refund requests the payer opened" }),
  holdLeft: Nullable(Type.String({ description: "Seconds of hold left while a request pauses the clock" })),
  refundRequest: Nullable(RefundRequestView),
  escalateBy: Nullable(
    Type.String({ description: "Unix seconds: until then the payer may escalate a rejected request to a dispute" }),
  ),
});
export type OrderTimerView = Static<typeof OrderTimerView>;

export const PaymentView = Type.Object({
  id: PaymentId,
  payer: Address,
  merchantId: Type.String(),
  currency: CurrencyCodeView,
  amount: Type.String(),
  orderRef: Bytes32,
  nonce: Type.String(),
  validAfter: Type.String(),
  deadline: Type.String(),
  hold: Type.Integer({ description: "Seconds held once escrowed (signed)" }),
  signature: Type.String(),
  state: Type.Unsafe<PaymentState>(Type.String({ enum: [...PAYMENT_STATES] })),
  rejectReason: Nullable(Type.String()),
  batchId: Nullable(Type.String()),
  leafIndex: Nullable(Type.Integer()),
  txHash: Nullable(Type.String()),
  refunded: Type.String(),
  releaseAt: Nullable(
    Type.String({
      description:
        "Unix seconds it releases: its tranche's time (escrow block time + hold), or its own timer's once extended or paused",
    }),
  ),
  timer: Nullable(OrderTimerView),
  requestId: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  inclusion: Type.Optional(Nullable(Inclusion)),
});
export type PaymentView = Static<typeof PaymentView>;

export const IdParams = Type.Object({ id: PaymentId });

/** What a relayed transaction's route answers (202): the escrow's events tell the rest. */
export const SentTransactionView = Type.Object({ txHash: Type.String(), status: Type.Literal("sent") });
export type SentTransactionView = Static<typeof SentTransactionView>;

/** The payer's signed Confirmation or Dispute of a held payment. */
export const SignedPaymentAction = Type.Object(
  { deadline: UintString("Unix seconds (uint48) the signature is valid to", 15), signature: Signature },
  { additionalProperties: false },
);

export const BatchBody = Type.Object(
  { payments: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_ITEMS }) },
  { additionalProperties: false },
);

export const BatchItemResult = Type.Object({
  index: Type.Integer(),
  status: Type.Integer({ description: "What POST /v1/payments would have answered for this item" }),
  payment: Type.Optional(PaymentView),
  error: Type.Optional(ErrorDetail),
});
export type BatchItemResult = Static<typeof BatchItemResult>;

export const BatchResponse = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  failed: Type.Integer(),
  results: Type.Array(BatchItemResult),
});
export type BatchResponse = Static<typeof BatchResponse>;

export const RefundBody = Type.Object(
  {
    totalRefund: AmountString("Cumulative amount refunded after this refund (1 .. payment amount)"),
    deadline: UintString("Unix seconds (uint48) the signature is valid to", 15),
    signature: Signature,
  },
  { additionalProperties: false, description: "The merchant owner key's EIP-712 `Refund`" },
);

export const ListPaymentsQuery = Type.Object(
  {
    state: Type.Optional(
      Type.String({ maxLength: 200, description: `Comma-separated states: ${PAYMENT_STATES.join(", ")}` }),
    ),
    orderRef: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          "Order reference: a 0x-prefixed bytes32, or the text of a payment request (matched by its keccak256)",
      }),
    ),
    from: Type.Optional(
      Type.String({ maxLength: 40, description: "Created at or after: ISO 8601 or unix milliseconds" }),
    ),
    to: Type.Optional(Type.String({ maxLength: 40, description: "Created before: ISO 8601 or unix milliseconds" })),
    currency: Type.Optional(CurrencyCodeParam),
    ...CursorQuery,
  },
  { additionalProperties: false },
);
