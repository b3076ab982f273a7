/**
 * Bodies of the signed order-timer actions the relayer relays: the payer's hold extension, refund
 * request and escalation, and the merchant owner's rejection of an open refund request. Each names
 * its `ordinal` (the extension it makes, the request it opens, or the request it answers), which
 * the signature covers: the escrow refuses it for any other (409 stale_ordinal).
 */
import { Type, type Static } from "@sinclair/typebox";
import { REFUND_REASONS } from "../enums";
import { AmountString, Signature, UintString } from "./common";
import { OwnerTypedDataView } from "./merchants";

const Deadline = UintString("Unix seconds (uint48) the signature is valid to", 15);
const Ordinal = (description: string) => UintString(`${description} (uint8)`, 3);

/** The payer's signed `HoldExtension`. */
export const ExtendHoldBody = Type.Object(
  {
    extension: UintString("Seconds to extend the hold by (1 .. 30 days; the escrow enforces it)", 10),
    ordinal: Ordinal("The extension this is: 1 for the payment's first, 2 for its second"),
    deadline: Deadline,
    signature: Signature,
  },
  { additionalProperties: false, description: "The payer's EIP-712 `HoldExtension`" },
);

/** The payer's signed `RefundRequest`. */
export const RefundRequestBody = Type.Object(
  {
    amount: AmountString("Amount asked back (1 .. what is still held)"),
    reason: Type.Union(
      Object.keys(REFUND_REASONS).map((name) => Type.Literal(name)),
      { description: "Why (REFUND_REASONS): its code is what the payer signs" },
    ),
    ordinal: Ordinal("The request this opens: 1 for the payment's first"),
    deadline: Deadline,
    signature: Signature,
  },
  { additionalProperties: false, description: "The payer's EIP-712 `RefundRequest`" },
);

/** A signed answer to a refund request: the payer's `Escalation` or the merchant owner's `RefundRejection`. */
export const RefundRequestAnswerBody = Type.Object(
  {
    ordinal: Ordinal("The refund request it answers: the payment's latest"),
    deadline: Deadline,
    signature: Signature,
  },
  { additionalProperties: false },
);

export const RefundRejectionTypedDataQuery = Type.Object(
  {
    ordinal: Ordinal("The open refund request to reject: the payment's latest (RefundRequested events count them)"),
    deadline: Type.Optional(
      UintString("Unix seconds (uint48) the signature is valid to; default 15 minutes from now", 15),
    ),
  },
  { additionalProperties: false },
);

/** The EIP-712 typed data of a refund request's rejection, as `eth_signTypedData_v4` takes it. */
export const RefundRejectionTypedDataView = OwnerTypedDataView(
  "RefundRejection",
  { ordinal: Type.String(), deadline: Type.String() },
  { ordinal: Type.String() },
);
export type RefundRejectionTypedDataView = Static<typeof RefundRejectionTypedDataView>;
