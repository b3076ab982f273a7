/**
 * GET /v1/currencies on a relayer wired to a deployment record: a deployment of USD and EUR over one
 * registry lists both in the record's order, USD the default; a deployment of one lists it alone.
 */
import { expect } from "chai";
import hre from "hardhat";
import { getAddress, Wallet, ZeroHash } from "ethers";
import { LOCAL_ADMIN_TOKEN } from "../../../src/relayer/config";
import { MerchantRegistry__factory } from "../../../typechain-types";
import { startDeployedApi, type DeployedApi } from "../helpers/deployment";

describe("relayer API: GET /v1/currencies", function () {
  const started: DeployedApi[] = [];
  afterEach(async () => {
    for (const api of started.splice(0)) await api.close();
  });
  const start = async (currencies?: string[]) => {
    const api = await startDeployedApi(currencies);
    started.push(api);
    return api;
  };

  it("lists USD and EUR in the record's order, the first the default, with checksummed token and escrow", async function () {
    const api = await start(["USD", "EUR"]);
    const res = await fetch(`${api.url}/v1/currencies`);
    expect(res.status).to.equal(200);
    // The list changes only with a redeployment: caches may keep it.
    expect(res.headers.get("cache-control")).to.equal("public, max-age=300");
    const [usd, eur] = api.record.currencies;
    expect(await res.json()).to.deep.equal({
      items: [
        {
          code: "USD",
          symbol: "spUSD",
          decimals: 6,
          token: getAddress(usd.token.address),
          escrow: getAddress(usd.escrow.address),
          chainId: "31337",
          default: true,
          served: true,
        },
        {
          code: "EUR",
          symbol: "spEUR",
          decimals: 6,
          token: getAddress(eur.token.address),
          escrow: getAddress(eur.escrow.address),
          chainId: "31337",
          default: false,
          served: false,
        },
      ],
    });
    // The default is the currency the rest of the API serves: the chain client's escrow.
    expect(getAddress(api.chain.addresses.escrow)).to.equal(getAddress(usd.escrow.address));
  });

  it("lists exactly one currency for a deployment of one", async function () {
    const api = await start();
    const body = (await (await fetch(`${api.url}/v1/currencies`)).json()) as { items: { code: string }[] };
    const [usd] = api.record.currencies;
    expect(body.items).to.deep.equal([
      {
        code: "USD",
        symbol: "spUSD",
        decimals: 6,
        token: getAddress(usd.token.address),
        escrow: getAddress(usd.escrow.address),
        chainId: "31337",
        default: true,
        served: true,
      },
    ]);
  });

  it("is in the OpenAPI document: public, with its response schema", async function () {
    const api = await start();
    const doc = (await (await fetch(`${api.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, any>>;
    };
    const route = doc.paths["/v1/currencies"].get;
    expect(route.security).to.equal(undefined);
    expect(route.tags).to.deep.equal(["customers"]);
    const item = route.responses["200"].content["application/json"].schema.properties.items.items;
    expect(Object.keys(item.properties).sort()).to.deep.equal(
      ["chainId", "code", "decimals", "default", "escrow", "served", "symbol", "token"].sort(),
    );
  });

  it("a payment request names a currency of the deployment: one this relayer does not serve gets 409 currency_not_served", async function () {
    const api = await start(["USD", "EUR"]);
    const [admin] = await hre.ethers.getSigners();
    const registry = MerchantRegistry__factory.connect(api.record.contracts.MerchantRegistry.address, admin);
    const owner = Wallet.createRandom();
    await (await registry.registerMerchant(owner.address, owner.address, 100, 3600, 86_400, ZeroHash)).wait();
    const merchantId = await registry.merchantCount();
    const issued = await fetch(`${api.url}/v1/admin/merchants/${merchantId}/api-keys`, {
      method: "POST",
      headers: { "x-admin-token": LOCAL_ADMIN_TOKEN },
    });
    expect(issued.status).to.equal(201);
    const { key } = (await issued.json()) as { key: string };
    const create = (currency?: string) =>
      fetch(`${api.url}/v1/merchant/payment-requests`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ amount: "1000000", orderRef: `order-${currency}`, expiresIn: 3600, currency }),
      });
    const [usd] = api.record.currencies;
    const inUsd = await create("USD");
    expect(inUsd.status).to.equal(201);
    const body = (await inUsd.json()) as { currency: string; typedData: { domain: { verifyingContract: string } } };
    expect(body.currency).to.equal("USD");
    expect(getAddress(body.typedData.domain.verifyingContract)).to.equal(getAddress(usd.escrow.address));
    // EUR is the deployment's, but this relayer serves USD alone (an app's default: the record's first).
    const inEur = await create("EUR");
    expect(inEur.status).to.equal(409);
    expect(await inEur.json()).to.deep.equal({
      error: {
        code: "currency_not_served",
        message: "this relayer does not take payments in EUR",
        details: { served: ["USD"] },
      },
    });
    const inGbp = await create("GBP");
    expect(inGbp.status).to.equal(400);
    expect(((await inGbp.json()) as { error: { details: unknown } }).error.details).to.deep.equal({
      currencies: ["USD", "EUR"],
    });
  });
});
