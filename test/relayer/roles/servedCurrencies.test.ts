/**
 * Roles all and api serving two currencies (src/relayer/server.ts): the deploy script's USD and EUR
 * escrows over one registry, RELAYER_CURRENCIES=USD,EUR, one signer key per currency. What the API
 * is given per currency (`served`, buildApp's ServedCurrencyDeps) is that currency's:
 *  - role all: the jobs thread's ledger of EUR, mirrored, sees EUR deposits and not USD ones; a
 *    withdrawal relayed for EUR is sent on the EUR lanes (EUR key) to the EUR escrow; one signed for
 *    the USD escrow is refused by the EUR escrow's simulation; recovery is under the EUR domain;
 *  - role api (PostgreSQL, with a worker): the EUR follower's ledger sees EUR deposits; a relayed
 *    withdrawal for EUR is queued under EUR and sent by the EUR worker's lane to the EUR escrow;
 *  - the first served currency must be the record's default (the app's `chain`) in both roles.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { Wallet } from "ethers";
import { deploy } from "../../../src/chain/deployToNetwork";
import {
  escrowDomain,
  ethersTypes,
  paymentId,
  paymentTypes,
  type Address,
  type Payment,
  type Withdrawal,
} from "../../../src/protocol";
import { fromEthersSigner, signWithdrawal } from "../../../src/sdk";
import type { Hex } from "../../../src/relayer/domain";
import { RelayState } from "../../../src/relayer/domain";
import { ApiError } from "../../../src/relayer/errors";
import { loadConfig, type RelayerEnv } from "../../../src/relayer/config";
import { relayCalls, relayRequestId } from "../../../src/relayer/jobs/relayWriter";
import { WorkerRecovery } from "../../../src/relayer/intake/signaturePool";
import { startRelayer, type RunningRelayer } from "../../../src/relayer/server";
import type { ServedCurrencyDeps } from "../../../src/relayer/app";
import { freshSchema } from "../../../src/localnet/postgres";
import { PaymentEscrow__factory, SettlementToken__factory, type PaymentEscrow } from "../../../typechain-types";
import { HUNDRED_ETH, latestTimestamp, rpc, startRpcBridge, waitFor, type RpcBridge } from "../helpers/chain";
import { postgresTestDatabase } from "../store/stores";

const UNIT = 1_000_000n;

interface Deployed {
  file: string;
  chainId: bigint;
  /** By code: its escrow (connected to the deployer) and the signer key dealt to it. */
  currencies: Map<string, { escrow: PaymentEscrow; address: Address; key: Wallet }>;
  keys: Wallet[];
  /** Mints `amount` of `code`'s token to `to`, who deposits it into that escrow. */
  deposit(code: string, to: Wallet, amount: bigint): Promise<bigint>;
}

async function deployTwo(dir: string): Promise<Deployed> {
  const { record, file } = await deploy(hre, { dir, currencies: ["USD", "EUR"], log: () => undefined });
  const [deployer] = await ethers.getSigners();
  // RELAYER_PRIVATE_KEYS deals key 1 to USD, key 2 to EUR.
  const keys = [0, 1].map(() => new Wallet(Wallet.createRandom().privateKey));
  for (const key of keys) await rpc("hardhat_setBalance", [key.address, HUNDRED_ETH]);
  const currencies = new Map(
    record.currencies.map((c, i) => [
      c.code,
      {
        escrow: PaymentEscrow__factory.connect(c.escrow.address, deployer),
        address: c.escrow.address as Address,
        token: SettlementToken__factory.connect(c.token.address, deployer),
        key: keys[i],
      },
    ]),
  );
  for (const c of currencies.values()) await (await c.token.configureMinter(deployer.address, UNIT * 1_000n)).wait();
  return {
    file: file!,
    chainId: BigInt(record.chainId),
    currencies,
    keys,
    async deposit(code, to, amount) {
      const c = currencies.get(code)!;
      await rpc("hardhat_setBalance", [to.address, HUNDRED_ETH]);
      await (await c.token.mint(to.address, amount)).wait();
      await (await c.token.connect(to.connect(ethers.provider)).approve(c.address, amount)).wait();
      const receipt = await (await c.escrow.connect(to.connect(ethers.provider)).deposit(amount)).wait();
      return BigInt(receipt!.blockNumber);
    },
  };
}

