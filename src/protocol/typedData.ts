/**
 * EIP-712 types of everything the PaymentEscrow accepts by signature, their type strings and
 * typehashes, and the escrow's domain. The on-chain twin is contracts/libraries/EscrowTypeHashes.sol;
 * test/protocol/typedData.test.ts checks they agree. Field shapes follow viem (`as const`) and work
 * with ethers' `signTypedData` through {@link ethersTypes}.
 */
import { hexToBytes, keccak256, keccakUtf8 } from "./hash";
import type { Address, Hex } from "./types";

export const ESCROW_DOMAIN_NAME = "StablePay Escrow";
export const ESCROW_DOMAIN_VERSION = "1";

type Field<F extends string> = F extends `${infer T} ${infer N}` ? { readonly name: N; readonly type: T } : never;
type Fields<L extends string> = L extends `${infer F},${infer Rest}`
  ? readonly [Field<F>, ...Fields<Rest>]
  : readonly [Field<L>];

/**
 * EIP-712 fields written as a type string's member list ("address payer,uint64 merchantId"), typed
 * as the `as const` array viem infers messages from.
 */
export function typedFields<const L extends string>(list: L): Fields<L> {
  return list.split(",").map((field) => {
    const [type, name] = field.split(" ");
    return { name, type };
  }) as unknown as Fields<L>;
}

/** A flat struct's types from the type string the contract hashes ("Payment(address payer,...)"). */
function struct<const N extends string, const L extends string>(
  typeString: `${N}(${L})`,
): { readonly [K in N]: Fields<L> } {
  const open = typeString.indexOf("(");
  return { [typeString.slice(0, open)]: typedFields(typeString.slice(open + 1, -1)) } as {
    readonly [K in N]: Fields<L>;
  };
}

export const paymentTypes = struct(
  "Payment(address payer,uint64 merchantId,uint256 amount,bytes32 orderRef,uint64 nonce,uint48 validAfter,uint48 deadline,uint32 hold)",
);
export const withdrawalTypes = struct(
  "Withdrawal(address payer,address to,uint256 amount,uint64 nonce,uint48 deadline)",
);
export const confirmationTypes = struct("Confirmation(bytes32 paymentId,uint48 deadline)");
export const refundTypes = struct("Refund(bytes32 paymentId,uint256 totalRefund,uint48 deadline)");
export const disputeTypes = struct("Dispute(bytes32 paymentId,uint48 deadline)");
/**
 * Order-timer actions: each names its `ordinal` (the extension it makes, the refund request it
 * opens, or the open/rejected request it answers), so a signature acts once and never on a later one.
 */
export const holdExtensionTypes = struct(
  "HoldExtension(bytes32 paymentId,uint32 extension,uint8 ordinal,uint48 deadline)",
);
export const refundRequestTypes = struct(
  "RefundRequest(bytes32 paymentId,uint256 amount,uint8 reason,uint8 ordinal,uint48 deadline)",
);
export const refundRejectionTypes = struct("RefundRejection(bytes32 paymentId,uint8 ordinal,uint48 deadline)");
export const escalationTypes = struct("Escalation(bytes32 paymentId,uint8 ordinal,uint48 deadline)");
export const eip712DomainTypes = struct(
  "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
);

type TypeField = { readonly name: string; readonly type: string };

