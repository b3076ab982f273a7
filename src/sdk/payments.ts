/**
 * Customer-side helpers around a payment: build it from a merchant's payment request, pick a free
 * nonce, and check the relayer's inclusion proof against the chain (trusting the relayer for
 * nothing: the root to check against comes from escrow.batchRoot(batchId)).
 */
import { StablePayError } from "./errors";
import { keccakUtf8 } from "../protocol/hash";
import { processProof } from "../protocol/merkle";
import { paymentId } from "../protocol/paymentId";
import {
  ESCROW_DOMAIN_NAME,
  ESCROW_DOMAIN_VERSION,
  escrowDomain,
  paymentFields,
  paymentTypes,
  type EscrowDomain,
  type Payment,
} from "../protocol/typedData";
import type { Address, Hex } from "../protocol/types";
import { type AccountInfo, type Inclusion, type PaymentRequestTypedData } from "./wire";

/** A payment ready to sign and submit: its domain, its fields and the request it pays. */
export interface PreparedPayment {
  domain: EscrowDomain;
  payment: Payment;
  requestId: string;
}

export interface PaymentFromRequestParams {
  payer: Address;
  nonce: bigint;
  /**
   * The chain and escrow the customer expects to pay through. A relayer cannot then have the
   * customer sign for another contract: a different domain throws `wrong_domain`.
   */
  expect?: { chainId?: bigint | number; escrow?: Address };
}

const sameFields = (a: readonly { name: string; type: string }[], b: readonly { name: string; type: string }[]) =>
  a.length === b.length && a.every((f, i) => f.name === b[i].name && f.type === b[i].type);

/**
 * Fills a payment request's typed data (the relayer leaves payer and nonce null) into a Payment to
 * sign. Checks that it is a StablePay `Payment` under the escrow's domain name and version.
 */
export function paymentFromRequest(
  request: { id: string; typedData: PaymentRequestTypedData },
  params: PaymentFromRequestParams,
): PreparedPayment {
  const { domain, types, primaryType, message } = request.typedData;
  if (primaryType !== "Payment" || !sameFields(types.Payment, paymentTypes.Payment)) {
    throw new StablePayError("invalid_argument", "the payment request is not a StablePay Payment");
  }
  if (domain.name !== ESCROW_DOMAIN_NAME || domain.version !== ESCROW_DOMAIN_VERSION) {
    throw new StablePayError("wrong_domain", `unexpected EIP-712 domain ${domain.name} v${domain.version}`);
  }
  const { expect } = params;
  if (expect?.chainId !== undefined && BigInt(expect.chainId) !== BigInt(domain.chainId)) {
    throw new StablePayError("wrong_domain", `the request is for chain ${domain.chainId}, not ${expect.chainId}`);
  }
  if (expect?.escrow !== undefined && expect.escrow.toLowerCase() !== domain.verifyingContract.toLowerCase()) {
    throw new StablePayError(
      "wrong_domain",
      `the request is for escrow ${domain.verifyingContract}, not ${expect.escrow}`,
    );
  }
  return {
    domain: escrowDomain(domain.chainId, domain.verifyingContract as Address),
    payment: {
      payer: params.payer,
      merchantId: BigInt(message.merchantId),
      amount: BigInt(message.amount),
      orderRef: message.orderRef as Hex,
      nonce: params.nonce,
      validAfter: BigInt(message.validAfter),
      deadline: BigInt(message.deadline),
      hold: BigInt(message.hold),
    },
    requestId: request.id,
  };
}

/**
 * The lowest nonce free for a new payment (or withdrawal), from GET /v1/accounts/:address, skipping
 * `exclude` (nonces this client used but did not submit yet). Throws `no_free_nonce` when the
 * payer's 64-wide window is full of pending payments.
 */
export function pickNonce(account: Pick<AccountInfo, "nextNonces">, exclude: Iterable<bigint> = []): bigint {
  const taken = new Set(exclude);
  const nonce = account.nextNonces.find((n) => !taken.has(n));
  if (nonce === undefined) {
    throw new StablePayError("no_free_nonce", "no free nonce: wait for pending payments to be escrowed");
  }
  return nonce;
}

/**
 * True if the payment's inclusion proof leads from its id to `root`, which the caller reads from
 * the chain (`escrow.batchRoot(payment.inclusion.batchId)`), never from the relayer. With `domain`,
 * the id itself is recomputed from the signed fields, so the proof is about this very payment.
 */
export function verifyInclusion(
  payment: Payment & { id: Hex; inclusion?: Inclusion | null },
  root: Hex,
  domain?: EscrowDomain,
): boolean {
  if (!payment.inclusion) return false;
  const id = payment.id.toLowerCase() as Hex;
  if (domain && paymentId(domain, paymentFields(payment)).toLowerCase() !== id) return false;
  return processProof(id, payment.inclusion.proof) === root.toLowerCase();
}

/**
 * The bytes32 order reference the relayer derives from a payment request's `orderRef`: a 0x bytes32
 * as is (lowercased), any other text as keccak256 of its UTF-8 bytes. Lets a merchant match
 * payments and webhook events to its own order ids.
 */
export function orderRefOf(orderRef: string): Hex {
  return /^0x[0-9a-fA-F]{64}$/.test(orderRef) ? (orderRef.toLowerCase() as Hex) : keccakUtf8(orderRef);
}
