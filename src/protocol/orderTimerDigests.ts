/**
 * EIP-712 digests of the signed order-timer actions, as the escrow computes them: what the payer or
 * merchant owner signs, and what {cancelSignedAction} takes to revoke one.
 */
import { hashTypedData } from "viem";
import {
  escalationMessage,
  escalationTypes,
  holdExtensionMessage,
  holdExtensionTypes,
  refundRejectionMessage,
  refundRejectionTypes,
  refundRequestMessage,
  refundRequestTypes,
  type EscrowDomain,
  type Escalation,
  type HoldExtension,
  type RefundRejection,
  type RefundRequest,
} from "./typedData";
import type { Hex } from "./types";

export function holdExtensionDigest(domain: EscrowDomain, m: HoldExtension): Hex {
  return hashTypedData({
    domain,
    types: holdExtensionTypes,
    primaryType: "HoldExtension",
    message: holdExtensionMessage(m),
  });
}

export function refundRequestDigest(domain: EscrowDomain, m: RefundRequest): Hex {
  return hashTypedData({
    domain,
    types: refundRequestTypes,
    primaryType: "RefundRequest",
    message: refundRequestMessage(m),
  });
}

export function refundRejectionDigest(domain: EscrowDomain, m: RefundRejection): Hex {
  return hashTypedData({
    domain,
    types: refundRejectionTypes,
    primaryType: "RefundRejection",
    message: refundRejectionMessage(m),
  });
}

export function escalationDigest(domain: EscrowDomain, m: Escalation): Hex {
  return hashTypedData({ domain, types: escalationTypes, primaryType: "Escalation", message: escalationMessage(m) });
}
