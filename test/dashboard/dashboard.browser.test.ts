/**
 * The merchant dashboard as a person uses it, in headless Chromium (test/helpers/browser.ts) against
 * a real relayer process on a real local chain (src/localnet through test/relayer/helpers/process.ts):
 * sign in with the API key, find a payment by its order reference, open its timeline, refund part of
 * it and then the rest with the merchant owner's wallet (an EIP-1193 provider injected before the
 * page loads, backed by the owner key in Node, where a wallet extension would be), see the refunds on
 * the timeline and the webhook delivery listed, download the day's transaction file. A customer's
 * refund requests (signed, relayed gasless) listed in the Refund requests view oldest respond-by
 * first and shown on the payment page; one rejected with the owner's wallet (first a wallet signing
 * with another key: refused, its code shown) and shown refund_rejected with its escalation
 * deadline, the other answered with a partial refund and shown held.
 *
 * And as an attacker would try it: an order reference carrying a script tag and an image with an
 * onerror handler is shown as text and runs nothing; the page's CSP is checked; the key is never in
 * storage, cookies or the URL and is dropped after inactivity; the page talks to no other host.
 *
 * Screenshots of the main pages are taken on the way (docs/dashboard/ with `npm run docs:screenshots`).
 */
import { expect } from "chai";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { parse } from "csv-parse/sync";
import { Wallet } from "ethers";
import type { Browser, Page } from "puppeteer-core";
import { PNG } from "pngjs";
import { launchBrowser } from "../helpers/browser";
import {
  relayerDir,
  sleep,
  spawnRelayer,
  startLocalChain,
  waitUntil,
  type LocalChain,
  type Merchant,
  type RelayerProcess,
} from "../relayer/helpers/process";
import { relayerEnv } from "../relayer/crash/scenario";
import { LOCAL_ADMIN_TOKEN } from "../../src/relayer/config";
import { escrowDomain, REFUND_REASONS, type RefundReason } from "../../src/protocol";
import { fromEthersSigner, signRefundRequest } from "../../src/sdk";

// The page's globals, as the callbacks run inside page.evaluate see them (the project compiles without the DOM library).
declare const window: any, document: any, localStorage: any, sessionStorage: any, location: any, history: any;
type HTMLElement = any;
type HTMLInputElement = any;

const IDLE_SECONDS = 10;
const HOLD_SECONDS = 3600;
const XSS_ORDER = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2;alert(2)">`;
const MAIN_ORDER = "order-7001";
const WIDTH = 1280;

interface Webhook {
  url: string;
  bodies: { type: string; data: { id: string } }[];
  close(): Promise<void>;
}

