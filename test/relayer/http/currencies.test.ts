/**
 * Intake and routes per served currency (src/relayer/http/currencies.ts): on a USD and EUR
 * deployment made by the deploy script, a relayer serving both takes each payment in the currency
 * whose escrow it was signed for, against that currency's balance and nonces, and relays actions on
 * a payment to that payment's escrow; a relayer serving USD alone refuses EUR (409
 * currency_not_served); a payment can never be moved to another currency.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet, ZeroHash, type Signer } from "ethers";
import { LOCAL_ADMIN_TOKEN } from "../../../src/relayer/config";
import { BatchState, PaymentState, type Hex } from "../../../src/relayer/domain";
import {
  confirmationTypes,
  encodeBatch,
  escrowDomain,
  ethersTypes,
  paymentTypes,
  withdrawalTypes,
  BatchTree,
  type Address,
  type Payment,
} from "../../../src/protocol";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { paymentBody } from "../helpers/api";
import { HUNDRED_ETH, latestTimestamp, rpc } from "../helpers/chain";
import { startDeployedApi, type DeployedApi } from "../helpers/deployment";

const AMOUNT = 2_000_000n;
const HOLD = 3_600n;

interface Side {
  code: string;
  escrow: PaymentEscrow;
  token: SettlementToken;
  address: Address;
}

describe("relayer API per served currency (USD and EUR)", function () {
  this.timeout(120_000);
  let api: DeployedApi | null = null;
  afterEach(async () => {
    await api?.close();
    api = null;
  });

  /** The deployment, a merchant with an API key, and a customer funded `deposits` in each escrow. */
  async function setUp(served: string[] | undefined, deposits: Record<string, bigint>) {
    api = await startDeployedApi(["USD", "EUR"], { served });
    const [deployer] = await ethers.getSigners();
    const registry = MerchantRegistry__factory.connect(api.record.contracts.MerchantRegistry.address, deployer);
    const owner = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await (await registry.registerMerchant(owner.address, owner.address, 100, HOLD, 86_400n, ZeroHash)).wait();
    const merchantId = await registry.merchantCount();
    const issued = await fetch(`${api.url}/v1/admin/merchants/${merchantId}/api-keys`, {
      method: "POST",
      headers: { "x-admin-token": LOCAL_ADMIN_TOKEN },
    });
    const { key } = (await issued.json()) as { key: string };
    const customer = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await rpc("hardhat_setBalance", [customer.address, HUNDRED_ETH]);
    const sides = new Map<string, Side>();
    for (const c of api.record.currencies) {
      const side: Side = {
        code: c.code,
        escrow: PaymentEscrow__factory.connect(c.escrow.address, deployer),
        token: SettlementToken__factory.connect(c.token.address, deployer),
        address: c.escrow.address.toLowerCase() as Address,
      };
      sides.set(c.code, side);
      const amount = deposits[c.code] ?? 0n;
      if (amount === 0n) continue;
      await (await side.token.configureMinter(deployer.address, amount)).wait();
      await (await side.token.mint(customer.address, amount)).wait();
      await (await side.token.connect(customer).approve(side.address, amount)).wait();
      await (await side.escrow.connect(customer).deposit(amount)).wait();
    }
    const now = await latestTimestamp();
    let refs = 0;
    /** A payment of `customer` to the merchant signed under `code`'s escrow domain. */
    const sign = async (code: string, overrides: Partial<Payment> = {}) => {
      const payment: Payment = {
        payer: customer.address.toLowerCase() as Address,
        merchantId,
        amount: AMOUNT,
        orderRef: ethers.zeroPadValue(ethers.toBeHex(++refs), 32) as Hex,
        nonce: 0n,
        validAfter: 0n,
        deadline: now + 86_400n,
        hold: HOLD,
        ...overrides,
      };
      const domain = escrowDomain(31337n, sides.get(code)!.address);
      const signature = (await (customer as Signer).signTypedData(domain, ethersTypes(paymentTypes), payment)) as Hex;
      return { payment, signature };
    };
    const url = api.url;
    const call = async (method: string, path: string, body?: unknown, auth?: string) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    return { api, merchantId, key, owner, customer, sides, sign, call };
  }

  it("takes each payment in the currency whose escrow it was signed for, against that currency's balance and nonces", async () => {
    const { sides, sign, call, customer } = await setUp(["USD", "EUR"], { USD: AMOUNT, EUR: AMOUNT });
    const listed = await call("GET", "/v1/currencies");
    expect(listed.body.items.map((c: any) => [c.code, c.default, c.served])).to.deep.equal([
      ["USD", true, true],
      ["EUR", false, true],
    ]);

    // Nonce 0 in both currencies: each escrow keeps its own nonce window.
    const usd = await sign("USD");
    const eur = await sign("EUR");
    const inUsd = await call(
      "POST",
      "/v1/payments",
      paymentBody(usd.payment, usd.signature, { escrow: sides.get("USD")!.address }),
    );
    const inEur = await call(
      "POST",
      "/v1/payments",
      paymentBody(eur.payment, eur.signature, { escrow: sides.get("EUR")!.address }),
    );
    expect([inUsd.status, inUsd.body.currency]).to.deep.equal([201, "USD"]);
    expect([inEur.status, inEur.body.currency]).to.deep.equal([201, "EUR"]);
    expect(inEur.body.id).to.not.equal(inUsd.body.id);

    // Each currency's account holds only its own pending payment; no currency named is the first served.
    const account = (query: string) => call("GET", `/v1/accounts/${customer.address}${query}`);
    for (const [query, code] of [
      ["?currency=EUR", "EUR"],
      ["?currency=USD", "USD"],
      ["", "USD"],
    ]) {
      const { status, body } = await account(query);
      expect([status, body.currency, body.balance, body.pending, body.available], query).to.deep.equal([
        200,
        code,
        AMOUNT.toString(),
        AMOUNT.toString(),
        "0",
      ]);
    }

    // The metrics count each currency's payments and intake results apart.
    const scrape = await (await fetch(`${api!.url}/metrics`)).text();
    for (const code of ["USD", "EUR"]) {
      expect(scrape, code).to.include(`relayer_payments{state="accepted",currency="${code}"} 1`);
      expect(scrape, code).to.include(`relayer_intake_results_total{result="accepted",currency="${code}"} 1`);
    }

    // Spent in both: another payment in either is refused on that currency's balance.
    const again = await sign("EUR", { nonce: 1n, amount: 1n });
    const refused = await call(
      "POST",
      "/v1/payments",
      paymentBody(again.payment, again.signature, { escrow: sides.get("EUR")!.address }),
    );
    expect(refused.status).to.equal(409);
    expect(refused.body.error).to.deep.include({
      code: "insufficient_balance",
      details: { balance: AMOUNT.toString(), pending: AMOUNT.toString() },
    });

    // The same signed EUR payment sent without its escrow is judged under the first currency's
    // domain, where its signature is no one's: it cannot become a USD payment.
    const moved = await call("POST", "/v1/payments", paymentBody(eur.payment, eur.signature));
    expect(moved.status).to.equal(400);
    expect(moved.body.error.code).to.equal("invalid_signature");
    const stranger = await call(
      "POST",
      "/v1/payments",
      paymentBody(eur.payment, eur.signature, { escrow: `0x${"ab".repeat(20)}` }),
    );
    expect(stranger.status).to.equal(400);
    expect(stranger.body.error).to.deep.include({ code: "wrong_domain" });
    expect(stranger.body.error.details.expected).to.deep.equal([sides.get("USD")!.address, sides.get("EUR")!.address]);

    expect(
      (await call("GET", "/v1/accounts/0x0000000000000000000000000000000000000001?currency=GBP")).body.error.code,
    ).to.equal("unknown_currency");
  });

  it("a batch request mixes currencies: each item goes to its escrow's intake", async () => {
    const { sides, sign, call } = await setUp(["USD", "EUR"], { USD: AMOUNT, EUR: AMOUNT * 2n });
    const items = [await sign("EUR"), await sign("USD"), await sign("EUR", { nonce: 1n })];
    const escrows = ["EUR", "USD", "EUR"].map((code) => sides.get(code)!.address);
    const bad = await sign("USD", { nonce: 7n });
    const res = await call("POST", "/v1/payments/batch", {
      payments: [
        ...items.map((p, i) => paymentBody(p.payment, p.signature, { escrow: escrows[i] })),
        paymentBody(bad.payment, bad.signature, { escrow: `0x${"cd".repeat(20)}` }),
      ],
    });
    expect(res.status).to.equal(200);
    expect(res.body.accepted).to.equal(3);
    expect(res.body.results.map((r: any) => [r.index, r.status, r.payment?.currency ?? r.error.code])).to.deep.equal([
      [0, 201, "EUR"],
      [1, 201, "USD"],
      [2, 201, "EUR"],
      [3, 400, "wrong_domain"],
    ]);
  });

  it("relays a withdrawal and a confirmation to the escrow of their currency", async () => {
    const { api, sides, sign, call, customer, merchantId, key } = await setUp(["USD", "EUR"], {
      USD: AMOUNT,
      EUR: AMOUNT * 3n,
    });
    const eur = sides.get("EUR")!;
    const usd = sides.get("USD")!;
    const domain = escrowDomain(31337n, eur.address);

    // A EUR withdrawal signed for the EUR escrow moves EUR only.
    const withdrawal = {
      payer: customer.address.toLowerCase() as Address,
      to: customer.address.toLowerCase() as Address,
      amount: AMOUNT,
      nonce: 5n,
      deadline: (await latestTimestamp()) + 3_600n,
    };
    const signature = await customer.signTypedData(domain, ethersTypes(withdrawalTypes), withdrawal);
    const body = {
      ...Object.fromEntries(Object.entries(withdrawal).map(([k, v]) => [k, v.toString()])),
      signature,
    };
    // Unnamed, it is taken for the first currency's, where the signature is no one's.
    const unnamed = await call("POST", "/v1/withdrawals", body);
    expect([unnamed.status, unnamed.body.error.code]).to.deep.equal([400, "invalid_signature"]);
    const sent = await call("POST", "/v1/withdrawals", { ...body, escrow: eur.address });
    expect(sent.status).to.equal(202);
    const receipt = await ethers.provider.getTransactionReceipt(sent.body.txHash);
    expect(receipt!.to!.toLowerCase()).to.equal(eur.address);
    expect(await eur.escrow.balanceOf(customer.address)).to.equal(AMOUNT * 2n);
    expect(await usd.escrow.balanceOf(customer.address)).to.equal(AMOUNT);
    // Its nonce is used in the EUR escrow's window only.
    const bitmaps = await Promise.all(
      ["EUR", "USD"].map(async (code) => (await call("GET", `/v1/accounts/${customer.address}?currency=${code}`)).body),
    );
    expect(bitmaps.map((a) => [a.currency, a.nonceWindow.bitmap])).to.deep.equal([
      ["EUR", (1n << 5n).toString()],
      ["USD", "0"],
    ]);

    // A EUR payment escrowed on the EUR escrow (as the EUR jobs would), then confirmed by the payer:
    // the confirmation is verified under the EUR domain and sent to the EUR escrow.
    const signed = await sign("EUR");
    const accepted = await call(
      "POST",
      "/v1/payments",
      paymentBody(signed.payment, signed.signature, { escrow: eur.address }),
    );
    expect(accepted.status).to.equal(201);
    const id = accepted.body.id as Hex;
    const tx = await eur.escrow.payBatch(encodeBatch([{ payment: signed.payment, signature: signed.signature }]));
    const mined = await tx.wait();
    const view = api.store.forCurrency("EUR");
    const batch = await view.batches.create([id]);
    await view.batches.update(batch.key, {
      state: BatchState.Confirmed,
      batchId: await eur.escrow.batchCount(),
      root: new BatchTree([id]).root,
      txHash: tx.hash as Hex,
      blockNumber: BigInt(mined!.blockNumber),
      blockHash: mined!.blockHash as Hex,
    });
    await view.payments.update([
      {
        id,
        state: PaymentState.Escrowed,
        fields: { batchId: await eur.escrow.batchCount(), leafIndex: 0, txHash: tx.hash as Hex, batchKey: batch.key },
      },
    ]);
    const deadline = (await latestTimestamp()) + 3_600n;
    const confirmation = await customer.signTypedData(domain, ethersTypes(confirmationTypes), {
      paymentId: id,
      deadline,
    });
    const confirmed = await call("POST", `/v1/payments/${id}/confirm`, {
      deadline: deadline.toString(),
      signature: confirmation,
    });
    expect(confirmed.status).to.equal(202);
    const events = await eur.escrow.queryFilter(eur.escrow.filters.PaymentConfirmed(id));
    expect(events).to.have.length(1);
    expect(await usd.escrow.queryFilter(usd.escrow.filters.PaymentConfirmed())).to.have.length(0);

    // The merchant's balance per currency: released in EUR, nothing in USD.
    const balance = (q: string) => call("GET", `/v1/merchant/balance${q}`, undefined, key);
    const inEur = await balance("?currency=EUR");
    expect([inEur.status, inEur.body.currency, inEur.body.merchantId]).to.deep.equal([
      200,
      "EUR",
      merchantId.toString(),
    ]);
    expect(BigInt(inEur.body.released)).to.be.greaterThan(0n);
    expect((await balance("")).body).to.deep.include({ currency: "USD", released: "0" });
  });

  it("a relayer serving USD alone refuses EUR payments, accounts and balances: 409 currency_not_served", async () => {
    const { sides, sign, call, customer } = await setUp(["USD"], { EUR: AMOUNT });
    const eur = await sign("EUR");
    const refused = await call(
      "POST",
      "/v1/payments",
      paymentBody(eur.payment, eur.signature, { escrow: sides.get("EUR")!.address }),
    );
    expect(refused.status).to.equal(409);
    expect(refused.body).to.deep.equal({
      error: {
        code: "currency_not_served",
        message: "this relayer does not take payments in EUR",
        details: { served: ["USD"] },
      },
    });
    const account = await call("GET", `/v1/accounts/${customer.address}?currency=EUR`);
    expect([account.status, account.body.error.code]).to.deep.equal([409, "currency_not_served"]);
    const listed = await call("GET", "/v1/currencies");
    expect(listed.body.items.map((c: any) => [c.code, c.served])).to.deep.equal([
      ["USD", true],
      ["EUR", false],
    ]);
  });

  it("a relayer serving EUR alone takes a body naming no escrow as EUR: its first served currency is the default", async () => {
    const { sign, call } = await setUp(["EUR"], { EUR: AMOUNT });
    const eur = await sign("EUR");
    const accepted = await call("POST", "/v1/payments", paymentBody(eur.payment, eur.signature));
    expect([accepted.status, accepted.body.currency]).to.deep.equal([201, "EUR"]);
    const listed = await call("GET", "/v1/currencies");
    expect(listed.body.items.map((c: any) => [c.code, c.default, c.served])).to.deep.equal([
      ["USD", false, false],
      ["EUR", true, true],
    ]);
  });
});
