/**
 * Calldata of the relayer's two transactions, through the typechain interface so the encoding
 * always matches the deployed ABI.
 */
import type { PaymentRecord } from "../domain";
import { PaymentEscrow__factory } from "../../../typechain-types";

const escrowInterface = PaymentEscrow__factory.createInterface();

/** A stored payment as the escrow's SignedPayment struct. */
export function signedPayment(p: PaymentRecord) {
  return {
    payment: {
      payer: p.payer,
      merchantId: p.merchantId,
      amount: p.amount,
      orderRef: p.orderRef,
      nonce: p.nonce,
      validAfter: p.validAfter,
      deadline: p.deadline,
    },
    signature: p.signature,
  };
}

export function encodePayBatch(payments: PaymentRecord[]): string {
  return escrowInterface.encodeFunctionData("payBatch", [payments.map(signedPayment)]);
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

export { escrowInterface };
