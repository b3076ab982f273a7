/**
 * Abuse limits (issue 10, items 13 and 15): failed authentication is limited per client IP (it was
 * never limited: 1,000 wrong admin tokens all got 401), API keys cannot be multiplied to dodge the
 * request limit, the default admin token is refused off a local chain, and relayed withdrawals and
 * deposits (the relayer pays their gas) have a minimum amount and a per-payer daily quota.
 */
import { expect } from "chai";
import { buildApp } from "../../../src/relayer/app";
import { ConfigError, loadConfig, LOCAL_ADMIN_TOKEN } from "../../../src/relayer/config";
import type { ChainView } from "../../../src/relayer/chain/chainView";
import type { Hex } from "../../../src/relayer/domain";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { signWithdrawal, usd } from "../../escrow/fixtures";
import { signDepositAuthorization } from "../../escrow/funds.helpers";
import { ADMIN_TOKEN, startApi, type ApiHarness } from "../helpers/api";

describe("relayer API: abuse limits", function () {
  let h: ApiHarness;

  afterEach(async function () {
    await h?.close();
  });

  describe("failed authentication", function () {
    it("wrong admin tokens from one IP: 401 until the budget is spent, then 429 too_many_auth_failures with Retry-After, even with the right token", async function () {
      h = await startApi({ config: { authFailuresPerMinute: 6, authFailureBurst: 5 } });
      const admin = (token: string) =>
        h.request("POST", "/v1/admin/merchants/1/api-keys", { headers: { "x-admin-token": token } });
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await admin(`guess-${i}`)).status);
      expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429, 429, 429]);
      const right = await admin(ADMIN_TOKEN);
      expect([right.status, right.body.error.code]).to.deep.equal([429, "too_many_auth_failures"]);
      expect(Number(right.headers.get("retry-after"))).to.be.within(1, 60);
      // Wrong API keys count against the same budget; public routes are not affected.
      const merchant = await h.request("GET", "/v1/merchant/balance", { key: `sp_live_${"A".repeat(43)}` });
      expect([merchant.status, merchant.body.error.code]).to.deep.equal([429, "too_many_auth_failures"]);
      expect((await h.request("GET", "/health")).status).to.equal(200);
    });

    it("the budget refills: after Retry-After a right token is accepted; successes cost nothing", async function () {
      let now = Date.now();
      h = await startApi({ config: { authFailuresPerMinute: 60, authFailureBurst: 2 }, deps: { clock: () => now } });
      const admin = (token: string) =>
        h.request("POST", "/v1/admin/merchants/1/api-keys", { headers: { "x-admin-token": token } });
      for (let i = 0; i < 2; i++) expect((await h.request("GET", "/v1/merchant/balance")).status).to.equal(401);
      const blocked = await admin(ADMIN_TOKEN);
      expect(blocked.status).to.equal(429);
      now += Number(blocked.headers.get("retry-after")) * 1000;
      const ok = await admin(ADMIN_TOKEN);
      expect(ok.status, ok.text).to.equal(201);
      for (let i = 0; i < 5; i++) {
        expect((await h.request("GET", "/v1/merchant/balance", { key: ok.body.key })).status).to.equal(200);
      }
    });
  });

  describe("API keys", function () {
    it("rotation is capped at maxLiveApiKeys live keys: 409 api_key_limit_reached; rotating with revokeCurrent still works", async function () {
      h = await startApi({ config: { maxLiveApiKeys: 3, apiKeysPerHour: 100 } });
      const first = await h.issueKey(1n);
      const rotate = (key: string, body: object = {}) => h.request("POST", "/v1/merchant/api-keys", { key, body });
      expect((await rotate(first.key)).status).to.equal(201);
      const third = await rotate(first.key);
      expect(third.status).to.equal(201);
      const fourth = await rotate(first.key);
      expect([fourth.status, fourth.body.error.code]).to.deep.equal([409, "api_key_limit_reached"]);
      // Concurrent rotations cannot overshoot either.
      const live = async () => (await h.store.apiKeys.listByMerchant(1n)).filter((k) => k.revokedAt === null).length;
      await Promise.all([rotate(first.key), rotate(first.key), rotate(first.key)]);
      expect(await live()).to.equal(3);
      const swapped = await rotate(third.body.key, { revokeCurrent: true });
      expect(swapped.status, swapped.text).to.equal(201);
      expect(await live()).to.equal(3);
    });

    it("key creation is rate limited per merchant (429 api_key_rate_limited), admin issuance included", async function () {
      h = await startApi({ config: { maxLiveApiKeys: 100, apiKeysPerHour: 3 } });
      const first = await h.issueKey(1n);
      const a = await h.request("POST", "/v1/merchant/api-keys", { key: first.key, body: {} });
      const b = await h.request("POST", "/v1/merchant/api-keys", { key: first.key, body: {} });
      const c = await h.request("POST", "/v1/merchant/api-keys", { key: first.key, body: {} });
      expect([a.status, b.status]).to.deep.equal([201, 201]);
      expect([c.status, c.body.error.code]).to.deep.equal([429, "api_key_rate_limited"]);
      expect(Number(c.headers.get("retry-after"))).to.be.greaterThan(60);
      const admin = await h.request("POST", "/v1/admin/merchants/1/api-keys", {
        headers: { "x-admin-token": ADMIN_TOKEN },
      });
      expect([admin.status, admin.body.error.code]).to.deep.equal([429, "api_key_rate_limited"]);
      // Another merchant is not affected.
      expect((await h.issueKey(2n)).key).to.match(/^sp_live_/);
    });

    it("the request limit is per merchant: a second key does not double it", async function () {
      h = await startApi({ config: { rateLimitPerSecond: 0, rateLimitBurst: 4 } });
      const k1 = await h.issueKey(1n); // the admin's bucket, not the merchant's
      const k2 = (await h.request("POST", "/v1/merchant/api-keys", { key: k1.key, body: {} })).body.key as string;
      const statuses: number[] = [];
      for (const key of [k1.key, k2, k1.key, k2, k1.key]) {
        statuses.push((await h.request("GET", "/v1/merchant/balance", { key })).status);
      }
      expect(statuses).to.deep.equal([200, 200, 200, 429, 429]);
    });
  });

  describe("configuration", function () {
    const chainWithId = (chainId: bigint): ChainView => ({ chainId, escrow: `0x${"11".repeat(20)}` as Hex }) as never;
    const build = (adminToken: string, chainId: bigint) =>
      buildApp({
        config: { ...loadConfig({}), adminToken },
        // Never read: configuration is refused, or the app is closed unused.
        store: { forCurrency: () => ({}) } as never,
        chain: chainWithId(chainId),
        currencies: [{ code: "USD", escrow: `0x${"11".repeat(20)}` }] as never,
        logger: false,
        metrics: createMetrics({ defaultMetrics: false }),
      });

    it("refuses the default admin token (and a short one) on any chain but a local one", async function () {
      expect(() => build(LOCAL_ADMIN_TOKEN, 1n)).to.throw(ConfigError, /RELAYER_ADMIN_TOKEN is the local default/);
      expect(() => build(LOCAL_ADMIN_TOKEN, 11155111n)).to.throw(ConfigError);
      expect(() => build("short-token", 8453n)).to.throw(ConfigError, /too short/);
      for (const app of [build(LOCAL_ADMIN_TOKEN, 31337n), build("x".repeat(32), 1n)]) await app.close();
      expect(loadConfig({}).adminToken).to.equal(LOCAL_ADMIN_TOKEN);
    });
  });

  describe("relayed withdrawals and deposits", function () {
    /** The app's clock (a test may shift it). */
    let appClock: () => number;
    const nowSec = () => BigInt(Math.floor(appClock() / 1000));
    beforeEach(() => (appClock = () => h.clock()));

    async function withdraw(customer: number, amount: bigint, nonce: bigint) {
      const signer = h.f.customers[customer];
      const w = {
        payer: signer.address as Hex,
        to: h.f.stranger.address as Hex,
        amount,
        nonce,
        deadline: nowSec() + 3600n,
      };
      return h.request("POST", "/v1/withdrawals", {
        body: {
          payer: w.payer,
          to: w.to,
          amount: amount.toString(),
          nonce: nonce.toString(),
          deadline: w.deadline.toString(),
          signature: await signWithdrawal(h.f, signer, w),
        },
      });
    }

    async function deposit(amount: bigint) {
      const payer = h.f.stranger;
      await h.f.token.connect(h.f.admin).mint(payer.address, amount);
      const escrowAddress = await h.f.escrow.getAddress();
      const s = await signDepositAuthorization({ token: h.f.token, escrowAddress } as never, payer, amount);
      return h.request("POST", "/v1/deposits", {
        body: {
          from: s.auth.from,
          amount: amount.toString(),
          validAfter: s.auth.validAfter.toString(),
          validBefore: s.auth.validBefore.toString(),
          salt: s.auth.salt,
          signature: s.sig.signature,
        },
      });
    }

    it("below the minimum: 400 amount_below_minimum, nothing sent", async function () {
      h = await startApi({ config: { relayMinAmount: usd(1) } });
      const balance = await h.f.escrow.balanceOf(h.f.customers[0].address);
      const tiny = await withdraw(0, 1n, 0n);
      expect([tiny.status, tiny.body.error.code, tiny.body.error.details.minimum]).to.deep.equal([
        400,
        "amount_below_minimum",
        usd(1).toString(),
      ]);
      expect(await h.f.escrow.balanceOf(h.f.customers[0].address)).to.equal(balance);
      const tinyDeposit = await deposit(999_999n);
      expect([tinyDeposit.status, tinyDeposit.body.error.code]).to.deep.equal([400, "amount_below_minimum"]);
      expect((await withdraw(0, usd(1), 0n)).status).to.equal(202);
    });

    it("over the daily quota: 429 relay_quota_exceeded with Retry-After; refused attempts do not count; the window rolls", async function () {
      let skew = 0;
      h = await startApi({ config: { relayMinAmount: 1n, relayQuotaPerDay: 2 } });
      const base = h.clock;
      await h.close();
      appClock = () => base() + skew;
      h = await startApi({ config: { relayMinAmount: 1n, relayQuotaPerDay: 2 }, deps: { clock: appClock } });
      // A refused withdrawal (nonce reused after the first) gives its slot back.
      expect((await withdraw(1, usd(1), 0n)).status).to.equal(202);
      const refused = await withdraw(1, usd(1), 0n);
      expect([refused.status, refused.body.error.code]).to.deep.equal([409, "nonce_unavailable"]);
      expect((await withdraw(1, usd(1), 1n)).status).to.equal(202);
      const over = await withdraw(1, usd(1), 2n);
      expect([over.status, over.body.error.code]).to.deep.equal([429, "relay_quota_exceeded"]);
      expect(Number(over.headers.get("retry-after"))).to.be.within(86_000, 86_400);
      // Per payer: another customer still has its quota.
      expect((await withdraw(2, usd(1), 0n)).status).to.equal(202);
      // Deposits share the payer's quota (stranger: 2 deposits, then refused).
      expect((await deposit(usd(1))).status).to.equal(202);
      expect((await deposit(usd(1))).status).to.equal(202);
      const overDeposit = await deposit(usd(1));
      expect([overDeposit.status, overDeposit.body.error.code]).to.deep.equal([429, "relay_quota_exceeded"]);
      skew += 86_400_000;
      expect((await withdraw(1, usd(1), 2n)).status).to.equal(202);
    });
  });
});
