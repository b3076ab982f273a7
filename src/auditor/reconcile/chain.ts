/**
 * Checks the rebuilt ledger against the chain's own state at the audited block: the escrow's
 * buckets, every customer balance, batch root, tranche, touched payment record (every field, the
 * order timer's included) and merchant
 * balance; the registry's merchants; the token's supply and holder balances; and the escrow's
 * on-chain solvency (token balance >= sum of its liabilities; any excess is surplus, see ./surplus).
 */
import { BUCKET_NAMES, sumBuckets, type AuditTarget, type Mismatch } from "../types";
import type { ChainPaymentRecord, ChainState } from "../onchain";
import type { Ledger, PaymentState } from "../rebuild/ledger";
import { trancheKey } from "../util";
import { amountText, mismatch, type MismatchInput } from "./mismatch";
import { ESCROW_PAYMENT_STATUS_NAMES as PAYMENT_STATUS } from "../../protocol";

export function checkChain(ledger: Ledger, chain: ChainState, target: AuditTarget): Mismatch[] {
  const out: Mismatch[] = [];
  const add = (input: MismatchInput): void => void out.push(mismatch("chain", input));
  const last = ledger.lastRef ? [ledger.lastRef] : [];
  /** How many `subject` the events `verb`, against the contract's own count. */
  const count = (check: string, subject: string, verb: string, rebuilt: number, call: string, onChain: bigint) => {
    if (BigInt(rebuilt) === onChain) return;
    add({
      check,
      subject,
      message: `the events ${verb} ${rebuilt} ${subject}, ${call} says ${onChain}`,
      expected: rebuilt,
      actual: onChain,
      events: last,
    });
  };

  for (const name of BUCKET_NAMES) {
    if (ledger.totals[name] !== chain.liabilities[name]) {
      add({
        check: `escrow.liabilities.${name}`,
        subject: `bucket ${name}`,
        message: `rebuilt ${name} ${amountText(ledger.totals[name])}, escrow.liabilities() says ${amountText(chain.liabilities[name])}`,
        expected: ledger.totals[name],
        actual: chain.liabilities[name],
        events: ledger.bucketRefs[name] ? [ledger.bucketRefs[name]] : last,
      });
    }
  }
  const owedOnChain = sumBuckets(chain.liabilities);
  if (chain.escrowTokenBalance < owedOnChain) {
    add({
      check: "escrow.invariant",
      subject: "escrow token balance",
      message: `on chain the escrow holds ${amountText(chain.escrowTokenBalance)} but owes ${amountText(owedOnChain)} (short by ${amountText(owedOnChain - chain.escrowTokenBalance)})`,
      expected: owedOnChain,
      actual: chain.escrowTokenBalance,
      events: ledger.escrowTransfers.filter((t) => !t.matchedBy).map((t) => t.ref),
    });
  }
  const escrowByTransfers = ledger.token.balances.get(target.escrow) ?? 0n;
  if (escrowByTransfers !== chain.escrowTokenBalance) {
    add({
      check: "escrow.token-balance",
      subject: "escrow token balance",
      message: `Transfer events give the escrow ${amountText(escrowByTransfers)}, token.balanceOf says ${amountText(chain.escrowTokenBalance)}`,
      expected: escrowByTransfers,
      actual: chain.escrowTokenBalance,
      events: ledger.token.lastRef.get(target.escrow) ? [ledger.token.lastRef.get(target.escrow)!] : last,
    });
  }

  for (const c of ledger.customers.values()) {
    const onChain = chain.customerBalances.get(c.address) ?? 0n;
    if (c.balance !== onChain) {
      add({
        check: "customer.balance",
        subject: `customer ${c.address}`,
        message: `rebuilt free balance ${amountText(c.balance)}, escrow.balanceOf says ${amountText(onChain)}`,
        expected: c.balance,
        actual: onChain,
        events: c.recent,
      });
    }
  }

  count("batch.count-onchain", "batches", "commit", ledger.batches.size, "escrow.batchCount()", chain.batchCount);
  for (const b of ledger.batches.values()) {
    const root = chain.batchRoots.get(b.id);
    if (root !== b.root) {
      add({
        check: "batch.root-onchain",
        subject: `batch ${b.id}`,
        message: `BatchEscrowed root differs from escrow.batchRoot(${b.id})`,
        expected: b.root,
        actual: root,
        events: [b.ref],
      });
    }
  }

  for (const t of ledger.tranches.values()) {
    const c = chain.tranches.get(trancheKey(t.batchId, t.merchantId));
    if (!c) continue;
    // A settled tranche is deleted on chain: all zero.
    const expected = t.settled
      ? { amount: 0n, releaseAt: 0, feeBps: 0 }
      : { amount: t.amount, releaseAt: t.releaseAt, feeBps: t.feeBps };
    if (c.amount !== expected.amount || c.releaseAt !== expected.releaseAt || c.feeBps !== expected.feeBps) {
      add({
        check: "tranche.onchain",
        subject: `tranche ${t.batchId}/${t.merchantId}`,
        message: `rebuilt (amount ${expected.amount}, releaseAt ${expected.releaseAt}, feeBps ${expected.feeBps}), escrow.tranche says (amount ${c.amount}, releaseAt ${c.releaseAt}, feeBps ${c.feeBps})`,
        expected: expected.amount,
        actual: c.amount,
        events: [
          ...t.fundings.map((f) => f.ref),
          ...t.deductions.map((d) => d.ref),
          ...(t.settled ? [t.settled.ref] : []),
        ],
      });
    }
  }

  for (const [id, record] of chain.paymentRecords) {
    const p = ledger.payments.get(id)!;
    const problems: string[] = [];
    if (record.status !== p.recordStatus)
      problems.push(
        `status ${PAYMENT_STATUS[record.status] ?? record.status}, rebuilt ${PAYMENT_STATUS[p.recordStatus]}`,
      );
    if (record.refunded !== p.refunded) problems.push(`refunded ${record.refunded}, rebuilt ${p.refunded}`);
    const want = expectedRecord(p);
    for (const field of RECORD_FIELDS) {
      if (record[field] !== want[field]) problems.push(`${field} ${record[field]}, rebuilt ${want[field]}`);
    }
    if (problems.length > 0) {
      add({
        check: "payment.record",
        subject: `payment ${id}`,
        message: `escrow.paymentRecord disagrees: ${problems.join("; ")}`,
        expected: p.refunded,
        actual: record.refunded,
        events: p.history.map((h) => h.ref),
      });
    }
  }

  count(
    "merchant.count",
    "merchants",
    "register",
    ledger.merchants.size,
    "registry.merchantCount()",
    chain.merchantCount,
  );
  for (const m of ledger.merchants.values()) {
    const c = chain.merchants.get(m.id);
    if (!c) continue;
    const subject = `merchant ${m.id}`;
    if (c.released !== m.released) {
      add({
        check: "merchant.released",
        subject,
        message: `rebuilt released balance ${amountText(m.released)}, escrow.merchantBalances says ${amountText(c.released)}`,
        expected: m.released,
        actual: c.released,
        events: [m.lastRef],
      });
    }
    if (c.claimable !== m.claimable) {
      add({
        check: "merchant.claimable",
        subject,
        message: `rebuilt claimable ${amountText(m.claimable)}, escrow.merchantBalances says ${amountText(c.claimable)}`,
        expected: m.claimable,
        actual: c.claimable,
        events: [m.lastRef],
      });
    }
    const differs = [
      c.owner !== m.owner && `owner ${c.owner} vs ${m.owner}`,
      c.payout !== m.payout && `payout ${c.payout} vs ${m.payout}`,
      c.feeBps !== m.feeBps && `feeBps ${c.feeBps} vs ${m.feeBps}`,
      c.minHold !== m.minHold && `minHold ${c.minHold} vs ${m.minHold}`,
      c.maxHold !== m.maxHold && `maxHold ${c.maxHold} vs ${m.maxHold}`,
      c.status !== m.status && `status ${c.status} vs ${m.status}`,
    ].filter(Boolean);
    if (differs.length > 0) {
      add({
        check: "merchant.registry",
        subject,
        message: `registry.getMerchant disagrees with the registry's events (chain vs rebuilt): ${differs.join("; ")}`,
        events: [m.registered, ...m.terms.slice(1).map((t) => t.ref)],
      });
    }
  }

  if (!target.externalToken) {
    const t = ledger.token;
    const supply = t.minted - t.burned;
    if (chain.totalSupply !== supply) {
      add({
        check: "token.supply",
        subject: "token supply",
        message: `totalSupply ${amountText(chain.totalSupply)} is not mints minus burns ${amountText(supply)}`,
        expected: supply,
        actual: chain.totalSupply,
        events: [...t.mints, ...t.burns].map((x) => x.ref),
      });
    }
    const byTransfers = t.mintedByTransfer - t.burnedByTransfer;
    if (chain.totalSupply !== byTransfers) {
      add({
        check: "token.supply-transfers",
        subject: "token supply",
        message: `totalSupply ${amountText(chain.totalSupply)} is not the sum of Transfer-derived balances ${amountText(byTransfers)}`,
        expected: byTransfers,
        actual: chain.totalSupply,
        events: last,
      });
    }
    for (const [holder, balance] of t.balances) {
      const onChain = chain.holderBalances.get(holder);
      if (onChain !== undefined && onChain !== balance) {
        add({
          check: "token.balance",
          subject: `holder ${holder}`,
          message: `Transfer events give ${amountText(balance)}, token.balanceOf says ${amountText(onChain)}`,
          expected: balance,
          actual: onChain,
          events: t.lastRef.get(holder) ? [t.lastRef.get(holder)!] : [],
        });
      }
    }
  }
  return out;
}

