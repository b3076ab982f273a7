/**
 * Calldata of the relayer's transactions, from the typechain ABI so the encoding always
 * matches the deployed contract. Encoded with viem, which is much faster than ethers' coder on a
 * large payBatch, on the thread that also serves intake. payBatch takes the packed encoding of
 * src/protocol/batch.ts.
 */
import { encodeFunctionData } from "viem";
import type { PaymentRecord } from "../domain";
import { encodeBatch, type BatchItem } from "../../protocol";
import { PaymentEscrow__factory } from "../../../typechain-types";

const escrowInterface = PaymentEscrow__factory.createInterface();
const escrowAbi = PaymentEscrow__factory.abi;

/** A stored payment as a packed batch item (src/protocol/batch.ts). */
export function batchItem(p: PaymentRecord): BatchItem {
  return {
    payment: {
      payer: p.payer,
      merchantId: p.merchantId,
      amount: p.amount,
      orderRef: p.orderRef,
      nonce: p.nonce,
      validAfter: p.validAfter,
      deadline: p.deadline,
      hold: p.hold,
    },
    signature: p.signature,
  };
}

export function encodePayBatch(payments: PaymentRecord[]): string {
  return encodeFunctionData({ abi: escrowAbi, functionName: "payBatch", args: [encodeBatch(payments.map(batchItem))] });
}

/** payBatchWithAuthorization of one-off payments: same packed batch, each signature the payer's authorization. */
export function encodePayBatchWithAuthorization(payments: PaymentRecord[]): string {
  return encodeFunctionData({
    abi: escrowAbi,
    functionName: "payBatchWithAuthorization",
    args: [encodeBatch(payments.map(batchItem))],
  });
}

export interface MerchantSettlementEntry {
  merchantId: bigint;
  batchIds: bigint[];
}

export function encodeSettle(entries: MerchantSettlementEntry[]): string {
  return escrowInterface.encodeFunctionData("settle", [
    entries.map((e) => ({ merchantId: e.merchantId, batchIds: e.batchIds })),
  ]);
}

/** release(payment): a payment on its own timer, once its timer ended (anyone may call). */
export function encodeRelease(p: PaymentRecord): string {
  return escrowInterface.encodeFunctionData("release", [batchItem(p).payment]);
}

/** escalateUnansweredRefundRequest(payment): a refund request unanswered past its respondBy (anyone). */
export function encodeEscalateUnanswered(p: PaymentRecord): string {
  return escrowInterface.encodeFunctionData("escalateUnansweredRefundRequest", [batchItem(p).payment]);
}

export { escrowInterface };