/** A merchant's webhook receiver on 127.0.0.1 that answers 200 and keeps what it got. */
async function webhookReceiver(): Promise<Webhook> {
  const bodies: Webhook["bodies"] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

describe("merchant dashboard in a browser", function () {
  this.timeout(600_000);

  let chain: LocalChain;
  let merchant: Merchant;
  let relayer: RelayerProcess;
  let webhook: Webhook;
  let browser: Browser;
  let page: Page;
  let apiKey: string;
  let db: ReturnType<typeof relayerDir>;
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-downloads-"));
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-shots-"));
  const requests: string[] = [];
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const signed: { method: string; typedData?: any }[] = [];
  const ids: Record<string, string> = {};
  /** The key the injected wallet signs with: the owner's, or another one claiming to be it. */
  let walletKey: Wallet;

  const api = async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(relayer.url + route, {
      method,
      headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const merchantApi = (method: string, route: string, body?: unknown) =>
    api(method, route, body, { authorization: `Bearer ${apiKey}` });

  /** A payment request with a text order reference, signed by `customer` and escrowed by the relayer. */
  async function pay(customer: Wallet, order: string, amount: bigint, nonce: number): Promise<string> {
    const request = await merchantApi("POST", "/v1/merchant/payment-requests", {
      amount: amount.toString(),
      orderRef: order,
      expiresIn: 3600,
    });
    const { EIP712Domain: _domain, ...types } = request.typedData.types;
    const message = { ...request.typedData.message, payer: customer.address, nonce: String(nonce) };
    const signature = await customer.signTypedData(request.typedData.domain, types, message);
    const payment = await api("POST", "/v1/payments", { ...message, signature, requestId: request.id });
    await waitUntil(`payment ${order} escrowed`, async () => {
      const state = (await api("GET", `/v1/payments/${payment.id}`)).state;
      return state === "escrowed";
    });
    return payment.id;
  }

  /**
   * The payer asks for `amount` back for `reason`, gasless: it signs the RefundRequest (the SDK's
   * signer) and the relayer relays it; the relayer then shows the payment refund_requested.
   */
  async function requestRefund(customer: Wallet, id: string, amount: bigint, reason: RefundReason): Promise<void> {
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 900);
    const signature = await signRefundRequest(fromEthersSigner(customer), {
      domain: escrowDomain(chain.chainId, chain.escrowAddress),
      paymentId: id as `0x${string}`,
      amount,
      reason: BigInt(REFUND_REASONS[reason]),
      ordinal: 1n,
      deadline,
    });
    await api("POST", `/v1/payments/${id}/refund-requests`, {
      amount: amount.toString(),
      reason,
      ordinal: "1",
      deadline: deadline.toString(),
      signature,
    });
    await waitUntil(
      `payment ${id} refund_requested`,
      async () => (await api("GET", `/v1/payments/${id}`)).state === "refund_requested",
    );
  }

  /** Unix seconds as the page shows them (UTC, to the second). */
  const shownTime = (seconds: string) =>
    new Date(Number(seconds) * 1000)
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z");

  /** Opens the payment `id` from the Refund requests view. */
  async function openFromRequests(id: string): Promise<void> {
    await page.click(`.refund-requests .payment-link[data-id="${id}"]`);
    await page.waitForSelector("#order-timer");
  }

  /** Waits for `selector`, using the page meanwhile as a person watching it does (the idle clock restarts). */
  async function waitActive(what: string, check: () => Promise<boolean>, refresh?: string): Promise<void> {
    await waitUntil(
      what,
      async () => {
        if (await check()) return true;
        await page.mouse.move(100 + Math.random() * 400, 100 + Math.random() * 300);
        if (refresh) await page.click(refresh);
        await sleep(500);
        return false;
      },
      60_000,
    );
  }

  async function screenshot(name: string): Promise<void> {
    const file = path.join(shots, `${name}.png`) as `${string}.png`;
    await page.screenshot({ path: file, fullPage: true });
    const png = PNG.sync.read(fs.readFileSync(file));
    expect(png.width, name).to.equal(WIDTH);
  }

  const text = (selector: string) => page.$eval(selector, (e) => e.textContent ?? "");
  const count = (selector: string) => page.$$eval(selector, (list) => list.length);

  /** Everything in the page's storage, cookies and address that could hold the key. */
  async function keyPlaces(): Promise<string> {
    const inPage = await page.evaluate(() =>
      JSON.stringify({
        local: { ...localStorage },
        session: { ...sessionStorage },
        cookie: document.cookie,
        url: location.href,
        history: history.state,
        name: window.name,
      }),
    );
    const cdp = await page.createCDPSession();
    const { cookies } = await cdp.send("Network.getAllCookies");
    await cdp.detach();
    return inPage + JSON.stringify(cookies);
  }

  before(async function () {
    this.timeout(400_000);
    chain = await startLocalChain();
    merchant = await chain.registerMerchant(HOLD_SECONDS);
    walletKey = merchant.owner;
    const [alice, bob] = await chain.fundCustomers(2, 100_000_000n);
    webhook = await webhookReceiver();
    const signer = await chain.fundedKey();
    db = relayerDir();
    relayer = await spawnRelayer(
      relayerEnv(
        chain,
        { rpcUrl: chain.url, db: db.db, signerKey: signer.privateKey },
        { WEBHOOK_ALLOW_LOOPBACK: "true", DASHBOARD_IDLE_SECONDS: String(IDLE_SECONDS) },
      ),
    );
    apiKey = (
      await api("POST", `/v1/admin/merchants/${merchant.id}/api-keys`, undefined, {
        "x-admin-token": LOCAL_ADMIN_TOKEN,
      })
    ).key;
    await merchantApi("POST", "/v1/merchant/webhooks", { url: webhook.url });
    ids.main = await pay(alice, MAIN_ORDER, 10_000_000n, 0);
    ids.other = await pay(bob, "order-7002", 4_000_000n, 0);
    ids.xss = await pay(alice, XSS_ORDER, 3_000_000n, 1);

    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewport({ width: WIDTH, height: 900, deviceScaleFactor: 1 });
    page.on("request", (r) => requests.push(r.url()));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // The merchant owner's wallet, as an extension would inject it: the key stays in Node.
    await page.exposeFunction("__walletRequest", async (method: string, params: unknown[]) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [merchant.owner.address];
      if (method === "eth_signTypedData_v4") {
        const [account, json] = params as [string, string];
        if (account.toLowerCase() !== merchant.owner.address.toLowerCase()) throw new Error("unknown account");
        const typedData = JSON.parse(json);
        signed.push({ method, typedData });
        const { EIP712Domain: _domain, ...types } = typedData.types;
        return walletKey.signTypedData(typedData.domain, types, typedData.message);
      }
      throw new Error(`unsupported ${method}`);
    });
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    // Anything the page's CSP blocked (an inline script or style, another host) is recorded here.
    await page.evaluateOnNewDocument(() => {
      document.addEventListener("securitypolicyviolation", (e: any) => {
        const w = window as { __cspViolations?: string[] };
        (w.__cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    await page.evaluateOnNewDocument(() => {
      const w = window as unknown as { ethereum: unknown; __walletRequest(m: string, p: unknown[]): Promise<unknown> };
      w.ethereum = {
        request: ({ method, params }: { method: string; params?: unknown[] }) =>
          w.__walletRequest(method, params ?? []),
      };
    });
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
  });

  after(async function () {
    const target = process.env.DASHBOARD_SCREENSHOTS;
    if (target) {
      fs.mkdirSync(target, { recursive: true });
      for (const file of fs.readdirSync(shots)) fs.copyFileSync(path.join(shots, file), path.join(target, file));
    }
    await browser?.close();
    await relayer?.stop();
    await webhook?.close();
    await chain?.stop();
    db?.remove();
    for (const dir of [downloads, shots]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("sign in, find by order reference, timeline, refund part then the rest from the wallet, webhook delivery, the day's file", async function () {
    const response = await page.goto(`${relayer.url}/dashboard/`, { waitUntil: "networkidle0" });
    const csp = response!.headers()["content-security-policy"];
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp.split("; ")).to.include(directive);
    }
    expect(csp).to.not.include("unsafe-inline");
    expect(response!.headers()["x-content-type-options"]).to.equal("nosniff");
    expect(response!.headers()["referrer-policy"]).to.equal("no-referrer");
    await screenshot("sign-in");

    // A wrong key is refused and nothing is kept.
    await page.type("#api-key", `sp_live_${"A".repeat(43)}`);
    await page.click("#sign-in");
    await page.waitForSelector(".signin .error");
    expect(await text(".signin .error")).to.include("unauthorized");
    await page.$eval("#api-key", (e) => ((e as HTMLInputElement).value = ""));

    await page.type("#api-key", apiKey);
    await page.click("#sign-in");
    await page.waitForSelector("#tab-payments");
    expect(await text("#merchant")).to.equal(`merchant ${merchant.id}`);
    await page.waitForSelector(".payment-link");
    expect(await count(".payment-link")).to.equal(3);
    // Each row names its payment's currency (the merchant's payments here are in the default one).
    expect(await page.$$eval("table.payments td.currency", (cells) => cells.map((c) => c.textContent))).to.deep.equal([
      "USD",
      "USD",
      "USD",
    ]);
    await screenshot("payments");

    await page.type("#order-search", MAIN_ORDER);
    await page.click("#search");
    await page.waitForFunction(
      (id) => {
        const links = [...(document.querySelectorAll(".payment-link") as HTMLElement[])];
        return links.length === 1 && links[0].dataset.id === id;
      },
      {},
      ids.main,
    );
    await page.click(".payment-link");
    await page.waitForSelector('#timeline li[data-kind="escrowed"]');
    expect(await text("#order-ref-text")).to.equal(MAIN_ORDER);
    expect(await text("#payment-currency")).to.equal("USD");
    expect(await page.$$eval("#timeline li", (l) => l.map((e) => e.getAttribute("data-kind")))).to.deep.equal([
      "accepted",
      "batched",
      "escrowed",
    ]);
    expect(await text('#timeline li[data-kind="escrowed"]')).to.include("10.00");

    // Part of it: 2.50 of 10.00, signed by the owner's wallet.
    await page.type("#refund-amount", "2.5");
    await page.click("#refund-submit");
    await waitActive(
      "the first refund on the timeline",
      async () => (await count('#timeline li[data-kind="refunded"]')) === 1,
    );
    expect(signed).to.have.length(1);
    expect(signed[0].typedData.primaryType).to.equal("Refund");
    expect(signed[0].typedData.message).to.deep.include({ paymentId: ids.main, totalRefund: "2500000" });
    expect(await text('#timeline li[data-kind="refunded"]')).to.include("totalRefunded: 2.50");
    expect(await text("#refunded")).to.equal("2.50");
    await screenshot("payment-timeline");

    // An amount above what is left is refused by the page before any wallet prompt.
    await page.type("#refund-amount", "7.51");
    await page.click("#refund-submit");
    await page.waitForFunction(() => document.querySelector("#refund-status")?.textContent?.includes("At most 7.50"));
    expect(signed).to.have.length(1);

    // The rest: the payment becomes refunded, and its webhook is delivered.
    await page.$eval("#refund-amount", (e) => ((e as HTMLInputElement).value = ""));
    await page.type("#refund-amount", "7.50");
    await page.click("#refund-submit");
    await waitActive(
      "the payment refunded in full",
      async () => (await count('#timeline li[data-kind="refunded"]')) === 2 && (await count("#refund-amount")) === 0,
      "section .section-head button",
    );
    expect(signed[1].typedData.message.totalRefund).to.equal("10000000");
    expect(await text("#refunded")).to.equal("10.00");

    await page.click("#tab-webhooks");
    await waitActive(
      "the payment.refunded delivery listed",
      async () => (await count('.deliveries tr[data-type="payment.refunded"]')) > 0,
      "section .section-head button",
    );
    const refundedRow = await text('.deliveries tr[data-type="payment.refunded"]');
    expect(refundedRow).to.include("delivered");
    expect(webhook.bodies.some((b) => b.type === "payment.refunded" && b.data.id === ids.main)).to.equal(true);
    expect(await text(".endpoint h3")).to.equal(webhook.url);
    await screenshot("webhooks");

    await page.click("#tab-reports");
    await page.waitForSelector("#report-transactions");
    await page.click("#report-transactions");
    const file = await waitUntil("the transaction file downloaded", () =>
      fs.readdirSync(downloads).find((f) => f.startsWith("stablepay-transactions-") && f.endsWith(".csv")),
    );
    expect(file).to.match(new RegExp(`^stablepay-transactions-merchant-${merchant.id}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    await waitUntil("the file complete", async () => (await text("#report-status")).startsWith("Downloaded"));
    const rows: Record<string, string>[] = parse(fs.readFileSync(path.join(downloads, file), "utf8"), {
      columns: true,
    });
    const mine = rows.filter((r) => r.payment_id === ids.main);
    expect(mine.map((r) => [r.event, r.amount, r.refund])).to.deep.equal([
      ["escrowed", "10000000", "0"],
      ["refunded", "2500000", "2500000"],
      ["refunded", "7500000", "7500000"],
    ]);
    expect(rows.filter((r) => r.event === "escrowed").map((r) => r.payment_id)).to.have.members(Object.values(ids));
    await screenshot("reports");

    for (const tab of ["balances", "credit", "settlements", "disputes"]) {
      await page.click(`#tab-${tab}`);
      await page.waitForFunction(() => !document.querySelector("main p.muted")?.textContent?.startsWith("Loading"));
      expect(await count("main .error"), tab).to.equal(0);
    }
    await page.click("#tab-credit");
    await page.waitForSelector("#credit");
    expect(await text("#credit")).to.include("Refund rate");
    await screenshot("credit");
    await page.click("#tab-balances");
    await page.waitForSelector("#balances");
    // A row per currency the relayer serves, in its order.
    const listed = (await (await fetch(`${relayer.url}/v1/currencies`)).json()) as {
      items: { code: string; served: boolean }[];
    };
    expect(
      await page.$$eval("#balances tr[data-currency]", (rows) => rows.map((r: HTMLElement) => r.dataset.currency)),
    ).to.deep.equal(listed.items.filter((c) => c.served).map((c) => c.code));

    expect(await keyPlaces()).to.not.include(apiKey.slice(8));
  });

  it("refund requests: listed oldest respond-by first; rejected from the page's wallet (a non-owner signature refused with its code); another answered with a partial refund", async function () {
    const [carol] = await chain.fundCustomers(1, 50_000_000n);
    ids.asked = await pay(carol, "order-7101", 6_000_000n, 0);
    ids.askedLater = await pay(carol, "order-7102", 8_000_000n, 1);
    // The older payment's request comes first, so it must be answered first though the list shows it second.
    await requestRefund(carol, ids.asked, 2_000_000n, "not_received");
    await requestRefund(carol, ids.askedLater, 3_000_000n, "damaged");
    const asked = await merchantApi("GET", `/v1/merchant/payments/${ids.asked}`);

    await page.click("#tab-refund-requests");
    await waitActive("both requests listed", async () => (await count(".refund-requests tbody tr")) === 2);
    expect(await page.$$eval(".refund-requests tbody tr", (rows) => rows.map((r) => r.dataset.id))).to.deep.equal([
      ids.asked,
      ids.askedLater,
    ]);
    expect(await page.$$eval(".refund-requests .request-reason", (l) => l.map((e) => e.textContent))).to.deep.equal([
      "not_received",
      "damaged",
    ]);
    expect(await page.$$eval(".refund-requests .request-amount", (l) => l.map((e) => e.textContent))).to.deep.equal([
      "2.00",
      "3.00",
    ]);
    for (const left of await page.$$eval(".refund-requests .request-left", (l) => l.map((e) => e.textContent))) {
      expect(left).to.match(/^\d+ (d|h|min)/);
    }
    await screenshot("refund-requests");

    // The payment page shows the open request with its reason; the refund form offers the amount asked.
    await openFromRequests(ids.asked);
    expect(await text("#payment-state")).to.equal("refund_requested");
    expect(await text("#request-amount")).to.equal("2.00");
    expect(await text("#request-reason")).to.equal("not_received");
    expect(await text("#request-respond-by")).to.include(shownTime(asked.timer.refundRequest.respondBy));
    expect(await text("#timer-release-at")).to.include("paused");
    await waitActive(
      "the request on the timeline",
      async () => (await count('#timeline li[data-kind="refund_requested"]')) === 1,
    );
    expect(await text('#timeline li[data-kind="refund_requested"]')).to.include("reason: not_received");
    expect(await page.$eval("#refund-amount", (e) => (e as HTMLInputElement).value)).to.equal("2");

    // A wallet answering for the owner's address with another key: the relayer refuses the signature.
    walletKey = new Wallet(Wallet.createRandom().privateKey);
    const before = signed.length;
    await page.click("#reject-submit");
    await page.waitForFunction(() => document.querySelector("#reject-status.error")?.textContent?.includes("("));
    expect(await text("#reject-status")).to.include("(invalid_signature)");
    expect(signed).to.have.length(before + 1);
    expect(signed[before].typedData.primaryType).to.equal("RefundRejection");
    expect(signed[before].typedData.message).to.deep.include({ paymentId: ids.asked, ordinal: "1" });
    expect((await merchantApi("GET", `/v1/merchant/payments/${ids.asked}`)).state).to.equal("refund_requested");

    // The owner's key rejects it: the clock resumes and the payer may escalate until escalateBy.
    walletKey = merchant.owner;
    await page.click("#reject-submit");
    await waitActive(
      "the request rejected",
      async () => (await count("#escalate-by")) === 1 && (await text("#payment-state")) === "refund_rejected",
      "section .section-head button",
    );
    expect(signed).to.have.length(before + 2);
    const rejected = await merchantApi("GET", `/v1/merchant/payments/${ids.asked}`);
    expect(rejected.state).to.equal("refund_rejected");
    expect(await text("#escalate-by")).to.include(shownTime(rejected.timer.escalateBy));
    expect(await text("#request-reason")).to.equal("not_received");
    expect(await text("#timer-release-at")).to.include(shownTime(rejected.timer.releaseAt));
    await waitActive(
      "the rejection on the timeline",
      async () => (await count('#timeline li[data-kind="refund_request_rejected"]')) === 1,
      "section .section-head button",
    );
    expect(await count("#reject-submit")).to.equal(0);
    await screenshot("refund-rejected");

    // The other request, answered with a partial refund of the amount asked: the clock resumes (held).
    await page.click("#tab-refund-requests");
    await waitActive(
      "one request left",
      async () => (await count(".refund-requests tbody tr")) === 1,
      "section .section-head button",
    );
    await openFromRequests(ids.askedLater);
    expect(await text("#request-reason")).to.equal("damaged");
    expect(await page.$eval("#refund-amount", (e) => (e as HTMLInputElement).value)).to.equal("3");
    await page.click("#refund-submit");
    await waitActive(
      "the payment held again",
      async () =>
        (await text("#payment-state")) === "held" && (await count('#timeline li[data-kind="hold_resumed"]')) === 1,
      "section .section-head button",
    );
    expect(signed[signed.length - 1].typedData.primaryType).to.equal("Refund");
    expect(signed[signed.length - 1].typedData.message).to.deep.include({
      paymentId: ids.askedLater,
      totalRefund: "3000000",
    });
    const held = await merchantApi("GET", `/v1/merchant/payments/${ids.askedLater}`);
    expect(held.state).to.equal("held");
    expect(await text("#refunded")).to.equal("3.00");
    expect(await text("#timer-release-at")).to.include(shownTime(held.timer.releaseAt));
    expect(await count("#refund-request")).to.equal(0);
    expect(await count("#reject-submit")).to.equal(0);

    // The state filter knows the new states.
    await page.click("#tab-payments");
    await page.waitForSelector("#state-filter");
    const options = await page.$$eval("#state-filter option", (l) => l.map((e) => e.getAttribute("value")));
    expect(options).to.include.members(["held", "refund_requested", "refund_rejected"]);
    await page.select("#state-filter", "refund_rejected");
    await page.click("#search");
    await page.waitForFunction(
      (id) => {
        const links = [...(document.querySelectorAll(".payment-link") as HTMLElement[])];
        return links.length === 1 && links[0].dataset.id === id;
      },
      {},
      ids.asked,
    );
    expect(await text(".payments .state")).to.equal("refund_rejected");
    await page.select("#state-filter", "");
    await page.click("#search");
    await page.waitForFunction(() => document.querySelectorAll(".payment-link").length === 5);
    expect(await keyPlaces()).to.not.include(apiKey.slice(8));
  });

  it("an order reference with a script tag and an onerror image is shown as text; nothing runs", async function () {
    await page.click("#tab-payments");
    await page.waitForSelector("#order-search");
    await page.type("#order-search", XSS_ORDER);
    await page.click("#search");
    await page.waitForFunction(
      (id) => {
        const links = [...(document.querySelectorAll(".payment-link") as HTMLElement[])];
        return links.length === 1 && links[0].dataset.id === id;
      },
      {},
      ids.xss,
    );
    await page.click(".payment-link");
    await page.waitForSelector("#order-ref-text");
    await waitUntil("the timeline", async () => (await count('#timeline li[data-kind="escrowed"]')) === 1);
    expect(await text("#order-ref-text")).to.equal(XSS_ORDER);
    expect(await count("#order-ref-text *"), "no element made of the text").to.equal(0);
    expect(await count("main img, main script"), "no image or script in the page's content").to.equal(0);
    await sleep(500);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).to.equal(undefined);
    expect(dialogs).to.deep.equal([]);
    await screenshot("order-reference-as-text");
    expect(
      requests.filter((url) => new URL(url).pathname.endsWith("/x")),
      "the image was never requested",
    ).to.deep.equal([]);
  });

  it("the page talks to the relayer only; its CSP blocks nothing the page does and stops an inline script; the key is in no storage, cookie or URL", async function () {
    const origin = new URL(relayer.url).origin;
    expect(requests.length).to.be.greaterThan(10);
    // data: URLs never leave the browser (Chromium's own date-picker icon is one).
    const elsewhere = requests.filter(
      (url) => !(url.startsWith(`${origin}/`) || url.startsWith(`blob:${origin}/`) || url.startsWith("data:")),
    );
    expect(elsewhere).to.deep.equal([]);
    expect(requests.some((url) => url.includes(apiKey) || url.includes(apiKey.slice(8)))).to.equal(false);
    const places = await keyPlaces();
    expect(places).to.not.include(apiKey.slice(8));
    expect(places).to.include(origin); // the check reads the page's address (it can fail)
    expect(
      await page.evaluate(() => window.__cspViolations ?? []),
      "nothing the page does is blocked by its CSP",
    ).to.deep.equal([]);
    expect(pageErrors).to.deep.equal([]);
    // The browser enforces the policy: an inline script added to the page does not run, and is reported.
    await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.__inline = 1";
      document.body.appendChild(script);
    });
    await waitUntil("the violation reported", () => page.evaluate(() => (window.__cspViolations ?? []).length > 0));
    expect(await page.evaluate(() => window.__inline)).to.equal(undefined);
    expect((await page.evaluate(() => window.__cspViolations))[0]).to.match(/^script-src/);
  });

  it(`drops the key after ${IDLE_SECONDS} s without activity and asks for it again`, async function () {
    await page.click("#tab-payments");
    await page.waitForSelector(".payment-link");
    const idleFrom = Date.now();
    await page.waitForSelector("#api-key", { timeout: (IDLE_SECONDS + 20) * 1000 });
    const idle = (Date.now() - idleFrom) / 1000;
    expect(idle).to.be.at.least(IDLE_SECONDS - 1);
    expect(await text(".signin .notice")).to.include("inactivity");
    expect(await count("#tab-payments")).to.equal(0);
    expect(await page.$eval("#api-key", (e) => (e as HTMLInputElement).value)).to.equal("");
    // Nothing is shown any more, and the page asks the API nothing with the forgotten key.
    const before = requests.length;
    await sleep(3000);
    expect(requests.slice(before).filter((url) => url.includes("/v1/"))).to.deep.equal([]);
    expect(await page.content()).to.not.include(MAIN_ORDER);
    expect(await keyPlaces()).to.not.include(apiKey.slice(8));
  });
});
