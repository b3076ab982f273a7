/**
 * The RPC URL never reaches clients (issue 10, item 9). When the node answered 401/403/500/502/503,
 * the error bodies of GET /v1/accounts/:address and POST /v1/payments carried the node's error:
 * `requestUrl` (with the provider's API key in its path and query) and the upstream body. Clients
 * now get 503 chain_unavailable with a safe message only; the log keeps the cause with the URL's
 * credentials, path and query censored.
 */
import { expect } from "chai";
import { redactingStream, redactUrls, urlSecrets } from "../../../src/relayer/http/logging";
import { signedPayment, type ApiHarness } from "../helpers/api";
import { startProxiedApi, type ProxiedApi } from "./proxiedApi";
import type { RpcProxy } from "./rpcProxy";

const PATH_KEY = "pathKey0123456789abcdef";
const QUERY_KEY = "queryKey9876543210fedcba";
const UPSTREAM_SECRET = "upstream-says-project-secret-42";

describe("relayer API: node errors never leak the RPC URL", function () {
  let h: ApiHarness;
  let proxy: RpcProxy;
  let rpcUrl: string;
  let api: ProxiedApi | undefined;

  beforeEach(async function () {
    api = await startProxiedApi({
      path: `/v3/${PATH_KEY}?apikey=${QUERY_KEY}`,
      view: { termsCacheMs: 0, accountCacheMs: 0, callTimeoutMs: 3_000 },
      config: (url) => ({ rpcUrl: url }),
    });
    ({ h, proxy, rpcUrl } = api);
  });

  afterEach(async function () {
    await api?.close();
    api = undefined;
  });

  const secretsIn = (text: string): string[] =>
    [PATH_KEY, QUERY_KEY, UPSTREAM_SECRET, rpcUrl, "requestUrl", "responseBody"].filter((s) => text.includes(s));

  for (const status of [401, 403, 500, 502, 503]) {
    it(`node answers ${status}: 503 chain_unavailable without URL or upstream body; the log line is redacted`, async function () {
      const payment = await signedPayment(h, 0);
      const customer = h.f.customers[1].address;
      proxy.fault({ action: "status", status, body: `{"error":"${UPSTREAM_SECRET}"}` });

      const account = await h.request("GET", `/v1/accounts/${customer}`);
      const submitted = await h.request("POST", "/v1/payments", { body: payment.body });
      for (const res of [account, submitted]) {
        expect([res.status, res.body.error.code]).to.deep.equal([503, "chain_unavailable"]);
        expect(res.body.error.details, "no details").to.equal(undefined);
        expect(secretsIn(res.text), res.text).to.deep.equal([]);
        expect(res.text).to.not.include(proxy.url.replace("http://", ""));
      }
      expect(proxy.stats.faulted.status).to.be.greaterThan(0);

      const logs = h.logs.join("");
      expect(secretsIn(logs), "secrets in the log").to.deep.equal([]);
      const lines = h.logs.map((l) => JSON.parse(l) as { code?: string; cause?: { message: string } });
      const causes = lines.filter((l) => l.code === "chain_unavailable" && l.cause);
      expect(causes.length, "the cause is logged").to.be.greaterThan(0);
      // What the operator needs stays: how the node failed.
      expect(causes.map((c) => c.cause!.message).join(" ")).to.match(new RegExp(`${status}|bad|error`, "i"));
    });
  }

  it("redaction: URL credentials, path keys and query keys are censored anywhere in a line", function () {
    const line = JSON.stringify({
      msg: "failed",
      err: `request to https://user:pa55word@node.example:8545/v2/${PATH_KEY}?key=${QUERY_KEY}#x failed`,
      other: `http://plain.example/`,
    });
    const redacted = redactUrls(line);
    expect(redacted).to.include("https://[redacted]@node.example:8545/[redacted]");
    expect(redacted).to.include("http://plain.example/");
    for (const secret of ["pa55word", "user:", PATH_KEY, QUERY_KEY]) expect(redacted).to.not.include(secret);
    // A secret echoed on its own (an upstream body quoting the key) is censored too.
    const out: string[] = [];
    const stream = redactingStream({ write: (l: string) => out.push(l) }, urlSecrets(rpcUrl));
    stream.write(`{"msg":"node said: invalid key ${PATH_KEY} / ${QUERY_KEY}"}\n`);
    expect(out[0]).to.equal(`{"msg":"node said: invalid key [redacted] / [redacted]"}\n`);
    expect(urlSecrets(`https://user:pa55word99@node.example/v3/${PATH_KEY}?apikey=${QUERY_KEY}`)).to.have.members([
      "pa55word99",
      PATH_KEY,
      QUERY_KEY,
    ]);
  });
});
