/**
 * Signers of the order timer's signed actions (EIP-712 over the protocol's types), each returning the
 * signature and the digest {cancelSignedAction} takes. Shared by the escrow and relayer tests.
 */
import type { Signer } from "ethers";
import {
  REFUND_REASONS,
  escalationDigest,
  escalationTypes,
  ethersTypes,
  holdExtensionDigest,
  holdExtensionTypes,
  refundRejectionDigest,
  refundRejectionTypes,
  refundRequestDigest,
  refundRequestTypes,
  type Hex,
} from "../../src/protocol";
import { domainOf } from "./fixtures";
import type { EscrowFixture } from "./fixtures";

/** The reason code the tests' refund requests sign. */
export const REASON = BigInt(REFUND_REASONS.not_received);

type F = Pick<EscrowFixture, "escrow" | "chainId">;

export async function signExtension(
  f: F,
  signer: Signer,
  id: Hex,
  extension: bigint,
  ordinal: bigint,
  deadline: bigint,
) {
  const message = { paymentId: id, extension, ordinal, deadline };
  const domain = await domainOf(f);
  return {
    signature: (await signer.signTypedData(domain, ethersTypes(holdExtensionTypes), message)) as Hex,
    digest: holdExtensionDigest(domain, message),
  };
}

export async function signRequest(
  f: F,
  signer: Signer,
  id: Hex,
  amount: bigint,
  ordinal: bigint,
  deadline: bigint,
  reason: bigint = REASON,
) {
  const message = { paymentId: id, amount, reason, ordinal, deadline };
  const domain = await domainOf(f);
  return {
    signature: (await signer.signTypedData(domain, ethersTypes(refundRequestTypes), message)) as Hex,
    digest: refundRequestDigest(domain, message),
  };
}

export async function signRejection(f: F, signer: Signer, id: Hex, ordinal: bigint, deadline: bigint) {
  const message = { paymentId: id, ordinal, deadline };
  const domain = await domainOf(f);
  return {
    signature: (await signer.signTypedData(domain, ethersTypes(refundRejectionTypes), message)) as Hex,
    digest: refundRejectionDigest(domain, message),
  };
}

export async function signEscalation(f: F, signer: Signer, id: Hex, ordinal: bigint, deadline: bigint) {
  const message = { paymentId: id, ordinal, deadline };
  const domain = await domainOf(f);
  return {
    signature: (await signer.signTypedData(domain, ethersTypes(escalationTypes), message)) as Hex,
    digest: escalationDigest(domain, message),
  };
}
