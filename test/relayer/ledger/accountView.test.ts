/**
 * One view of a payer for everything the API decides: GET /v1/accounts/:address shows the view
 * intake admits payments against (the PayerLedger, fed by the chain watcher), and a relayed
 * withdrawal is reserved in it from the moment it is sent. On the in-process chain, with the
 * relayer's own ledger and watcher:
 *  - right after a deposit the endpoint and intake agree (both before the watcher applies it, and
 *    both after);
 *  - right after the relayer relays a full withdrawal, a payment against the money on its way out
 *    is refused (it would be rejected on chain), as is a payment reusing the withdrawal's nonce.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ChainClient } from "../../../src/relayer/chain/client";
import type { Hex } from "../../../src/relayer/domain";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import { createPipeline, type Pipeline } from "../../../src/relayer/jobs";
import { CURSOR_NAME } from "../../../src/relayer/jobs/chainWatcher";
import { PayerLedger } from "../../../src/relayer/ledger/payerLedger";
import { CUSTOMER_DEPOSIT, deployEscrowFixture, fundCustomer, signWithdrawal, usd } from "../../escrow/fixtures";
import { withdrawalBody } from "../../../src/sdk/wire";
import { signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { TEST_CONFIG, connectFreshSigner, startRpcBridge, type RpcBridge } from "../helpers/chain";

describe("payer ledger: the account endpoint, intake and relayed withdrawals share one view", function () {
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

  /** The API and the watcher on one ledger, as src/relayer/server.ts wires them. */
  async function start(): Promise<void> {
    const f = await loadFixture(deployEscrowFixture);
    const escrow = (await f.escrow.getAddress()) as Hex;
    const reader = await EthersChainView.connect({ provider: ethers.provider, escrow, accountCacheMs: 0 });
    const head = (await ethers.provider.getBlock("latest"))!;
    const ledger = new PayerLedger({
      reader,
      payments: { pendingOf: (payer) => h.store.payments.pendingOf(payer) }, // h: started next
      block: BigInt(head.number),
      startBlock: 0n, // the escrow exists at every block the ledger reads
    });
    h = await startApi({ deps: { accounts: ledger } });
    await h.store.chainCursor.set(CURSOR_NAME, BigInt(head.number), head.hash as Hex);
    bridge = await startRpcBridge();
    ({ chain } = await connectFreshSigner(bridge, f, BigInt(head.number) + 1n));
    pipeline = createPipeline({
      store: h.store,
      chain,
      config: TEST_CONFIG,
      clock: { now: h.clock },
      ledger,
      batchAccounts: ledger,
    });
  }

  const account = async (address: string) => (await h.request("GET", `/v1/accounts/${address}`)).body;

  it("after a deposit: the endpoint shows what intake admits against, before and after the watcher applies it", async function () {
    await start();
    const customer = h.f.customers[0];
    expect((await account(customer.address)).available).to.equal(CUSTOMER_DEPOSIT.toString());

    await fundCustomer(h.f, customer, usd(500)); // mined, not yet applied by the watcher
    const before = await account(customer.address);
    expect(before.balance).to.equal(CUSTOMER_DEPOSIT.toString());
    expect(before.available).to.equal(CUSTOMER_DEPOSIT.toString());
    const { body } = await signedPayment(h, 0, { amount: CUSTOMER_DEPOSIT + usd(1), nonce: 0n });
    const refused = await h.request("POST", "/v1/payments", { body });
    expect([refused.status, refused.body.error.code]).to.deep.equal([409, "insufficient_balance"]);

    await pipeline.watcher.tick();
    const after = await account(customer.address);
    expect(after.balance).to.equal((CUSTOMER_DEPOSIT + usd(500)).toString());
    expect(after.available).to.equal((CUSTOMER_DEPOSIT + usd(500)).toString());
    const accepted = await h.request("POST", "/v1/payments", { body });
    expect(accepted.status, accepted.text).to.equal(201);
    expect((await account(customer.address)).available).to.equal(usd(499).toString());
  });

  it("after the relayer relays a full withdrawal: a payment against it is refused, and its nonce is taken, until and after the watcher applies it", async function () {
    await start();
    const customer = h.f.customers[1];
    const deadline = BigInt(Math.floor(h.clock() / 1000)) + 3600n;
    const w = {
      payer: customer.address as Hex,
      to: h.f.stranger.address as Hex,
      amount: CUSTOMER_DEPOSIT,
      nonce: 0n,
      deadline,
    };
    const withdrawal = await h.request("POST", "/v1/withdrawals", {
      body: withdrawalBody({ withdrawal: w, signature: await signWithdrawal(h.f, customer, w) }),
    });
    expect(withdrawal.status, withdrawal.text).to.equal(202);
    expect(await h.f.escrow.balanceOf(customer.address)).to.equal(0n); // executed, not yet applied

    const inFlight = await account(customer.address);
    expect(inFlight.balance).to.equal(CUSTOMER_DEPOSIT.toString());
    expect(inFlight.pending).to.equal(CUSTOMER_DEPOSIT.toString());
    expect(inFlight.available).to.equal("0");
    expect(inFlight.nextNonces[0]).to.equal("1");

    const small = await signedPayment(h, 1, { amount: usd(1), nonce: 1n });
    const refused = await h.request("POST", "/v1/payments", { body: small.body });
    expect([refused.status, refused.body.error.code]).to.deep.equal([409, "insufficient_balance"]);
    const sameNonce = await signedPayment(h, 1, { amount: usd(1), nonce: 0n });
    const taken = await h.request("POST", "/v1/payments", { body: sameNonce.body });
    expect([taken.status, taken.body.error.code]).to.deep.equal([409, "nonce_unavailable"]);

    await pipeline.watcher.tick();
    const applied = await account(customer.address);
    expect([applied.balance, applied.pending, applied.available]).to.deep.equal(["0", "0", "0"]);
    expect((await h.request("POST", "/v1/payments", { body: small.body })).status).to.equal(409);
  });
});
