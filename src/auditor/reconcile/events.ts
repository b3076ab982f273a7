/**
 * Checks the rebuilt ledger against itself: every value an event reports that the events before it
 * determine (a batch's root, count and total; a tranche's fee rate from the registry's terms and its
 * hold, release time − block time, within the merchant's hold bounds; the amount and fee of each settlement, confirmation and ruling; refund totals;
 * payout amounts and addresses; the order timers' rules, ./timers) must be what the rebuild derives.
 * No RPC: this part is pure.
 */
import { BUCKET_NAMES, type EventRef, type Mismatch } from "../types";
import type { Ledger, MerchantState } from "../rebuild/ledger";
import { feeOf } from "../../protocol";
import { amountText, mismatch, type MismatchInput } from "./mismatch";
import { checkTimers } from "./timers";

export function checkEvents(ledger: Ledger): Mismatch[] {
  const out: Mismatch[] = [...ledger.anomalies];
  const add = (input: MismatchInput): void => void out.push(mismatch("events", input));
  checkBatches(ledger, add);
  checkTranches(ledger, add);
  checkPayments(ledger, add);
  checkTimers(ledger, add);
  checkPayouts(ledger, add);
  for (const name of BUCKET_NAMES) {
    if (ledger.totals[name] < 0n) {
      add({
        check: "escrow.negative-bucket",
        subject: `bucket ${name}`,
        message: `the events take the escrow's ${name} below zero`,
        actual: ledger.totals[name],
        events: ledger.bucketRefs[name] ? [ledger.bucketRefs[name]] : [],
      });
    }
  }
  return out;
}

type Add = (input: MismatchInput) => void;

function checkBatches(ledger: Ledger, add: Add): void {
  const ids = [...ledger.batches.keys()].sort((a, b) => (a < b ? -1 : 1));
  ids.forEach((id, i) => {
    // Batch ids are sequential from 1: a gap means a batch whose events we never saw.
    if (id !== BigInt(i + 1)) {
      add({
        check: "batch.sequence",
        subject: `batch ${id}`,
        message: `batch ids skip from ${i} to ${id}`,
        expected: i + 1,
        actual: id,
        events: [ledger.batches.get(id)!.ref],
      });
    }
  });
  for (const b of ledger.batches.values()) {
    const leaves = b.paymentIds.map((pid) => ledger.payments.get(pid)!.escrowed);
    if (b.rebuiltRoot !== b.root) {
      add({
        check: "batch.root",
        subject: `batch ${b.id}`,
        message: `the root rebuilt from the batch's ${b.paymentIds.length} PaymentEscrowed ids is not the committed root`,
        expected: b.rebuiltRoot ?? "(no payments)",
        actual: b.root,
        events: [b.ref, ...leaves],
      });
    }
    if (BigInt(b.paymentIds.length) !== b.paymentCount) {
      add({
        check: "batch.count",
        subject: `batch ${b.id}`,
        message: `BatchEscrowed counts ${b.paymentCount} payments, the batch escrowed ${b.paymentIds.length}`,
        expected: b.paymentIds.length,
        actual: b.paymentCount,
        events: [b.ref, ...leaves],
      });
    }
    if (b.escrowedTotal !== b.total) {
      add({
        check: "batch.total",
        subject: `batch ${b.id}`,
        message: `BatchEscrowed total ${amountText(b.total)} is not the sum of its payments ${amountText(b.escrowedTotal)}`,
        expected: b.escrowedTotal,
        actual: b.total,
        events: [b.ref, ...leaves],
      });
    }
    if (b.trancheFunded !== b.total) {
      add({
        check: "batch.tranches",
        subject: `batch ${b.id}`,
        message: `the batch's tranches were funded with ${amountText(b.trancheFunded)}, its total is ${amountText(b.total)}`,
        expected: b.total,
        actual: b.trancheFunded,
        events: [b.ref],
      });
    }
  }
}

