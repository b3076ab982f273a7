/**
 * The chain client: deployment loading, retries of transient RPC failures (a faulty HTTP node in
 * front of the real chain), no retry of reverts, and a pipeline that rides out a flaky node without
 * signing anything twice.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { writeDeployment, type DeploymentRecord } from "../../../src/chain/deployments";
import { connectChain, loadDeploymentAddresses } from "../../../src/relayer/chain/client";
import { ChainUnavailableError, backoffDelay, classifyRpcError } from "../../../src/relayer/chain/rpcErrors";
import { PaymentState, SubmissionState } from "../../../src/relayer/domain";
import { escrowInterface } from "../../../src/relayer/chain/calldata";
import { DEFAULTS } from "../../../src/relayer/config";
import { FAST_RETRY, statesOf, tickUntil, usePipelineFixture, type PipelineFixture } from "../helpers/chain";

const randomHash = () => ethers.hexlify(ethers.randomBytes(32));
const randomAddress = () => ethers.Wallet.createRandom().address;

function deploymentRecord(fx: PipelineFixture, chainId: number): DeploymentRecord {
  const contract = (address: string) => ({
    address,
    txHash: randomHash(),
    blockNumber: Number(fx.addresses.startBlock),
    constructorArgs: [],
  });
  return {
    schemaVersion: 2,
    network: "pipelinetest",
    chainId,
    deployer: fx.admin.address,
    deployedAt: new Date().toISOString(),
    blockNumber: Number(fx.addresses.startBlock),
    feeRecipient: fx.feeRecipient.address,
    contracts: {
      MerchantRegistry: contract(fx.addresses.registry),
      CustomerFunds: contract(randomAddress()),
      PaymentLifecycle: contract(randomAddress()),
      Settlement: contract(randomAddress()),
    },
    currencies: [
      {
        code: "USD",
        symbol: "spUSD",
        decimals: 6,
        token: contract(fx.addresses.token),
        escrow: { ...contract(fx.addresses.escrow), libraries: {} },
        roles: {
          token: {},
          escrow: { DEFAULT_ADMIN_ROLE: fx.admin.address, ARBITER_ROLE: fx.arbiter.address },
        },
      },
    ],
    roles: {
      MerchantRegistry: { DEFAULT_ADMIN_ROLE: fx.admin.address, REGISTRAR_ROLE: fx.registrar.address },
    },
  };
}

describe("relayer pipeline: chain client and RPC faults", function () {
  let dir: string | null = null;

  afterEach(async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });
  const setup = usePipelineFixture();

  it("loads the deployment file and refuses a node that serves another chain", async () => {
    const fx = await setup();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-deploy-"));
    const file = writeDeployment(deploymentRecord(fx, Number(fx.chainId)), dir);
    // The record says the token was deployed (not external) at its block: the blocklist book starts there.
    expect(loadDeploymentAddresses(file)).to.deep.equal({
      ...fx.addresses,
      startBlock: fx.addresses.startBlock,
      tokenStartBlock: fx.addresses.startBlock,
      currencies: [{ ...fx.addresses.currencies[0], tokenStartBlock: fx.addresses.startBlock }],
    });
    const client = await connectChain({ rpcUrl: fx.bridge.url, deployment: file, signerKey: fx.relayerKey });
    expect(await client.escrow.batchCount()).to.equal(0n);
    client.provider.destroy();

    const foreign = writeDeployment({ ...deploymentRecord(fx, 5), network: "foreign" }, dir);
    let error: Error | null = null;
    await connectChain({ rpcUrl: fx.bridge.url, deployment: foreign, signerKey: fx.relayerKey }).catch(
      (e: Error) => (error = e),
    );
    expect(error!.message).to.match(/serves chain 31337, the deployment is for chain 5/);
    expect(() => loadDeploymentAddresses(path.join(dir!, "missing.json"))).to.throw(/does not exist/);

    // A chain that was reset: nothing at a recorded escrow address, the default's or another currency's.
    const [usd] = fx.addresses.currencies;
    const moved = randomAddress();
    const empty = { ...fx.addresses, escrow: moved, currencies: [{ ...usd, escrow: moved }] };
    const eurGone = { ...fx.addresses, currencies: [usd, { ...usd, code: "EUR", escrow: randomAddress() }] };
    for (const [deployment, code] of [
      [empty, "USD"],
      [eurGone, "EUR"],
    ] as const) {
      error = null;
      await connectChain({ rpcUrl: fx.bridge.url, deployment, signerKey: fx.relayerKey }).catch(
        (e: Error) => (error = e),
      );
      expect(error!.message).to.match(new RegExp(`no code at the deployment's ${code} PaymentEscrow`));
    }
  });

  it("retries transient failures with backoff, gives up after the configured attempts, never retries a revert", async () => {
    const fx = await setup();
    const retried: string[] = [];
    const client = await connectChain({
      rpcUrl: fx.bridge.url,
      deployment: fx.addresses,
      signerKey: fx.relayerKey,
      retry: FAST_RETRY,
      onRpcRetry: (label) => retried.push(label),
      timeoutMs: 1_500,
    });
    try {
      fx.bridge.failNext(2, 503);
      expect(await client.blockNumber()).to.equal(BigInt(await ethers.provider.getBlockNumber()));
      expect(retried).to.deep.equal(["eth_blockNumber", "eth_blockNumber"]);

      // A stalled node: the request times out, counts as transient, and the retry gets through.
      retried.length = 0;
      fx.bridge.stallNext(1, 20_000);
      const started = Date.now();
      await client.blockNumber();
      expect(Date.now() - started).to.be.below(10_000);
      expect(retried.length).to.be.at.least(1);
      expect(new Set(retried)).to.deep.equal(new Set(["eth_blockNumber"]));

      fx.bridge.failNext(FAST_RETRY.attempts!, 502);
      let error: unknown = null;
      await client.blockNumber().catch((e) => (error = e));
      expect(error).to.be.instanceOf(ChainUnavailableError);
      expect((error as ChainUnavailableError).attempts).to.equal(FAST_RETRY.attempts);

      // NothingToClaim: a revert fails at once, one request.
      const before = fx.bridge.calls.filter((m) => m === "eth_estimateGas").length;
      error = null;
      await client
        .estimateGas(fx.addresses.escrow, escrowInterface.encodeFunctionData("claim", [1n]))
        .catch((e) => (error = e));
      expect(classifyRpcError(error)).to.equal("revert");
      expect(fx.bridge.calls.filter((m) => m === "eth_estimateGas").length - before).to.equal(1);
    } finally {
      client.provider.destroy();
    }
  });

  it("a broadcast lost to an outage is recorded, re-broadcast on the next tick, and mined once", async () => {
    const fx = await setup();
    const payments = await fx.accept([{ payer: fx.customers[0] }, { payer: fx.customers[1] }]);
    const pipeline = fx.pipeline();
    await pipeline.submitter.reconcile();
    await pipeline.batcher.tick();
    fx.bridge.failMethod("eth_sendRawTransaction", FAST_RETRY.attempts!);
    await pipeline.submitter.tick();
    const [recorded] = await fx.store.submissions.listPending();
    expect(await fx.chain.transaction(recorded.txHash), "never reached the node").to.equal(null);
    expect(await statesOf(fx.store, payments)).to.deep.equal([PaymentState.Submitted, PaymentState.Submitted]);

    // More faults on the way: every job retries through them.
    fx.bridge.failNext(3, 503);
    await tickUntil(
      pipeline,
      "escrowed",
      async () =>
        (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed) &&
        (await fx.store.submissions.listPending()).length === 0,
    );
    const all = await fx.store.submissions.listByPurpose(recorded.purpose);
    expect(all.map((s) => [s.txHash, s.state])).to.deep.equal([[recorded.txHash, SubmissionState.Mined]]);
    expect(fx.logger.has("warn", "node lost a pending transaction")).to.equal(true);
    expect(await fx.escrow.batchCount()).to.equal(1n);
  });

  it("classifies node errors across clients and backs off exponentially within the DEFAULTS", () => {
    const cases: [unknown, string][] = [
      [{ message: "nonce too low: next nonce 5, tx nonce 4" }, "nonce_too_low"],
      [{ code: "NONCE_EXPIRED", message: "nonce has already been used" }, "nonce_too_low"],
      [{ error: { code: -32010, message: "OldNonce" } }, "nonce_too_low"],
      [{ info: { error: { code: -32000, message: "already known" } } }, "already_known"],
      [{ info: { error: { message: "Known transaction: 0xabc" } } }, "already_known"],
      [{ message: "replacement transaction underpriced" }, "replacement_underpriced"],
      [{ code: "REPLACEMENT_UNDERPRICED" }, "replacement_underpriced"],
      [{ message: "nonce too high" }, "nonce_too_high"],
      [{ code: "INSUFFICIENT_FUNDS" }, "insufficient_funds"],
      [{ code: "CALL_EXCEPTION", message: "execution reverted" }, "revert"],
      [{ code: "NETWORK_ERROR" }, "transient"],
      [{ code: "TIMEOUT" }, "transient"],
      [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:8545" }, "transient"],
      [{ code: "SERVER_ERROR", message: "server response 503 Service Unavailable" }, "transient"],
      [{ info: { error: { code: -32000, message: "header not found" } } }, "transient"],
      [{ message: "429 Too Many Requests" }, "transient"],
      [{ message: "invalid sender" }, "fatal"],
    ];
    for (const [error, kind] of cases) expect(classifyRpcError(error), JSON.stringify(error)).to.equal(kind);

    const policy = DEFAULTS.rpcRetry;
    const delays = [1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(attempt, policy, () => 1));
    expect(delays).to.deep.equal([200, 400, 800, 1_600, 3_200, 5_000]);
    expect(backoffDelay(3, policy, () => 0)).to.equal(400);
  });
});
