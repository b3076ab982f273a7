/**
 * Signing everything the escrow accepts by signature, with any {@link TypedDataSigner}. Each
 * function returns the signature as the relayer and the escrow want it: 65 bytes r ‖ s ‖ v, v 27 or
 * 28, low s, lowercase hex (wallets that answer v 0/1 or a high s are normalised; the signer is
 * the same). Longer signatures (ERC-1271 smart wallets) are passed through.
 */
import { StablePayError } from "./errors";
import { receiveWithAuthorizationTypes, type DepositAuthorization, type TokenDomain } from "./eip3009";
import { SECP256K1_HALF_N, SECP256K1_N } from "../protocol/secp256k1";
import { ONE_OFF_NONCE, oneOffAuthorization, type AuthorizationMessage } from "../protocol/eip3009";
import { paymentId } from "../protocol/paymentId";
import type { Hex } from "../protocol/types";
import type { TypedDataField, TypedDataPayload, TypedDataSigner } from "./signers";
import {
  confirmationTypes,
  disputeTypes,
  escalationTypes,
  holdExtensionTypes,
  paymentTypes,
  refundRejectionTypes,
  refundRequestTypes,
  refundTypes,
  withdrawalTypes,
  type Confirmation,
  type Dispute,
  type Escalation,
  type EscrowDomain,
  type HoldExtension,
  type Payment,
  type Refund,
  type RefundRejection,
  type RefundRequest,
  type Withdrawal,
} from "../protocol/typedData";

const ECDSA_SIGNATURE_HEX_LENGTH = 2 + 65 * 2;

/** Canonical form of a 65-byte ECDSA signature (v 27/28, low s); other lengths only lowercased. */
export function normalizeSignature(signature: string): Hex {
  if (!/^0x([0-9a-fA-F]{2})+$/.test(signature)) {
    throw new StablePayError("invalid_argument", "a signature must be 0x-prefixed hex bytes");
  }
  const hex = signature.toLowerCase();
  if (hex.length !== ECDSA_SIGNATURE_HEX_LENGTH) return hex as Hex;
  const r = hex.slice(2, 66);
  let s = BigInt(`0x${hex.slice(66, 130)}`);
  let v = parseInt(hex.slice(130), 16);
  if (v === 0 || v === 1) v += 27;
  if (v !== 27 && v !== 28) throw new StablePayError("invalid_argument", `signature has an invalid v (${v})`);
  if (s > SECP256K1_HALF_N) {
    s = SECP256K1_N - s;
    v = v === 27 ? 28 : 27;
  }
  return `0x${r}${s.toString(16).padStart(64, "0")}${v.toString(16)}`;
}

async function requireSigner(signer: TypedDataSigner, expected: string, role: string): Promise<void> {
  const address = await signer.getAddress();
  if (address.toLowerCase() !== expected.toLowerCase()) {
    throw new StablePayError("signer_mismatch", `the signer ${address} is not the ${role} ${expected}`, {
      signer: address,
      expected,
    });
  }
}

async function sign(signer: TypedDataSigner, payload: TypedDataPayload): Promise<Hex> {
  return normalizeSignature(await signer.signTypedData(payload));
}

/**
 * Signs the one struct `types` declares, its message being those fields of `source` (extra
 * properties of `source` are left out).
 */
function signStruct<T extends { readonly [primaryType: string]: readonly TypedDataField[] }>(
  signer: TypedDataSigner,
  domain: TypedDataPayload["domain"],
  types: T,
  source: Record<T[keyof T][number]["name"], unknown>,
): Promise<Hex> {
  const [primaryType] = Object.keys(types);
  const values = source as Record<string, unknown>;
  const message = Object.fromEntries(types[primaryType].map((f) => [f.name, values[f.name]]));
  return sign(signer, { domain, types, primaryType, message });
}

/** The payer signs a Payment (usually built by `paymentFromRequest`). The signer must be the payer. */
export async function signPayment(
  signer: TypedDataSigner,
  params: { domain: EscrowDomain; payment: Payment },
): Promise<Hex> {
  await requireSigner(signer, params.payment.payer, "payer");
  return signStruct(signer, params.domain, paymentTypes, params.payment);
}

/** The payer signs a Withdrawal of free escrow balance to `to`. The signer must be the payer. */
export async function signWithdrawal(
  signer: TypedDataSigner,
  params: { domain: EscrowDomain; withdrawal: Withdrawal },
): Promise<Hex> {
  await requireSigner(signer, params.withdrawal.payer, "payer");
  return signStruct(signer, params.domain, withdrawalTypes, params.withdrawal);
}

