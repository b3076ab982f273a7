/**
 * A signer without ETH for gas, on the real chain: the node's refusal is recognised (Hardhat's
 * "Sender doesn't have enough funds", which ethers cannot coalesce), reported once (one error line,
 * the insufficient_funds failure metric, GET /ready 503 with reason signer_unfunded), sends back off
 * exponentially instead of failing every tick, and everything resumes by itself once it is funded.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import type { ChainClient } from "../../../src/relayer/chain/client";
import { SignerUnfundedError, classifyRpcError } from "../../../src/relayer/chain/rpcErrors";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { createPipeline, type Pipeline } from "../../../src/relayer/jobs";
import { UNFUNDED_BACKOFF_MS } from "../../../src/relayer/jobs/submitter";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { Readiness } from "../../../src/relayer/runtime/readiness";
import { signedPayment, startApi, type ApiHarness } from "../helpers/api";
import {
  HUNDRED_ETH,
  ManualClock,
  MemoryLogger,
  TEST_CONFIG,
  connectFreshSigner,
  rpc,
  startRpcBridge,
  type RpcBridge,
} from "../helpers/chain";

describe("relayer pipeline: a signer without ETH for gas", function () {
  let h: ApiHarness;
  let bridge: RpcBridge;
  let chain: ChainClient;
  let pipeline: Pipeline;

  afterEach(async () => {
    await pipeline?.stop();
    chain?.provider.destroy();
    await bridge?.close();
    await h?.close();
  });

  it("classifies the nodes' wordings of it", function () {
    for (const message of [
      "Sender doesn't have enough funds to send tx. The max upfront cost is: 1 and the sender's balance is: 0.",
      "insufficient funds for gas * price + value: balance 0, tx cost 1",
      "InsufficientFunds, Balance is 0 less than sending value + gas 1",
      "Upfront cost exceeds account balance",
    ]) {
      expect(classifyRpcError({ code: "UNKNOWN_ERROR", error: { code: -32000, message } }), message).to.equal(
        "insufficient_funds",
      );
    }
  });

  it("reports it once, fails readiness, backs off, and resumes by itself once funded", async function () {
    const metrics = createMetrics({ defaultMetrics: false });
    const readiness = new Readiness();
    h = await startApi({ deps: { readiness, metrics } });
    bridge = await startRpcBridge();
    let signer: { address: string };
    ({ chain, signer } = await connectFreshSigner(bridge, h.f, BigInt(await ethers.provider.getBlockNumber()) + 1n));
    const logger = new MemoryLogger();
    const clock = new ManualClock(h.clock());
    pipeline = createPipeline({ store: h.store, chain, config: TEST_CONFIG, clock, logger, metrics, readiness });

    expect((await h.request("GET", "/ready")).status).to.equal(200);
    const { body } = await signedPayment(h, 0);
    const created = await h.request("POST", "/v1/payments", { body });
    expect(created.status, created.text).to.equal(201);
    const id = created.body.id as Hex;
    clock.advance(1_000); // the batcher's clock is past the payment's arrival

    await rpc("hardhat_setBalance", [signer.address, "0x0"]);
    const sends = () => bridge.calls.filter((m) => m === "eth_sendRawTransaction").length;
    /** One pass of the jobs; a refused send surfaces as the submitter's error, already reported. */
    const tick = () =>
      pipeline.tick().catch((error: unknown) => {
        if (!(error instanceof SignerUnfundedError)) throw error;
      });
    await tick();
    expect(sends()).to.equal(1);
    expect((await h.store.payments.get(id))!.state).to.equal(PaymentState.Batched);

    const errors = () => logger.lines.filter((l) => l.level === "error");
    expect(errors().map((l) => l.msg)).to.deep.equal(["signer has no ETH for gas: nothing is sent until it is funded"]);
    const line = errors()[0].obj as Record<string, unknown>;
    expect(line.signer).to.equal(chain.address);
    expect(line.balanceWei).to.equal("0");
    expect(String(line.node)).to.match(/enough funds/);
    const logged = JSON.stringify(logger.lines, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    expect(logged).not.to.match(/could not coalesce|0x02f9/);

    const notReady = await h.request("GET", "/ready");
    expect(notReady.status).to.equal(503);
    expect(notReady.body.error.code).to.equal("not_ready");
    expect(notReady.body.error.details.reasons).to.deep.equal(["signer_unfunded"]);
    const scraped = (await h.request("GET", "/metrics")).text;
    expect(scraped).to.include('relayer_failures_total{component="submitter",reason="insufficient_funds"} 1');
    expect(scraped).to.include('relayer_not_ready{reason="signer_unfunded"} 1');

    // Backing off: no send until the delay has passed, then one; the next delay is twice as long.
    for (let i = 0; i < 5; i++) await tick();
    expect(sends()).to.equal(1);
    clock.advance(UNFUNDED_BACKOFF_MS.base);
    await tick();
    expect(sends()).to.equal(2);
    clock.advance(UNFUNDED_BACKOFF_MS.base);
    await tick();
    expect(sends()).to.equal(2);
    clock.advance(UNFUNDED_BACKOFF_MS.base);
    await tick();
    expect(sends()).to.equal(3);
    expect(errors()).to.have.length(1);

    // Funded: the next tick sees the balance grow and sends without waiting for the backoff.
    await rpc("hardhat_setBalance", [signer.address, HUNDRED_ETH]);
    for (let i = 0; i < 20 && (await h.store.payments.get(id))!.state !== PaymentState.Escrowed; i++) {
      await tick();
    }
    expect((await h.store.payments.get(id))!.state).to.equal(PaymentState.Escrowed);
    expect(sends()).to.equal(4);
    expect(logger.has("info", "signer funded again")).to.equal(true);
    const ready = await h.request("GET", "/ready");
    expect(ready.status, ready.text).to.equal(200);
    expect((await h.request("GET", "/metrics")).text).not.to.include('relayer_not_ready{reason="signer_unfunded"} 1');
  });
});