/** EIP-712 `encodeType` of a struct without nested structs (all of the escrow's are flat). */
export const encodeType = (name: string, fields: readonly TypeField[]): string =>
  `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;

/** The type strings the contracts hash, by primary type. */
export const TYPE_STRINGS = {
  EIP712Domain: encodeType("EIP712Domain", eip712DomainTypes.EIP712Domain),
  Payment: encodeType("Payment", paymentTypes.Payment),
  Withdrawal: encodeType("Withdrawal", withdrawalTypes.Withdrawal),
  Confirmation: encodeType("Confirmation", confirmationTypes.Confirmation),
  Refund: encodeType("Refund", refundTypes.Refund),
  Dispute: encodeType("Dispute", disputeTypes.Dispute),
  HoldExtension: encodeType("HoldExtension", holdExtensionTypes.HoldExtension),
  RefundRequest: encodeType("RefundRequest", refundRequestTypes.RefundRequest),
  RefundRejection: encodeType("RefundRejection", refundRejectionTypes.RefundRejection),
  Escalation: encodeType("Escalation", escalationTypes.Escalation),
} as const;

export type PrimaryType = keyof typeof TYPE_STRINGS;

/** keccak256 of each type string, computed once (the contracts' *_TYPEHASH constants). */
export const TYPEHASHES = Object.fromEntries(
  Object.entries(TYPE_STRINGS).map(([name, type]) => [name, keccakUtf8(type)]),
) as Record<PrimaryType, Hex>;

export interface EscrowDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
}

/** A payment as the customer signs it. Amounts and nonces are bigint: never floats for money. */
export interface Payment {
  payer: Address;
  merchantId: bigint;
  amount: bigint;
  orderRef: Hex;
  nonce: bigint;
  validAfter: bigint;
  deadline: bigint;
  /**
   * Seconds the payment is held once escrowed (uint32): its own auto-confirm timer, after which it
   * releases to the merchant without the payer's confirmation. Within the merchant's registered
   * bounds [minHold, maxHold] when escrowed, or the escrow rejects it (HoldOutOfRange).
   */
  hold: bigint;
}

/** The signed fields of a payment, and nothing else (a stored or listed payment carries more). */
export const paymentFields = (p: Payment): Payment => ({
  payer: p.payer,
  merchantId: p.merchantId,
  amount: p.amount,
  orderRef: p.orderRef,
  nonce: p.nonce,
  validAfter: p.validAfter,
  deadline: p.deadline,
  hold: p.hold,
});

export interface Withdrawal {
  payer: Address;
  to: Address;
  amount: bigint;
  nonce: bigint;
  deadline: bigint;
}

/** The payer's confirmation of delivery (releases the held amount to the merchant). */
export interface Confirmation {
  paymentId: Hex;
  deadline: bigint;
}

/** The merchant owner's refund; `totalRefund` is cumulative, so a replay refunds nothing more. */
export interface Refund {
  paymentId: Hex;
  totalRefund: bigint;
  deadline: bigint;
}

/** The payer's dispute of a held payment. */
export interface Dispute {
  paymentId: Hex;
  deadline: bigint;
}

/** The payer's hold extension by `extension` seconds; `ordinal` is the extension it makes (1 = first). */
export interface HoldExtension {
  paymentId: Hex;
  extension: bigint;
  ordinal: bigint;
  deadline: bigint;
}

/**
 * The payer's refund request for `amount` with a reason code (REFUND_REASONS); `ordinal` is the
 * request it opens (1 = first).
 */
export interface RefundRequest {
  paymentId: Hex;
  amount: bigint;
  reason: bigint;
  ordinal: bigint;
  deadline: bigint;
}

/** The merchant owner's rejection of the payment's open refund request number `ordinal`. */
export interface RefundRejection {
  paymentId: Hex;
  ordinal: bigint;
  deadline: bigint;
}

/** The payer's escalation of its rejected refund request number `ordinal` to a dispute. */
export interface Escalation {
  paymentId: Hex;
  ordinal: bigint;
  deadline: bigint;
}

export function escrowDomain(chainId: bigint | number, escrow: Address): EscrowDomain {
  return {
    name: ESCROW_DOMAIN_NAME,
    version: ESCROW_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: escrow,
  };
}

/**
 * Typed data for the escrow's domain in the JSON form `eth_signTypedData_v4` takes (chainId a
 * number, EIP712Domain listed): what a route hands a wallet to sign.
 */
export function escrowTypedDataJson<P extends string, M>(
  chainId: bigint,
  escrow: Address,
  primaryType: P,
  fields: readonly { name: string; type: string }[],
  message: M,
) {
  return {
    domain: {
      name: ESCROW_DOMAIN_NAME,
      version: ESCROW_DOMAIN_VERSION,
      chainId: Number(chainId),
      verifyingContract: escrow,
    },
    types: {
      EIP712Domain: eip712DomainTypes.EIP712Domain.map((field) => ({ ...field })),
      [primaryType]: fields.map((field) => ({ ...field })),
    } as Record<"EIP712Domain" | P, { name: string; type: string }[]>,
    primaryType,
    message,
  };
}

/** The escrow's EIP-712 domain separator, as bytes (what `_domainSeparatorV4()` returns). */
export function escrowDomainSeparator(chainId: bigint, escrow: Address): Buffer {
  const words = Buffer.alloc(32 * 5);
  hexToBytes(TYPEHASHES.EIP712Domain).copy(words, 0);
  keccak256(Buffer.from(ESCROW_DOMAIN_NAME, "utf8")).copy(words, 32);
  keccak256(Buffer.from(ESCROW_DOMAIN_VERSION, "utf8")).copy(words, 64);
  words.write(chainId.toString(16).padStart(64, "0"), 96, "hex");
  hexToBytes(escrow).copy(words, 128 + 12);
  return keccak256(words);
}

/** A mutable copy of typed-data types, as ethers' `signTypedData` wants them. */
export function ethersTypes(
  types: Record<string, readonly TypeField[]>,
): Record<string, { name: string; type: string }[]> {
  return Object.fromEntries(Object.entries(types).map(([key, fields]) => [key, fields.map((f) => ({ ...f }))]));
}

/**
 * The payment as viem's typed-data encoder types it: uint48 and uint32 fields are JavaScript numbers
 * there (they always fit), everything wider stays bigint.
 */
export function paymentMessage(payment: Payment) {
  return {
    ...payment,
    validAfter: Number(payment.validAfter),
    deadline: Number(payment.deadline),
    hold: Number(payment.hold),
  };
}

export function withdrawalMessage(withdrawal: Withdrawal) {
  return { ...withdrawal, deadline: Number(withdrawal.deadline) };
}

/** viem types uint8, uint32 and uint48 fields as numbers (they always fit). */
export function holdExtensionMessage(m: HoldExtension) {
  return { ...m, extension: Number(m.extension), ordinal: Number(m.ordinal), deadline: Number(m.deadline) };
}

export function refundRequestMessage(m: RefundRequest) {
  return { ...m, reason: Number(m.reason), ordinal: Number(m.ordinal), deadline: Number(m.deadline) };
}

export function refundRejectionMessage(m: RefundRejection) {
  return { ...m, ordinal: Number(m.ordinal), deadline: Number(m.deadline) };
}

export function escalationMessage(m: Escalation) {
  return { ...m, ordinal: Number(m.ordinal), deadline: Number(m.deadline) };
}
