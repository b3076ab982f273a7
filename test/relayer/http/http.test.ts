import { expect } from "chai";
import { ethers } from "hardhat";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import { ROUTES } from "../../../src/relayer/routes";
import { idOf } from "../../escrow/fixtures";
import { signedPayment, startApi, type ApiHarness, type ApiResponse } from "../helpers/api";

describe("relayer API: HTTP plumbing", function () {
  let h: ApiHarness;

  afterEach(async function () {
    await h?.close();
  });

  describe("bodies", function () {
    beforeEach(async function () {
      h = await startApi({ config: { bodyLimitBytes: 64 * 1024 } });
    });

    it("malformed JSON: 400 invalid_json", async function () {
      for (const raw of ['{"payer": ', "not json", "{'a':1}", ""]) {
        const res = await h.request("POST", "/v1/payments", { raw, headers: { "content-type": "application/json" } });
        expect(res.status, JSON.stringify(raw)).to.equal(400);
        expect(res.body.error.code, JSON.stringify(raw)).to.equal("invalid_json");
      }
    });

    it("a body that is not JSON (text/plain): 400 invalid_json", async function () {
      const res = await h.request("POST", "/v1/payments", { raw: "hello", headers: { "content-type": "text/plain" } });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("invalid_json");
    });

    it("a body over the configured limit: 413 payload_too_large", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await h.request("POST", "/v1/payments", { body: { ...body, padding: "x".repeat(70 * 1024) } });
      expect(res.status).to.equal(413);
      expect(res.body.error.code).to.equal("payload_too_large");
    });

    it("a batch over the limit is refused as a whole: 413 payload_too_large", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await h.request("POST", "/v1/payments/batch", { body: { payments: Array(300).fill(body) } });
      expect(res.status).to.equal(413);
      expect(res.body.error.code).to.equal("payload_too_large");
    });

    it("an unknown route: 404 not_found in the error shape", async function () {
      const res = await h.request("GET", "/v1/nothing-here");
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal("not_found");
    });

    it("malformed path parameters: 400 validation_failed", async function () {
      const res = await h.request("GET", "/v1/payments/0x1234");
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("validation_failed");
    });
  });

  describe("Idempotency-Key", function () {
    beforeEach(async function () {
      h = await startApi();
    });

    it("same key, same body: the first response replayed byte for byte, nothing created twice", async function () {
      const key = await h.issueKey(1n);
      const body = { amount: "2500000", orderRef: "order-77", expiresIn: 600 };
      const first = await h.request("POST", "/v1/merchant/payment-requests", {
        body,
        key: key.key,
        idempotencyKey: "idem-1",
      });
      const again = await h.request("POST", "/v1/merchant/payment-requests", {
        body,
        key: key.key,
        idempotencyKey: "idem-1",
      });
      expect(first.status).to.equal(201);
      expect(again.status).to.equal(201);
      expect(again.text).to.equal(first.text);
      expect(again.headers.get("idempotent-replayed")).to.equal("true");
      expect(first.headers.get("idempotent-replayed")).to.equal(null);
      // A third request without the key creates a new request.
      const fresh = await h.request("POST", "/v1/merchant/payment-requests", { body, key: key.key });
      expect(fresh.body.id).to.not.equal(first.body.id);
    });

    it("same key, different body: 422 idempotency_key_reused", async function () {
      const { body } = await signedPayment(h, 0);
      // Same customer (public keys are scoped per customer: another payer's key is its own).
      const other = await signedPayment(h, 0, { nonce: 1n });
      const first = await h.request("POST", "/v1/payments", { body, idempotencyKey: "k-1" });
      expect(first.status).to.equal(201);
      const reused = await h.request("POST", "/v1/payments", { body: other.body, idempotencyKey: "k-1" });
      expect(reused.status).to.equal(422);
      expect(reused.body.error.code).to.equal("idempotency_key_reused");
      expect(await h.store.payments.get(await idOf(h.f, other.payment))).to.equal(null);
      const page = await h.store.payments.list({ limit: 10 });
      expect(page.items).to.have.length(1);
    });

    it("concurrent requests with one key run once", async function () {
      const key = await h.issueKey(1n);
      const body = { amount: "100", orderRef: "concurrent", expiresIn: 600 };
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          h.request("POST", "/v1/merchant/payment-requests", { body, key: key.key, idempotencyKey: "same" }),
        ),
      );
      expect(new Set(results.map((r) => r.text)).size).to.equal(1);
      expect(results.every((r) => r.status === 201)).to.equal(true);
    });

    it("a failed request is not recorded: after fixing the cause the same key succeeds", async function () {
      const { body } = await signedPayment(h, 0);
      const bad = await h.request("POST", "/v1/payments", {
        body: { ...body, amount: "0" },
        idempotencyKey: "retry-me",
      });
      expect(bad.status).to.equal(400);
      const again = await h.request("POST", "/v1/payments", { body, idempotencyKey: "retry-me" });
      expect(again.status).to.equal(201);
    });

    it("keys are scoped per merchant: another merchant's identical key is independent", async function () {
      const a = await h.issueKey(1n);
      const b = await h.issueKey(2n);
      const body = { amount: "100", orderRef: "shared", expiresIn: 600 };
      const ra = await h.request("POST", "/v1/merchant/payment-requests", { body, key: a.key, idempotencyKey: "k" });
      const rb = await h.request("POST", "/v1/merchant/payment-requests", { body, key: b.key, idempotencyKey: "k" });
      expect(ra.body.merchantId).to.equal("1");
      expect(rb.body.merchantId).to.equal("2");
      expect(rb.headers.get("idempotent-replayed")).to.equal(null);
    });

    it("a malformed Idempotency-Key: 400 validation_failed", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await h.request("POST", "/v1/payments", { body, idempotencyKey: "x".repeat(300) });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("validation_failed");
    });
  });

  describe("rate limit", function () {
    it("past the burst: 429 rate_limited with Retry-After, per caller; the limit refills", async function () {
      let now = Date.now();
      h = await startApi({ config: { rateLimitPerSecond: 2, rateLimitBurst: 3 }, deps: { clock: () => now } });
      const statuses: number[] = [];
      let limited: ApiResponse | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await h.request("GET", "/v1/accounts/0x0000000000000000000000000000000000000001");
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      expect(statuses).to.deep.equal([200, 200, 200, 429, 429]);
      expect(limited!.body.error.code).to.equal("rate_limited");
      expect(Number(limited!.headers.get("retry-after"))).to.be.within(1, 2);

      // A merchant key has its own bucket, separate from the IP's.
      const key = await h.issueKey(1n); // admin route: its own bucket too
      expect((await h.request("GET", "/v1/merchant/balance", { key: key.key })).status).to.equal(200);

      // Health and metrics are never limited.
      expect((await h.request("GET", "/health")).status).to.equal(200);

      now += 1_000; // two tokens back
      expect((await h.request("GET", "/v1/accounts/0x0000000000000000000000000000000000000001")).status).to.equal(200);
    });
  });

  describe("cross-origin access", function () {
    beforeEach(async function () {
      h = await startApi();
    });

    it("another site's page gets no CORS grant: a preflight and a request with its Origin carry no Access-Control-Allow-Origin", async function () {
      const key = await h.issueKey(1n);
      const origin = "https://evil.example";
      const preflight = await h.request("OPTIONS", "/v1/merchant/payments", {
        headers: {
          origin,
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization",
        },
      });
      expect(preflight.status).to.equal(404);
      const read = await h.request("GET", "/v1/merchant/payments", { key: key.key, headers: { origin } });
      expect(read.status).to.equal(200);
      for (const res of [preflight, read]) {
        for (const header of [
          "access-control-allow-origin",
          "access-control-allow-headers",
          "access-control-allow-credentials",
        ]) {
          expect(res.headers.get(header), header).to.equal(null);
        }
      }
    });
  });

  describe("operations", function () {
    beforeEach(async function () {
      h = await startApi();
    });

    it("GET /health is 200 and GET /ready checks the store and the chain", async function () {
      expect((await h.request("GET", "/health")).body).to.deep.equal({ status: "ok" });
      const ready = await h.request("GET", "/ready");
      expect(ready.status).to.equal(200);
      expect(ready.body).to.deep.equal({ status: "ready", store: "ok", chain: "ok" });
    });

    it("GET /ready is 503 not_ready when the store is gone", async function () {
      await h.store.close();
      const res = await h.request("GET", "/ready");
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal("not_ready");
      expect(res.body.error.details.chain).to.equal("ok");
      expect(res.body.error.details.store).to.not.equal("ok");
    });

    it("a chain node that does not answer: /ready 503 not_ready, intake 503 chain_unavailable", async function () {
      const dead = await EthersChainView.connect({
        provider: new ethers.JsonRpcProvider("http://127.0.0.1:9", h.f.chainId, { staticNetwork: true }),
        escrow: await h.f.escrow.getAddress(),
        registry: await h.f.registry.getAddress(),
        chainId: h.f.chainId,
        callTimeoutMs: 2_000,
      });
      const { body } = await signedPayment(h, 0);
      await h.close();
      h = await startApi({ deps: { chain: dead } });
      const ready = await h.request("GET", "/ready");
      expect(ready.status).to.equal(503);
      expect(ready.body.error.code).to.equal("not_ready");
      expect(ready.body.error.details.store).to.equal("ok");
      const res = await h.request("POST", "/v1/payments", { body });
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal("chain_unavailable");
      expect((await h.store.payments.list({ limit: 1 })).items).to.have.length(0);
    });

    it("GET /metrics exposes request, intake, group commit, payment-state and chain-job series", async function () {
      const { body } = await signedPayment(h, 0);
      expect((await h.request("POST", "/v1/payments", { body })).status).to.equal(201);
      const res = await h.request("GET", "/metrics");
      expect(res.status).to.equal(200);
      expect(res.headers.get("content-type")).to.match(/^text\/plain/);
      expect(res.text).to.match(
        /relayer_http_request_duration_seconds_count\{method="POST",route="\/v1\/payments",status="201"\} 1/,
      );
      expect(res.text).to.match(/relayer_group_commit_size_count 1/);
      expect(res.text).to.match(/relayer_payments\{state="accepted",currency="USD"\} 1/);
      expect(res.text).to.match(/relayer_intake_queue_depth 0/);
      expect(res.text).to.match(/relayer_intake_results_total\{result="accepted",currency="USD"\} 1/);
      for (const name of [
        "relayer_batch_size",
        "relayer_gas_used_total",
        "relayer_submission_latency_seconds",
        "relayer_failures_total",
      ]) {
        expect(res.text).to.include(`# TYPE ${name}`);
      }
    });

    it("GET /v1/openapi.json documents every route with its method", async function () {
      const res = await h.request("GET", "/v1/openapi.json");
      expect(res.status).to.equal(200);
      expect(res.body.openapi).to.match(/^3\./);
      const documented = new Set<string>();
      for (const [p, methods] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) {
        for (const method of Object.keys(methods)) documented.add(`${method.toUpperCase()} ${p}`);
      }
      const expected = [
        "POST /v1/payments",
        "POST /v1/payments/batch",
        "POST /v1/payments/one-off",
        "GET /v1/payments/{id}",
        "POST /v1/payments/{id}/confirm",
        "POST /v1/payments/{id}/dispute",
        "POST /v1/payments/{id}/extend-hold",
        "POST /v1/payments/{id}/refund-requests",
        "POST /v1/payments/{id}/escalate",
        "POST /v1/deposits",
        "POST /v1/withdrawals",
        "GET /v1/accounts/{address}",
        "POST /v1/merchant/payment-requests",
        "GET /v1/merchant/payments",
        "GET /v1/merchant/payments/{id}",
        "GET /v1/merchant/payments/{id}/timeline",
        "GET /v1/merchant/payments/{id}/refund-typed-data",
        "POST /v1/merchant/payments/{id}/refunds",
        "GET /v1/merchant/payments/{id}/refund-rejection-typed-data",
        "POST /v1/merchant/payments/{id}/refund-requests/reject",
        "GET /v1/merchant/settlements",
        "GET /v1/merchant/balance",
        "GET /v1/merchant/reports/{kind}",
        "GET /v1/merchants/{id}/credit",
        "GET /v1/currencies",
        "POST /v1/merchant/webhooks",
        "GET /v1/merchant/webhooks",
        "GET /v1/merchant/webhooks/{id}/deliveries",
        "DELETE /v1/merchant/webhooks/{id}",
        "POST /v1/merchant/webhooks/{id}/disable",
        "POST /v1/merchant/webhooks/{id}/enable",
        "POST /v1/merchant/api-keys",
        "DELETE /v1/merchant/api-keys/{id}",
        "POST /v1/admin/merchants/{id}/api-keys",
        "POST /v1/fx/quotes",
        "POST /v1/fx/payments",
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "GET /v1/openapi.json",
      ];
      // Each route module registers exactly one route, and each expected route exists in the app.
      expect(ROUTES).to.have.length(expected.length);
      for (const route of expected) {
        const [method, url] = route.split(" ");
        expect(h.app.hasRoute({ method, url: url.replace(/\{(\w+)\}/g, ":$1") }), route).to.equal(true);
      }
      expect([...documented].sort()).to.deep.equal([...expected].sort());
      const create = res.body.paths["/v1/payments"].post;
      expect(create.requestBody.content["application/json"].schema.properties.amount.pattern).to.equal("^[0-9]+$");
      expect(res.body.paths["/v1/merchant/balance"].get.security).to.deep.equal([{ merchantKey: [] }]);
      const report = res.body.paths["/v1/merchant/reports/{kind}"].get;
      expect(report.security).to.deep.equal([{ merchantKey: [] }]);
      expect(Object.keys(report.responses["200"].content)).to.deep.equal(["text/csv"]);
      expect(res.body.paths["/v1/merchants/{id}/credit"].get.security).to.equal(undefined);
    });
  });
});
