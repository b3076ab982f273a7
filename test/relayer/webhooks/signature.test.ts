import { expect } from "chai";
import { createHmac } from "node:crypto";
import {
  signWebhook,
  verifyWebhook,
  WebhookSignatureError,
  type VerifyWebhookParams,
  type WebhookSignatureErrorCode,
} from "../../../src/protocol/schemas/webhookSignature";

const SECRET = "whsec_test_0123456789";
const T = 1_750_000_000; // unix seconds
const NOW = T * 1000;
const BODY = JSON.stringify({ id: "evt_1", type: "payment.escrowed", data: { amount: "1000000", note: "ünïcødé" } });

function expectCode(params: VerifyWebhookParams, code: WebhookSignatureErrorCode): WebhookSignatureError {
  let caught: unknown;
  try {
    verifyWebhook(params);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).to.be.instanceOf(WebhookSignatureError);
  expect((caught as WebhookSignatureError).code).to.equal(code);
  return caught as WebhookSignatureError;
}

describe("webhook signatures", () => {
  it("signs as t=<seconds>,v1=<hex HMAC-SHA256 of `t.body`> and verifies the round trip", () => {
    const header = signWebhook(SECRET, T, BODY);
    const expected = createHmac("sha256", SECRET).update(`${T}.${BODY}`).digest("hex");
    expect(header).to.equal(`t=${T},v1=${expected}`);
    expect(verifyWebhook({ secret: SECRET, header, body: BODY, now: NOW })).to.deep.equal({
      timestamp: T,
      eventId: "evt_1",
    });
    // Raw bytes work the same as the string.
    expect(verifyWebhook({ secret: SECRET, header, body: Buffer.from(BODY, "utf8"), now: NOW }).timestamp).to.equal(T);
  });

  it("accepts any of several v1 signatures and any of several secrets (rotation)", () => {
    const oldHeader = signWebhook("old-secret", T, BODY);
    const newHeader = signWebhook(SECRET, T, BODY);
    const both = `${newHeader},v1=${oldHeader.split("v1=")[1]},v0=ignored`;
    expect(verifyWebhook({ secret: "old-secret", header: both, body: BODY, now: NOW }).timestamp).to.equal(T);
    expect(verifyWebhook({ secret: ["other", SECRET], header: newHeader, body: BODY, now: NOW }).timestamp).to.equal(T);
  });

  it("rejects a wrong secret, a changed body and a changed timestamp with bad_signature", () => {
    const header = signWebhook(SECRET, T, BODY);
    expectCode({ secret: "wrong", header, body: BODY, now: NOW }, "bad_signature");
    expectCode({ secret: SECRET, header, body: BODY.replace("1000000", "1000001"), now: NOW }, "bad_signature");
    expectCode(
      { secret: SECRET, header: header.replace(`t=${T}`, `t=${T + 1}`), body: BODY, now: NOW },
      "bad_signature",
    );
    const flipped = header.slice(0, -1) + (header.endsWith("0") ? "1" : "0");
    expectCode({ secret: SECRET, header: flipped, body: BODY, now: NOW }, "bad_signature");
  });

  it("rejects a re-serialised body (same JSON, other bytes)", () => {
    const header = signWebhook(SECRET, T, BODY);
    const pretty = JSON.stringify(JSON.parse(BODY), null, 2);
    expect(JSON.parse(pretty)).to.deep.equal(JSON.parse(BODY));
    expectCode({ secret: SECRET, header, body: pretty, now: NOW }, "bad_signature");
  });

  it("rejects timestamps more than 5 minutes old or in the future, accepts the edges", () => {
    const header = signWebhook(SECRET, T, BODY);
    expect(verifyWebhook({ secret: SECRET, header, body: BODY, now: NOW + 300_000 }).timestamp).to.equal(T);
    expect(verifyWebhook({ secret: SECRET, header, body: BODY, now: NOW - 300_000 }).timestamp).to.equal(T);
    const old = expectCode({ secret: SECRET, header, body: BODY, now: NOW + 301_000 }, "timestamp_out_of_tolerance");
    expect(old.message).to.match(/301s/);
    expectCode({ secret: SECRET, header, body: BODY, now: NOW - 301_000 }, "timestamp_out_of_tolerance");
    expectCode(
      { secret: SECRET, header, body: BODY, now: NOW + 11_000, toleranceSeconds: 10 },
      "timestamp_out_of_tolerance",
    );
  });

  it("rejects a duplicate event id when given a seen-set, only after the signature checks out", () => {
    const seen = new Set<string>();
    const header = signWebhook(SECRET, T, BODY);
    // A forged request must not poison the set.
    expectCode({ secret: "wrong", header, body: BODY, now: NOW, seenEventIds: seen }, "bad_signature");
    expect(seen.size).to.equal(0);
    verifyWebhook({ secret: SECRET, header, body: BODY, now: NOW, seenEventIds: seen });
    expect([...seen]).to.deep.equal(["evt_1"]);
    // The replay, even re-signed later with a fresh timestamp.
    const later = signWebhook(SECRET, T + 60, BODY);
    expectCode({ secret: SECRET, header: later, body: BODY, now: NOW + 60_000, seenEventIds: seen }, "duplicate_event");
    const other = JSON.stringify({ ...JSON.parse(BODY), id: "evt_2" });
    verifyWebhook({ secret: SECRET, header: signWebhook(SECRET, T, other), body: other, now: NOW, seenEventIds: seen });
    expect(seen.has("evt_2")).to.equal(true);
  });

  it("rejects missing and malformed headers with their codes", () => {
    for (const header of [undefined, null, "", "   "]) {
      expectCode({ secret: SECRET, header, body: BODY, now: NOW }, "missing_header");
    }
    const sig = signWebhook(SECRET, T, BODY).split("v1=")[1];
    for (const header of [
      "garbage",
      `v1=${sig}`,
      `t=${T}`,
      `t=abc,v1=${sig}`,
      `t=${T},v1=nothex`,
      `t=${T},v1=${sig.slice(2)}`,
      `t=${T},t=${T},v1=${sig}`,
      `t=-5,v1=${sig}`,
    ]) {
      expectCode({ secret: SECRET, header, body: BODY, now: NOW }, "malformed_header");
    }
  });

  it("refuses to sign with an invalid timestamp", () => {
    expect(() => signWebhook(SECRET, 1.5, BODY)).to.throw(RangeError);
    expect(() => signWebhook(SECRET, -1, BODY)).to.throw(RangeError);
  });
});
