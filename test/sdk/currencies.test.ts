/**
 * The SDK's getCurrencies against a relayer wired to a deployment record of USD and EUR: the
 * route's list typed (chain id as bigint), each with the EIP-712 domain its escrow verifies; a
 * malformed list refused.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { TypedDataEncoder, Wallet, ZeroHash } from "ethers";
import {
  RelayerClient,
  StablePayError,
  escrowDomain,
  fromEthersSigner,
  parseCurrencies,
  type Address,
} from "../../src/sdk";
import { LOCAL_ADMIN_TOKEN } from "../../src/relayer/config";
import { MerchantRegistry__factory, PaymentEscrow__factory, SettlementToken__factory } from "../../typechain-types";
import { HUNDRED_ETH, rpc } from "../relayer/helpers/chain";
import { startDeployedApi, type DeployedApi } from "../relayer/helpers/deployment";

describe("SDK: getCurrencies", function () {
  let api: DeployedApi | null = null;
  afterEach(async () => {
    await api?.close();
    api = null;
  });

  it("returns the relayer's currencies in its order, the first the default, each with its escrow's domain", async function () {
    api = await startDeployedApi(["USD", "EUR"]);
    const wire = (await (await fetch(`${api.url}/v1/currencies`)).json()) as {
      items: { code: string; symbol: string; decimals: number; token: Address; escrow: Address; default: boolean }[];
    };
    const currencies = await new RelayerClient({ baseUrl: api.url }).getCurrencies();
    expect(currencies).to.deep.equal(
      wire.items.map((c) => ({ ...c, chainId: 31337n, domain: escrowDomain(31337n, c.escrow) })),
    );
    expect(currencies.map((c) => [c.code, c.default])).to.deep.equal([
      ["USD", true],
      ["EUR", false],
    ]);
    for (const c of currencies) {
      const escrow = PaymentEscrow__factory.connect(c.escrow, ethers.provider);
      expect(await escrow.DOMAIN_SEPARATOR(), c.code).to.equal(TypedDataEncoder.hashDomain(c.domain));
      expect(await escrow.token(), c.code).to.equal(c.token);
    }
  });

  it("returns one currency for a deployment of one", async function () {
    api = await startDeployedApi();
    const currencies = await new RelayerClient({ baseUrl: api.url }).getCurrencies();
    expect(currencies.map((c) => [c.code, c.symbol, c.decimals, c.default])).to.deep.equal([["USD", "spUSD", 6, true]]);
    expect(currencies[0].escrow).to.equal(api.record.currencies[0].escrow.address);
  });

  it("refuses a malformed address or chain id (invalid_response)", function () {
    const item = {
      code: "USD",
      symbol: "spUSD",
      decimals: 6,
      token: `0x${"11".repeat(20)}`,
      escrow: `0x${"22".repeat(20)}`,
      chainId: "31337",
      default: true,
      served: true,
    };
    for (const bad of [{ escrow: "0x1234" }, { token: "not an address" }, { chainId: "0x7a69" }]) {
      let caught: unknown;
      try {
        parseCurrencies({ items: [{ ...item, ...bad }] });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(bad)).to.be.instanceOf(StablePayError);
      expect((caught as StablePayError).code).to.equal("invalid_response");
    }
  });

  it("pays a EUR payment request in EUR: the nonce is read from the EUR account, the payment signed for the EUR escrow", async function () {
    api = await startDeployedApi(["USD", "EUR"], { served: ["USD", "EUR"] });
    const [deployer] = await ethers.getSigners();
    const registry = MerchantRegistry__factory.connect(api.record.contracts.MerchantRegistry.address, deployer);
    const owner = Wallet.createRandom();
    await (await registry.registerMerchant(owner.address, owner.address, 100, 3_600, 86_400, ZeroHash)).wait();
    const operator = new RelayerClient({ baseUrl: api.url, adminToken: LOCAL_ADMIN_TOKEN });
    const { key } = await operator.createMerchantApiKey(await registry.merchantCount());
    const merchant = new RelayerClient({ baseUrl: api.url, apiKey: key });
    const customer = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await rpc("hardhat_setBalance", [customer.address, HUNDRED_ETH]);
    const [, eur] = api.record.currencies;
    const token = SettlementToken__factory.connect(eur.token.address, deployer);
    const escrow = PaymentEscrow__factory.connect(eur.escrow.address, customer);
    await (await token.configureMinter(deployer.address, 5_000_000n)).wait();
    await (await token.mint(customer.address, 5_000_000n)).wait();
    await (await token.connect(customer).approve(eur.escrow.address, 5_000_000n)).wait();
    await (await escrow.deposit(5_000_000n)).wait();

    // The second request's nonce comes from the EUR account, where the first one's is pending; the
    // USD account would offer nonce 0 again, which the EUR escrow's window refuses.
    const client = new RelayerClient({ baseUrl: api.url });
    const paid = [];
    for (const orderRef of ["eur-order-1", "eur-order-2"]) {
      const request = await merchant.createPaymentRequest({
        amount: 1_000_000n,
        orderRef,
        expiresIn: 3_600,
        currency: "EUR",
      });
      expect(request.currency).to.equal("EUR");
      paid.push((await client.payRequest(fromEthersSigner(customer), request)).payment);
    }
    expect(paid.map((p) => [p.currency, p.nonce])).to.deep.equal([
      ["EUR", 0n],
      ["EUR", 1n],
    ]);
    const account = await client.getAccount(customer.address as Address, { currency: "EUR" });
    expect([account.currency, account.pending]).to.deep.equal(["EUR", 2_000_000n]);
    const usd = await client.getAccount(customer.address as Address);
    expect([usd.currency, usd.pending, usd.nextNonces[0]]).to.deep.equal(["USD", 0n, 0n]);
    const balance = await merchant.getBalance({ currency: "EUR" });
    expect([balance.currency, balance.released]).to.deep.equal(["EUR", 0n]);
  });
});