function env(deployed: Deployed, bridge: RpcBridge, extra: Record<string, string>): RelayerEnv {
  return {
    RPC_URL: bridge.url,
    DEPLOYMENTS_FILE: deployed.file,
    RELAYER_CURRENCIES: "USD,EUR",
    RELAYER_PORT: "0",
    POLL_INTERVAL_MS: "25",
    SETTLE_INTERVAL_MS: "25",
    LEASE_TTL_MS: "1000",
    CONFIRMATIONS: "1",
    // One thread: both currencies' payments are recovered on it.
    SIGNATURE_WORKERS: "1",
    ...extra,
  } as RelayerEnv;
}

const servedOf = (relayer: RunningRelayer, code: string): ServedCurrencyDeps =>
  relayer.served.find((s) => s.code === code)!;

/** A signed withdrawal of `amount` from `payer`'s balance in the escrow at `escrow`. */
async function signedWithdrawal(chainId: bigint, escrow: Address, payer: Wallet, amount: bigint, nonce = 0n) {
  const withdrawal: Withdrawal = {
    payer: payer.address as Address,
    to: payer.address as Address,
    amount,
    nonce,
    deadline: (await latestTimestamp()) + 3_600n,
  };
  const signature = await signWithdrawal(fromEthersSigner(payer), {
    domain: escrowDomain(chainId, escrow),
    withdrawal,
  });
  return { withdrawal, signature };
}

/** The transaction's sender and the escrow whose Withdrawn event it emitted (null: none). */
async function withdrawnBy(
  txHash: string,
  escrows: Map<string, { escrow: PaymentEscrow; address: Address }>,
): Promise<{ from: string; currency: string | null }> {
  const receipt = await waitFor("the withdrawal mined", async () => ethers.provider.getTransactionReceipt(txHash));
  const tx = await ethers.provider.getTransaction(txHash);
  for (const [code, { escrow, address }] of escrows) {
    const withdrawn = receipt.logs.filter(
      (l) =>
        l.address.toLowerCase() === address.toLowerCase() &&
        l.topics[0] === escrow.interface.getEvent("Withdrawn").topicHash,
    );
    if (withdrawn.length > 0) return { from: tx!.from, currency: code };
  }
  return { from: tx!.from, currency: null };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: string; status: number } | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    expect(error).to.be.instanceOf(ApiError);
    return { code: (error as ApiError).code, status: (error as ApiError).status };
  }
}