/** The payer confirms delivery of an escrowed payment. */
export function signConfirmation(
  signer: TypedDataSigner,
  params: { domain: EscrowDomain } & Confirmation,
): Promise<Hex> {
  return signStruct(signer, params.domain, confirmationTypes, params);
}

/** The merchant's owner key (registered in the MerchantRegistry) refunds up to `totalRefund` in total. */
export function signRefund(signer: TypedDataSigner, params: { domain: EscrowDomain } & Refund): Promise<Hex> {
  return signStruct(signer, params.domain, refundTypes, params);
}

/** The payer disputes an escrowed payment before its hold ends. */
export function signDispute(signer: TypedDataSigner, params: { domain: EscrowDomain } & Dispute): Promise<Hex> {
  return signStruct(signer, params.domain, disputeTypes, params);
}

/**
 * The payer extends an escrowed payment's hold by `extension` seconds. `ordinal` is the extension
 * this is (1 for the payment's first): the escrow accepts the signature for that one only.
 */
export function signHoldExtension(
  signer: TypedDataSigner,
  params: { domain: EscrowDomain } & HoldExtension,
): Promise<Hex> {
  return signStruct(signer, params.domain, holdExtensionTypes, params);
}

/**
 * The payer asks the merchant to refund `amount` for `reason` (a REFUND_REASONS code). `ordinal` is
 * the request this opens (1 for the payment's first).
 */
export function signRefundRequest(
  signer: TypedDataSigner,
  params: { domain: EscrowDomain } & RefundRequest,
): Promise<Hex> {
  return signStruct(signer, params.domain, refundRequestTypes, params);
}

/** The merchant's owner key rejects the payment's open refund request number `ordinal`. */
export function signRefundRejection(
  signer: TypedDataSigner,
  params: { domain: EscrowDomain } & RefundRejection,
): Promise<Hex> {
  return signStruct(signer, params.domain, refundRejectionTypes, params);
}

/** The payer escalates its rejected refund request number `ordinal` to a dispute. */
export function signEscalation(signer: TypedDataSigner, params: { domain: EscrowDomain } & Escalation): Promise<Hex> {
  return signStruct(signer, params.domain, escalationTypes, params);
}

/**
 * The payer signs an EIP-3009 ReceiveWithAuthorization to the escrow, under the token's domain
 * (see `tokenDomain`). The signer must be `authorization.from`.
 */
export async function signDepositAuthorization(
  signer: TypedDataSigner,
  params: { domain: TokenDomain; authorization: DepositAuthorization },
): Promise<Hex> {
  await requireSigner(signer, params.authorization.from, "depositor");
  return signStruct(signer, params.domain, receiveWithAuthorizationTypes, params.authorization);
}

/** A one-off payment as signed: the payment (nonce ONE_OFF_NONCE), its id, and the bound authorization. */
export interface SignedOneOffPayment {
  payment: Payment;
  /** The payment id: the authorization's EIP-3009 nonce. */
  id: Hex;
  /** The ReceiveWithAuthorization the payer signed (from = payer, to = escrow, value = amount, nonce = id). */
  authorization: AuthorizationMessage;
  signature: Hex;
  /** The escrow's domain (sent as chainId/escrow: the relayer refuses another domain). */
  domain: EscrowDomain;
  requestId?: string;
}

/**
 * A one-off payer (no escrow balance) signs its payment as an EIP-3009 ReceiveWithAuthorization on
 * the token (`tokenDomain`, see `tokenDomain()`): the escrow pulls exactly `amount` from the wallet
 * when it escrows the payment (payBatchWithAuthorization), and the authorization's nonce is the
 * payment id, so it is good for this payment only (merchant, amount, orderRef, window). The payment's
 * nonce is ONE_OFF_NONCE (any nonce given is replaced). One signature: the authorization commits to
 * every field of the payment through its id. The signer must be the payer.
 */
export async function signOneOffPayment(
  signer: TypedDataSigner,
  params: {
    domain: EscrowDomain;
    tokenDomain: TokenDomain;
    payment: Omit<Payment, "nonce"> & { nonce?: bigint };
    requestId?: string;
  },
): Promise<SignedOneOffPayment> {
  await requireSigner(signer, params.payment.payer, "payer");
  const payment: Payment = { ...params.payment, nonce: ONE_OFF_NONCE };
  const id = paymentId(params.domain, payment);
  const authorization = oneOffAuthorization(params.domain.verifyingContract, payment, id);
  const signature = await signStruct(signer, params.tokenDomain, receiveWithAuthorizationTypes, authorization);
  return {
    payment,
    id,
    authorization,
    signature,
    domain: params.domain,
    ...(params.requestId === undefined ? {} : { requestId: params.requestId }),
  };
}
