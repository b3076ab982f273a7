/**
 * What the audit catches beyond stray transfers: the real events of the scripted history are
 * altered one at a time (as a lying node, a buggy indexer or a broken contract would present
 * them), and the rebuild plus reconciliation must name the check that breaks and the event
 * involved. Event-level checks need no chain; chain-level ones read the untouched chain.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { readChainState } from "../../src/auditor/onchain";
import { rebuild } from "../../src/auditor/rebuild";
import { checkChain } from "../../src/auditor/reconcile/chain";
import { checkEvents } from "../../src/auditor/reconcile/events";
import { checkFlows } from "../../src/auditor/reconcile/flows";
import { scan } from "../../src/auditor/scan";
import { targetOf } from "../../src/auditor/target";
import type { AuditEvent, AuditTarget, Mismatch } from "../../src/auditor/types";
import { deployWithHistory, hre, type AuditedChain } from "./helpers";

async function storyFixture(): Promise<AuditedChain> {
  return deployWithHistory();
}

describe("auditor: tampered events are caught", function () {
  this.timeout(180_000);

  let chain: AuditedChain;
  let target: AuditTarget;
  let events: AuditEvent[];

  before(async function () {
    chain = await loadFixture(storyFixture);
    target = targetOf(chain.record);
    const toBlock = BigInt(await hre.ethers.provider.getBlockNumber());
    ({ events } = await scan({
      client: chain.client,
      target,
      fromBlock: target.deployBlock,
      toBlock,
      pageSize: 2_000n,
    }));
  });

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

  function eventChecks(list: AuditEvent[]): Mismatch[] {
    const ledger = rebuild(list, target);
    return [...checkEvents(ledger), ...checkFlows(ledger, target)];
  }

  async function allChecks(list: AuditEvent[]): Promise<Mismatch[]> {
    const ledger = rebuild(list, target);
    const chainState = await readChainState(
      chain.client,
      target,
      ledger,
      BigInt(await hre.ethers.provider.getBlockNumber()),
    );
    return [...checkEvents(ledger), ...checkFlows(ledger, target), ...checkChain(ledger, chainState, target)];
  }

  const is =
    (name: string) =>
    (e: AuditEvent): boolean =>
      e.contract === "escrow" && e.eventName === name;

  /** Asserts `check` is reported and lists the tampered event. */
  function expectFlagged(mismatches: Mismatch[], check: string, event: AuditEvent): Mismatch {
    const found = mismatches.find((m) => m.check === check);
    expect(found, `${check} not among: ${mismatches.map((m) => m.check).join(", ")}`).to.not.equal(undefined);
    const refs = found!.events.map((r) => `${r.transactionHash}:${r.logIndex}`);
    expect(refs).to.include(`${event.ref.transactionHash}:${event.ref.logIndex}`);
    return found!;
  }

  it("the untouched events reconcile", async function () {
    expect(await allChecks(events)).to.deep.equal([]);
  });

  it("a settlement fee that is not ceil(amount × feeBps / 10,000)", function () {
    const t = tampered(
      (e) => is("TrancheSettled")(e) && (e.args as { amount: bigint }).amount > 0n,
      (e) => ({ ...e, args: { ...e.args, fee: (e.args as { fee: bigint }).fee + 1n } }) as AuditEvent,
    );
    const m = expectFlagged(eventChecks(t.events), "tranche.fee", t.target);
    expect(BigInt(m.actual!) - BigInt(m.expected!)).to.equal(1n);
  });

  it("a batch root that does not commit to the batch's payments", function () {
    const t = tampered(
      is("BatchEscrowed"),
      (e) => ({ ...e, args: { ...e.args, root: `0x${"ee".repeat(32)}` } }) as AuditEvent,
    );
    expectFlagged(eventChecks(t.events), "batch.root", t.target);
  });

  it("a payment left out of its batch (root, count and total no longer match)", async function () {
    const t = tampered(is("PaymentEscrowed"), () => null);
    const checks = (await allChecks(t.events)).map((m) => m.check);
    expect(checks).to.include.members([
      "batch.root",
      "batch.count",
      "batch.total",
      "tranche.funding",
      "customer.balance",
    ]);
  });

  it("a tranche funded at a fee rate other than the merchant's registered terms", function () {
    const t = tampered(is("TrancheFunded"), (e) => ({ ...e, args: { ...e.args, feeBps: 999 } }) as AuditEvent);
    const m = expectFlagged(eventChecks(t.events), "tranche.fee-rate", t.target);
    expect(m.expected).to.equal("250");
    // The registry event that set the terms is named too.
    expect(m.events.map((r) => r.event)).to.include("registry.MerchantRegistered");
  });

  it("a release time whose hold (release time − block time) is outside the merchant's bounds", function () {
    // The first tranche is merchant 1's, bounds [1 day, 7 days]: one second past its longest hold.
    const t = tampered(
      is("TrancheFunded"),
      (e) => ({ ...e, args: { ...e.args, releaseAt: e.ref.timestamp + 7 * 86_400 + 1 } }) as AuditEvent,
    );
    const m = expectFlagged(eventChecks(t.events), "tranche.release-time", t.target);
    expect(m.message).to.include("[86400, 604800]");
    expect(m.events.map((r) => r.event)).to.include("registry.MerchantRegistered");
  });

  it("a release time within the merchant's hold bounds is no finding (each payment names its own hold)", function () {
    // Merchant 1's first tranche moved to a hold of 2 days: another hold, but one its bounds allow.
    const t = tampered(
      is("TrancheFunded"),
      (e) => ({ ...e, args: { ...e.args, releaseAt: e.ref.timestamp + 2 * 86_400 } }) as AuditEvent,
    );
    expect(eventChecks(t.events).filter((m) => m.check === "tranche.release-time")).to.deep.equal([]);
  });

  it("a refund whose running total does not add up", function () {
    const t = tampered(
      is("PaymentRefunded"),
      (e) =>
        ({
          ...e,
          args: { ...e.args, totalRefunded: (e.args as { totalRefunded: bigint }).totalRefunded + 5n },
        }) as AuditEvent,
    );
    expectFlagged(eventChecks(t.events), "payment.refund-total", t.target);
  });

  it("a confirmation fee off the tranche's rate", function () {
    const t = tampered(is("PaymentConfirmed"), (e) => {
      const a = e.args as { released: bigint; fee: bigint };
      return { ...e, args: { ...e.args, released: a.released + 1n, fee: a.fee - 1n } } as AuditEvent;
    });
    expectFlagged(eventChecks(t.events), "payment.confirm-fee", t.target);
  });

  it("a ruling that splits more than was disputed", function () {
    const t = tampered(
      is("DisputeResolved"),
      (e) => ({ ...e, args: { ...e.args, toPayer: (e.args as { toPayer: bigint }).toPayer + 1n } }) as AuditEvent,
    );
    expectFlagged(eventChecks(t.events), "payment.ruling-amount", t.target);
  });

  it("a payout that leaves the escrow with no MerchantPaid event", function () {
    const t = tampered(is("MerchantPaid"), () => null);
    const m = eventChecks(t.events).find((x) => x.check === "escrow.unexplained-transfer");
    expect(m?.events[0].event).to.equal("token.Transfer");
    expect(m?.events[0].transactionHash).to.equal(t.target.ref.transactionHash);
  });

  it("a confirmation of a payment that was already refunded", function () {
    const refund = events.find(
      (e) => is("PaymentRefunded")(e) && (e.args as { totalRefunded: bigint }).totalRefunded === 42_420_000n,
    )!;
    const confirm = events.find(is("PaymentConfirmed"))!;
    const fake = structuredClone(confirm);
    (fake.args as { paymentId: string }).paymentId = (refund.args as { paymentId: string }).paymentId;
    (fake.args as { batchId: bigint }).batchId = (refund.args as { batchId: bigint }).batchId;
    fake.ref = { ...refund.ref, logIndex: refund.ref.logIndex + 100 };
    const checks = eventChecks([...events, fake]);
    expectFlagged(checks, "payment.transition", fake);
  });

  it("a deposit the chain never credited (rebuilt balance vs escrow.balanceOf)", async function () {
    const t = tampered(
      is("Deposited"),
      (e) => ({ ...e, args: { ...e.args, amount: (e.args as { amount: bigint }).amount + 7n } }) as AuditEvent,
    );
    const mismatches = await allChecks(t.events);
    expectFlagged(mismatches, "customer.balance", t.target);
    // The ledger now owes 7 more than the escrow holds: a shortfall, flagged.
    expect(mismatches.map((m) => m.check)).to.include.members([
      "escrow.liabilities.customerBalances",
      "escrow.unbacked-event",
      "escrow.solvency",
    ]);
  });

  it("a mint that never happened (supply vs mints minus burns)", async function () {
    const t = tampered(
      (e) => e.contract === "token" && e.eventName === "Mint",
      (e) => ({ ...e, args: { ...e.args, amount: (e.args as { amount: bigint }).amount * 2n } }) as AuditEvent,
    );
    const mismatches = await allChecks(t.events);
    expectFlagged(mismatches, "token.mint-events", t.target);
    expectFlagged(mismatches, "token.supply", t.target);
  });
});