describe("roles all and api serving USD and EUR: each currency's ledger, recovery and writer", function () {
  this.timeout(240_000);

  let dir: string;
  let bridge: RpcBridge | null = null;
  const stops: (() => Promise<unknown>)[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-served-"));
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await bridge?.close();
    bridge = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("role all: the EUR mirror sees EUR deposits only; a EUR withdrawal is sent by the EUR key to the EUR escrow", async () => {
    const deployed = await deployTwo(dir);
    const { chainId, currencies } = deployed;
    const usd = currencies.get("USD")!;
    const eur = currencies.get("EUR")!;
    bridge = await startRpcBridge();
    const relayer = await startRelayer(
      loadConfig(
        env(deployed, bridge, {
          RELAYER_ROLE: "all",
          RELAYER_DB: path.join(dir, "relayer.sqlite"),
          RELAYER_PRIVATE_KEYS: deployed.keys.map((k) => k.privateKey).join(","),
        }),
      ),
      { logger: false },
    );
    stops.push(() => relayer.stop());
    const thread = relayer.jobsThread!;
    expect(thread.currencies).to.deep.equal(["USD", "EUR"]);
    expect(relayer.served.map((s) => [s.code, s.chain.escrow])).to.deep.equal([
      ["USD", usd.address.toLowerCase()],
      ["EUR", eur.address.toLowerCase()],
    ]);
    expect(servedOf(relayer, "EUR").accounts).to.equal(thread.accountsFor("EUR"));
    expect(() => thread.accountsFor("GBP")).to.throw(/not GBP/);

    // Looked at before the deposits: the views cached now must be dropped by each currency's notices.
    const payer = new Wallet(Wallet.createRandom().privateKey);
    const balanceIn = async (code: string) =>
      (await thread.accountsFor(code).view(payer.address.toLowerCase() as Hex)).account.balance;
    expect([await balanceIn("USD"), await balanceIn("EUR")]).to.deep.equal([0n, 0n]);
    await deployed.deposit("EUR", payer, 7n * UNIT);
    await deployed.deposit("USD", payer, 3n * UNIT);
    await waitFor("the EUR deposit in the EUR mirror", async () => (await balanceIn("EUR")) === 7n * UNIT, 20_000);
    await waitFor("the USD deposit in the USD mirror", async () => (await balanceIn("USD")) === 3n * UNIT, 20_000);
    expect(await balanceIn("EUR"), "the USD deposit is not EUR's").to.equal(7n * UNIT);

    // A withdrawal signed for the EUR escrow, relayed for EUR: the EUR lane's key sends it there.
    const { withdrawal, signature } = await signedWithdrawal(chainId, eur.address, payer, 2n * UNIT);
    const sent = await servedOf(relayer, "EUR").writer!.withdrawWithSignature(withdrawal, signature);
    expect(await withdrawnBy(sent.txHash, currencies)).to.deep.equal({ from: eur.key.address, currency: "EUR" });
    await waitFor("the EUR withdrawal applied", async () => (await balanceIn("EUR")) === 5n * UNIT, 20_000);
    expect(await balanceIn("USD")).to.equal(3n * UNIT);

    // Signed for the USD escrow but relayed for EUR: the EUR escrow's simulation refuses it, nothing sent.
    const forUsd = await signedWithdrawal(chainId, usd.address, payer, UNIT, 1n);
    expect(
      await apiError(thread.writerFor("EUR").withdrawWithSignature(forUsd.withdrawal, forUsd.signature)),
    ).to.deep.equal({ code: "invalid_signature", status: 400 });

    // Recovery under each escrow's domain, on the one pool: a payment's id is its currency's digest.
    const payment: Payment = {
      payer: payer.address as Address,
      merchantId: 1n,
      amount: UNIT,
      orderRef: ethers.ZeroHash as Hex,
      nonce: 5n,
      validAfter: 0n,
      deadline: 2_000_000_000n,
      hold: 60n,
    };
    const eurDomain = escrowDomain(chainId, eur.address);
    const paymentSignature = (await payer.signTypedData(eurDomain, ethersTypes(paymentTypes), payment)) as Hex;
    const recovered = await servedOf(relayer, "EUR").recovery!.recover(payment, paymentSignature);
    expect(recovered).to.deep.equal({
      id: paymentId(eurDomain, payment).toLowerCase(),
      signer: payer.address.toLowerCase(),
    });
    const [usdRecovery, eurRecovery] = relayer.served.map((s) => s.recovery as WorkerRecovery);
    expect(usdRecovery.pool).to.equal(eurRecovery.pool);
    expect(eurRecovery.pool.size).to.equal(1);
  });

  it("role all serving EUR first: a request naming no currency is in EUR, stored and judged under EUR", async () => {
    const deployed = await deployTwo(dir);
    bridge = await startRpcBridge();
    const relayer = await startRelayer(
      loadConfig(
        env(deployed, bridge, {
          RELAYER_ROLE: "all",
          RELAYER_CURRENCIES: "EUR,USD",
          RELAYER_DB: path.join(dir, "relayer.sqlite"),
          RELAYER_PRIVATE_KEYS: deployed.keys.map((k) => k.privateKey).join(","),
        }),
      ),
      { logger: false },
    );
    stops.push(() => relayer.stop());
    const listed = (await (await fetch(`${relayer.url}/v1/currencies`)).json()) as {
      items: { code: string; default: boolean; served: boolean }[];
    };
    expect(listed.items.map((c) => [c.code, c.default, c.served])).to.deep.equal([
      ["USD", false, true],
      ["EUR", true, true],
    ]);
    const payer = new Wallet(Wallet.createRandom().privateKey);
    await deployed.deposit("EUR", payer, 7n * UNIT);
    await deployed.deposit("USD", payer, 2n * UNIT);
    const account = async (query = "") =>
      (await (await fetch(`${relayer.url}/v1/accounts/${payer.address}${query}`)).json()) as {
        currency: string;
        balance: string;
      };
    await waitFor("the EUR deposit applied", async () => (await account()).balance === (7n * UNIT).toString(), 20_000);
    expect(await account()).to.deep.include({ currency: "EUR" });
    await waitFor(
      "the USD deposit applied",
      async () => (await account("?currency=USD")).balance === (2n * UNIT).toString(),
      20_000,
    );
  });

  it("role api (PostgreSQL, a worker beside it): the EUR follower sees EUR deposits; a EUR relay is queued under EUR and sent by the EUR lane", async () => {
    const deployed = await deployTwo(dir);
    const { chainId, currencies } = deployed;
    const usd = currencies.get("USD")!;
    const eur = currencies.get("EUR")!;
    const schema = await freshSchema(await postgresTestDatabase(), "served");
    stops.push(() => schema.drop());
    bridge = await startRpcBridge();
    const shared = {
      DATABASE_URL: schema.url,
      RELAYER_SECRET_KEY: "11".repeat(32),
      RELAYER_DB: path.join(dir, "unused.sqlite"),
      RELAY_WAIT_MS: "20000",
    };
    // The worker first: it creates the schema.
    const worker = await startRelayer(
      loadConfig(
        env(deployed, bridge, {
          ...shared,
          RELAYER_ROLE: "worker",
          RELAYER_PRIVATE_KEYS: deployed.keys.map((k) => k.privateKey).join(","),
        }),
      ),
      { logger: false },
    );
    stops.push(() => worker.stop());
    const api = await startRelayer(loadConfig(env(deployed, bridge, { ...shared, RELAYER_ROLE: "api" })), {
      logger: false,
    });
    stops.push(() => api.stop());
    expect(api.served.map((s) => s.code)).to.deep.equal(["USD", "EUR"]);
    expect(servedOf(api, "EUR").chain.escrow).to.equal(eur.address.toLowerCase());

    const payer = new Wallet(Wallet.createRandom().privateKey);
    const balanceIn = async (code: string) =>
      (await servedOf(api, code).accounts!.view(payer.address.toLowerCase() as Hex)).account.balance;
    expect([await balanceIn("USD"), await balanceIn("EUR")]).to.deep.equal([0n, 0n]);
    await deployed.deposit("USD", payer, 4n * UNIT);
    await deployed.deposit("EUR", payer, 9n * UNIT);
    await waitFor("the EUR deposit in the EUR ledger", async () => (await balanceIn("EUR")) === 9n * UNIT, 20_000);
    await waitFor("the USD deposit in the USD ledger", async () => (await balanceIn("USD")) === 4n * UNIT, 20_000);

    // Queued under EUR (the EUR store view stamps it), sent by the EUR worker's lane to the EUR escrow.
    const { withdrawal, signature } = await signedWithdrawal(chainId, eur.address, payer, 2n * UNIT);
    const sent = await servedOf(api, "EUR").writer!.withdrawWithSignature(withdrawal, signature);
    expect(await withdrawnBy(sent.txHash, currencies)).to.deep.equal({ from: eur.key.address, currency: "EUR" });
    const id = relayRequestId(relayCalls.withdrawWithSignature(withdrawal, signature).data);
    const request = await api.store.relayRequests.get(id);
    expect([request?.currency, request?.state, request?.txHash]).to.deep.equal(["EUR", RelayState.Sent, sent.txHash]);
    expect(await api.store.forCurrency("USD").relayRequests.get(id), "not in the USD queue").to.equal(null);
    await waitFor("the EUR withdrawal applied", async () => (await balanceIn("EUR")) === 7n * UNIT, 20_000);
    expect(await balanceIn("USD")).to.equal(4n * UNIT);

    // Signed for the USD escrow but relayed for EUR: refused by the EUR escrow's simulation, not queued.
    const forUsd = await signedWithdrawal(chainId, usd.address, payer, UNIT, 1n);
    expect(
      await apiError(servedOf(api, "EUR").writer!.withdrawWithSignature(forUsd.withdrawal, forUsd.signature)),
    ).to.deep.equal({ code: "invalid_signature", status: 400 });
    const refusedId = relayRequestId(relayCalls.withdrawWithSignature(forUsd.withdrawal, forUsd.signature).data);
    expect(await api.store.relayRequests.get(refusedId)).to.equal(null);
  });
});
