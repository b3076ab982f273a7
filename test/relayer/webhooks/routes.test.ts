import { expect } from "chai";
import Database from "better-sqlite3";
import fs from "node:fs";
import { loadConfig } from "../../../src/relayer/config";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { defaultKeyFile, openSqliteStore } from "../../../src/relayer/store/sqlite";
import { WebhookDispatcher } from "../../../src/relayer/webhooks/dispatcher";
import { enqueuePaymentEvent } from "../../../src/relayer/webhooks/events";
import { verifyWebhook } from "../../../src/protocol/schemas/webhookSignature";
import type { WebhookSettings } from "../../../src/relayer/webhooks/settings";
import { classifyAddress } from "../../../src/relayer/webhooks/urlGuard";
import { databaseBytes, signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { tempStore } from "../store/helpers";
import { LOOPBACK_OK } from "./outbox";
import { Receiver } from "./receiver";

describe("relayer API: webhook endpoints", function () {
  this.timeout(120_000);
  let h: ApiHarness;
  let receiver: Receiver;
  let dispatchers: WebhookDispatcher[];

  const start = async (webhooks: Partial<WebhookSettings> = {}) => {
    h = await startApi({ config: { webhooks: { ...loadConfig({}).webhooks, ...LOOPBACK_OK, ...webhooks } } });
    return h;
  };
  const dispatcher = (overrides: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {}) => {
    const d = new WebhookDispatcher({
      store: h.store,
      now: h.clock,
      baseDelayMs: 10,
      urlPolicy: LOOPBACK_OK,
      ...overrides,
    });
    dispatchers.push(d);
    return d;
  };
  const register = (key: string, url: string) => h.request("POST", "/v1/merchant/webhooks", { key, body: { url } });

  beforeEach(async () => {
    receiver = await new Receiver().start();
    dispatchers = [];
  });
  afterEach(async () => {
    for (const d of dispatchers) await d.stop();
    await receiver.stop();
    await h?.close();
  });

  it("lists (without secrets), disables, enables and deletes an endpoint; another merchant gets 404 and sees none", async () => {
    await start();
    const a = await h.issueKey(1n);
    const b = await h.issueKey(2n);
    const created = await register(a.key, receiver.url);
    expect(created.status).to.equal(201);
    const id = created.body.id as string;
    const second = await register(a.key, "https://shop.example/hooks");

    const list = await h.request("GET", "/v1/merchant/webhooks", { key: a.key });
    expect(list.status).to.equal(200);
    expect(list.body.items.map((e: { id: string }) => e.id)).to.deep.equal([id, second.body.id]);
    expect(list.body.items[0]).to.deep.equal({
      id,
      url: receiver.url,
      createdAt: created.body.createdAt,
      enabled: true,
      disabledAt: null,
      disabledReason: null,
      consecutiveFailures: 0,
      failingSince: null,
      lastError: null,
    });
    expect(list.text).to.not.include(created.body.secret);
    expect(list.text).to.not.include("whsec_");

    // Merchant 2 sees none of them and can touch none: 404 as if they did not exist.
    expect((await h.request("GET", "/v1/merchant/webhooks", { key: b.key })).body).to.deep.equal({ items: [] });
    for (const [method, route] of [
      ["POST", `/v1/merchant/webhooks/${id}/disable`],
      ["POST", `/v1/merchant/webhooks/${id}/enable`],
      ["DELETE", `/v1/merchant/webhooks/${id}`],
    ]) {
      const res = await h.request(method, route, { key: b.key });
      expect([res.status, res.body.error.code], `${method} ${route}`).to.deep.equal([404, "not_found"]);
    }
    const unknown = await h.request("DELETE", "/v1/merchant/webhooks/wh_nope", { key: a.key });
    expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "not_found"]);
    expect((await h.store.webhooks.get(id))!.disabledAt).to.equal(null);

    const disabled = await h.request("POST", `/v1/merchant/webhooks/${id}/disable`, { key: a.key });
    expect(disabled.status).to.equal(200);
    expect(disabled.body).to.deep.include({ id, enabled: false, disabledReason: "merchant" });
    // Disabled: events of the merchant's payments are not queued for it.
    const { body } = await signedPayment(h, 0);
    expect((await h.request("POST", "/v1/payments", { body })).status).to.equal(201);
    expect(await h.store.outbox.pendingCount()).to.equal(1); // the other endpoint's only

    const enabled = await h.request("POST", `/v1/merchant/webhooks/${id}/enable`, { key: a.key });
    expect(enabled.status).to.equal(200);
    expect(enabled.body).to.deep.include({ id, enabled: true, disabledAt: null, disabledReason: null });

    const deleted = await h.request("DELETE", `/v1/merchant/webhooks/${id}`, { key: a.key });
    expect([deleted.status, deleted.text]).to.deep.equal([204, ""]);
    expect(await h.store.webhooks.get(id)).to.equal(null);
    const after = await h.request("GET", "/v1/merchant/webhooks", { key: a.key });
    expect(after.body.items.map((e: { id: string }) => e.id)).to.deep.equal([second.body.id]);
  });

  it("caps endpoints per merchant: 409 webhook_limit_reached; deleting one frees a place", async () => {
    await start({ maxEndpointsPerMerchant: 3 });
    const a = await h.issueKey(1n);
    const b = await h.issueKey(2n);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await register(a.key, `https://shop.example/hooks/${i}`)).body.id);
    // A disabled endpoint still counts.
    await h.request("POST", `/v1/merchant/webhooks/${ids[0]}/disable`, { key: a.key });
    const refused = await register(a.key, "https://shop.example/hooks/3");
    expect(refused.status).to.equal(409);
    expect(refused.body.error).to.deep.include({ code: "webhook_limit_reached", details: { max: 3 } });
    // Concurrent registrations cannot slip past the cap either.
    await h.request("DELETE", `/v1/merchant/webhooks/${ids[1]}`, { key: a.key });
    const race = await Promise.all([0, 1, 2, 3].map((i) => register(a.key, `https://shop.example/race/${i}`)));
    expect(race.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409]);
    expect(await h.store.webhooks.listByMerchant(1n)).to.have.length(3);
    // Per merchant: merchant 2 registers freely.
    expect((await register(b.key, "https://other.example/hooks")).status).to.equal(201);
  });

  it("refuses URLs at loopback, private and link-local addresses (422 webhook_url_not_allowed) unless the operator allows them", async () => {
    await start({ allowLoopback: false, allowPrivate: false });
    const a = await h.issueKey(1n);
    const refused: [string, string, string][] = [
      ["http://127.0.0.1:8080/hooks", "127.0.0.1", "loopback"],
      ["http://localhost:8080/hooks", "127.0.0.1", "loopback"], // a name resolving there
      ["http://[::1]/hooks", "::1", "loopback"],
      ["http://0.0.0.0/hooks", "0.0.0.0", "loopback"],
      ["http://[::ffff:127.0.0.1]/hooks", "::ffff:7f00:1", "loopback"],
      ["http://169.254.169.254/latest/meta-data", "169.254.169.254", "private"],
      ["http://10.1.2.3/hooks", "10.1.2.3", "private"],
      ["http://172.16.0.1/hooks", "172.16.0.1", "private"],
      ["http://192.168.1.10/hooks", "192.168.1.10", "private"],
      ["http://100.64.0.1/hooks", "100.64.0.1", "private"],
      ["http://[fd00::1]/hooks", "fd00::1", "private"],
      ["http://[fe80::1]/hooks", "fe80::1", "private"],
    ];
    for (const [url, address, kind] of refused) {
      const res = await register(a.key, url);
      expect(res.status, url).to.equal(422);
      expect(res.body.error.code, url).to.equal("webhook_url_not_allowed");
      expect(res.body.error.details, url).to.deep.equal({ address, kind });
    }
    expect(await h.store.webhooks.listByMerchant(1n)).to.deep.equal([]);
    // Public addresses, and names that do not resolve yet (checked again at every delivery), pass.
    expect((await register(a.key, "https://93.184.215.14/hooks")).status).to.equal(201);
    expect((await register(a.key, "https://shop.example/hooks")).status).to.equal(201);
    expect(["8.8.8.8", "172.32.0.1", "2606:4700::1111"].map(classifyAddress)).to.deep.equal([
      "public",
      "public",
      "public",
    ]);
    await h.close();

    await start({ allowLoopback: true, allowPrivate: false });
    const key = (await h.issueKey(1n)).key;
    expect((await register(key, "http://localhost:8080/hooks")).status).to.equal(201);
    expect((await register(key, "http://10.1.2.3/hooks")).status).to.equal(422);
    await h.close();

    await start({ allowLoopback: false, allowPrivate: true });
    const other = (await h.issueKey(1n)).key;
    expect((await register(other, "http://10.1.2.3/hooks")).status).to.equal(201);
    expect((await register(other, "http://127.0.0.1/hooks")).status).to.equal(422);
  });

  it("an endpoint the relayer disabled after repeated failures shows as failing in the list until enabled", async () => {
    await start();
    const a = await h.issueKey(1n);
    const id = (await register(a.key, receiver.url)).body.id as string;
    receiver.respond = () => 503;
    for (let customer = 0; customer < 3; customer++) {
      const { body } = await signedPayment(h, customer);
      expect((await h.request("POST", "/v1/payments", { body })).status).to.equal(201);
    }
    await dispatcher({ disablePolicy: { failures: 2, spanMs: 0 } }).tick();
    const list = await h.request("GET", "/v1/merchant/webhooks", { key: a.key });
    expect(list.body.items[0]).to.deep.include({
      id,
      enabled: false,
      disabledReason: "failing",
      consecutiveFailures: 2,
      lastError: "HTTP 503",
    });
    expect(list.body.items[0].failingSince).to.be.a("string");
    expect(receiver.requests).to.have.length(2);

    receiver.respond = () => 200;
    const enabled = await h.request("POST", `/v1/merchant/webhooks/${id}/enable`, { key: a.key });
    expect(enabled.body).to.deep.include({ enabled: true, consecutiveFailures: 0, lastError: null });
    await dispatcher().tick();
    // The three accepted events, the two failed ones included, arrive once the endpoint is back.
    const types = receiver.delivered().map((r) => JSON.parse(r.body.toString()).type);
    expect(types).to.deep.equal(["payment.accepted", "payment.accepted", "payment.accepted"]);
  });

  it("delivers payment.accepted when a payment is accepted; every event carries a sequence number per payment", async () => {
    await start();
    const a = await h.issueKey(1n);
    const endpoint = (await register(a.key, receiver.url)).body;
    const first = await signedPayment(h, 0);
    const second = await signedPayment(h, 1);
    const ids: Hex[] = [];
    for (const p of [first, second]) {
      const res = await h.request("POST", "/v1/payments", { body: p.body });
      expect(res.status).to.equal(201);
      ids.push(res.body.id);
    }
    // Later state changes of the first payment, and one repeated (a job re-run after a crash).
    const stored = (await h.store.payments.get(ids[0]))!;
    const batched = { ...stored, state: PaymentState.Batched, updatedAt: stored.updatedAt + 1 };
    const escrowed = { ...stored, state: PaymentState.Escrowed, updatedAt: stored.updatedAt + 2 };
    await enqueuePaymentEvent(h.store, batched, undefined, h.clock());
    await enqueuePaymentEvent(h.store, escrowed, undefined, h.clock());
    expect(await enqueuePaymentEvent(h.store, escrowed, undefined, h.clock())).to.equal(0);

    await dispatcher().tick();
    const events = receiver.delivered().map((r) => {
      verifyWebhook({
        secret: endpoint.secret,
        header: r.headers["stablepay-signature"],
        body: r.body,
        now: h.clock(),
      });
      return JSON.parse(r.body.toString()) as { type: string; sequence: number; data: { id: string; state: string } };
    });
    const of = (id: string) =>
      events.filter((e) => e.data.id === id).map((e) => [e.type, e.sequence, e.data.state] as const);
    expect(of(ids[0]).sort((x, y) => x[1] - y[1])).to.deep.equal([
      ["payment.accepted", 1, "accepted"],
      ["payment.batched", 2, "batched"],
      ["payment.escrowed", 3, "escrowed"],
    ]);
    expect(of(ids[1])).to.deep.equal([["payment.accepted", 1, "accepted"]]);
  });

  it("keeps no webhook secret in clear in the database: not in the endpoint row, not in a stored response", async () => {
    await start();
    const a = await h.issueKey(1n);
    const res = await h.request("POST", "/v1/merchant/webhooks", {
      key: a.key,
      body: { url: receiver.url },
      idempotencyKey: "register-once-0001",
    });
    expect(res.status).to.equal(201);
    const secret = res.body.secret as string;
    expect(secret).to.match(/^whsec_/);
    expect((await h.store.webhooks.get(res.body.id))!.secret, "the store decrypts it").to.equal(secret);
    const bytes = databaseBytes(h.dbPath);
    expect(bytes.includes(Buffer.from(secret)), "secret in the database file").to.equal(false);
    expect(bytes.includes(Buffer.from(secret.slice(6))), "secret body in the database file").to.equal(false);
    // Deliveries still sign with it.
    await enqueuePaymentEvent(h.store, { ...(await anyPayment(h)), merchantId: 1n }, "payment.escrowed", h.clock());
    await dispatcher().tick();
    expect(() =>
      verifyWebhook({
        secret,
        header: receiver.delivered()[0].headers["stablepay-signature"],
        body: receiver.delivered()[0].body,
        now: h.clock(),
      }),
    ).to.not.throw();
  });
});