function checkTranches(ledger: Ledger, add: Add): void {
  for (const t of ledger.tranches.values()) {
    const subject = `tranche ${t.batchId}/${t.merchantId}`;
    const fundRefs = t.fundings.map((f) => f.ref);
    if (t.escrowedSum !== t.funded) {
      add({
        check: "tranche.funding",
        subject,
        message: `funded with ${amountText(t.funded)}, but its payments total ${amountText(t.escrowedSum)}`,
        expected: t.escrowedSum,
        actual: t.funded,
        events: [...fundRefs, ...t.paymentIds.map((id) => ledger.payments.get(id)!.escrowed)],
      });
    }
    const m = ledger.merchants.get(t.merchantId);
    for (const f of t.fundings) {
      const termsRef = m ? termsAt(m, f.ref) : undefined;
      if (f.expectedFeeBps !== undefined && f.feeBps !== f.expectedFeeBps) {
        add({
          check: "tranche.fee-rate",
          subject,
          message: `funded at ${f.feeBps} bps, but the merchant's registered fee then was ${f.expectedFeeBps} bps`,
          expected: f.expectedFeeBps,
          actual: f.feeBps,
          events: termsRef ? [termsRef, f.ref] : [f.ref],
        });
      }
      // Each payment names its own hold; its run's tranche releases at the block's time + that hold,
      // which the escrow admits only within the merchant's bounds at that time.
      const hold = f.releaseAt - f.ref.timestamp;
      const bounds = f.expectedHold;
      if (bounds !== undefined && (hold < bounds.minHold || hold > bounds.maxHold)) {
        add({
          check: "tranche.release-time",
          subject,
          message: `release time ${f.releaseAt} is the block time ${f.ref.timestamp} plus ${hold} s, outside the merchant's hold bounds then [${bounds.minHold}, ${bounds.maxHold}] s`,
          expected: `${f.ref.timestamp + bounds.minHold}..${f.ref.timestamp + bounds.maxHold}`,
          actual: f.releaseAt,
          events: termsRef ? [termsRef, f.ref] : [f.ref],
        });
      }
    }
    if (!t.settled) continue;
    const history = [...fundRefs, ...t.deductions.map((d) => d.ref), t.settled.ref];
    if (t.settled.amount !== t.settled.expectedAmount) {
      add({
        check: "tranche.settled-amount",
        subject,
        message: `settled ${amountText(t.settled.amount)}, but funding less confirmations, refunds, disputes and payments moved to their own timer leaves ${amountText(t.settled.expectedAmount)}`,
        expected: t.settled.expectedAmount,
        actual: t.settled.amount,
        events: history,
      });
    }
    const fee = feeOf(t.settled.amount, t.feeBps);
    if (t.settled.fee !== fee) {
      add({
        check: "tranche.fee",
        subject,
        message: `settlement fee ${amountText(t.settled.fee)} is not ceil(${t.settled.amount} × ${t.feeBps} / 10000) = ${fee}`,
        expected: fee,
        actual: t.settled.fee,
        events: [...fundRefs, t.settled.ref],
      });
    }
  }
}

function checkPayments(ledger: Ledger, add: Add): void {
  for (const p of ledger.payments.values()) {
    const subject = `payment ${p.id}`;
    const history = p.history.map((h) => h.ref);
    if (p.confirmed) {
      const c = p.confirmed;
      if (c.released + c.fee !== c.heldBefore) {
        add({
          check: "payment.confirm-amount",
          subject,
          message: `confirmation released ${c.released} + fee ${c.fee}, but ${c.heldBefore} was held`,
          expected: c.heldBefore,
          actual: c.released + c.fee,
          events: history,
        });
      }
      const fee = feeOf(c.heldBefore, c.feeBps);
      if (c.fee !== fee) {
        add({
          check: "payment.confirm-fee",
          subject,
          message: `confirmation fee ${c.fee} is not ceil(${c.heldBefore} × ${c.feeBps} / 10000) = ${fee}`,
          expected: fee,
          actual: c.fee,
          events: history,
        });
      }
    }
    for (const r of p.refunds) {
      if (r.totalRefunded !== r.expectedTotal) {
        add({
          check: "payment.refund-total",
          subject,
          message: `refund reports a total of ${r.totalRefunded}, the refunds add up to ${r.expectedTotal}`,
          expected: r.expectedTotal,
          actual: r.totalRefunded,
          events: history,
        });
      }
      if (r.amount > r.heldBefore) {
        add({
          check: "payment.refund-exceeds-held",
          subject,
          message: `refunded ${r.amount} while only ${r.heldBefore} was held`,
          expected: r.heldBefore,
          actual: r.amount,
          events: history,
        });
      }
    }
    const d = p.dispute;
    if (d) {
      if (d.amount !== d.expectedAmount) {
        add({
          check: "payment.dispute-amount",
          subject,
          message: `dispute froze ${d.amount}, but ${d.expectedAmount} was held`,
          expected: d.expectedAmount,
          actual: d.amount,
          events: history,
        });
      }
      const r = d.resolved;
      if (r) {
        const gross = d.amount - r.toPayer;
        const fee = feeOf(gross, d.feeBps);
        if (r.toPayer + r.toMerchant + r.fee !== d.amount) {
          add({
            check: "payment.ruling-amount",
            subject,
            message: `ruling splits ${r.toPayer} + ${r.toMerchant} + fee ${r.fee}, but ${d.amount} was disputed`,
            expected: d.amount,
            actual: r.toPayer + r.toMerchant + r.fee,
            events: history,
          });
        } else if (r.fee !== fee) {
          add({
            check: "payment.ruling-fee",
            subject,
            message: `ruling fee ${r.fee} is not ceil(${gross} × ${d.feeBps} / 10000) = ${fee}`,
            expected: fee,
            actual: r.fee,
            events: history,
          });
        }
        if (r.byTimeout && r.toPayer !== d.amount) {
          add({
            check: "payment.expired-dispute",
            subject,
            message: `an expired dispute must return everything to the payer`,
            expected: d.amount,
            actual: r.toPayer,
            events: history,
          });
        }
        if (r.byTimeout && r.ref.timestamp < d.expiresAt) {
          add({
            check: "payment.expired-dispute",
            subject,
            message: `dispute closed by timeout at ${r.ref.timestamp}, before it expired at ${d.expiresAt}`,
            expected: d.expiresAt,
            actual: r.ref.timestamp,
            events: history,
          });
        }
      }
    }
  }
}

