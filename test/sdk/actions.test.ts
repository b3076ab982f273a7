/**
 * The SDK's action groups: each role client holds only its role's actions, sends its credentials,
 * and the all-roles RelayerClient exposes the same actions. A stub fetch records the requests.
 */
import { expect } from "chai";
import {
  RelayerClient,
  StablePayError,
  createCustomerClient,
  createMerchantClient,
  createOperatorClient,
  customerActions,
  merchantActions,
  operatorActions,
} from "../../src/sdk";

const ACCOUNT = "0x" + "11".repeat(20);

function stubFetch(body: unknown, status = 200) {
  const requests: { url: string; method: string; headers: Headers }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    requests.push({ url: String(input), method: init?.method ?? "GET", headers: new Headers(init?.headers) });
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  return { fetch, requests };
}

const balanceWire = { merchantId: "7", currency: "USD", released: "100", claimable: "0" };

describe("SDK action groups", function () {
  it("each role client has exactly its group's actions", function () {
    const options = { baseUrl: "http://relayer.test", fetch: stubFetch({}).fetch };
    expect(Object.keys(createCustomerClient(options))).to.have.members(Object.keys(customerActions));
    expect(Object.keys(createMerchantClient(options))).to.have.members(Object.keys(merchantActions));
    expect(Object.keys(createOperatorClient(options))).to.have.members(Object.keys(operatorActions));
  });

  it("RelayerClient exposes every group's actions", function () {
    const client = new RelayerClient({ baseUrl: "http://relayer.test" }) as unknown as Record<string, unknown>;
    for (const name of [customerActions, merchantActions, operatorActions].flatMap(Object.keys)) {
      expect(client[name], name).to.be.a("function");
    }
  });

  it("a merchant client sends its API key and parses the answer", async function () {
    const stub = stubFetch(balanceWire);
    const merchant = createMerchantClient({ baseUrl: "http://relayer.test/", apiKey: "sp_live_x", fetch: stub.fetch });
    const balance = await merchant.getBalance();
    expect(balance).to.deep.equal({ merchantId: 7n, currency: "USD", released: 100n, claimable: 0n });
    expect(stub.requests).to.have.length(1);
    expect(stub.requests[0].url).to.equal("http://relayer.test/v1/merchant/balance");
    expect(stub.requests[0].headers.get("authorization")).to.equal("Bearer sp_live_x");
    await merchant.getBalance({ currency: "EUR" });
    expect(stub.requests[1].url).to.equal("http://relayer.test/v1/merchant/balance?currency=EUR");
  });

  it("a merchant action without an API key fails before sending", async function () {
    const stub = stubFetch(balanceWire);
    const merchant = createMerchantClient({ baseUrl: "http://relayer.test", fetch: stub.fetch });
    const error = await merchant.getBalance().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StablePayError);
    expect((error as StablePayError).code).to.equal("missing_credentials");
    expect(stub.requests).to.have.length(0);
  });

  it("a customer client sends no credentials", async function () {
    const stub = stubFetch({
      address: ACCOUNT,
      currency: "EUR",
      balance: "5",
      pending: "0",
      available: "5",
      pendingOneOff: "0",
      nonceWindow: { base: "0", bitmap: "0" },
      nextNonces: ["0"],
    });
    const customer = createCustomerClient({ baseUrl: "http://relayer.test", apiKey: "sp_live_x", fetch: stub.fetch });
    const account = await customer.getAccount(ACCOUNT as `0x${string}`, { currency: "EUR" });
    expect([account.currency, account.available]).to.deep.equal(["EUR", 5n]);
    expect(stub.requests[0].url).to.equal(`http://relayer.test/v1/accounts/${ACCOUNT}?currency=EUR`);
    expect(stub.requests[0].headers.get("authorization")).to.equal(null);
  });
});
