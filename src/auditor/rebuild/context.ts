/**
 * State shared by the replay handlers: the ledger being rebuilt, the audited addresses, and what
 * one transaction has shown so far. Settlements and token flows are only complete at the end of
 * their transaction (the escrow emits every TrancheSettled before the payouts, and a token Transfer
 * may come before or after the escrow event that explains it), so they are collected per
 * transaction and closed by {@link Replay.endTransaction}.
 */
import type { AuditTarget, Buckets, EventRef, Address, Hex, Mismatch } from "../types";
import {
  emptyLedger,
  type CustomerState,
  type Ledger,
  type MerchantState,
  type SettlementRecord,
  type TrancheState,
} from "./ledger";
import { trancheKey } from "../util";

const RECENT_REFS = 8;

export class Replay {
  readonly ledger: Ledger = emptyLedger();
  /** Transaction whose events are being replayed. */
  tx?: Hex;
  /** Settlements of the current transaction, by merchant. */
  openSettlements = new Map<bigint, SettlementRecord>();
  /** Index into ledger.escrowTransfers / escrowAnnouncements where the current transaction starts. */
  txTransfersStart = 0;
  txAnnouncementsStart = 0;
  /** Accepted payment ids of batches whose BatchEscrowed has not been seen yet (it comes last). */
  pendingBatches = new Map<bigint, { ids: Hex[]; total: bigint; merchantIds: bigint[] }>();
  /** Payments whose clock a HoldResumed of the current transaction resumed (a PaymentRefunded must follow). */
  pendingResumes: Hex[] = [];

  constructor(readonly target: AuditTarget) {}

  anomaly(check: string, subject: string, message: string, events: EventRef[], extra: Partial<Mismatch> = {}): void {
    this.ledger.anomalies.push({ check, source: "events", subject, message, events, ...extra });
  }

  customer(address: Address): CustomerState {
    let c = this.ledger.customers.get(address);
    if (!c) {
      c = { address, balance: 0n, deposited: 0n, withdrawn: 0n, escrowed: 0n, returned: 0n, recent: [] };
      this.ledger.customers.set(address, c);
    }
    return c;
  }

  /** Moves `delta` into (or out of) a customer's free balance and the customerBalances bucket. */
  moveCustomer(address: Address, delta: bigint, ref: EventRef): CustomerState {
    const c = this.customer(address);
    c.balance += delta;
    c.recent.push(ref);
    if (c.recent.length > RECENT_REFS) c.recent.shift();
    this.bucket("customerBalances", delta, ref);
    if (c.balance < 0n) {
      this.anomaly(
        "customer.negative-balance",
        `customer ${address}`,
        `the events take ${address}'s free balance below zero`,
        [...c.recent],
        {
          actual: c.balance.toString(),
        },
      );
    }
    return c;
  }

  bucket(name: keyof Buckets, delta: bigint, ref: EventRef): void {
    this.ledger.totals[name] += delta;
    this.ledger.bucketRefs[name] = ref;
  }

  merchant(id: bigint, ref: EventRef): MerchantState | undefined {
    const m = this.ledger.merchants.get(id);
    if (!m)
      this.anomaly(
        "merchant.unknown",
        `merchant ${id}`,
        `an escrow event names merchant ${id}, which the registry never registered`,
        [ref],
      );
    return m;
  }

  tranche(batchId: bigint, merchantId: bigint): TrancheState {
    const key = trancheKey(batchId, merchantId);
    let t = this.ledger.tranches.get(key);
    if (!t) {
      t = {
        batchId,
        merchantId,
        funded: 0n,
        escrowedSum: 0n,
        amount: 0n,
        releaseAt: 0,
        feeBps: 0,
        fundings: [],
        paymentIds: [],
        deductions: [],
      };
      this.ledger.tranches.set(key, t);
    }
    return t;
  }

  /** Adds a statement line to the merchant with its balances after the line. */
  statement(m: MerchantState, line: Omit<MerchantState["statement"][number], "held" | "released" | "claimable">): void {
    m.lastRef = line.ref;
    m.statement.push({ ...line, held: m.held, released: m.released, claimable: m.claimable });
  }

  announce(direction: "in" | "out", counterparty: Address, amount: bigint, ref: EventRef): void {
    this.ledger.escrowAnnouncements.push({ direction, counterparty, amount, ref });
  }

  /** Records the bucket totals after `ref` for the timeline chart. */
  snapshot(ref: EventRef): void {
    const t = this.ledger.timeline;
    const point = { ...this.ledger.totals, timestamp: ref.timestamp, blockNumber: ref.blockNumber };
    // One point per block is enough for a chart; the last state of the block wins.
    if (t.length > 0 && t[t.length - 1].blockNumber === ref.blockNumber) t[t.length - 1] = point;
    else t.push(point);
  }
}
