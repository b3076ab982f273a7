/**
 * The chain jobs per currency (src/relayer/roles/jobs.ts): one worker serving USD and EUR of one
 * deployment (the deploy script's two escrows over one registry) batches and settles each
 * currency's payments on that currency's escrow, with the signer key dealt to that currency, and
 * names the EUR jobs' lease and cursors for it while USD keeps the single-currency names.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { Wallet, type Signer } from "ethers";
import { deploy } from "../../../src/chain/deployToNetwork";
import { escrowDomain, ethersTypes, paymentId, paymentTypes, type Address, type Payment } from "../../../src/protocol";
import { BatchState, PaymentState, SignatureKind, type Hex, type PaymentRecord } from "../../../src/relayer/domain";
import { loadConfig } from "../../../src/relayer/config";
import { startJobs, type RunningJobs } from "../../../src/relayer/roles/jobs";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { Readiness } from "../../../src/relayer/runtime/readiness";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { makePayment } from "../store/helpers";
import {
  HUNDRED_ETH,
  MemoryLogger,
  advanceChainTime,
  latestTimestamp,
  rpc,
  startRpcBridge,
  waitFor,
  type RpcBridge,
} from "../helpers/chain";

const HOLD = 60n;
const AMOUNT = 5_000_000n;
const PER_CURRENCY = 3;

interface Currency {
  code: string;
  escrow: PaymentEscrow;
  token: SettlementToken;
  escrowAddress: Address;
  key: Wallet;
}

describe("relayer jobs per currency (USD and EUR on one worker)", function () {
  this.timeout(180_000);

  let dir: string;
  let bridge: RpcBridge | null = null;
  let jobs: RunningJobs | null = null;

  afterEach(async () => {
    await jobs?.stop();
    jobs = null;
    await bridge?.close();
    bridge = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("batches, escrows and settles each currency's payments on its own escrow, sent by its own signer", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-currencies-"));
    const { record, file } = await deploy(hre, { dir, currencies: ["USD", "EUR"], log: () => undefined });
    const [deployer] = await ethers.getSigners();
    const registry = MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, deployer);
    const merchantOwner = Wallet.createRandom();
    const payout = Wallet.createRandom();
    await (
      await registry.registerMerchant(merchantOwner.address, payout.address, 250, HOLD, 86_400, ethers.ZeroHash)
    ).wait();
    const merchantId = 1n;

    // A key per currency: RELAYER_PRIVATE_KEYS deals key 1 to USD, key 2 to EUR.
    const keys = [0, 1].map(() => new Wallet(Wallet.createRandom().privateKey));
    for (const key of keys) await rpc("hardhat_setBalance", [key.address, HUNDRED_ETH]);
    const currencies: Currency[] = record.currencies.map((c, i) => ({
      code: c.code,
      escrow: PaymentEscrow__factory.connect(c.escrow.address, deployer),
      token: SettlementToken__factory.connect(c.token.address, deployer),
      escrowAddress: c.escrow.address as Address,
      key: keys[i],
    }));
    expect(currencies.map((c) => c.code)).to.deep.equal(["USD", "EUR"]);

    // Customers funded in each currency: minted, approved and deposited into each escrow.
    const customers = Array.from({ length: 2 }, () => new Wallet(Wallet.createRandom().privateKey, ethers.provider));
    for (const c of currencies) {
      await (await c.token.configureMinter(deployer.address, AMOUNT * 100n)).wait();
      for (const customer of customers) {
        await rpc("hardhat_setBalance", [customer.address, HUNDRED_ETH]);
        await (await c.token.mint(customer.address, AMOUNT * 10n)).wait();
        await (await c.token.connect(customer).approve(c.escrowAddress, AMOUNT * 10n)).wait();
        await (await c.escrow.connect(customer).deposit(AMOUNT * 10n)).wait();
      }
    }

    bridge = await startRpcBridge();
    const config = loadConfig({
      RPC_URL: bridge.url,
      DEPLOYMENTS_FILE: file!,
      RELAYER_DB: path.join(dir, "relayer.sqlite"),
      RELAYER_ROLE: "worker",
      RELAYER_CURRENCIES: "USD,EUR",
      RELAYER_PRIVATE_KEYS: keys.map((k) => k.privateKey).join(","),
      BATCH_MAX_AGE_MS: "0",
      POLL_INTERVAL_MS: "25",
      SETTLE_INTERVAL_MS: "25",
      LEASE_TTL_MS: "1000",
      CONFIRMATIONS: "1",
    });
    const log = new MemoryLogger();
    jobs = await startJobs(config, {
      holder: "currencies-test",
      role: "worker",
      log,
      metrics: createMetrics({ defaultMetrics: false }),
      readiness: new Readiness(),
      logSettings: false,
    });
    const running = jobs;
    expect([...running.currencies.keys()]).to.deep.equal(["USD", "EUR"]);
    expect(running.worker).to.equal(running.currencies.get("USD")!.worker);
    expect(running.currencies.get("EUR")!.chain.addresses.escrow).to.equal(currencies[1].escrowAddress);
    const lane = (key: Wallet) => `lane:${key.address.toLowerCase()}`;
    await waitFor("every lease taken", async () => running.heldLeases().length === 4);
    expect(running.currencies.get("USD")!.worker.heldLeases()).to.deep.equal(["jobs", lane(keys[0])]);
    expect(running.currencies.get("EUR")!.worker.heldLeases()).to.deep.equal(["jobs:EUR", lane(keys[1])]);

    // Payments signed under each currency's escrow domain, stored accepted as intake stores them.
    const now = await latestTimestamp();
    let created = 0;
    const accepted = new Map<string, PaymentRecord[]>();
    for (const c of currencies) {
      const domain = escrowDomain(BigInt(record.chainId), c.escrowAddress);
      const records: PaymentRecord[] = [];
      for (let i = 0; i < PER_CURRENCY; i++) {
        const customer = customers[i % customers.length];
        created++;
        const payment: Payment = {
          payer: customer.address as Address,
          merchantId,
          amount: AMOUNT,
          orderRef: ethers.zeroPadValue(ethers.toBeHex(0x7000_0000n + BigInt(created)), 32) as Hex,
          nonce: BigInt(Math.floor(i / customers.length)),
          validAfter: 0n,
          deadline: now + 86_400n,
          hold: HOLD,
        };
        const signature = (await (customer as Signer).signTypedData(domain, ethersTypes(paymentTypes), payment)) as Hex;
        const at = Date.now() + created;
        records.push(
          makePayment(created, {
            ...payment,
            currency: c.code,
            id: paymentId(domain, payment).toLowerCase() as Hex,
            payer: customer.address.toLowerCase() as Hex,
            signature,
            signatureKind: SignatureKind.Ecdsa,
            createdAt: at,
            updatedAt: at,
          }),
        );
      }
      await running.store.forCurrency(c.code).payments.insertAccepted(records);
      accepted.set(c.code, records);
    }

    const statesIn = async (code: string) =>
      Promise.all(accepted.get(code)!.map(async (p) => (await running.store.payments.get(p.id))!.state));
    const all = (code: string, state: PaymentState) => async () => (await statesIn(code)).every((s) => s === state);
    for (const c of currencies)
      await waitFor(`${c.code} payments escrowed`, all(c.code, PaymentState.Escrowed), 60_000);
    // The watcher escrows the payments from the chain's events; the batch record turns confirmed when
    // the lane that sent it handles the receipt, which may come a tick later.
    const confirmedIn = (code: string) => running.store.forCurrency(code).batches.listByState([BatchState.Confirmed]);
    for (const c of currencies)
      await waitFor(`${c.code} batch confirmed`, async () => (await confirmedIn(c.code)).length > 0, 60_000);

    for (const c of currencies) {
      // Each currency's payments, and only they, escrowed on its escrow; its batch 1 sent by its key.
      const escrowed = await c.escrow.queryFilter(c.escrow.filters.PaymentEscrowed());
      expect(escrowed.map((e) => e.args.paymentId.toLowerCase()).sort(), c.code).to.deep.equal(
        accepted
          .get(c.code)!
          .map((p) => p.id)
          .sort(),
      );
      for (const event of escrowed) {
        const tx = await ethers.provider.getTransaction(event.transactionHash);
        expect(tx!.from, `${c.code} batch sender`).to.equal(c.key.address);
      }
      const batches = await confirmedIn(c.code);
      expect(
        batches.map((b) => [b.currency, b.batchId]),
        c.code,
      ).to.deep.equal([[c.code, 1n]]);
    }
    // The two batch 1s coexist in the store, one per currency.
    const confirmed = await running.store.batches.listByState([BatchState.Confirmed]);
    expect(confirmed.map((b) => `${b.currency}:${b.batchId}`).sort()).to.deep.equal(["EUR:1", "USD:1"]);

    // After the hold each currency's settler pays the merchant in its token.
    await advanceChainTime(HOLD + 1n);
    for (const c of currencies) await waitFor(`${c.code} payments settled`, all(c.code, PaymentState.Settled), 60_000);
    for (const c of currencies) {
      const paid = await c.escrow.queryFilter(c.escrow.filters.MerchantPaid());
      expect(paid.length, `${c.code} MerchantPaid`).to.be.greaterThan(0);
      const total = paid.reduce((sum, e) => sum + e.args.amount, 0n);
      expect(await c.token.balanceOf(payout.address), `${c.code} payout balance`).to.equal(total);
      expect(total, c.code).to.be.greaterThan(0n);
      expect(total, c.code).to.be.at.most(AMOUNT * BigInt(PER_CURRENCY));
      for (const event of paid) {
        const tx = await ethers.provider.getTransaction(event.transactionHash);
        expect(tx!.from, `${c.code} settlement sender`).to.equal(c.key.address);
      }
    }

    // The EUR jobs keep their cursors under names of their own; USD keeps the single-currency ones.
    expect(await running.store.chainCursor.get("escrow")).to.not.equal(null);
    expect(await running.store.chainCursor.get("escrow:EUR")).to.not.equal(null);
    expect(log.lines.filter((l) => l.level === "error").map((l) => l.msg)).to.deep.equal([]);
  });
});
