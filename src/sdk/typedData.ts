/**
 * EIP-712 types of everything the PaymentEscrow accepts by signature. The on-chain twin is
 * contracts/libraries/EscrowTypeHashes.sol; test/sdk/typedData.test.ts checks they agree.
 * Field shapes follow viem (`as const`) and work unchanged with ethers' `signTypedData`.
 */
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

export type Hex = `0x${string}`;
export type Address = Hex;

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

export interface Withdrawal {
  payer: Address;
  to: Address;
  amount: bigint;
  nonce: bigint;
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

type TypeField = { readonly name: string; readonly type: string };

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
