/**
 * The escrow calls of the API's relayed operations (confirm, dispute, refund, gasless deposit,
 * signed withdrawal, signed order-timer actions), encoded from the typechain ABI, and what the relay queue keeps beside each:
 * its id is the keccak of its calldata, so the same signed operation is always the same request.
 */
import type { Interface } from "ethers";
import type { Hex, RelayOperation } from "../domain";
import { keccakHex, type Payment, type Withdrawal } from "../../protocol";
import type { DepositAuthorization, RelayCall, SignedPaymentAction } from "./chainWriter";

export type { RelayCall };
import { escrowInterface } from "./calldata";

/** A signed answer to a refund request (reject, escalate): no inclusion, the payment is on its own timer. */
export interface SignedOrdinalAction {
  payment: Payment;
  ordinal: bigint;
  deadline: bigint;
  signature: Hex;
}

const encode = (operation: RelayOperation, args: readonly unknown[]): Hex =>
  (escrowInterface as Interface).encodeFunctionData(operation, args).toLowerCase() as Hex;

export const relayCalls = {
  confirmWithSignature: (a: SignedPaymentAction): RelayCall => ({
    operation: "confirmWithSignature",
    data: encode("confirmWithSignature", [a.payment, a.inclusion, a.deadline, a.signature]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  openDisputeWithSignature: (a: SignedPaymentAction): RelayCall => ({
    operation: "openDisputeWithSignature",
    data: encode("openDisputeWithSignature", [a.payment, a.inclusion, a.deadline, a.signature]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  refundWithSignature: (a: SignedPaymentAction & { totalRefund: bigint }): RelayCall => ({
    operation: "refundWithSignature",
    data: encode("refundWithSignature", [a.payment, a.inclusion, a.totalRefund, a.deadline, a.signature]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  extendHoldWithSignature: (a: SignedPaymentAction & { extension: bigint; ordinal: bigint }): RelayCall => ({
    operation: "extendHoldWithSignature",
    data: encode("extendHoldWithSignature", [a.payment, a.inclusion, a.extension, a.ordinal, a.deadline, a.signature]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  requestRefundWithSignature: (
    a: SignedPaymentAction & { amount: bigint; reason: bigint; ordinal: bigint },
  ): RelayCall => ({
    operation: "requestRefundWithSignature",
    data: encode("requestRefundWithSignature", [
      a.payment,
      a.inclusion,
      a.amount,
      a.reason,
      a.ordinal,
      a.deadline,
      a.signature,
    ]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  rejectRefundRequestWithSignature: (a: SignedOrdinalAction): RelayCall => ({
    operation: "rejectRefundRequestWithSignature",
    data: encode("rejectRefundRequestWithSignature", [a.payment, a.ordinal, a.deadline, a.signature]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  escalateRefundRequestWithSignature: (a: SignedOrdinalAction): RelayCall => ({
    operation: "escalateRefundRequestWithSignature",
    data: encode("escalateRefundRequestWithSignature", [a.payment, a.ordinal, a.deadline, a.signature]),
    payer: a.payment.payer.toLowerCase() as Hex,
    deadline: a.deadline,
  }),
  depositWithAuthorization: (d: DepositAuthorization): RelayCall => ({
    operation: "depositWithAuthorization",
    data: encode("depositWithAuthorization", [d.from, d.amount, d.validAfter, d.validBefore, d.salt, d.signature]),
    payer: d.from.toLowerCase() as Hex,
    // EIP-3009: valid while now < validBefore.
    deadline: d.validBefore - 1n,
  }),
  withdrawWithSignature: (withdrawal: Withdrawal, signature: Hex): RelayCall => ({
    operation: "withdrawWithSignature",
    data: encode("withdrawWithSignature", [withdrawal, signature]),
    payer: withdrawal.payer.toLowerCase() as Hex,
    deadline: withdrawal.deadline,
  }),
};

/** A relay request's id: the keccak of its calldata (the same signed operation is the same request). */
export const relayRequestId = (data: Hex): Hex => keccakHex(data).toLowerCase() as Hex;

/** The withdrawal a `withdrawWithSignature` calldata carries (what its reservation needs). */
export function withdrawalIn(data: Hex): Withdrawal {
  const [w] = (escrowInterface as Interface).decodeFunctionData("withdrawWithSignature", data);
  const fields = w as { payer: string; to: string; amount: bigint; nonce: bigint; deadline: bigint };
  return {
    payer: fields.payer.toLowerCase() as Withdrawal["payer"],
    to: fields.to.toLowerCase() as Withdrawal["to"],
    amount: fields.amount,
    nonce: fields.nonce,
    deadline: fields.deadline,
  };
}
