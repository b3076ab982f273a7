import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { TypedDataEncoder } from "ethers";
import type { Hex } from "../../../src/relayer/domain";
import { idOf, signRefund, usd } from "../../escrow/fixtures";
import { ADMIN_TOKEN, databaseBytes, escrowInStore, signedPayment, useApi, type ApiHarness } from "../helpers/api";

describe("relayer API: merchants", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  describe("operator bootstrap: POST /v1/admin/merchants/:id/api-keys", function () {
    it("issues a key (sp_live_ + 43 base64url chars) that authenticates as that merchant", async function () {
      const res = await h.request("POST", "/v1/admin/merchants/2/api-keys", {
        headers: { "x-admin-token": ADMIN_TOKEN },
      });
      expect(res.status).to.equal(201);
      expect(res.body.key).to.match(/^sp_live_[A-Za-z0-9_-]{43}$/);
      expect(res.body.merchantId).to.equal("2");
      const balance = await h.request("GET", "/v1/merchant/balance", { key: res.body.key });
      expect(balance.status).to.equal(200);
      expect(balance.body).to.deep.equal({ merchantId: "2", currency: "USD", released: "0", claimable: "0" });
    });

    it("without or with a wrong admin token: 401 unauthorized; unknown merchant: 404 unknown_merchant", async function () {
      const none = await h.request("POST", "/v1/admin/merchants/1/api-keys");
      expect(none.status).to.equal(401);
      expect(none.body.error.code).to.equal("unauthorized");
      const wrong = await h.request("POST", "/v1/admin/merchants/1/api-keys", { headers: { "x-admin-token": "nope" } });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.error.code).to.equal("unauthorized");
      const unknown = await h.request("POST", "/v1/admin/merchants/42/api-keys", {
        headers: { "x-admin-token": ADMIN_TOKEN },
      });
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error.code).to.equal("unknown_merchant");
    });
  });

  describe("authentication", function () {
    const routes: [string, string, unknown?][] = [
      ["GET", "/v1/merchant/balance"],
      ["GET", "/v1/merchant/payments"],
      ["GET", `/v1/merchant/payments/0x${"11".repeat(32)}`],
      ["GET", "/v1/merchant/settlements"],
      ["POST", "/v1/merchant/payment-requests", { amount: "1", orderRef: "x", expiresIn: 600 }],
      ["POST", "/v1/merchant/webhooks", { url: "https://example.com/hook" }],
      ["GET", "/v1/merchant/webhooks"],
      ["GET", "/v1/merchant/webhooks/wh_abc/deliveries"],
      ["DELETE", "/v1/merchant/webhooks/wh_abc"],
      ["POST", "/v1/merchant/webhooks/wh_abc/disable"],
      ["POST", "/v1/merchant/webhooks/wh_abc/enable"],
      ["POST", "/v1/merchant/api-keys", {}],
      ["DELETE", "/v1/merchant/api-keys/key_abc"],
      [
        "POST",
        `/v1/merchant/payments/0x${"11".repeat(32)}/refunds`,
        { totalRefund: "1", deadline: "1", signature: "0x00" },
      ],
      [
        "POST",
        `/v1/merchant/payments/0x${"11".repeat(32)}/refund-requests/reject`,
        { ordinal: "1", deadline: "1", signature: "0x00" },
      ],
    ];

    it("every merchant route: no key → 401, malformed → 401, well-formed but unknown key → 401", async function () {
      const unknownKey = "sp_live_" + "A".repeat(43);
      for (const [method, route, body] of routes) {
        for (const headers of [
          {},
          { authorization: "Bearer nope" },
          { authorization: `Basic ${unknownKey}` },
          { authorization: `Bearer ${unknownKey}` },
        ]) {
          const res = await h.request(method, route, { body, headers: headers as Record<string, string> });
          expect(res.status, `${method} ${route} ${JSON.stringify(headers)}`).to.equal(401);
          expect(res.body.error.code).to.equal("unauthorized");
        }
      }
    });

    it("a revoked key fails on its very next request", async function () {
      const a = await h.issueKey(1n);
      const b = await h.issueKey(1n);
      expect((await h.request("GET", "/v1/merchant/balance", { key: a.key })).status).to.equal(200);
      const revoke = await h.request("DELETE", `/v1/merchant/api-keys/${a.id}`, { key: b.key });
      expect(revoke.status).to.equal(200);
      expect(revoke.body.id).to.equal(a.id);
      const after = await h.request("GET", "/v1/merchant/balance", { key: a.key });
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal("unauthorized");
      expect((await h.request("GET", "/v1/merchant/balance", { key: b.key })).status).to.equal(200);
    });

    it("rotation: a new key, and with revokeCurrent the calling key stops working at once", async function () {
      const old = await h.issueKey(1n);
      const keep = await h.request("POST", "/v1/merchant/api-keys", { key: old.key, body: {} });
      expect(keep.status).to.equal(201);
      expect(keep.body.revokedKeyId).to.equal(undefined);
      expect((await h.request("GET", "/v1/merchant/balance", { key: old.key })).status).to.equal(200);

      const rotated = await h.request("POST", "/v1/merchant/api-keys", { key: old.key, body: { revokeCurrent: true } });
      expect(rotated.status).to.equal(201);
      expect(rotated.body.revokedKeyId).to.equal(old.id);
      expect((await h.request("GET", "/v1/merchant/balance", { key: old.key })).status).to.equal(401);
      expect((await h.request("GET", "/v1/merchant/balance", { key: rotated.body.key })).status).to.equal(200);
    });

    it("a merchant cannot revoke another merchant's key (404 not_found), nor an unknown id", async function () {
      const a = await h.issueKey(1n);
      const b = await h.issueKey(2n);
      const res = await h.request("DELETE", `/v1/merchant/api-keys/${b.id}`, { key: a.key });
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal("not_found");
      expect((await h.request("GET", "/v1/merchant/balance", { key: b.key })).status).to.equal(200);
      const unknown = await h.request("DELETE", "/v1/merchant/api-keys/key_doesnotexist", { key: a.key });
      expect(unknown.status).to.equal(404);
    });

    it("API keys appear in no log line, no error body and no database byte (WAL included)", async function () {
      const first = await h.issueKey(1n);
      const rotated = await h.request("POST", "/v1/merchant/api-keys", {
        key: first.key,
        body: { revokeCurrent: true },
        idempotencyKey: "rotate-1",
      });
      expect(rotated.status).to.equal(201);
      const secondKey: string = rotated.body.key;
      // The replay does not show the secret again: it was never kept. It names the key created.
      const replay = await h.request("POST", "/v1/merchant/api-keys", {
        key: secondKey,
        body: { revokeCurrent: true },
        idempotencyKey: "rotate-1",
      });
      expect([replay.status, replay.body.error.code]).to.deep.equal([409, "idempotent_replay_secret_withheld"]);
      expect(replay.body.error.details.response.id).to.equal(rotated.body.id);
      expect(replay.text).to.not.include(secondKey);
      const errors = [
        await h.request("GET", "/v1/merchant/balance", { key: first.key }), // revoked
        await h.request("GET", "/v1/merchant/payments?limit=1000", { key: secondKey }),
        await h.request("POST", "/v1/merchant/webhooks", { key: secondKey, raw: "{bad" }),
        await h.request("POST", "/v1/merchant/webhooks", { key: secondKey, body: { url: secondKey } }),
      ];
      expect(errors.map((e) => e.status)).to.deep.equal([401, 400, 400, 400]);
      for (const error of errors) {
        expect(error.text).to.not.include(first.key);
        expect(error.text).to.not.include(secondKey);
        expect(error.text).to.not.include(secondKey.slice(8));
      }

      const logs = h.logs.join("");
      expect(logs).to.include('"authorization":"[redacted]"'); // the header was logged, censored
      expect(logs).to.include('"x-admin-token":"[redacted]"');
      for (const secret of [first.key, secondKey, ADMIN_TOKEN]) {
        expect(logs).to.not.include(secret);
        expect(logs).to.not.include(secret.slice(8, 30));
      }

      const bytes = databaseBytes(h.dbPath);
      expect(bytes.length).to.be.greaterThan(0);
      for (const secret of [first.key, secondKey]) {
        expect(bytes.includes(Buffer.from(secret))).to.equal(false);
        expect(bytes.includes(Buffer.from(secret.slice(8)))).to.equal(false);
      }
      // The check above can fail: the hash that IS stored is found the same way.
      const { hashApiKey } = await import("../../../src/relayer/http/auth");
      expect(bytes.includes(Buffer.from(hashApiKey(secondKey).slice(2)))).to.equal(true);
    });
  });

  describe("payment requests: POST /v1/merchant/payment-requests", function () {
    it("returns typed data a wallet signs; the signed payment is accepted against the request and marks it paid", async function () {
      const key = await h.issueKey(1n);
      const res = await h.request("POST", "/v1/merchant/payment-requests", {
        key: key.key,
        body: { amount: usd(42).toString(), orderRef: "order-42", expiresIn: 3600 },
      });
      expect(res.status).to.equal(201);
      const { typedData } = res.body;
      expect(typedData.primaryType).to.equal("Payment");
      expect(typedData.domain).to.deep.equal({
        name: "StablePay Escrow",
        version: "1",
        chainId: Number(h.f.chainId),
        verifyingContract: (await h.f.escrow.getAddress()).toLowerCase(),
      });
      expect(typedData.message.payer).to.equal(null);
      expect(typedData.message.nonce).to.equal(null);
      expect(res.body.orderRef).to.equal(ethers.id("order-42"));

      const customer = h.f.customers[0];
      const message = { ...typedData.message, payer: customer.address, nonce: "0" };
      const { EIP712Domain: _domain, ...types } = typedData.types;
      const signature = await customer.signTypedData(typedData.domain, types, message);
      const submitted = await h.request("POST", "/v1/payments", {
        body: { ...message, signature, requestId: res.body.submit.requestId },
      });
      expect(submitted.status, submitted.text).to.equal(201);
      expect(submitted.body.requestId).to.equal(res.body.id);
      expect(submitted.body.id).to.equal(TypedDataEncoder.hash(typedData.domain, types, message));
      expect((await h.store.requests.get(res.body.id))?.paymentId).to.equal(submitted.body.id);

      // A second payment for the same request (another payer) is refused.
      const other = h.f.customers[1];
      const otherMessage = { ...message, payer: other.address };
      const otherSig = await other.signTypedData(typedData.domain, types, otherMessage);
      const again = await h.request("POST", "/v1/payments", {
        body: { ...otherMessage, signature: otherSig, requestId: res.body.id },
      });
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal("request_already_paid");
    });

    it("keeps the text of a text order reference; GET /v1/merchant/payments?orderRef= finds the payment by that text or its bytes32", async function () {
      const key = await h.issueKey(1n);
      const text = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`;
      const res = await h.request("POST", "/v1/merchant/payment-requests", {
        key: key.key,
        body: { amount: usd(3).toString(), orderRef: text, expiresIn: 3600 },
      });
      expect(res.status).to.equal(201);
      expect((await h.store.requests.get(res.body.id))!.orderRefText).to.equal(text);
      const customer = h.f.customers[0];
      const message = { ...res.body.typedData.message, payer: customer.address, nonce: "0" };
      const { EIP712Domain: _domain, ...types } = res.body.typedData.types;
      const signature = await customer.signTypedData(res.body.typedData.domain, types, message);
      const paid = await h.request("POST", "/v1/payments", {
        body: { ...message, signature, requestId: res.body.id },
      });
      expect(paid.status, paid.text).to.equal(201);
      const { body: unrelated } = await signedPayment(h, 1, { amount: usd(1) });
      expect((await h.request("POST", "/v1/payments", { body: unrelated })).status).to.equal(201);

      for (const ref of [text, ethers.id(text), ethers.id(text).toUpperCase().replace("0X", "0x")]) {
        const found = await h.request("GET", `/v1/merchant/payments?orderRef=${encodeURIComponent(ref)}`, {
          key: key.key,
        });
        expect(found.status, ref).to.equal(200);
        expect(found.body.items.map((p: { id: string }) => p.id)).to.deep.equal([paid.body.id]);
      }
      const none = await h.request("GET", "/v1/merchant/payments?orderRef=order-nobody-used", { key: key.key });
      expect(none.body.items).to.deep.equal([]);
      const other = await h.issueKey(2n);
      const theirs = await h.request("GET", `/v1/merchant/payments?orderRef=${encodeURIComponent(text)}`, {
        key: other.key,
      });
      expect(theirs.body.items, "another merchant's search finds nothing").to.deep.equal([]);
      const tooLong = await h.request("GET", `/v1/merchant/payments?orderRef=${"x".repeat(129)}`, { key: key.key });
      expect(tooLong.status).to.equal(400);
      expect(tooLong.body.error.code).to.equal("validation_failed");
    });

    it("a payment that does not match its request (amount) is 400 validation_failed; an unknown request 404", async function () {
      const key = await h.issueKey(1n);
      const req = await h.request("POST", "/v1/merchant/payment-requests", {
        key: key.key,
        body: { amount: usd(5).toString(), orderRef: `0x${"ab".repeat(32)}`, expiresIn: 600 },
      });
      expect(req.body.orderRef).to.equal(`0x${"ab".repeat(32)}`);
      const { body } = await signedPayment(h, 0, { amount: usd(6), orderRef: `0x${"ab".repeat(32)}` as Hex });
      const mismatch = await h.request("POST", "/v1/payments", { body: { ...body, requestId: req.body.id } });
      expect(mismatch.status).to.equal(400);
      expect(mismatch.body.error.code).to.equal("validation_failed");
      const unknown = await h.request("POST", "/v1/payments", { body: { ...body, requestId: "req_unknown" } });
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error.code).to.equal("not_found");
      // Another merchant's request id is as unknown as a missing one.
      const { body: toMerchant2 } = await signedPayment(h, 0, {
        merchantId: 2n,
        amount: usd(5),
        orderRef: `0x${"ab".repeat(32)}` as Hex,
      });
      const foreign = await h.request("POST", "/v1/payments", { body: { ...toMerchant2, requestId: req.body.id } });
      expect(foreign.status).to.equal(404);
    });

    it("validates its input: amount 0 → invalid_amount, expiresIn out of range or a string → validation_failed", async function () {
      const key = await h.issueKey(1n);
      const post = (body: unknown) => h.request("POST", "/v1/merchant/payment-requests", { key: key.key, body });
      const zero = await post({ amount: "0", orderRef: "a", expiresIn: 600 });
      expect([zero.status, zero.body.error.code]).to.deep.equal([400, "invalid_amount"]);
      for (const expiresIn of [0, 10, 31 * 24 * 3600, "600", 1.5]) {
        const res = await post({ amount: "1", orderRef: "a", expiresIn });
        expect([res.status, res.body.error.code], String(expiresIn)).to.deep.equal([400, "validation_failed"]);
      }
    });

    it("on a chain whose clock runs ahead of the relayer's (moved by evm_increaseTime), the signed deadline counts from the chain's: the payment is escrowed, not rejected as expired", async function () {
      // Further ahead than the longest request expiry: a deadline from the relayer's clock alone
      // would be past on chain (the local network after a few demo runs).
      await time.increase(40 * 86_400);
      const key = await h.issueKey(1n);
      const before = BigInt(await time.latest());
      const res = await h.request("POST", "/v1/merchant/payment-requests", {
        key: key.key,
        body: { amount: usd(7).toString(), orderRef: "order-ahead", expiresIn: 3600 },
      });
      expect(res.status, res.text).to.equal(201);
      const deadline = BigInt(res.body.typedData.message.deadline);
      expect(deadline >= before + 3600n && deadline <= BigInt(await time.latest()) + 3600n, String(deadline)).to.equal(
        true,
      );
      // The request itself expires by the relayer's clock.
      const expiresAt = Date.parse(res.body.expiresAt);
      expect(Math.abs(expiresAt - (h.clock() + 3_600_000))).to.be.lessThan(60_000);

      const customer = h.f.customers[0];
      const message = { ...res.body.typedData.message, payer: customer.address, nonce: "0" };
      const { EIP712Domain: _domain, ...types } = res.body.typedData.types;
      const signature = await customer.signTypedData(res.body.typedData.domain, types, message);
      const paid = await h.request("POST", "/v1/payments", { body: { ...message, signature, requestId: res.body.id } });
      expect(paid.status, paid.text).to.equal(201);
      await escrowInStore(h, [paid.body.id]);
      const escrowed = await h.f.escrow.queryFilter(h.f.escrow.filters.PaymentEscrowed());
      expect(escrowed.map((e) => e.args.paymentId.toLowerCase())).to.include(paid.body.id.toLowerCase());
    });

    it("a suspended merchant cannot create requests: 409 merchant_not_active", async function () {
      const key = await h.issueKey(3n);
      await h.f.registry.connect(h.f.registrar).suspend(3n);
      const res = await h.request("POST", "/v1/merchant/payment-requests", {
        key: key.key,
        body: { amount: "1", orderRef: "a", expiresIn: 600 },
      });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("merchant_not_active");
    });
  });

  describe("GET /v1/merchant/payments", function () {
    it("lists only the merchant's own payments, filtered by state and time, with cursor pagination", async function () {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { body } = await signedPayment(h, i % 4, { nonce: BigInt(Math.floor(i / 4)), amount: usd(1) });
        const res = await h.request("POST", "/v1/payments", { body });
        ids.push(res.body.id);
      }
      const { body: toOther } = await signedPayment(h, 0, { merchantId: 2n, nonce: 7n });
      const otherId = (await h.request("POST", "/v1/payments", { body: toOther })).body.id;
      await escrowInStore(h, [ids[0] as Hex]);

      const key = await h.issueKey(1n);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
        const page = await h.request("GET", `/v1/merchant/payments${query}`, { key: key.key });
        expect(page.status).to.equal(200);
        expect(page.body.items.length).to.be.at.most(2);
        seen.push(...page.body.items.map((p: { id: string }) => p.id));
        cursor = page.body.nextCursor;
      } while (cursor && ++pages < 10);
      expect([...seen].sort()).to.deep.equal([...ids].sort());
      expect(seen).to.not.include(otherId);

      const escrowed = await h.request("GET", "/v1/merchant/payments?state=escrowed", { key: key.key });
      expect(escrowed.body.items.map((p: { id: string }) => p.id)).to.deep.equal([ids[0]]);
      const both = await h.request("GET", "/v1/merchant/payments?state=accepted,escrowed", { key: key.key });
      expect(both.body.items).to.have.length(5);

      const future = new Date(h.clock() + 3_600_000).toISOString();
      const none = await h.request("GET", `/v1/merchant/payments?from=${encodeURIComponent(future)}`, { key: key.key });
      expect(none.body.items).to.have.length(0);
      const all = await h.request("GET", `/v1/merchant/payments?to=${encodeURIComponent(future)}`, { key: key.key });
      expect(all.body.items).to.have.length(5);

      const other = await h.issueKey(2n);
      const theirs = await h.request("GET", "/v1/merchant/payments", { key: other.key });
      expect(theirs.body.items.map((p: { id: string }) => p.id)).to.deep.equal([otherId]);
    });

    it("bad filters: unknown state, bad dates, limit out of range, tampered cursor → 400 validation_failed", async function () {
      const key = await h.issueKey(1n);
      for (const query of [
        "state=lost",
        "from=yesterday",
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=abc",
        "color=red",
      ]) {
        const res = await h.request("GET", `/v1/merchant/payments?${query}`, { key: key.key });
        expect(res.status, query).to.equal(400);
        expect(res.body.error.code, query).to.equal("validation_failed");
      }
    });
  });

  describe("across merchants: GET /v1/merchant/payments/:id and POST .../refunds", function () {
    it("merchant B can neither refund nor read merchant A's payment: 404 not_found, like a missing payment", async function () {
      const { payment, body } = await signedPayment(h, 0);
      const created = await h.request("POST", "/v1/payments", { body });
      await escrowInStore(h, [created.body.id]);
      const deadline = BigInt(Math.floor(h.clock() / 1000)) + 3600n;
      const id = await idOf(h.f, payment);
      // Even a refund signed by B's owner key for A's payment.
      const signature = await signRefund(h.f, h.f.merchants[1].owner, id, usd(1), deadline);
      const b = await h.issueKey(2n);
      const res = await h.request("POST", `/v1/merchant/payments/${id}/refunds`, {
        key: b.key,
        body: { totalRefund: usd(1).toString(), deadline: deadline.toString(), signature },
      });
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal("not_found");
      // Reading it through the merchant API: A sees it with its inclusion proof, B gets 404.
      const a = await h.issueKey(1n);
      const mine = await h.request("GET", `/v1/merchant/payments/${id}`, { key: a.key });
      expect(mine.status).to.equal(200);
      expect(mine.body.state).to.equal("escrowed");
      expect(mine.body.inclusion.proof).to.be.an("array");
      const theirs = await h.request("GET", `/v1/merchant/payments/${id}`, { key: b.key });
      expect([theirs.status, theirs.body.error.code]).to.deep.equal([404, "not_found"]);
      const missing = await h.request("POST", `/v1/merchant/payments/0x${"12".repeat(32)}/refunds`, {
        key: b.key,
        body: { totalRefund: usd(1).toString(), deadline: deadline.toString(), signature },
      });
      expect(missing.status).to.equal(404);
      expect(missing.body).to.deep.equal({ error: { ...missing.body.error, code: "not_found" } });
    });
  });

  describe("settlements, balance, webhooks", function () {
    it("GET /v1/merchant/settlements lists the merchant's settlements only", async function () {
      const mine = await h.store.settlements.create(1n, [1n, 2n]);
      await h.store.settlements.update(mine.key, {
        state: "confirmed",
        amount: usd(100),
        fee: usd(2.5),
        txHash: `0x${"cd".repeat(32)}`,
      });
      await h.store.settlements.create(2n, [1n]);
      const key = await h.issueKey(1n);
      const res = await h.request("GET", "/v1/merchant/settlements", { key: key.key });
      expect(res.status).to.equal(200);
      expect(res.body.items).to.have.length(1);
      expect(res.body.items[0]).to.include({
        merchantId: "1",
        state: "confirmed",
        amount: usd(100).toString(),
        fee: usd(2.5).toString(),
      });
      expect(res.body.items[0].batchIds).to.deep.equal(["1", "2"]);
      expect(res.body.nextCursor).to.equal(null);
    });

    it("GET /v1/merchant/webhooks/:id/deliveries lists the endpoint's deliveries newest first; another merchant's endpoint is 404", async function () {
      const key = await h.issueKey(1n);
      const created = await h.request("POST", "/v1/merchant/webhooks", {
        key: key.key,
        body: { url: "https://shop.example/hooks" },
      });
      const id = created.body.id as string;
      const empty = await h.request("GET", `/v1/merchant/webhooks/${id}/deliveries`, { key: key.key });
      expect(empty.status).to.equal(200);
      expect(empty.body).to.deep.equal({ items: [] });
      for (const n of [1, 2]) {
        await h.store.outbox.enqueue({
          eventId: `evt_${n}`,
          merchantId: 1n,
          eventType: "payment.escrowed",
          payload: "{}",
          now: 1_000 * n,
        });
      }
      const [newest] = await h.store.outbox.recentFor(id, 1);
      await h.store.outbox.markDelivered(newest.id, 5_000);
      const listed = await h.request("GET", `/v1/merchant/webhooks/${id}/deliveries`, { key: key.key });
      expect(listed.status).to.equal(200);
      expect(listed.body.items).to.deep.equal([
        {
          eventId: "evt_2",
          type: "payment.escrowed",
          status: "delivered",
          attempts: 1,
          createdAt: new Date(2_000).toISOString(),
          deliveredAt: new Date(5_000).toISOString(),
          nextAttemptAt: null,
          lastError: null,
        },
        {
          eventId: "evt_1",
          type: "payment.escrowed",
          status: "pending",
          attempts: 0,
          createdAt: new Date(1_000).toISOString(),
          deliveredAt: null,
          nextAttemptAt: new Date(1_000).toISOString(),
          lastError: null,
        },
      ]);
      const other = await h.issueKey(2n);
      const theirs = await h.request("GET", `/v1/merchant/webhooks/${id}/deliveries`, { key: other.key });
      expect(theirs.status).to.equal(404);
      expect(theirs.body.error.code).to.equal("not_found");
      const bad = await h.request("GET", "/v1/merchant/webhooks/nope/deliveries", { key: key.key });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal("validation_failed");
    });

    it("POST /v1/merchant/webhooks registers an endpoint and returns its signing secret once", async function () {
      const key = await h.issueKey(1n);
      const res = await h.request("POST", "/v1/merchant/webhooks", {
        key: key.key,
        body: { url: "https://shop.example/hooks" },
      });
      expect(res.status).to.equal(201);
      expect(res.body.secret).to.match(/^whsec_/);
      const endpoints = await h.store.webhooks.listByMerchant(1n);
      expect(endpoints.map((e) => e.url)).to.deep.equal(["https://shop.example/hooks"]);
      expect(endpoints[0].secret).to.equal(res.body.secret);
      for (const url of ["ftp://shop.example/x", "not a url at all", "https://user:pw@shop.example/x"]) {
        const bad = await h.request("POST", "/v1/merchant/webhooks", { key: key.key, body: { url } });
        expect(bad.status, url).to.equal(400);
        expect(bad.body.error.code).to.equal("validation_failed");
      }
    });
  });
});
