import { hashTypedData } from "viem";
import { EscrowDigester } from "./digest";
import { bytesToHex } from "./hash";
import {
  ESCROW_DOMAIN_NAME,
  ESCROW_DOMAIN_VERSION,
  paymentMessage,
  paymentTypes,
  type EscrowDomain,
  type Payment,
} from "./typedData";
import type { Hex } from "./types";

/** Digesters of the escrow domains seen, a few at most (a process serves a handful of escrows). */
const digesters = new Map<string, EscrowDigester>();
const MAX_DIGESTERS = 16;

/**
 * A payment's id: its EIP-712 digest under the escrow's domain (what the escrow computes on chain).
 * Under the escrow's own name and version (every domain `escrowDomain` builds), by the precomputed
 * native digest; under any other domain, by viem's `hashTypedData`.
 */
export function paymentId(domain: EscrowDomain, payment: Payment): Hex {
  if (domain.name !== ESCROW_DOMAIN_NAME || domain.version !== ESCROW_DOMAIN_VERSION) {
    return hashTypedData({ domain, types: paymentTypes, primaryType: "Payment", message: paymentMessage(payment) });
  }
  const key = `${domain.chainId}:${domain.verifyingContract.toLowerCase()}`;
  let digester = digesters.get(key);
  if (!digester) {
    if (digesters.size >= MAX_DIGESTERS) digesters.clear();
    digesters.set(key, (digester = new EscrowDigester(BigInt(domain.chainId), domain.verifyingContract)));
  }
  return bytesToHex(digester.payment(payment));
}
