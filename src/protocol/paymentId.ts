import { hashTypedData } from "viem";
import { paymentMessage, paymentTypes, type EscrowDomain, type Payment } from "./typedData";
import type { Hex } from "./types";

/** A payment's id: its EIP-712 digest under the escrow's domain (what the escrow computes on chain). */
export function paymentId(domain: EscrowDomain, payment: Payment): Hex {
  return hashTypedData({ domain, types: paymentTypes, primaryType: "Payment", message: paymentMessage(payment) });
}