/** A stored payment to hang an event on. */
async function anyPayment(h: ApiHarness) {
  const { body } = await signedPayment(h, 2);
  const res = await h.request("POST", "/v1/payments", { body });
  return (await h.store.payments.get(res.body.id))!;
}

describe("webhook secrets at rest", function () {
  it("encrypts secrets stored in clear by an older relayer when the store opens, and leaves no clear copy", async () => {
    const { store, file, cleanup } = await tempStore();
    const secret = "whsec_PLAINTEXT_FROM_AN_OLDER_RELAYER_0123456789";
    await store.close();
    const raw = new Database(file);
    raw
      .prepare(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run("wh_old", "1", "https://shop.example/hooks", secret, 1, null);
    raw.close();
    expect(databaseBytes(file).includes(Buffer.from(secret)), "the old row is in clear").to.equal(true);

    const reopened = await openSqliteStore(file);
    try {
      expect((await reopened.webhooks.get("wh_old"))!.secret).to.equal(secret);
      expect(databaseBytes(file).includes(Buffer.from(secret)), "clear secret left in the file").to.equal(false);
      const stored = new Database(file, { readonly: true });
      const row = stored.prepare("SELECT secret FROM webhook_endpoints").get() as { secret: string };
      stored.close();
      expect(row.secret).to.match(/^enc1:/);
      // The generated key sits beside the database, readable by its owner only.
      expect(fs.statSync(defaultKeyFile(file)).mode & 0o777).to.equal(0o600);
    } finally {
      await reopened.close();
    }

    // Under another key the secret does not decrypt.
    const wrong = await openSqliteStore(file, { secretKey: Buffer.alloc(32, 7) });
    try {
      let error: unknown;
      await wrong.webhooks.get("wh_old").catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/does not decrypt/);
    } finally {
      await wrong.close();
      await cleanup();
    }
  });
});
