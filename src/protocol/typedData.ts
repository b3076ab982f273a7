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

export const paymentTypes = {
  Payment: [
    { name: "payer", type: "address" },
    { name: "merchantId", type: "uint64" },
    { name: "amount", type: "uint256" },
    { name: "orderRef", type: "bytes32" },
    { name: "nonce", type: "uint64" },
    { name: "validAfter", type: "uint48" },
    { name: "deadline", type: "uint48" },
  ],
} as const;

export const withdrawalTypes = {
  Withdrawal: [
    { name: "payer", type: "address" },
    { name: "to", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint48" },
  ],
} as const;

export const confirmationTypes = {
  Confirmation: [
    { name: "paymentId", type: "bytes32" },
    { name: "deadline", type: "uint48" },
  ],
} as const;

export const refundTypes = {
  Refund: [
    { name: "paymentId", type: "bytes32" },
    { name: "totalRefund", type: "uint256" },
    { name: "deadline", type: "uint48" },
  ],
} as const;

export const disputeTypes = {
  Dispute: [
    { name: "paymentId", type: "bytes32" },
    { name: "deadline", type: "uint48" },
  ],
} as const;

export const eip712DomainTypes = {
  EIP712Domain: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
  ],
} as const;

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

export function escrowDomain(chainId: bigint | number, escrow: Address): EscrowDomain {
  return {
    name: ESCROW_DOMAIN_NAME,
    version: ESCROW_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: escrow,
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
 * The payment as viem's typed-data encoder types it: uint48 fields are JavaScript numbers there
 * (they always fit), everything wider stays bigint.
 */
export function paymentMessage(payment: Payment) {
  return { ...payment, validAfter: Number(payment.validAfter), deadline: Number(payment.deadline) };
}

export function withdrawalMessage(withdrawal: Withdrawal) {
  return { ...withdrawal, deadline: Number(withdrawal.deadline) };
}
