/**
 * The auditor on order timers, against the in-process Hardhat chain: the scripted history with its
 * order-timer chapter (test/fixtures/auditHistory.ts: extensions, refund requests answered in part,
 * in full or rejected, escalations of a rejected and of an unanswered request, releases, and the
 * settlement that pays released funds) reconciles clean, event by event and field by field against
 * escrow.paymentRecord, tranche, merchantBalances and liabilities; then its real events are altered
 * one at a time (a lying node, a buggy indexer, a broken contract) and the audit must name the
 * check that breaks, with the altered event.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { runAudit } from "../../src/auditor/audit";
import { readChainState } from "../../src/auditor/onchain";
import { provePayment } from "../../src/auditor/proof";
import { rebuild } from "../../src/auditor/rebuild";
import { checkChain } from "../../src/auditor/reconcile/chain";
import { checkEvents } from "../../src/auditor/reconcile/events";
import { checkFlows } from "../../src/auditor/reconcile/flows";
import { merchantStatementsCsv } from "../../src/auditor/report/csv";
import { reportEventsOf } from "../../src/auditor/report/merchant";
import { replayMerchant, reportCsv, reportDay } from "../../src/protocol/reports";
import { scan } from "../../src/auditor/scan";
import { targetOf } from "../../src/auditor/target";
import type { AuditEvent, AuditTarget, Hex, Mismatch } from "../../src/auditor/types";
import { usd, type OrderTimerIds } from "../fixtures/auditHistory";
import { PaymentEscrow__factory } from "../../typechain-types";
import { deployWithHistory, hre, type AuditedChain } from "./helpers";

const DAY = 86_400;

async function timersFixture(): Promise<AuditedChain> {
  return deployWithHistory({ orderTimers: true });
}

describe("auditor: order timers", function () {
  this.timeout(300_000);

  let chain: AuditedChain;
  let target: AuditTarget;
  let events: AuditEvent[];
  let ids: OrderTimerIds;

  before(async function () {
    chain = await loadFixture(timersFixture);
    target = targetOf(chain.record);
    ids = chain.history.timers!;
    const toBlock = BigInt(await hre.ethers.provider.getBlockNumber());
    ({ events } = await scan({
      client: chain.client,
      target,
      fromBlock: target.deployBlock,
      toBlock,
      pageSize: 2_000n,
    }));
  });

  function eventChecks(list: AuditEvent[]): Mismatch[] {
    const ledger = rebuild(list, target);
    return [...checkEvents(ledger), ...checkFlows(ledger, target)];
  }

  async function allChecks(list: AuditEvent[]): Promise<Mismatch[]> {
    const ledger = rebuild(list, target);
    const state = await readChainState(
      chain.client,
      target,
      ledger,
      BigInt(await hre.ethers.provider.getBlockNumber()),
    );
    return [...checkEvents(ledger), ...checkFlows(ledger, target), ...checkChain(ledger, state, target)];
  }

  /** The events with the first one matching `pick` changed by `edit` (or removed when edit returns null). */
  function tampered(
    pick: (e: AuditEvent) => boolean,
    edit: (e: AuditEvent) => AuditEvent | null,
  ): { events: AuditEvent[]; target: AuditEvent } {
    const copy = structuredClone(events);
    const index = copy.findIndex(pick);
    expect(index, "no event to tamper with").to.be.at.least(0);
    const original = copy[index];
    const changed = edit(original);
    if (changed) copy[index] = changed;
    else copy.splice(index, 1);
    return { events: copy, target: original };
  }

  /** Picks the `nth` (from 0) escrow event `name` about payment `id` of the untouched scan (by position). */
  const about = (name: string, id: Hex, nth = 0) => {
    const target = events.filter(
      (x) => x.contract === "escrow" && x.eventName === name && (x.args as { paymentId?: Hex }).paymentId === id,
    )[nth];
    expect(target, `no ${name} #${nth} of ${id}`).to.not.equal(undefined);
    return (e: AuditEvent): boolean =>
      e.ref.blockNumber === target.ref.blockNumber && e.ref.logIndex === target.ref.logIndex;
  };

  /** Asserts `check` is reported once about `subject`, listing `event`; returns it. */
  function expectFlagged(mismatches: Mismatch[], check: string, event: AuditEvent, id?: Hex): Mismatch {
    const found = mismatches.filter((m) => m.check === check && (!id || m.subject === `payment ${id}`));
    expect(found, `${check} not among: ${mismatches.map((m) => m.check).join(", ")}`).to.have.length(1);
    const refs = found[0].events.map((r) => `${r.transactionHash}:${r.logIndex}`);
    expect(refs).to.include(`${event.ref.transactionHash}:${event.ref.logIndex}`);
    return found[0];
  }

  const checksOf = (mismatches: Mismatch[]): string[] => [...new Set(mismatches.map((m) => m.check))].sort();

  describe("a clean history", function () {
    it("reconciles: no mismatch, every order-timer event applied", async function () {
      const result = await runAudit({ client: chain.client, target });
      expect(result.mismatches).to.deep.equal([]);
      expect(result.ledger.eventCounts).to.include({
        "escrow.HoldExtended": 4,
        "escrow.RefundRequested": 5,
        "escrow.RefundRequestRejected": 2,
        "escrow.HoldResumed": 1,
        "escrow.PaymentReleased": 4,
      });
      const status = (id: Hex) => {
        const p = result.ledger.payments.get(id)!;
        return [p.status, p.recordStatus];
      };
      expect(status(ids.extendedTwice)).to.deep.equal(["released", 8]);
      expect(status(ids.resumed)).to.deep.equal(["released", 8]);
      expect(status(ids.escalated)).to.deep.equal(["resolved", 4]);
      expect(status(ids.unanswered)).to.deep.equal(["disputed", 3]);
      expect(status(ids.refundedInFull)).to.deep.equal(["refunded", 2]);
      expect(status(ids.extendedConfirmed)).to.deep.equal(["confirmed", 1]);
      expect(status(ids.rejectedReleased)).to.deep.equal(["released", 8]);
      expect(status(ids.refundedThenExtended)).to.deep.equal(["released", 8]);
      expect(status(ids.inTranche)).to.deep.equal(["settled", 0]);
    });

    it("rebuilds every payment record field, the tranche and the merchant's released balance as the chain has them", async function () {
      const result = await runAudit({ client: chain.client, target });
      const escrow = PaymentEscrow__factory.connect(target.escrow, hre.ethers.provider);
      for (const id of [ids.extendedTwice, ids.resumed, ids.escalated, ids.unanswered, ids.rejectedReleased]) {
        const p = result.ledger.payments.get(id)!;
        const r = await escrow.paymentRecord(id);
        expect(
          [
            p.timer!.releaseAt,
            p.timer!.holdLeft,
            p.timer!.deadline,
            p.timer!.extensions,
            p.timer!.refundRequests,
            p.timer!.feeBps,
            p.batchId,
          ],
          id,
        ).to.deep.equal([
          Number(r.releaseAt),
          Number(r.holdLeft),
          Number(r.deadline),
          Number(r.extensions),
          Number(r.refundRequests),
          Number(r.feeBps),
          r.batchId,
        ]);
      }
      const twice = result.ledger.payments.get(ids.extendedTwice)!;
      expect(twice.timer!.extensions).to.equal(2);
      // The payment left its tranche with its whole amount; the partly refunded one with what was left.
      expect(twice.timer!.detachedAmount).to.equal(usd(100));
      expect(result.ledger.payments.get(ids.refundedThenExtended)!.timer!.detachedAmount).to.equal(usd(10));
      // The unanswered request paused the clock: the dispute keeps the paused hold and the answer deadline.
      const unanswered = result.ledger.payments.get(ids.unanswered)!.timer!;
      expect([unanswered.releaseAt, unanswered.holdLeft > 0]).to.deep.equal([0, true]);

      // Merchant 1's tranche settled only the payment that never left it.
      const m1 = chain.history.merchants[0].id;
      const t = result.ledger.tranches.get(`${ids.batchId}:${m1}`)!;
      expect(t.settled!.amount).to.equal(usd(10));
      expect(t.deductions.filter((d) => d.kind === "own-timer")).to.have.length(7);
      // Released payments went to the merchants' released balances, which the settlement paid out.
      expect(result.ledger.merchants.get(m1)!.released).to.equal((await escrow.merchantBalances(m1))[0]);
      const lastSettlement = result.ledger.settlements.filter((s) => s.merchantId === m1).at(-1)!;
      expect(lastSettlement.releasedUsed).to.equal(lastSettlement.releasedBefore);
      expect(lastSettlement.releasedUsed > 0n).to.equal(true);
    });

    it("the merchant statements show each step, refund requests with their amount and reason name", async function () {
      const result = await runAudit({ client: chain.client, target });
      const [m1, m2] = chain.history.merchants.map((m) => m.id);
      const statements = merchantStatementsCsv(result.ledger);
      const lines = (m: bigint, kind: string) =>
        statements
          .get(m)!
          .split("\n")
          .filter((l) => l.split(",")[4] === kind);
      expect(statements.get(m1)!.split("\n")[0].endsWith(",claimable_after,detail")).to.equal(true);
      expect(lines(m1, "hold-extended")).to.have.length(4);
      expect(
        lines(m1, "refund-requested")
          .map((l) => l.match(/reason (\w+)/)![1])
          .sort(),
      ).to.deep.equal(["cancelled_order", "damaged", "not_as_described", "not_received"]);
      // A code outside the list is named by its number.
      const m2Request = lines(m2, "refund-requested");
      expect(m2Request).to.have.length(1);
      expect(m2Request[0]).to.include("refund of 5 requested, reason code_77");
      expect(lines(m1, "refund-rejected")).to.have.length(1);
      expect(lines(m1, "hold-resumed")).to.have.length(1);
      expect(lines(m1, "released")).to.have.length(3);
      expect(lines(m2, "released")).to.have.length(1);
    });
  });

  describe("merchant reports (the relayer's builders)", function () {
    it("show each step, refund requests with their reason name, and keep the balance held through releases", async function () {
      const result = await runAudit({ client: chain.client, target });
      const m1 = chain.history.merchants[0].id;
      const reportEvents = reportEventsOf(events);
      const { lines, payouts } = replayMerchant(reportEvents.filter((e) => e.merchantId === m1));
      // Balance held = held + disputed + released + claimable, as the rebuilt ledger has them.
      const m = result.ledger.merchants.get(m1)!;
      const disputed = [...result.ledger.payments.values()]
        .filter((p) => p.merchantId === m1 && p.status === "disputed")
        .reduce((sum, p) => sum + p.amount - p.refunded, 0n);
      expect(lines.at(-1)!.balanceHeld).to.equal(m.held + disputed + m.released + m.claimable);
      // The last payout paid the tranche's one payment and the three payments released on their own timer.
      const last = payouts.at(-1)!;
      expect(last.tranches.flatMap((t) => t.payments.map((p) => p.paymentId))).to.deep.equal([ids.inTranche]);
      expect(last.released.filter((p) => p.source === "released").map((p) => p.paymentId)).to.have.members([
        ids.extendedTwice,
        ids.resumed,
        ids.refundedThenExtended,
      ]);

      const request = events.find(about("RefundRequested", ids.resumed))!;
      const day = reportDay(new Date(request.ref.timestamp * 1000).toISOString().slice(0, 10));
      const input = {
        merchantId: m1,
        token: target.token.toLowerCase() as Hex,
        events: reportEvents,
        orderRefs: new Map(),
      };
      const rows = reportCsv("transactions", input, day).trim().split("\r\n");
      expect(rows[0].endsWith(",balance_held_after,detail")).to.equal(true);
      const requested = rows.filter((r) => r.split(",")[6] === "requested");
      expect(requested.map((r) => r.match(/reason (\w+)/)![1]).sort()).to.deep.equal([
        "cancelled_order",
        "damaged",
        "not_as_described",
        "not_received",
      ]);
      expect(rows.filter((r) => r.split(",")[6] === "extended")).to.have.length(4);
      const summary = reportCsv("summary", input, day).trim().split("\r\n");
      expect(summary[0].endsWith(",requested_count,released_count")).to.equal(true);
      expect(summary[1].split(",").slice(-2)).to.deep.equal(["4", "0"]);
    });
  });

  describe("a single payment's proof", function () {
    it("lists its order-timer steps with the reason name and does not settle it with its tranche", async function () {
      const toBlock = BigInt(await hre.ethers.provider.getBlockNumber());
      const prove = (paymentId: Hex) =>
        provePayment({
          client: chain.client,
          target,
          paymentId,
          fromBlock: target.deployBlock,
          toBlock,
          pageSize: 2_000n,
        });
      const proof = await prove(ids.resumed);
      expect(proof.verified).to.equal(true);
      expect(proof.status).to.equal("released");
      expect(proof.history.map((h) => h.event)).to.deep.equal([
        "escrow.PaymentEscrowed",
        "escrow.RefundRequested",
        "escrow.HoldResumed",
        "escrow.PaymentRefunded",
        "escrow.PaymentReleased",
      ]);
      expect(proof.history[1].detail).to.include("reason not_received");
      const rejected = await prove(ids.rejectedReleased);
      expect(rejected.history[1].detail).to.include("reason code_77");
      expect(rejected.status).to.equal("released");
      const inTranche = await prove(ids.inTranche);
      expect(inTranche.status).to.equal("settled");
    });
  });

  describe("tampered logs and state are caught", function () {
    it("a release before the payment's release time: timer.release-early", function () {
      const t = tampered(
        about("PaymentReleased", ids.extendedTwice),
        (e) => ({ ...e, ref: { ...e.ref, timestamp: e.ref.timestamp - 2 * DAY } }) as AuditEvent,
      );
      const m = expectFlagged(eventChecks(t.events), "timer.release-early", t.target, ids.extendedTwice);
      expect(m.actual).to.equal(String(t.target.ref.timestamp - 2 * DAY));
      expect(checksOf(eventChecks(t.events))).to.deep.equal(["timer.release-early"]);
    });

    it("an extension beyond 30 days: timer.extension-bounds, and the record's release time differs on chain", async function () {
      const t = tampered(
        about("HoldExtended", ids.extendedConfirmed),
        (e) =>
          ({
            ...e,
            args: { ...e.args, releaseAt: (e.args as { releaseAt: number }).releaseAt + 30 * DAY },
          }) as AuditEvent,
      );
      const all = await allChecks(t.events);
      const m = expectFlagged(all, "timer.extension-bounds", t.target, ids.extendedConfirmed);
      expect(m.message).to.include(`extended by ${31 * DAY} s`);
      const record = expectFlagged(all, "payment.record", t.target, ids.extendedConfirmed);
      expect(record.message).to.include("releaseAt");
      expect(checksOf(all)).to.deep.equal(["payment.record", "timer.extension-bounds"]);
    });

    it("a third extension: timer.extension-limit", function () {
      const second = events.find(about("HoldExtended", ids.extendedTwice, 1))!;
      const forged = structuredClone(second);
      const args = forged.args as { releaseAt: number; extensions: number };
      args.releaseAt += DAY;
      args.extensions = 3;
      forged.ref = { ...second.ref, logIndex: second.ref.logIndex + 100 };
      const m = expectFlagged(eventChecks([...events, forged]), "timer.extension-limit", forged, ids.extendedTwice);
      expect([m.expected, m.actual]).to.deep.equal(["<= 2", "3"]);
    });

    it("an extension after the hold ended: timer.extension-after-release", function () {
      const t = tampered(
        about("HoldExtended", ids.extendedConfirmed),
        (e) => ({ ...e, ref: { ...e.ref, timestamp: e.ref.timestamp + 8 * DAY } }) as AuditEvent,
      );
      expectFlagged(eventChecks(t.events), "timer.extension-after-release", t.target, ids.extendedConfirmed);
    });

    it("a request whose paused hold is not what was left: timer.request-hold-left", function () {
      const t = tampered(
        about("RefundRequested", ids.resumed),
        (e) => ({ ...e, args: { ...e.args, holdLeft: (e.args as { holdLeft: number }).holdLeft + 60 } }) as AuditEvent,
      );
      const m = expectFlagged(eventChecks(t.events), "timer.request-hold-left", t.target, ids.resumed);
      expect(Number(m.actual) - Number(m.expected)).to.equal(60);
    });

    it("a request after the hold ended: timer.request-after-release", function () {
      const t = tampered(
        about("RefundRequested", ids.refundedInFull),
        (e) => ({ ...e, ref: { ...e.ref, timestamp: e.ref.timestamp + 8 * DAY } }) as AuditEvent,
      );
      expectFlagged(eventChecks(t.events), "timer.request-after-release", t.target, ids.refundedInFull);
    });

    it("a release while the merchant was Suspended: timer.release-suspended", function () {
      const release = events.find(about("PaymentReleased", ids.rejectedReleased))!;
      const m2 = chain.history.merchants[1].id;
      const suspend = {
        contract: "registry",
        eventName: "MerchantStatusChanged",
        args: { merchantId: m2, previousStatus: 1, newStatus: 2 },
        ref: { ...release.ref, event: "registry.MerchantStatusChanged", logIndex: release.ref.logIndex - 1 },
      } as unknown as AuditEvent;
      const m = expectFlagged(
        eventChecks([...events, suspend]),
        "timer.release-suspended",
        release,
        ids.rejectedReleased,
      );
      expect([m.expected, m.actual]).to.deep.equal(["Active", "Suspended"]);
    });

    it("an extension that skips the count: timer.extension-count", function () {
      const t = tampered(about("HoldExtended", ids.extendedTwice, 0), () => null);
      const second = events.find(about("HoldExtended", ids.extendedTwice, 1))!;
      const m = expectFlagged(eventChecks(t.events), "timer.extension-count", second, ids.extendedTwice);
      expect([m.expected, m.actual]).to.deep.equal(["1", "2"]);
    });

    it("a release while the refund request was open (its rejection removed): timer.release-while-requested", async function () {
      const t = tampered(about("RefundRequestRejected", ids.rejectedReleased), () => null);
      const release = events.find(about("PaymentReleased", ids.rejectedReleased))!;
      const all = await allChecks(t.events);
      expectFlagged(all, "timer.release-while-requested", release, ids.rejectedReleased);
      // The record on chain still says it was rejected (deadline, release time), so it differs too.
      expect(checksOf(all)).to.deep.equal(["payment.record", "timer.release-while-requested"]);
    });

    it("a release whose fee is off the frozen rate: timer.release-fee", function () {
      const t = tampered(about("PaymentReleased", ids.resumed), (e) => {
        const a = e.args as { released: bigint; fee: bigint };
        return { ...e, args: { ...e.args, released: a.released + 1n, fee: a.fee - 1n } } as AuditEvent;
      });
      const m = expectFlagged(eventChecks(t.events), "timer.release-fee", t.target, ids.resumed);
      expect(BigInt(m.expected!) - BigInt(m.actual!)).to.equal(1n);
    });

    it("a partial refund answering a request with no HoldResumed: timer.resume-missing", function () {
      const t = tampered(about("HoldResumed", ids.resumed), () => null);
      const refund = events.find(about("PaymentRefunded", ids.resumed))!;
      const mismatches = eventChecks(t.events);
      expectFlagged(mismatches, "timer.resume-missing", refund, ids.resumed);
      // The payment stays "requested", so its release is flagged too.
      expect(checksOf(mismatches)).to.deep.equal(["timer.release-while-requested", "timer.resume-missing"]);
    });

    it("a resumed clock with no refund in its transaction: timer.resume-without-refund", function () {
      const t = tampered(about("PaymentRefunded", ids.resumed), () => null);
      const resumed = events.find(about("HoldResumed", ids.resumed))!;
      expectFlagged(eventChecks(t.events), "timer.resume-without-refund", resumed, ids.resumed);
    });

    it("a resumed clock later than the hold that was left: timer.resume-time", function () {
      const t = tampered(
        about("HoldResumed", ids.resumed),
        (e) =>
          ({ ...e, args: { ...e.args, releaseAt: (e.args as { releaseAt: number }).releaseAt + 3600 } }) as AuditEvent,
      );
      const m = expectFlagged(eventChecks(t.events), "timer.resume-time", t.target, ids.resumed);
      expect(Number(m.actual) - Number(m.expected)).to.equal(3600);
    });

    it("an unanswered request turned into a dispute before its answer was due: timer.escalation-early", function () {
      const t = tampered(
        about("DisputeOpened", ids.unanswered),
        (e) => ({ ...e, ref: { ...e.ref, timestamp: e.ref.timestamp - 2 * DAY } }) as AuditEvent,
      );
      expectFlagged(eventChecks(t.events), "timer.escalation-early", t.target, ids.unanswered);
    });

    it("a rejected request escalated after its window closed: timer.escalation-late", function () {
      const t = tampered(
        about("DisputeOpened", ids.escalated),
        (e) => ({ ...e, ref: { ...e.ref, timestamp: e.ref.timestamp + 8 * DAY } }) as AuditEvent,
      );
      expectFlagged(eventChecks(t.events), "timer.escalation-late", t.target, ids.escalated);
    });

    it("a rejection after the merchant's answer was due: timer.reject-overdue", function () {
      const t = tampered(
        about("RefundRequestRejected", ids.escalated),
        (e) => ({ ...e, ref: { ...e.ref, timestamp: e.ref.timestamp + 3 * DAY } }) as AuditEvent,
      );
      const mismatches = eventChecks(t.events);
      expectFlagged(mismatches, "timer.reject-overdue", t.target, ids.escalated);
      // Its escalation window and release time no longer follow from its (moved) time either.
      expectFlagged(mismatches, "timer.reject-times", t.target, ids.escalated);
    });

    it("a refund request for more than is held: timer.request-amount", function () {
      const t = tampered(
        about("RefundRequested", ids.resumed),
        (e) => ({ ...e, args: { ...e.args, amount: usd(50) + 1n } }) as AuditEvent,
      );
      const m = expectFlagged(eventChecks(t.events), "timer.request-amount", t.target, ids.resumed);
      expect([m.expected, m.actual]).to.deep.equal([`1..${usd(50)}`, String(usd(50) + 1n)]);
    });

    it("a request whose answer deadline is not 3 days later: timer.request-respond-by", function () {
      const t = tampered(
        about("RefundRequested", ids.unanswered),
        (e) =>
          ({ ...e, args: { ...e.args, respondBy: (e.args as { respondBy: number }).respondBy + DAY } }) as AuditEvent,
      );
      expectFlagged(eventChecks(t.events), "timer.request-respond-by", t.target, ids.unanswered);
    });

    it("a fourth refund request: timer.request-limit", function () {
      // After its real request and partial refund, the payment gets three more requests forged, the
      // first two answered by a 1-unit refund that resumes the clock (as the escrow would log them).
      const refund = events.find(about("PaymentRefunded", ids.resumed))!;
      const resume = events.find(about("HoldResumed", ids.resumed))!;
      const request = events.find(about("RefundRequested", ids.resumed))!;
      let releaseAt = (resume.args as { releaseAt: number }).releaseAt;
      let total = (refund.args as { totalRefunded: bigint }).totalRefunded;
      const forged: AuditEvent[] = [];
      let fourth: AuditEvent | undefined;
      for (let i = 1; i <= 3; i++) {
        const ts = refund.ref.timestamp + 10 * i;
        const at = (event: string, k: number, tx: string) => ({
          ...refund.ref,
          event,
          logIndex: refund.ref.logIndex + 100 * i + k,
          timestamp: ts + (k > 0 ? 1 : 0),
          transactionHash: tx as Hex,
        });
        const r = structuredClone(request);
        r.ref = at("escrow.RefundRequested", 0, `0x${String(i).padStart(64, "a")}`);
        Object.assign(r.args as object, { amount: 1n, holdLeft: releaseAt - ts, respondBy: ts + 3 * DAY });
        forged.push(r);
        if (i === 3) {
          fourth = r;
          break;
        }
        const answer = `0x${String(i).padStart(64, "b")}`;
        const h = structuredClone(resume);
        h.ref = at("escrow.HoldResumed", 1, answer);
        releaseAt = ts + 1 + (releaseAt - ts);
        Object.assign(h.args as object, { releaseAt });
        const f = structuredClone(refund);
        f.ref = at("escrow.PaymentRefunded", 2, answer);
        total += 1n;
        Object.assign(f.args as object, { amount: 1n, totalRefunded: total });
        forged.push(h, f);
      }
      const mismatches = eventChecks([...events, ...forged]);
      const m = expectFlagged(mismatches, "timer.request-limit", fourth!, ids.resumed);
      expect([m.expected, m.actual]).to.deep.equal(["<= 3", "4"]);
      // The real release then came while the fourth request was open, and for more than was left.
      expect(checksOf(mismatches)).to.deep.equal([
        "timer.release-amount",
        "timer.release-while-requested",
        "timer.request-limit",
      ]);
    });

    it("a timer event naming another merchant: payment.merchant", function () {
      const t = tampered(
        about("HoldExtended", ids.extendedConfirmed),
        (e) => ({ ...e, args: { ...e.args, merchantId: chain.history.merchants[2].id } }) as AuditEvent,
      );
      expect(checksOf(eventChecks(t.events))).to.deep.equal(["payment.merchant"]);
      expectFlagged(eventChecks(t.events), "payment.merchant", t.target, ids.extendedConfirmed);
    });

    it("a release of a payment that never left its tranche: payment.transition", function () {
      const release = events.find(about("PaymentReleased", ids.extendedTwice))!;
      const forged = structuredClone(release);
      (forged.args as { paymentId: Hex }).paymentId = ids.inTranche;
      forged.ref = { ...release.ref, logIndex: release.ref.logIndex + 100 };
      const m = expectFlagged(eventChecks([...events, forged]), "payment.transition", forged, ids.inTranche);
      expect(m.message).to.include("never left its tranche");
    });

    it("a forged extension of a payment still in its tranche: the tranche and the record differ on chain", async function () {
      // The story's last m1 payment is still held in its tranche (not settled): extend it in a forged log.
      const held = chain.history.stillHeld;
      const batch = events.find(
        (e) => e.contract === "escrow" && e.eventName === "BatchEscrowed" && e.args.batchId === held.inclusion.batchId,
      )!;
      const funded = events.find(
        (e) =>
          e.contract === "escrow" &&
          e.eventName === "TrancheFunded" &&
          e.args.batchId === held.inclusion.batchId &&
          e.args.merchantId === held.payment.merchantId,
      )!;
      const extension = events.find(about("HoldExtended", ids.extendedConfirmed))!;
      const forged = structuredClone(extension);
      Object.assign(forged.args as object, {
        paymentId: held.id,
        payer: held.payment.payer,
        merchantId: held.payment.merchantId,
        batchId: held.inclusion.batchId,
        releaseAt: (funded.args as { releaseAt: number }).releaseAt + DAY,
        extensions: 1,
      });
      forged.ref = { ...batch.ref, event: "escrow.HoldExtended", logIndex: batch.ref.logIndex + 100 };
      const all = await allChecks([...events, forged]);
      expect(checksOf(all)).to.deep.equal(["payment.record", "tranche.onchain"]);
      const record = expectFlagged(all, "payment.record", forged, held.id);
      expect(record.message).to.include("status None, rebuilt Held");
      const tranche = all.find((m) => m.check === "tranche.onchain")!;
      expect(tranche.subject).to.equal(`tranche ${held.inclusion.batchId}/${held.payment.merchantId}`);
      expect(BigInt(tranche.actual!) - BigInt(tranche.expected!)).to.equal(held.payment.amount);
      expect(tranche.events.map((r) => r.event)).to.include("escrow.HoldExtended");
    });
  });
});
