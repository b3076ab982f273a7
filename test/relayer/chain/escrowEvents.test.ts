/**
 * The hand decoder of the escrow's events (src/relayer/chain/escrowEvents.ts) against ethers'
 * parseLog, on real logs of a Hardhat run that emits every event the decoder knows (both values of
 * the bool, several reject reasons), and on logs it must skip: other contracts' events, escrow
 * events it does not decode, events a narrower decoder was not built for.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Log } from "ethers";
import {
  ESCROW_EVENT_NAMES,
  ESCROW_TOPICS,
  EscrowEventDecoder,
  type EscrowEvent,
} from "../../../src/relayer/chain/escrowEvents";
import { escrowInterface } from "../../../src/relayer/chain/calldata";
import { DISPUTE_TIMEOUT, HOLD_PERIOD, buildPayment, signPayment, submitBatch, usd } from "../../escrow/fixtures";
import { settleFixture } from "../../escrow/settle.helpers";

/** Addresses and hashes compare case-insensitively (ethers checksums addresses); numbers as bigint. */
const normal = (v: unknown): unknown =>
  typeof v === "string" ? v.toLowerCase() : typeof v === "number" ? BigInt(v) : v;

describe("relayer chain: escrow event decoder", function () {
  it("decodes every event it knows exactly as parseLog does, and skips what it was not built for", async () => {
    const f = await settleFixture();
    const escrowAddress = (await f.escrow.getAddress()).toLowerCase();
    const [c0, c1, c2, c3] = f.customers;
    const [m1, m2] = f.merchants;

    await f.escrow.connect(c0).withdraw(usd(5), f.stranger.address);
    await f.escrow.connect(c1).cancelNonce(7n);

    // Accepted across two merchants (two tranches), plus rejections for different reasons.
    const specs = [
      { payer: c0, fields: { merchantId: m1.id, nonce: 0n } },
      { payer: c1, fields: { merchantId: m1.id, nonce: 0n } },
      { payer: c2, fields: { merchantId: m1.id, nonce: 0n } },
      { payer: c3, fields: { merchantId: m1.id, nonce: 0n } },
      { payer: c3, fields: { merchantId: m2.id, nonce: 1n, amount: usd(20) } },
      { payer: c1, fields: { merchantId: m2.id, nonce: 7n } },
      { payer: c2, fields: { merchantId: m2.id, nonce: 1n, amount: 0n } },
    ];
    const items = [];
    for (const s of specs) {
      const payment = await buildPayment(f, s.payer, s.fields);
      items.push({ payment, signature: await signPayment(f, s.payer, payment) });
    }
    const batch = await submitBatch(f, items, [true, true, true, true, true, false, false]);
    const [confirmed, refunded, ruled, timedOut, timed] = batch.payments;
    const payerOf = (p: (typeof batch.payments)[number]) => f.customers.find((c) => c.address === p.payment.payer)!;

    await f.escrow.connect(payerOf(confirmed)).confirm(confirmed.payment, confirmed.inclusion);
    await f.escrow.connect(m1.owner).refund(refunded.payment, refunded.inclusion, usd(4));
    await f.escrow.connect(payerOf(ruled)).openDispute(ruled.payment, ruled.inclusion);
    await f.escrow.connect(f.arbiter).resolveDispute(ruled.payment, usd(3));
    await f.escrow.connect(payerOf(timedOut)).openDispute(timedOut.payment, timedOut.inclusion);
    // The order timer: extended, a request answered in part (the clock resumes), another rejected,
    // then released by anyone once its window ended.
    await f.escrow.connect(payerOf(timed)).extendHold(timed.payment, timed.inclusion, 3600);
    await f.escrow.connect(payerOf(timed)).requestRefund(timed.payment, timed.inclusion, usd(2), 2);
    await f.escrow.connect(m2.owner).refund(timed.payment, timed.inclusion, usd(1));
    await f.escrow.connect(payerOf(timed)).requestRefund(timed.payment, timed.inclusion, usd(3), 255);
    await f.escrow.connect(m2.owner).rejectRefundRequest(timed.payment);
    await time.increase(DISPUTE_TIMEOUT + HOLD_PERIOD);
    await f.escrow.connect(f.stranger).resolveExpiredDispute(timedOut.payment);
    await f.escrow.connect(f.stranger).release(timed.payment);
    // Merchant 2's payout cannot receive: its share is deferred; merchant 1 is paid.
    await f.token.connect(f.admin).blocklist(m2.payout.address);
    await f.escrow.settle([
      { merchantId: m1.id, batchIds: [batch.batchId] },
      { merchantId: m2.id, batchIds: [batch.batchId] },
    ]);
    await f.token.connect(f.admin).unBlocklist(m2.payout.address);
    await f.escrow.claim(m2.id);

    // This fixture's contracts only: earlier tests' escrows emit the same topics.
    const logs: Log[] = await ethers.provider.getLogs({
      address: [escrowAddress, await f.token.getAddress(), await f.registry.getAddress()],
      fromBlock: 0,
      toBlock: "latest",
    });
    const decoder = new EscrowEventDecoder(ESCROW_EVENT_NAMES);
    const seen = new Map<string, EscrowEvent[]>();
    let skipped = 0;
    for (const log of logs) {
      const fromEscrow = log.address.toLowerCase() === escrowAddress;
      const parsed = fromEscrow ? escrowInterface.parseLog(log) : null;
      const decoded = decoder.decode(log);
      if (!parsed || !(ESCROW_EVENT_NAMES as string[]).includes(parsed.name)) {
        // Token and registry events share no topic0 with the escrow's; Claimed is not decoded.
        expect(decoded, `log ${log.index} of ${log.address}`).to.equal(null);
        skipped++;
        continue;
      }
      expect(decoded, parsed.name).to.not.equal(null);
      const expected = Object.fromEntries(parsed.fragment.inputs.map((p, i) => [p.name, normal(parsed.args[i])]));
      const actual = Object.fromEntries(
        Object.entries(decoded!)
          .filter(([k]) => k !== "name")
          .map(([k, v]) => [k, normal(v)]),
      );
      expect(decoded!.name).to.equal(parsed.name);
      expect(actual, parsed.name).to.deep.equal(expected);
      seen.set(parsed.name, [...(seen.get(parsed.name) ?? []), decoded!]);
    }

    expect([...seen.keys()].sort()).to.deep.equal([...ESCROW_EVENT_NAMES].sort());
    expect(skipped > 0, "token transfers and Claimed were skipped").to.equal(true);
    const resolutions = seen.get("DisputeResolved") as Extract<EscrowEvent, { name: "DisputeResolved" }>[];
    expect(resolutions.map((e) => e.byTimeout)).to.deep.equal([false, true]);
    const reasons = (seen.get("PaymentRejected") as Extract<EscrowEvent, { name: "PaymentRejected" }>[]).map(
      (e) => e.reason,
    );
    expect(reasons).to.deep.equal([5, 0]); // nonce unavailable, invalid amount
    // Values come out in the store's form: lowercase hex.
    const escrowed = seen.get("PaymentEscrowed") as Extract<EscrowEvent, { name: "PaymentEscrowed" }>[];
    expect(escrowed[0].payer).to.equal(c0.address.toLowerCase());
    expect(escrowed[0].paymentId).to.equal(confirmed.id.toLowerCase());

    // A decoder built for one event skips every other log by topic0 alone.
    const only = new EscrowEventDecoder(["BatchEscrowed"]);
    const hits = logs.map((l) => only.decode(l)).filter((e) => e !== null);
    expect(hits).to.have.length(1);
    expect(hits[0]).to.deep.include({ name: "BatchEscrowed", batchId: batch.batchId, paymentCount: 5n });
    expect(only.topics).to.deep.equal([ESCROW_TOPICS.BatchEscrowed]);
  });

  it("refuses a known event with another layout instead of guessing", () => {
    const decoder = new EscrowEventDecoder(["BatchEscrowed"]);
    const short = { topics: [ESCROW_TOPICS.BatchEscrowed, ethers.ZeroHash], data: "0x" };
    expect(() => decoder.decode(short)).to.throw(/BatchEscrowed/);
    expect(decoder.decode({ topics: [], data: "0x" })).to.equal(null);
    expect(decoder.decode({ topics: [ethers.id("Transfer(address,address,uint256)")], data: "0x" })).to.equal(null);
  });
});
