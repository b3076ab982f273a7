/**
 * EIP-3009 typed-data types of the settlement token (USDC FiatToken v2 compatible), declared once
 * for the SDK's gasless deposits, the benches, scripts and tests. Shapes follow viem (`as const`);
 * ethers wants mutable copies (`ethersTypes` in ./typedData).
 */

/** EIP-712 domain version of the settlement token (as USDC's FiatToken v2). */
export const TOKEN_DOMAIN_VERSION = "2";

const AUTHORIZATION_FIELDS = [
  { name: "from", type: "address" },
  { name: "to", type: "address" },
  { name: "value", type: "uint256" },
  { name: "validAfter", type: "uint256" },
  { name: "validBefore", type: "uint256" },
  { name: "nonce", type: "bytes32" },
] as const;

/** A transfer only the payee (`to`) may submit: how the escrow pulls deposits. */
export const RECEIVE_WITH_AUTHORIZATION_TYPES = { ReceiveWithAuthorization: AUTHORIZATION_FIELDS } as const;

export const TRANSFER_WITH_AUTHORIZATION_TYPES = { TransferWithAuthorization: AUTHORIZATION_FIELDS } as const;

export const CANCEL_AUTHORIZATION_TYPES = {
  CancelAuthorization: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;
