/**
 * The FX mirror end to end (src/relayer/fx/mirror.ts) on the in-process chain, USD traveller and
 * EUR merchant: each leg escrowed in its own escrow, the traveller and the merchant act on chain,
 * the chain's logs are applied to the store as the watchers apply them, and one mirror pass sends the
 * desk's answer to the other escrow, where the chain shows it.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { MerchantRegistry__factory } from "../../../typechain-types";
import { HUNDRED_ETH, rpc, waitFor } from "../helpers/chain";
import { REFUND_REASONS } from "../../../src/protocol";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import type { FxMirror } from "../../../src/relayer/fx/mirror";
import {
  applyChain,
  chainClock,
  escrowOn,
  escrowStored,
  fxDeployment,
  onChain,
  payAcross,
  PAY,
  SETTLE,
  type FxDeployment,
} from "./fixtures";

const DAY = 86_400n;

describe("relayer FX mirror: the desk keeps the two legs in step", function () {
  this.timeout(120_000);
  let d: FxDeployment | null = null;
  afterEach(async () => {
    await d?.api.close();
    d = null;
  });

  async function setUp(mirrorIntervalMs = 0) {
    const clock = await chainClock();
    d = await fxDeployment({ clock: clock.now, mirrorIntervalMs });
    const mirror = d.api.app.fxMirror as FxMirror;
    expect(mirror, "an app with a desk runs a mirror").to.not.equal(null);
    const usdBalance = async () => escrowOn(d!, "USD", d!.customer).balanceOf(d!.customer.address);
    return { d, mirror, clock, usdBalance };
  }

  /** A paid FX order with both legs escrowed and watched. */
  async function escrowedPair(d: FxDeployment): Promise<{ pay: Hex; settle: Hex }> {
    const legs = await payAcross(d);
    await escrowStored(d, "USD", [legs.pay]);
    await escrowStored(d, "EUR", [legs.settle]);
    return legs;
  }

  it("mirrors the traveller's extension onto the merchant's leg, and the merchant's partial refund back at the quote's rate", async () => {
    const { d, mirror, usdBalance } = await setUp();
    const { pay, settle } = await escrowedPair(d);
    expect(await mirror.runOnce(), "nothing to mirror yet").to.deep.equal({ sent: [], failed: [], leader: true });

    // The traveller extends the USD leg by a day on chain.
    const payLeg = await onChain(d, pay);
    await escrowOn(d, "USD", d.customer).extendHold(payLeg.fields, payLeg.inclusion, DAY);
    await applyChain(d, "USD");
    const extended = await mirror.runOnce();
    expect(extended.sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([["extend_settle_leg", settle]]);
    await applyChain(d, "EUR");
    const [payAfter, settleAfter] = await Promise.all([
      d.api.store.payments.get(pay),
      d.api.store.payments.get(settle),
    ]);
    expect(settleAfter!.state).to.equal(PaymentState.Held);
    expect(settleAfter!.timer!.extensions).to.equal(1);
    expect(settleAfter!.releaseAt, "the merchant is paid no earlier than the desk").to.equal(payAfter!.releaseAt);
    expect((await mirror.runOnce()).sent, "extended once").to.deep.equal([]);

    // The merchant refunds a third of the EUR leg on chain: the desk refunds the same share in USD, rounded up.
    const settleLeg = await onChain(d, settle);
    await escrowOn(d, "EUR", d.owner).refund(settleLeg.fields, settleLeg.inclusion, 3_333_333n);
    await applyChain(d, "EUR");
    const before = await usdBalance();
    const refunded = await mirror.runOnce();
    expect(refunded.sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([["refund_pay_leg", pay]]);
    await applyChain(d, "USD");
    const owed = (3_333_333n * PAY + SETTLE - 1n) / SETTLE;
    expect((await d.api.store.payments.get(pay))!.refunded).to.equal(owed);
    expect((await usdBalance()) - before).to.equal(owed);
    expect((await mirror.runOnce()).sent, "refunded once").to.deep.equal([]);

    // The rest of the EUR leg refunded: the USD leg comes back whole, exactly PAY in all.
    await escrowOn(d, "EUR", d.owner).refund(settleLeg.fields, settleLeg.inclusion, SETTLE - 3_333_333n);
    await applyChain(d, "EUR");
    expect((await mirror.runOnce()).sent.map((s) => s.kind)).to.deep.equal(["refund_pay_leg"]);
    await applyChain(d, "USD");
    const whole = (await d.api.store.payments.get(pay))!;
    expect([whole.state, whole.refunded]).to.deep.equal([PaymentState.Refunded, PAY]);
    expect((await usdBalance()) - before).to.equal(PAY);
  });

  it("carries the traveller's refund request to the merchant, and the merchant's rejection back", async () => {
    const { d, mirror } = await setUp();
    const { pay, settle } = await escrowedPair(d);
    const payLeg = await onChain(d, pay);
    await escrowOn(d, "USD", d.customer).requestRefund(
      payLeg.fields,
      payLeg.inclusion,
      PAY / 2n,
      REFUND_REASONS.damaged,
    );
    await applyChain(d, "USD");
    expect((await mirror.runOnce()).sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([
      ["request_settle_refund", settle],
    ]);
    await applyChain(d, "EUR");
    const asked = (await d.api.store.payments.get(settle))!;
    expect(asked.state).to.equal(PaymentState.RefundRequested);
    expect([asked.timer!.request!.amount, asked.timer!.request!.reason]).to.deep.equal([
      SETTLE / 2n,
      REFUND_REASONS.damaged,
    ]);
    expect((await mirror.runOnce()).sent, "asked once").to.deep.equal([]);

    // The merchant rejects: the desk rejects the traveller's request, who may now escalate it.
    await escrowOn(d, "EUR", d.owner).rejectRefundRequest((await onChain(d, settle)).fields);
    await applyChain(d, "EUR");
    expect((await mirror.runOnce()).sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([
      ["reject_pay_request", pay],
    ]);
    await applyChain(d, "USD");
    expect((await d.api.store.payments.get(pay))!.state).to.equal(PaymentState.RefundRejected);

    // The traveller escalates: the desk escalates the merchant's leg, so the arbiter rules both.
    await escrowOn(d, "USD", d.customer).escalateRefundRequest(payLeg.fields);
    await applyChain(d, "USD");
    expect((await mirror.runOnce()).sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([
      ["escalate_settle_request", settle],
    ]);
    await applyChain(d, "EUR");
    expect((await d.api.store.payments.get(settle))!.state).to.equal(PaymentState.Disputed);
  });

  it("confirms the merchant's leg when the traveller confirms delivery on its own", async () => {
    const { d, mirror } = await setUp();
    const { pay, settle } = await escrowedPair(d);
    const payLeg = await onChain(d, pay);
    await escrowOn(d, "USD", d.customer).confirm(payLeg.fields, payLeg.inclusion);
    await applyChain(d, "USD");
    expect((await mirror.runOnce()).sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([
      ["confirm_settle_leg", settle],
    ]);
    await applyChain(d, "EUR");
    expect((await d.api.store.payments.get(settle))!.state).to.equal(PaymentState.Released);
    expect((await mirror.runOnce()).sent).to.deep.equal([]);
    const metrics = await (await fetch(`${d.api.url}/metrics`)).text();
    expect(metrics).to.include('relayer_fx_mirror_actions_total{action="confirm_settle_leg",result="sent"} 1');
  });

  it("refunds in full a pay leg whose settle leg never came, after the grace and under the mirror's lease only", async () => {
    const { d, mirror, clock, usdBalance } = await setUp();
    // The traveller's leg alone, as when the desk's leg was refused after it (or the desk crashed between).
    const quoted = await d.askQuote();
    const leg = await d.signLeg(d.parse(quoted.body.quote), { nonce: BigInt(quoted.body.payment.message.nonce) });
    const accepted = await d.call("/v1/payments", leg);
    expect(accepted.status, accepted.text).to.equal(201);
    const pay = accepted.body.id as Hex;
    await escrowStored(d, "USD", [pay]);
    expect((await mirror.runOnce()).sent, "within the grace the desk's leg may still come").to.deep.equal([]);

    clock.advance(61_000);
    // Another instance mirrors: this one sends nothing.
    const other = await d.api.store.leases.acquire("fx-mirror", "fx-mirror:other", 60_000, clock.now(), "test");
    expect(other).to.not.equal(null);
    expect(await mirror.runOnce()).to.deep.equal({ sent: [], failed: [], leader: false });
    await d.api.store.leases.release("fx-mirror", "fx-mirror:other", other!.epoch);

    const before = await usdBalance();
    const pass = await mirror.runOnce();
    expect(pass.sent.map((s) => [s.kind, s.paymentId])).to.deep.equal([["refund_pay_leg", pay]]);
    expect(pass.sent[0].txHash).to.match(/^0x[0-9a-f]{64}$/);
    await applyChain(d, "USD");
    const refunded = (await d.api.store.payments.get(pay))!;
    expect([refunded.state, refunded.refunded]).to.deep.equal([PaymentState.Refunded, PAY]);
    expect((await usdBalance()) - before).to.equal(PAY);
    expect((await mirror.runOnce()).sent).to.deep.equal([]);
  });

  it("runs on the app's timer: a lone pay leg comes back without anyone calling it", async () => {
    const { d, clock, usdBalance } = await setUp(50);
    const quoted = await d.askQuote();
    const leg = await d.signLeg(d.parse(quoted.body.quote), { nonce: BigInt(quoted.body.payment.message.nonce) });
    const accepted = await d.call("/v1/payments", leg);
    expect(accepted.status, accepted.text).to.equal(201);
    const id = accepted.body.id as Hex;
    const before = await usdBalance();
    await escrowStored(d, "USD", [id]);
    clock.advance(61_000);
    await waitFor("the timer's refund", async () => {
      await applyChain(d, "USD");
      return (await d.api.store.payments.get(id))!.state === PaymentState.Refunded;
    });
    expect(await usdBalance(), "what the traveller paid came back").to.equal(before);
    expect(d.logs.some((line) => line.includes("fx mirror action sent"))).to.equal(true);
  });

  it("reports what the escrow refuses, and tries it again only once its time is up", async () => {
    const { d, mirror, clock } = await setUp();
    const { pay, settle } = await escrowedPair(d);
    // The desk merchant's owner moves to another key: the desk key's refund signature no longer counts.
    const [deployer] = await ethers.getSigners();
    const registry = MerchantRegistry__factory.connect(d.api.record.contracts.MerchantRegistry.address, deployer);
    const successor = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await rpc("hardhat_setBalance", [successor.address, HUNDRED_ETH]);
    await (await registry.connect(d.desk).rotateOwner(1n, successor.address)).wait();
    await (await registry.connect(successor).acceptOwner(1n)).wait();

    const settleLeg = await onChain(d, settle);
    await escrowOn(d, "EUR", d.owner).refund(settleLeg.fields, settleLeg.inclusion, SETTLE);
    await applyChain(d, "EUR");
    const refused = await mirror.runOnce();
    expect(refused.sent).to.deep.equal([]);
    expect(refused.failed).to.deep.equal([{ kind: "refund_pay_leg", paymentId: pay, code: "invalid_signature" }]);
    expect((await mirror.runOnce()).failed, "not again at once").to.deep.equal([]);
    clock.advance(601_000);
    expect(
      (await mirror.runOnce()).failed.map((f) => f.code),
      "again once its time is up",
    ).to.deep.equal(["invalid_signature"]);
    expect((await d.api.store.payments.get(pay))!.refunded).to.equal(0n);
    const metrics = await (await fetch(`${d.api.url}/metrics`)).text();
    expect(metrics).to.include('relayer_fx_mirror_actions_total{action="refund_pay_leg",result="invalid_signature"} 2');
    // The refusal is logged, and the desk's key is not.
    const logged = d.logs.filter((line) => line.includes("fx mirror action refused"));
    expect(logged).to.have.length(2);
    expect(d.logs.join("\n").toLowerCase()).to.not.include(d.desk.privateKey.slice(2).toLowerCase());
  });
});
