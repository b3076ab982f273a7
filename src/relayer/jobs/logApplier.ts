/**
 * Applies a page of the escrow's logs to the stored payments (the chain watcher calls it inside the
 * store transaction that also moves its cursor, so a page is applied entirely or not at all).
 *
 *   PaymentEscrowed → escrowed (batch id; leaf index = position among that batch's PaymentEscrowed
 *                     logs, i.e. in the batch's Merkle tree; tx hash; releaseAt from TrancheFunded)
 *   PaymentRejected → rejected with the escrow's reason, unless already escrowed (exactly-once)
 *   PaymentConfirmed → released · PaymentRefunded → refunded when full, else `refunded` updated
 *   DisputeOpened → disputed · DisputeResolved → resolved
 *   TrancheSettled → settled, for every escrowed/released payment of that (batch, merchant)
 * Every transition goes through `canMove`, so applying the same logs twice changes nothing.
 */
import type { Log } from "ethers";
import { ONCHAIN_REJECT_REASONS, PaymentState, type Hex, type PaymentRecord } from "../domain";
import type { RelayerStore } from "../store/types";
import { escrowInterface } from "../chain/calldata";
import { ONCHAIN_STATES, canMove, writePaymentChanges, type PaymentChange } from "./paymentChanges";

/** Topics the watcher asks for (topic0 of each event it applies). */
export const WATCHED_EVENTS = [
  "PaymentEscrowed",
  "PaymentRejected",
  "TrancheFunded",
  "PaymentConfirmed",
  "PaymentRefunded",
  "DisputeOpened",
  "DisputeResolved",
  "TrancheSettled",
] as const;

export const WATCHED_TOPICS: string[] = WATCHED_EVENTS.map((name) => escrowInterface.getEvent(name)!.topicHash);

/** Page size of the settled-tranche scan. */
const SCAN_PAGE = 500;

export type AppliedCounts = Partial<Record<PaymentState | "refundedPartly", number>>;

interface Parsed {
  name: string;
  args: Record<string, unknown> & unknown[];
  tx: Hex;
}

export async function applyEscrowLogs(store: RelayerStore, logs: readonly Log[], now: number): Promise<AppliedCounts> {
  const events: Parsed[] = [];
  for (const log of logs) {
    if (log.removed) continue;
    const parsed = escrowInterface.parseLog(log);
    if (parsed)
      events.push({
        name: parsed.name,
        args: parsed.args as unknown as Parsed["args"],
        tx: log.transactionHash as Hex,
      });
  }

  // releaseAt of each (tx, batch, merchant) run: TrancheFunded comes after its run's payments.
  const releaseAt = new Map<string, bigint>();
  for (const e of events) {
    if (e.name === "TrancheFunded")
      releaseAt.set(`${e.tx}:${e.args.batchId}:${e.args.merchantId}`, e.args.releaseAt as bigint);
  }

  const current = new Map<Hex, PaymentRecord>();
  const lookup = async (id: unknown): Promise<PaymentRecord | null> => {
    const key = String(id).toLowerCase() as Hex;
    return current.get(key) ?? (await store.payments.get(key));
  };
  const changes: PaymentChange[] = [];
  const counts: AppliedCounts = {};
  const move = (
    payment: PaymentRecord,
    state: PaymentState | undefined,
    fields: Partial<PaymentRecord>,
    label: keyof AppliedCounts,
  ) => {
    changes.push({ payment, state, fields });
    const at = Math.max(now, payment.updatedAt + 1);
    current.set(payment.id.toLowerCase() as Hex, {
      ...payment,
      ...fields,
      state: state ?? payment.state,
      updatedAt: at,
    });
    counts[label] = (counts[label] ?? 0) + 1;
  };
  const leaves = new Map<string, number>();
  const settled = new Map<bigint, Set<bigint>>();

  for (const e of events) {
    const a = e.args;
    if (e.name === "PaymentEscrowed") {
      // Counted for every escrowed log, known payment or not: it is the position in the tree.
      const leafKey = `${e.tx}:${a.batchId}`;
      const leafIndex = leaves.get(leafKey) ?? 0;
      leaves.set(leafKey, leafIndex + 1);
      const p = await lookup(a.paymentId);
      if (!p || !canMove(p.state, PaymentState.Escrowed)) continue;
      move(
        p,
        PaymentState.Escrowed,
        {
          batchId: a.batchId as bigint,
          leafIndex,
          txHash: e.tx,
          releaseAt: releaseAt.get(`${e.tx}:${a.batchId}:${a.merchantId}`) ?? null,
          rejectReason: null,
        },
        PaymentState.Escrowed,
      );
    } else if (e.name === "PaymentRejected") {
      const p = await lookup(a.paymentId);
      if (!p || !canMove(p.state, PaymentState.Rejected)) continue;
      move(
        p,
        PaymentState.Rejected,
        { rejectReason: ONCHAIN_REJECT_REASONS[Number(a.reason)], txHash: e.tx },
        PaymentState.Rejected,
      );
    } else if (e.name === "PaymentConfirmed") {
      const p = await lookup(a.paymentId);
      if (p && canMove(p.state, PaymentState.Released)) move(p, PaymentState.Released, {}, PaymentState.Released);
    } else if (e.name === "PaymentRefunded") {
      const p = await lookup(a.paymentId);
      if (!p || !ONCHAIN_STATES.includes(p.state)) continue;
      const total = a.totalRefunded as bigint;
      if (total >= p.amount && canMove(p.state, PaymentState.Refunded)) {
        move(p, PaymentState.Refunded, { refunded: total }, PaymentState.Refunded);
      } else if (total > p.refunded) {
        // Cumulative on chain: only ever grows (an older log re-read after a rewind changes nothing).
        move(p, undefined, { refunded: total }, "refundedPartly");
      }
    } else if (e.name === "DisputeOpened") {
      const p = await lookup(a.paymentId);
      if (p && canMove(p.state, PaymentState.Disputed)) move(p, PaymentState.Disputed, {}, PaymentState.Disputed);
    } else if (e.name === "DisputeResolved") {
      const p = await lookup(a.paymentId);
      if (p && canMove(p.state, PaymentState.Resolved)) move(p, PaymentState.Resolved, {}, PaymentState.Resolved);
    } else if (e.name === "TrancheSettled") {
      const merchantId = a.merchantId as bigint;
      if (!settled.has(merchantId)) settled.set(merchantId, new Set());
      settled.get(merchantId)!.add(a.batchId as bigint);
    }
  }
  await writePaymentChanges(store, changes, now);

  // Settlements last: a tranche is settled after (never with) the escrows of its own payments.
  const settles: PaymentChange[] = [];
  for (const [merchantId, batchIds] of settled) {
    for (const p of await heldPayments(store, merchantId)) {
      if (p.batchId !== null && batchIds.has(p.batchId)) settles.push({ payment: p, state: PaymentState.Settled });
    }
  }
  await writePaymentChanges(store, settles, now);
  if (settles.length > 0) counts[PaymentState.Settled] = settles.length;
  return counts;
}

/** The merchant's payments a settlement can still pay out (escrowed or released). */
async function heldPayments(store: RelayerStore, merchantId: bigint): Promise<PaymentRecord[]> {
  const out: PaymentRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.payments.list({
      merchantId,
      states: [PaymentState.Escrowed, PaymentState.Released],
      limit: SCAN_PAGE,
      cursor,
    });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}
