import { expect } from "chai";
import { loadConfig } from "../../../src/relayer/config";
import { WEBHOOK_DEFAULTS } from "../../../src/relayer/webhooks/settings";
import { SecretBox } from "../../../src/relayer/runtime/secretBox";

describe("webhook settings and the secret key", () => {
  it("reads the webhook variables, with strict defaults (no loopback, no private addresses, no key)", () => {
    const defaults = loadConfig({}).webhooks;
    expect(defaults).to.deep.equal({
      secretKey: null,
      maxEndpointsPerMerchant: WEBHOOK_DEFAULTS.maxEndpointsPerMerchant,
      allowLoopback: false,
      allowPrivate: false,
      concurrency: WEBHOOK_DEFAULTS.concurrency,
      endpointConcurrency: WEBHOOK_DEFAULTS.endpointConcurrency,
      disableAfterFailures: WEBHOOK_DEFAULTS.disableAfterFailures,
      disableAfterMs: WEBHOOK_DEFAULTS.disableAfterMs,
      retentionMs: WEBHOOK_DEFAULTS.retentionMs,
    });
    const set = loadConfig({
      RELAYER_SECRET_KEY: "ab".repeat(32),
      WEBHOOK_MAX_ENDPOINTS: "3",
      WEBHOOK_ALLOW_LOOPBACK: "1",
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_RETENTION_MS: "1000",
    }).webhooks;
    expect(set.secretKey).to.deep.equal(Buffer.alloc(32, 0xab));
    expect([set.maxEndpointsPerMerchant, set.allowLoopback, set.allowPrivate, set.retentionMs]).to.deep.equal([
      3,
      true,
      true,
      1000,
    ]);
    expect(loadConfig({ RELAYER_SECRET_KEY: Buffer.alloc(32, 1).toString("base64") }).webhooks.secretKey).to.deep.equal(
      Buffer.alloc(32, 1),
    );
    expect(() => loadConfig({ RELAYER_SECRET_KEY: "abcd" })).to.throw(/RELAYER_SECRET_KEY must be 32 bytes/);
    expect(() => loadConfig({ WEBHOOK_MAX_ENDPOINTS: "0" })).to.throw(/WEBHOOK_MAX_ENDPOINTS must be at least 1/);
  });

  it("AES-256-GCM: a sealed secret opens only under its key and for its endpoint, and is never the same twice", () => {
    const box = new SecretBox(Buffer.alloc(32, 9));
    const sealed = box.seal("whsec_abc", "wh_1");
    expect(sealed)
      .to.match(/^enc1:/)
      .and.not.include("whsec_abc");
    expect(box.seal("whsec_abc", "wh_1")).to.not.equal(sealed);
    expect(box.open(sealed, "wh_1")).to.equal("whsec_abc");
    expect(() => box.open(sealed, "wh_2"), "copied onto another endpoint").to.throw(/does not decrypt/);
    expect(() => new SecretBox(Buffer.alloc(32, 8)).open(sealed, "wh_1")).to.throw(/does not decrypt/);
    expect(() => box.open("whsec_abc", "wh_1")).to.throw(/not encrypted/);
  });
});