/** The record fields compared beside status and refunded (which have their own wording). */
const RECORD_FIELDS = [
  "disputedAt",
  "feeBps",
  "disputeExpiresAt",
  "releaseAt",
  "holdLeft",
  "deadline",
  "extensions",
  "refundRequests",
  "batchId",
] as const satisfies readonly (keyof ChainPaymentRecord)[];

/**
 * What escrow.paymentRecord must hold for `p` by its events: a dispute writes when it opened and
 * expires and the fee rate it froze; a payment on its own timer keeps its tranche's fee rate, its
 * batch and its timer (release time, paused hold, deadline, counts), also after it was released,
 * confirmed, refunded or disputed. Confirmations and refunds of an untouched payment write nothing else.
 */
function expectedRecord(p: PaymentState): Omit<ChainPaymentRecord, "status" | "refunded"> {
  const t = p.timer;
  return {
    disputedAt: p.dispute?.opened.timestamp ?? 0,
    feeBps: t?.feeBps ?? p.dispute?.feeBps ?? 0,
    disputeExpiresAt: p.dispute?.expiresAt ?? 0,
    releaseAt: t?.releaseAt ?? 0,
    holdLeft: t?.holdLeft ?? 0,
    deadline: t?.deadline ?? 0,
    extensions: t?.extensions ?? 0,
    refundRequests: t?.refundRequests ?? 0,
    batchId: t ? p.batchId : 0n,
  };
}
