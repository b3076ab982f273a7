/** Stored records as the API and webhook events show them; below both http/ and webhooks/. */
import type { Hex, PaymentRecord, SettlementRecord } from "./domain";
import type { OrderTimerView, PaymentView, SettlementView } from "../protocol/schemas";
import { refundReasonName } from "../protocol/enums";

/** A payment's Merkle proof in its on-chain batch (http/inclusion.ts builds it). */
export interface InclusionView {
  batchId: string;
  root: Hex;
  leafIndex: number;
  proof: Hex[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const str = (value: bigint | null): string | null => (value === null ? null : value.toString());

/** A stored payment as the API shows it: bigint → decimal string, ms → ISO 8601. */
export function paymentView(p: PaymentRecord, inclusion?: InclusionView | null): PaymentView {
  return {
    id: p.id,
    payer: p.payer,
    merchantId: p.merchantId.toString(),
    currency: p.currency,
    amount: p.amount.toString(),
    orderRef: p.orderRef,
    nonce: p.nonce.toString(),
    validAfter: p.validAfter.toString(),
    deadline: p.deadline.toString(),
    hold: Number(p.hold),
    signature: p.signature,
    state: p.state,
    rejectReason: p.rejectReason,
    batchId: str(p.batchId),
    leafIndex: p.leafIndex,
    txHash: p.txHash,
    refunded: p.refunded.toString(),
    releaseAt: str(p.releaseAt),
    timer: timerView(p),
    requestId: p.requestId,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    ...(inclusion === undefined ? {} : { inclusion }),
  };
}

/** The payment's own order timer, or null while it is untouched in its tranche. */
export function timerView(p: PaymentRecord): OrderTimerView | null {
  const t = p.timer;
  if (!t) return null;
  return {
    releaseAt: str(p.releaseAt),
    extensions: t.extensions,
    refundRequests: t.refundRequests,
    holdLeft: str(t.holdLeft),
    refundRequest: t.request && {
      amount: t.request.amount.toString(),
      reason: t.request.reason,
      reasonName: refundReasonName(t.request.reason),
      respondBy: t.request.respondBy.toString(),
    },
    escalateBy: str(t.escalateBy),
  };
}

export function settlementView(s: SettlementRecord): SettlementView {
  return {
    key: s.key,
    merchantId: s.merchantId.toString(),
    currency: s.currency,
    batchIds: s.batchIds.map((id) => id.toString()),
    state: s.state,
    txHash: s.txHash,
    amount: str(s.amount),
    fee: str(s.fee),
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}
