import { expect } from "chai";
import { createHash } from "node:crypto";
import { IN_PROGRESS_MS, recordAddress } from "../../../src/relayer/http/idempotency";
import { startApi, type ApiHarness } from "../helpers/api";

const HOUR = 3_600_000;

describe("relayer API: Idempotency-Key claimed across instances", function () {
  let h: ApiHarness;
  let key: string;
  beforeEach(async function () {
    h = await startApi({ config: { idempotencyRetentionMs: HOUR }, deps: { multiInstance: true } });
    key = (await h.issueKey(1n)).key;
  });
  afterEach(async function () {
    await h?.close();
  });

  const body = { amount: "25000000", orderRef: "order-claim", expiresIn: 3600 };
  const create = (idempotencyKey: string) =>
    h.request("POST", "/v1/merchant/payment-requests", { key, body, idempotencyKey });

  it("while another instance runs the key: 409 idempotency_in_progress, and the request does not run", async function () {
    // Another instance's claim, as it stores it before running the request.
    const scope = "merchant:1 POST /v1/merchant/payment-requests";
    const { lookup } = recordAddress(scope, "k-1");
    const now = h.clock();
    const requestHash = `0x${createHash("sha256").update(JSON.stringify(body)).digest("hex")}` as const;
    await h.store.idempotency.put({
      scope,
      key: lookup,
      requestHash,
      status: 0,
      body: "claim:other",
      createdAt: now - HOUR + IN_PROGRESS_MS,
    });
    const res = await create("k-1");
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal("idempotency_in_progress");
    // The request did not run: the other instance's claim is untouched.
    expect((await h.store.idempotency.get(scope, lookup))?.body).to.equal("claim:other");
    // A different body under the claimed key is still a reuse.
    const other = await h.request("POST", "/v1/merchant/payment-requests", {
      key,
      body: { ...body, orderRef: "x" },
      idempotencyKey: "k-1",
    });
    expect(other.body.error.code).to.equal("idempotency_key_reused");
  });

  it("the first response is stored over the claim and replayed; a failure frees the key", async function () {
    const first = await create("k-2");
    expect(first.status).to.equal(201);
    const replay = await create("k-2");
    expect(replay.status).to.equal(201);
    expect(replay.headers.get("idempotent-replayed")).to.equal("true");
    expect(replay.body.id).to.equal(first.body.id);

    const bad = await h.request("POST", "/v1/merchant/payment-requests", {
      key,
      body: { ...body, amount: "0" },
      idempotencyKey: "k-3",
    });
    expect(bad.status).to.be.within(400, 499);
    const again = await h.request("POST", "/v1/merchant/payment-requests", {
      key,
      body: { ...body, amount: "0" },
      idempotencyKey: "k-3",
    });
    expect(again.status).to.equal(bad.status);
    expect(again.body.error.code).to.equal(bad.body.error.code);
  });
});
