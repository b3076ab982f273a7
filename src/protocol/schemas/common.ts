/**
 * Formats every API schema is built from. Money, ids, nonces and timestamps are decimal strings
 * (JSON numbers lose precision past 2^53); their ranges are checked after parsing so that an amount
 * out of range gets its own error code (`invalid_amount`) rather than a generic validation failure.
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";

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
/** Largest uint32: a payment's hold (seconds) is one on chain. */
export const MAX_UINT32 = 0xffff_ffff;
/**
 * A payment's hold in seconds (uint32, a JSON integer: it always fits). Whether it lies within the
 * merchant's registered bounds is checked by the route, with its own error code (hold_out_of_range).
 */
export const HoldSeconds = (description: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_UINT32, description, examples: [259200] });
/** A currency's code as deployment records and GET /v1/currencies name it (USD, EUR, USDC). */
export const CURRENCY_CODE_PATTERN = "^[A-Z][A-Z0-9]{1,11}$";
/** A currency code a client sends. */
export const CurrencyCodeParam = Type.String({
  pattern: CURRENCY_CODE_PATTERN,
  description: "Currency code (GET /v1/currencies); default: the relayer's default currency",
});
export const CurrencyCodeView = Type.String({
  description: "Currency code (GET /v1/currencies): the escrow it is paid through",
});
export const PaymentId = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "Payment id: its EIP-712 digest" });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Timestamp = Type.String({ format: "date-time", description: "ISO 8601" });
/** A date-time without the ISO 8601 description (the views that carried none keep none). */
export const DateTime = Type.String({ format: "date-time" });

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });
/** A page of `T` on the wire (Static of Page(schema of T)). */
export type PageView<T> = Omit<Static<ReturnType<typeof Page<TSchema>>>, "items"> & { items: T[] };

export const CursorQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$", description: "1..100, default 50" })),
};

/** A 204's empty body, as the OpenAPI document shows it. */
export const NoContent = { type: "null", description: "Deleted" } as const;