function checkPayouts(ledger: Ledger, add: Add): void {
  for (const s of ledger.settlements) {
    const subject = `merchant ${s.merchantId} settlement`;
    const events = [...s.tranches.map((t) => t.ref), ...s.payouts.map((p) => p.ref)];
    const paid = s.payouts.reduce((sum, p) => sum + p.amount, 0n);
    if (paid < s.net) {
      add({
        check: "settlement.underpaid",
        subject,
        message: `tranches settled for ${amountText(s.net)} net of fees, but only ${amountText(paid)} was paid out`,
        expected: s.net,
        actual: paid,
        events,
      });
    } else if (s.releasedUsed !== s.releasedBefore) {
      add({
        check: "settlement.released",
        subject,
        message: `payout included ${amountText(s.releasedUsed)} of released funds, but the merchant's released balance was ${amountText(s.releasedBefore)}`,
        expected: s.releasedBefore,
        actual: s.releasedUsed,
        events,
      });
    }
    for (const p of s.payouts) {
      if (p.address !== p.expectedAddress) {
        add({
          check: "settlement.payout-address",
          subject,
          message: `paid to ${p.address}, but the registry's payout address was ${p.expectedAddress}`,
          expected: p.expectedAddress,
          actual: p.address,
          events: [p.ref],
        });
      }
    }
  }
  for (const c of ledger.claims) {
    const subject = `merchant ${c.merchantId} claim`;
    if (c.amount !== c.claimableBefore) {
      add({
        check: "claim.amount",
        subject,
        message: `claimed ${amountText(c.amount)}, but ${amountText(c.claimableBefore)} was claimable`,
        expected: c.claimableBefore,
        actual: c.amount,
        events: [c.ref],
      });
    }
    if (c.address !== c.expectedAddress) {
      add({
        check: "claim.payout-address",
        subject,
        message: `claim paid to ${c.address}, but the registry's payout address was ${c.expectedAddress}`,
        expected: c.expectedAddress,
        actual: c.address,
        events: [c.ref],
      });
    }
  }
  for (const f of ledger.feeCollections) {
    if (f.amount !== f.accruedBefore) {
      add({
        check: "fees.collected",
        subject: "protocol fees",
        message: `collected ${amountText(f.amount)}, but ${amountText(f.accruedBefore)} had accrued`,
        expected: f.accruedBefore,
        actual: f.amount,
        events: [f.ref],
      });
    }
    if (f.recipient !== f.expectedRecipient) {
      add({
        check: "fees.recipient",
        subject: "protocol fees",
        message: `fees sent to ${f.recipient}, but the fee recipient was ${f.expectedRecipient}`,
        expected: f.expectedRecipient,
        actual: f.recipient,
        events: [f.ref],
      });
    }
  }
}

/** The registry event that set the merchant's terms in force at `ref`. */
function termsAt(m: MerchantState, ref: EventRef): EventRef | undefined {
  let found: EventRef | undefined;
  for (const t of m.terms) {
    if (t.ref.blockNumber < ref.blockNumber || (t.ref.blockNumber === ref.blockNumber && t.ref.logIndex < ref.logIndex))
      found = t.ref;
  }
  return found;
}
