/**
 * The SDK's getCurrencies against a relayer wired to a deployment record of USD and EUR: the
 * route's list typed (chain id as bigint), each with the EIP-712 domain its escrow verifies; a
 * malformed list refused.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { TypedDataEncoder } from "ethers";
import { RelayerClient, StablePayError, escrowDomain, parseCurrencies, type Address } from "../../src/sdk";
import { PaymentEscrow__factory } from "../../typechain-types";
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
});
