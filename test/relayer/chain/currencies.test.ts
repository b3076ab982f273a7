/**
 * The chain client's currencies on a deployment record of USD and EUR over one registry: the
 * addresses of each in the record's order (the default's also at the top level, as before), typed
 * bindings of one currency by its code, and a typed error for a code the deployment lacks.
 */
import { expect } from "chai";
import { TypedDataEncoder, getAddress } from "ethers";
import { escrowDomain, type Address } from "../../../src/protocol";
import { UnknownCurrencyError } from "../../../src/relayer/chain/client";
import { startDeployedApi, type DeployedApi } from "../helpers/deployment";

describe("relayer chain client: currencies", function () {
  let api: DeployedApi | null = null;
  afterEach(async () => {
    await api?.close();
    api = null;
  });

  it("loads every currency of the record, in its order; the top-level fields stay the default's", async function () {
    api = await startDeployedApi(["USD", "EUR"]);
    const { record, chain } = api;
    const [usd, eur] = record.currencies;
    const expected = (c: typeof usd) => ({
      code: c.code,
      symbol: c.symbol,
      decimals: 6,
      token: c.token.address,
      escrow: c.escrow.address,
      startBlock: BigInt(c.escrow.blockNumber!),
      tokenStartBlock: BigInt(c.token.blockNumber!),
      external: false,
    });
    expect(chain.addresses.currencies).to.deep.equal([expected(usd), expected(eur)]);
    expect(chain.addresses).to.deep.include({
      escrow: usd.escrow.address,
      token: usd.token.address,
      registry: record.contracts.MerchantRegistry.address,
      startBlock: BigInt(usd.escrow.blockNumber!),
      tokenStartBlock: BigInt(usd.token.blockNumber!),
    });
  });

  it("currency(code) binds that currency's escrow and token", async function () {
    api = await startDeployedApi(["USD", "EUR"]);
    const { record, chain } = api;
    const [usd, eur] = record.currencies;
    const bound = chain.currency("EUR");
    expect(bound.addresses.code).to.equal("EUR");
    expect(await bound.escrow.getAddress()).to.equal(eur.escrow.address);
    expect(await bound.escrow.token()).to.equal(getAddress(eur.token.address));
    expect(await bound.escrow.registry()).to.equal(getAddress(record.contracts.MerchantRegistry.address));
    expect(await bound.token.symbol()).to.equal("spEUR");
    // The EUR escrow's own EIP-712 domain: payments signed for it act in no other currency.
    const separator = TypedDataEncoder.hashDomain(escrowDomain(chain.chainId, eur.escrow.address as Address));
    expect(await bound.escrow.DOMAIN_SEPARATOR()).to.equal(separator);
    expect(await chain.currency("USD").escrow.DOMAIN_SEPARATOR()).to.not.equal(separator);
    expect(await chain.currency("USD").escrow.getAddress()).to.equal(usd.escrow.address);
    // Bound once per code.
    expect(chain.currency("EUR")).to.equal(bound);
  });

  it("forCurrency(code) is a client whose escrow, token and start blocks are that currency's, on the same provider", async function () {
    api = await startDeployedApi(["USD", "EUR"]);
    const { record, chain } = api;
    const [usd, eur] = record.currencies;
    const client = chain.forCurrency("EUR");
    expect(client.provider).to.equal(chain.provider);
    expect(client.signer).to.equal(chain.signer);
    expect(client.addresses).to.deep.include({
      escrow: eur.escrow.address,
      token: eur.token.address,
      registry: record.contracts.MerchantRegistry.address,
      startBlock: BigInt(eur.escrow.blockNumber!),
      tokenStartBlock: BigInt(eur.token.blockNumber!),
    });
    // The deployment's currencies, default first, as on the connection.
    expect(client.addresses.currencies).to.deep.equal(chain.addresses.currencies);
    expect(await client.escrow.getAddress()).to.equal(eur.escrow.address);
    expect(await client.token.symbol()).to.equal("spEUR");
    expect(await chain.forCurrency("USD").escrow.getAddress()).to.equal(usd.escrow.address);
    expect(() => chain.forCurrency("GBP")).to.throw(UnknownCurrencyError);
  });

  it("an unknown code is an UnknownCurrencyError (code unknown_currency) naming the codes there are", async function () {
    api = await startDeployedApi(["USD", "EUR"]);
    const chain = api.chain;
    let error: unknown = null;
    try {
      chain.currency("GBP");
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(UnknownCurrencyError);
    const unknown = error as UnknownCurrencyError;
    expect([unknown.code, unknown.currency, unknown.known]).to.deep.equal(["unknown_currency", "GBP", ["USD", "EUR"]]);
    expect(unknown.message).to.equal('no currency "GBP" in the deployment: it has USD, EUR');
    // Codes are the record's exactly: no case folding.
    expect(() => chain.currency("eur")).to.throw(UnknownCurrencyError);
  });
});
