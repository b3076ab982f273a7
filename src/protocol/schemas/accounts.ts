/** A payer's escrow account: its balance and nonces, and the gasless deposits and withdrawals that move it. */
import { Type, type Static } from "@sinclair/typebox";
import { Address, AmountString, CurrencyCodeParam, CurrencyCodeView, Signature, UintString } from "./common";

export const AccountParams = Type.Object({ address: Address });
/** The currency whose escrow account is read (default: the relayer's first served currency). */
export const CurrencyQuery = Type.Object(
  { currency: Type.Optional(CurrencyCodeParam) },
  { additionalProperties: false },
);
export type CurrencyQuery = Static<typeof CurrencyQuery>;

export const AccountView = Type.Object({
  address: Address,
  currency: CurrencyCodeView,
  balance: Type.String({ description: "Free balance in the escrow (on chain)" }),
  pending: Type.String({
    description: "Sum of accepted payments not yet escrowed and of relayed withdrawals not yet executed",
  }),
  available: Type.String({ description: "balance - pending (never below 0): what a new payment may spend" }),
  pendingOneOff: Type.String({
    description:
      "Sum of accepted one-off payments not yet escrowed: paid from the wallet by token authorization, so not part of pending",
  }),
  nonceWindow: Type.Object({ base: Type.String(), bitmap: Type.String() }),
  nextNonces: Type.Array(Type.String(), { description: "Nonces free on chain and not used by a pending payment" }),
});
export type AccountView = Static<typeof AccountView>;

export const DepositBody = Type.Object(
  {
    from: Address,
    amount: AmountString("Token units, 1 .. 2^128-1"),
    validAfter: UintString("EIP-3009 validAfter (unix seconds, exclusive)"),
    validBefore: UintString("EIP-3009 validBefore (unix seconds, exclusive)"),
    salt: Type.String({
      pattern: "^0x[0-9a-fA-F]{64}$",
      description:
        "32 random bytes; the signed EIP-3009 nonce is keccak256(abi.encode(keccak256('StablePay.Deposit'), from, amount, salt))",
    }),
    signature: Signature,
    chainId: Type.Optional(UintString("Chain id the payer signed for", 20)),
    escrow: Type.Optional(Address),
  },
  {
    additionalProperties: false,
    description:
      "The payer's EIP-3009 ReceiveWithAuthorization of `amount` from `from` to the escrow, signed on the token",
  },
);
export type DepositBody = Static<typeof DepositBody>;

export const WithdrawalBody = Type.Object(
  {
    payer: Address,
    to: Address,
    amount: AmountString("Token units, 1 .. 2^128-1"),
    nonce: UintString("Payer nonce (shared window with payments, uint64)", 20),
    deadline: UintString("Unix seconds (uint48)", 15),
    signature: Signature,
    chainId: Type.Optional(UintString("Chain id the payer signed for", 20)),
    escrow: Type.Optional(Address),
  },
  { additionalProperties: false, description: "The payer's EIP-712 `Withdrawal`" },
);
export type WithdrawalBody = Static<typeof WithdrawalBody>;
