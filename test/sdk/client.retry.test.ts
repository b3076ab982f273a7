/**
 * The client's retry policy against the real relayer: 429 with Retry-After (its rate limiter), 503
 * (a relayer without a chain writer), and network errors (nothing listening). Retries happen only
 * for idempotent requests; the fetch used is the platform's, wrapped only to count attempts.
 */
import net from "node:net";
import { expect } from "chai";
import { RelayerClient, fromEthersSigner, signConfirmation, type Hex } from "../../src/sdk";
import { retryAfterMs, backoffMs } from "../../src/sdk/http";
import { escrowInStore, signedPayment, startApi, type ApiHarness } from "../relayer/helpers/api";
import { escrowDomain } from "../../src/protocol";
import { apiError } from "./helpers";

interface Counted {
  fetch: typeof fetch;
  calls: { url: string; method: string; idempotencyKey: string | null; at: number }[];
}

function counting(): Counted {
  const calls: Counted["calls"] = [];
  return {
    calls,
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      calls.push({
        url: String(input),
        method: init?.method ?? "GET",
        idempotencyKey: headers.get("idempotency-key"),
        at: Date.now(),
      });
      return fetch(input, init);
    },
  };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("SDK client: retries", function () {
  let h: ApiHarness | undefined;

  afterEach(async function () {
    await h?.close();
    h = undefined;
  });

  it("429: waits the Retry-After the relayer sends, then succeeds; with retries off the error carries it", async function () {
    // One request per second, no burst: the second immediate request is rate limited.
    h = await startApi({ config: { rateLimitPerSecond: 1, rateLimitBurst: 1 } });
    const address = h.f.customers[0].address as Hex;
    const c = counting();
    const client = new RelayerClient({ baseUrl: h.url, fetch: c.fetch, retry: { baseDelayMs: 1 } });
    await client.getAccount(address);
    const started = Date.now();
    const account = await client.getAccount(address);
    expect(account.balance > 0n).to.equal(true);
    expect(c.calls.length).to.equal(3);
    // Retry-After: 1 → at least ~1 s between the limited attempt and the next one.
    expect(c.calls[2].at - c.calls[1].at).to.be.at.least(950);
    expect(Date.now() - started).to.be.at.least(950);

    const impatient = new RelayerClient({ baseUrl: h.url, retry: { retries: 0 } });
    await impatient.getAccount(address).catch(() => undefined);
    const limited = await apiError(impatient.getAccount(address));
    expect([limited.status, limited.code, limited.retryAfterSeconds]).to.deep.equal([429, "rate_limited", 1]);

    // A Retry-After beyond maxRetryAfterMs is not waited for.
    const bounded = new RelayerClient({ baseUrl: h.url, retry: { maxRetryAfterMs: 100 } });
    const at = Date.now();
    const tooLong = await apiError(bounded.getAccount(address));
    expect(tooLong.code).to.equal("rate_limited");
    expect(Date.now() - at).to.be.below(900);
  });

  it("503: an idempotent POST is retried with the same Idempotency-Key, then the relayer's code is thrown", async function () {
    h = await startApi({ deps: { writer: null } });
    const { body } = await signedPayment(h, 0);
    const created = await h.request("POST", "/v1/payments", { body });
    await escrowInStore(h, [created.body.id]);
    const domain = escrowDomain(h.f.chainId, (await h.f.escrow.getAddress()) as Hex);
    const deadline = BigInt(Math.floor(h.clock() / 1000)) + 600n;
    const id = created.body.id as Hex;
    const signature = await signConfirmation(fromEthersSigner(h.f.customers[0]), { domain, paymentId: id, deadline });

    const c = counting();
    const client = new RelayerClient({ baseUrl: h.url, fetch: c.fetch, retry: { retries: 2, baseDelayMs: 5 } });
    const error = await apiError(client.confirm(id, { deadline, signature }));
    expect([error.status, error.code]).to.deep.equal([503, "chain_unavailable"]);
    expect(error.request?.attempts).to.equal(3);
    expect(c.calls.length).to.equal(3);
    const keys = new Set(c.calls.map((call) => call.idempotencyKey));
    expect(keys.size).to.equal(1);
    expect([...keys][0]).to.match(/^[0-9a-f-]{36}$/);

    // Without an Idempotency-Key a POST is not idempotent: one attempt only.
    const once = counting();
    const plain = new RelayerClient({ baseUrl: h.url, fetch: once.fetch, retry: { retries: 2, baseDelayMs: 5 } });
    expect((await apiError(plain.confirm(id, { deadline, signature }, { idempotencyKey: false }))).code).to.equal(
      "chain_unavailable",
    );
    expect(once.calls.length).to.equal(1);
    expect(once.calls[0].idempotencyKey).to.equal(null);
  });

  it("network errors: wrapped as RelayerApiError status 0 code network_error after the retries; timeouts too", async function () {
    const port = await closedPort();
    const c = counting();
    const client = new RelayerClient({
      baseUrl: `http://127.0.0.1:${port}`,
      fetch: c.fetch,
      retry: { retries: 2, baseDelayMs: 1 },
    });
    const error = await apiError(client.getPayment(`0x${"ab".repeat(32)}`));
    expect([error.status, error.code]).to.deep.equal([0, "network_error"]);
    expect(error.message).to.include("ECONNREFUSED");
    expect(c.calls.length).to.equal(3);

    // A server that accepts the connection and never answers: the timeout is a network error.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const slow = new RelayerClient({
        baseUrl: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
        timeoutMs: 100,
        retry: { retries: 1, baseDelayMs: 1 },
      });
      const timedOut = await apiError(slow.getAccount(`0x${"00".repeat(20)}`));
      expect([timedOut.status, timedOut.code, timedOut.details?.timeoutMs]).to.deep.equal([0, "network_error", 100]);
      expect(timedOut.request?.attempts).to.equal(2);

      const controller = new AbortController();
      const pending = slow.getAccount(`0x${"00".repeat(20)}`, { signal: controller.signal });
      controller.abort();
      expect((await apiError(pending)).code).to.equal("aborted");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("Retry-After parsing and backoff bounds", function () {
    expect(retryAfterMs(null)).to.equal(undefined);
    expect(retryAfterMs("3")).to.equal(3_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).to.equal(6_000);
    expect(retryAfterMs("soon")).to.equal(undefined);
    expect(backoffMs(1, 100, 1_000, () => 0)).to.equal(50);
    expect(backoffMs(1, 100, 1_000, () => 0.999999)).to.equal(100);
    expect(backoffMs(10, 100, 1_000, () => 0.999999)).to.equal(1_000);
  });
});
