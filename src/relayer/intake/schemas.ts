import { Type, type Static, type TSchema } from "@sinclair/typebox";

/**
 * JSON schemas of the API, shared by request validation, response serialisation and the OpenAPI
 * document. Money, ids, nonces and timestamps are decimal strings (JSON numbers lose precision past
 * 2^53); their ranges are checked after parsing so that an amount out of range gets its own error
 * code (`invalid_amount`) rather than a generic validation failure.
 */

const DECIMAL = "^[0-9]+$";

/** Decimal string of an unsigned integer; the handler checks the type's upper bound. */
export const UintString = (description: string, maxLength = 78) =>
  Type.String({ pattern: DECIMAL, minLength: 1, maxLength, description, examples: ["1000000"] });
/** Amounts allow a few digits past uint256 so that "too large" is reported as invalid_amount. */
export const AmountString = (description: string) =>
  Type.String({ pattern: DECIMAL, minLength: 1, maxLength: 100, description, examples: ["25000000"] });
export const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$", description: "20-byte address, 0x-prefixed hex" });
export const Bytes32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "32 bytes, 0x-prefixed hex" });
/** 65-byte ECDSA signature (r ‖ s ‖ v), or whatever an ERC-1271 wallet accepts (at most 2 KiB). */
export const Signature = Type.String({
  pattern: "^0x([0-9a-fA-F]{2})+$",
  maxLength: 2 + 2 * 2048,
  description: "65-byte ECDSA signature r‖s‖v (v = 27|28, low s), or an ERC-1271 wallet signature",
});
export const PaymentId = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "Payment id: its EIP-712 digest" });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Timestamp = Type.String({ format: "date-time", description: "ISO 8601" });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "Stable machine-readable code (src/relayer/errors.ts)" }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { description: "Error" },
);
export const ERROR_RESPONSES = { "4xx": ErrorResponse, "5xx": ErrorResponse } as const;

export const PaymentFields = {
  payer: Address,
  merchantId: UintString("Merchant id in the registry (uint64)", 20),
  amount: AmountString("Token units, 1 .. 2^128-1"),
  orderRef: Bytes32,
  nonce: UintString("Payer nonce in its 64-wide window (uint64)", 20),
  validAfter: UintString("Unix seconds (uint48)", 15),
  deadline: UintString("Unix seconds (uint48)", 15),
};

export const PaymentSubmission = Type.Object(
  {
    ...PaymentFields,
    signature: Signature,
    chainId: Type.Optional(UintString("Chain id the payer signed for; checked against the relayer's", 20)),
    escrow: Type.Optional(Address),
    requestId: Type.Optional(
      Type.String({ pattern: "^req_[A-Za-z0-9_-]{1,64}$", description: "Payment request it pays" }),
    ),
  },
  { additionalProperties: false, description: "A payment signed by its payer (EIP-712 `Payment`)" },
);
export type PaymentSubmission = Static<typeof PaymentSubmission>;

export const MAX_BATCH_ITEMS = 1_000;

export const Inclusion = Type.Object({
  batchId: Type.String(),
  root: Bytes32,
  leafIndex: Type.Integer(),
  proof: Type.Array(Bytes32),
});

export const PaymentView = Type.Object({
  id: PaymentId,
  payer: Address,
  merchantId: Type.String(),
  amount: Type.String(),
  orderRef: Bytes32,
  nonce: Type.String(),
  validAfter: Type.String(),
  deadline: Type.String(),
  signature: Type.String(),
  state: Type.String({
    enum: [
      "accepted",
      "batched",
      "submitted",
      "escrowed",
      "released",
      "refunded",
      "disputed",
      "resolved",
      "settled",
      "rejected",
      "expired",
    ],
  }),
  rejectReason: Nullable(Type.String()),
  batchId: Nullable(Type.String()),
  leafIndex: Nullable(Type.Integer()),
  txHash: Nullable(Type.String()),
  refunded: Type.String(),
  releaseAt: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  inclusion: Type.Optional(Nullable(Inclusion)),
});
export type PaymentView = Static<typeof PaymentView>;

export const SentTransactionView = Type.Object({ txHash: Type.String(), status: Type.Literal("sent") });

export const SignedPaymentAction = Type.Object(
  { deadline: UintString("Unix seconds (uint48) the signature is valid to", 15), signature: Signature },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: PaymentId });

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const CursorQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$", description: "1..100, default 50" })),
};
