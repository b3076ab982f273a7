/**
 * EIP-3009 typed-data types of the settlement token (USDC FiatToken v2 compatible), declared once
 * for the SDK's gasless deposits, the benches, scripts and tests, and the escrow's deposit nonce
 * rule. Shapes follow viem (`as const`); ethers wants mutable copies (`ethersTypes` in ./typedData).
 */
import { encodeAbiParameters, hashTypedData } from "viem";
import { keccakHex, keccakUtf8 } from "./hash";
import { typedFields, type Payment } from "./typedData";
import type { Address, Hex } from "./types";

/** EIP-712 domain version of the settlement token (as USDC's FiatToken v2). */
export const TOKEN_DOMAIN_VERSION = "2";

const AUTHORIZATION_FIELDS = typedFields(
  "address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce",
);

export interface TokenDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
}

/**
 * The token's domain. `name` is what the token's `name()` returns (read it once from the chain,
 * e.g. `await token.name()` with ethers or `readContract({ functionName: "name" })` with viem).
 */
export function tokenDomain(params: {
  name: string;
  chainId: bigint | number;
  token: Address;
  version?: string;
}): TokenDomain {
  return {
    name: params.name,
    version: params.version ?? TOKEN_DOMAIN_VERSION,
    chainId: BigInt(params.chainId),
    verifyingContract: params.token,
  };
}

/** A transfer only the payee (`to`) may submit: how the escrow pulls deposits. */
export const RECEIVE_WITH_AUTHORIZATION_TYPES = { ReceiveWithAuthorization: AUTHORIZATION_FIELDS } as const;

export const TRANSFER_WITH_AUTHORIZATION_TYPES = { TransferWithAuthorization: AUTHORIZATION_FIELDS } as const;

export const CANCEL_AUTHORIZATION_TYPES = {
  CancelAuthorization: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

/**
 * Tag of deposit authorizations (the escrow's DEPOSIT_TAG): a deposit's EIP-3009 nonce is derived
 * from it, so a payment's authorization (nonce = payment id) can never be redeemed as a deposit.
 */
export const DEPOSIT_TAG: Hex = keccakUtf8("StablePay.Deposit");

/**
 * The EIP-3009 nonce the escrow expects for a deposit of `amount` from `from` with `salt`:
 * keccak256(abi.encode(DEPOSIT_TAG, from, amount, salt)).
 */
export function depositNonce(from: Address, amount: bigint, salt: Hex): Hex {
  return keccakHex(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }, { type: "bytes32" }],
      [DEPOSIT_TAG, from, amount, salt],
    ),
  );
}

/** An EIP-3009 authorization's message (ReceiveWithAuthorization / TransferWithAuthorization). */
export interface AuthorizationMessage {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

/**
 * The nonce of every one-off payment (escrow `payBatchWithAuthorization`): beyond any payer's nonce
 * window, so a one-off payment's id is never that of a payment from an escrow balance.
 */
export const ONE_OFF_NONCE = 2n ** 64n - 1n;

/**
 * What a one-off payer signs for `payment` (escrow `payBatchWithAuthorization`): a
 * ReceiveWithAuthorization of its amount to the escrow, valid while the payment is (EIP-3009's
 * validBefore is exclusive, hence deadline + 1), whose nonce is the payment id, binding it to
 * exactly this payment.
 */
export function oneOffAuthorization(escrow: Address, payment: Payment, paymentId: Hex): AuthorizationMessage {
  if (payment.nonce !== ONE_OFF_NONCE)
    throw new RangeError(`a one-off payment's nonce is ONE_OFF_NONCE, not ${payment.nonce}`);
  return {
    from: payment.payer,
    to: escrow,
    value: payment.amount,
    validAfter: payment.validAfter,
    validBefore: payment.deadline + 1n,
    nonce: paymentId,
  };
}

/** True for a one-off payment: paid from the payer's wallet by a bound authorization (nonce ONE_OFF_NONCE). */
export const isOneOff = (payment: { nonce: bigint }): boolean => payment.nonce === ONE_OFF_NONCE;

/** The EIP-712 digest of a ReceiveWithAuthorization under the token's domain (what its payer signs). */
export function receiveAuthorizationDigest(domain: TokenDomain, message: AuthorizationMessage): Hex {
  return hashTypedData({
    domain,
    types: RECEIVE_WITH_AUTHORIZATION_TYPES,
    primaryType: "ReceiveWithAuthorization",
    message,
  });
}
