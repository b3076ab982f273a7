/**
 * Gasless deposits: the payer signs an EIP-3009 `ReceiveWithAuthorization` on the token, moving
 * `value` from the payer to the escrow; the relayer submits it (POST /v1/deposits) and pays the gas.
 * The token's EIP-712 domain is USDC's: the token's `name()`, version "2", its chain and address.
 */
import { StablePayError } from "./errors";
import { RECEIVE_WITH_AUTHORIZATION_TYPES, depositNonce } from "../protocol/eip3009";
import type { Address, Hex } from "../protocol/types";

export { DEPOSIT_TAG, TOKEN_DOMAIN_VERSION, depositNonce, tokenDomain, type TokenDomain } from "../protocol/eip3009";

/** How long a deposit authorization built by {@link depositAuthorization} stays valid by default. */
export const DEFAULT_DEPOSIT_VALIDITY_SECONDS = 3_600;

/** The protocol's `RECEIVE_WITH_AUTHORIZATION_TYPES`, under the SDK's name. */
export const receiveWithAuthorizationTypes = RECEIVE_WITH_AUTHORIZATION_TYPES;

/** The signed fields of an EIP-3009 ReceiveWithAuthorization (window exclusive at both ends). */
export interface DepositAuthorization {
  from: Address;
  /** The escrow: only it may redeem a receive authorization. */
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  /** Signed EIP-3009 nonce: {@link depositNonce}(from, value, salt). */
  nonce: Hex;
  /** Random 32 bytes the nonce is derived from; what the escrow is given (EIP-3009 nonces are
   * unordered, each usable once). */
  salt: Hex;
}

/** 32 random bytes from the platform's CSPRNG (a deposit salt). */
export function randomAuthorizationNonce(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A deposit authorization of `amount` from `from` to `escrow`: valid from now (validAfter 0 by
 * default) for `validForSeconds`, with a fresh random salt and the deposit nonce derived from it.
 * `now` is unix seconds (default: the local clock; pass the chain's time where they differ).
 */
export function depositAuthorization(params: {
  from: Address;
  escrow: Address;
  amount: bigint;
  validAfter?: bigint;
  validBefore?: bigint;
  validForSeconds?: number;
  salt?: Hex;
  now?: bigint;
}): DepositAuthorization {
  if (params.amount <= 0n) throw new StablePayError("invalid_argument", "amount must be positive");
  const now = params.now ?? BigInt(Math.floor(Date.now() / 1000));
  const salt = params.salt ?? randomAuthorizationNonce();
  return {
    from: params.from,
    to: params.escrow,
    value: params.amount,
    validAfter: params.validAfter ?? 0n,
    validBefore: params.validBefore ?? now + BigInt(params.validForSeconds ?? DEFAULT_DEPOSIT_VALIDITY_SECONDS),
    nonce: depositNonce(params.from, params.amount, salt),
    salt,
  };
}
