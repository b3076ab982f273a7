/**
 * Idempotency records (issue 10, items 11 and 17). Every Idempotency-Key header used to be logged,
 * and the stored responses, sealed under that key, held the API keys and webhook secrets they
 * showed: the log plus the database gave them back. Public-route keys were shared by every customer
 * and never expired. Now: the header is redacted, secrets are never stored (a replay is 409
 * idempotent_replay_secret_withheld), public keys are scoped per customer, and records expire and
 * are pruned with long-expired payment requests.
 */
import { expect } from "chai";
import { decrypt, recordAddress } from "../../../src/relayer/http/idempotency";
import { ADMIN_TOKEN, databaseBytes, signedPayment, startApi, type ApiHarness } from "../helpers/api";

const HOUR = 3_600_000;

describe("relayer API: idempotency records", function () {
  let h: ApiHarness;
  let skew = 0;

  beforeEach(async function () {
    skew = 0;
    h = await startApi({
      config: { idempotencyRetentionMs: HOUR, requestRetentionMs: 2 * HOUR, pruneIntervalMs: 0 },
    });
  });

  afterEach(async function () {
    await h?.close();
  });

  /** A harness whose clock can be moved forward by `skew` (merchant routes only: no chain time involved). */
  async function restartWithSkewableClock(): Promise<void> {
    await h.close();
    h = await startApi({
      config: { idempotencyRetentionMs: HOUR, requestRetentionMs: 2 * HOUR, pruneIntervalMs: 0 },
      deps: { clock: () => Date.now() + skew },
    });
  }

  it("keys and secrets cannot be recovered from the log and the database, even with the Idempotency-Keys", async function () {
    const idem = {
      admin: "idem-admin-7f3a9c1e5b",
      rotate: "idem-rotate-2d8e4b6a0c",
      webhook: "idem-webhook-9a1c3e5f7b",
    };
    const issue = () =>
      h.request("POST", "/v1/admin/merchants/1/api-keys", {
        headers: { "x-admin-token": ADMIN_TOKEN },
        idempotencyKey: idem.admin,
      });
    const issued = await issue();
    expect(issued.status, issued.text).to.equal(201);
    const firstKey: string = issued.body.key;
    const rotate = () =>
      h.request("POST", "/v1/merchant/api-keys", { key: firstKey, body: {}, idempotencyKey: idem.rotate });
    const rotated = await rotate();
    expect(rotated.status, rotated.text).to.equal(201);
    const secondKey: string = rotated.body.key;
    const register = () =>
      h.request("POST", "/v1/merchant/webhooks", {
        key: secondKey,
        body: { url: "https://merchant.example/hooks" },
        idempotencyKey: idem.webhook,
      });
    const webhook = await register();
    expect(webhook.status, webhook.text).to.equal(201);
    const webhookSecret: string = webhook.body.secret;

    // Replays: 409 with the stable code and the rest of the first response, never the secret.
    for (const [replay, original, secret] of [
      [await issue(), issued, firstKey],
      [await rotate(), rotated, secondKey],
      [await register(), webhook, webhookSecret],
    ] as const) {
      expect([replay.status, replay.body.error.code]).to.deep.equal([409, "idempotent_replay_secret_withheld"]);
      expect(replay.headers.get("idempotent-replayed")).to.equal("true");
      expect(replay.body.error.details.status).to.equal(201);
      expect(replay.body.error.details.response.id).to.equal(original.body.id);
      expect(replay.text).to.not.include(secret);
    }

    const secrets = [firstKey, secondKey, webhookSecret, ...Object.values(idem), ADMIN_TOKEN];
    const logs = h.logs.join("");
    expect(logs).to.include('"idempotency-key":"[redacted]"');
    for (const secret of secrets) expect(logs, `log carries ${secret}`).to.not.include(secret);

    const bytes = databaseBytes(h.dbPath);
    for (const secret of [firstKey, secondKey, ...Object.values(idem), ADMIN_TOKEN]) {
      expect(bytes.includes(Buffer.from(secret)), `database carries ${secret}`).to.equal(false);
    }
    // An attacker holding the Idempotency-Keys (as the log used to give them) opens the records:
    // they hold no secret.
    const scopes: [string, string][] = [
      [`admin POST /v1/admin/merchants/1/api-keys`, idem.admin],
      [`merchant:1 POST /v1/merchant/api-keys`, idem.rotate],
      [`merchant:1 POST /v1/merchant/webhooks`, idem.webhook],
    ];
    for (const [scope, key] of scopes) {
      const { lookup, secret } = recordAddress(scope, key);
      const record = await h.store.idempotency.get(scope, lookup);
      expect(record, scope).to.not.equal(null);
      const opened = decrypt(secret, record!.body);
      expect(opened).to.include(scope.includes("webhooks") ? webhook.body.id : "key_");
      for (const s of [firstKey, secondKey, webhookSecret]) expect(opened).to.not.include(s);
    }
  });

  it("public routes: two customers using the same Idempotency-Key each get their own payment", async function () {
    const a = await signedPayment(h, 0, { nonce: 0n });
    const b = await signedPayment(h, 1, { nonce: 0n });
    const first = await h.request("POST", "/v1/payments", { body: a.body, idempotencyKey: "order-1" });
    const second = await h.request("POST", "/v1/payments", { body: b.body, idempotencyKey: "order-1" });
    expect([first.status, second.status]).to.deep.equal([201, 201]);
    expect(second.body.payer).to.equal(h.f.customers[1].address.toLowerCase());
    expect(second.headers.get("idempotent-replayed")).to.equal(null);
    // Within one customer the key still replays.
    const replay = await h.request("POST", "/v1/payments", { body: a.body, idempotencyKey: "order-1" });
    expect([replay.status, replay.headers.get("idempotent-replayed"), replay.text]).to.deep.equal([
      201,
      "true",
      first.text,
    ]);
    const other = await signedPayment(h, 0, { nonce: 1n });
    const reused = await h.request("POST", "/v1/payments", { body: other.body, idempotencyKey: "order-1" });
    expect([reused.status, reused.body.error.code]).to.deep.equal([422, "idempotency_key_reused"]);
  });

  it("a record expires after its retention: the key then creates anew", async function () {
    await restartWithSkewableClock();
    const key = (await h.issueKey(1n)).key;
    const create = () =>
      h.request("POST", "/v1/merchant/payment-requests", {
        key,
        body: { amount: "1000", orderRef: "expiring", expiresIn: 600 },
        idempotencyKey: "req-1",
      });
    const first = await create();
    const replay = await create();
    expect([first.status, replay.headers.get("idempotent-replayed"), replay.body.id]).to.deep.equal([
      201,
      "true",
      first.body.id,
    ]);
    skew += HOUR + 1;
    const later = await create();
    expect(later.status).to.equal(201);
    expect(later.headers.get("idempotent-replayed")).to.equal(null);
    expect(later.body.id).to.not.equal(first.body.id);
    // ...and the new record answers replays from then on.
    expect((await create()).body.id).to.equal(later.body.id);
  });

  it("the pruner deletes expired idempotency records, payment requests expired past their retention and finished relay requests", async function () {
    await restartWithSkewableClock();
    // Relay requests: one sent now, one still queued (never pruned, however old).
    const relay = (n: number) => ({
      id: `0x${n.toString(16).padStart(64, "0")}` as const,
      operation: "confirmWithSignature" as const,
      calldata: "0x12" as const,
      payer: null,
      deadline: null,
      now: Date.now(),
    });
    await h.store.relayRequests.enqueue(relay(1));
    await h.store.relayRequests.enqueue(relay(2));
    await h.store.relayRequests.markSent(relay(1).id, `0x${"ab".repeat(32)}`, Date.now());
    const key = (await h.issueKey(1n)).key;
    const create = (n: number, idempotencyKey?: string) =>
      h.request("POST", "/v1/merchant/payment-requests", {
        key,
        body: { amount: "1000", orderRef: `order-${n}`, expiresIn: 60 },
        idempotencyKey,
      });
    const old = await create(1, "old-key");
    skew += 30 * 60_000;
    const recent = await create(2, "recent-key");
    expect([old.status, recent.status]).to.deep.equal([201, 201]);
    const scope = "merchant:1 POST /v1/merchant/payment-requests";
    const stored = async (idempotencyKey: string) =>
      h.store.idempotency.get(scope, recordAddress(scope, idempotencyKey).lookup);

    // 61 min after the first: its record is past the 1 h retention, the second's is not; both
    // requests expired, neither 2 h ago.
    skew += 31 * 60_000;
    expect(await h.app.retention.prune()).to.deep.equal({ idempotency: 1, requests: 0, relayRequests: 1 });
    expect(await stored("old-key")).to.equal(null);
    expect(await stored("recent-key")).to.not.equal(null);
    expect(await h.store.requests.get(old.body.id)).to.not.equal(null);

    skew += 2 * HOUR;
    expect(await h.app.retention.prune()).to.deep.equal({ idempotency: 1, requests: 2, relayRequests: 0 });
    expect(await stored("recent-key")).to.equal(null);
    expect(await h.store.requests.get(old.body.id)).to.equal(null);
    expect(await h.store.requests.get(recent.body.id)).to.equal(null);
    expect(await h.store.relayRequests.countByState()).to.deep.equal({ queued: 1, sent: 0, failed: 0 });
  });
});
