/** The FX desk's settings from the environment (src/relayer/fx/config.ts). */
import { expect } from "chai";
import { inspect } from "node:util";
import { ConfigError, loadConfig, loadFxConfig } from "../../../src/relayer/config";

const QUOTER = `0x${"1a".repeat(32)}`;
const DESK = "2b".repeat(32);
const FULL = {
  RELAYER_FX_QUOTER_KEY: QUOTER,
  RELAYER_FX_DESK_KEY: DESK,
  RELAYER_FX_DESK_MERCHANT_ID: "3",
  RELAYER_FX_RATES: "USD/EUR=1087:1000, EUR/USD=1000:1087",
};

describe("relayer FX desk settings", function () {
  it("is off (null) when none of its four settings is set", function () {
    expect(loadFxConfig({})).to.equal(null);
  });

  it("reads the keys as Secrets, the rates as integer ratios and the defaults", function () {
    const fx = loadFxConfig(FULL)!;
    expect(fx.quoterKey.reveal()).to.equal(QUOTER);
    expect(fx.deskKey.reveal()).to.equal(`0x${DESK}`);
    expect(fx.deskMerchantId).to.equal(3n);
    expect([...fx.rates]).to.deep.equal([
      ["USD/EUR", { pay: 1087n, settle: 1000n }],
      ["EUR/USD", { pay: 1000n, settle: 1087n }],
    ]);
    expect([fx.maxDeviationBps, fx.quoteTtlSeconds, fx.mirrorIntervalMs]).to.deep.equal([50n, 120n, 5_000]);
    expect(loadFxConfig({ ...FULL, RELAYER_FX_MIRROR_INTERVAL_MS: "0" })!.mirrorIntervalMs).to.equal(0);
    const shown = `${JSON.stringify({ q: fx.quoterKey, d: fx.deskKey })} ${inspect(fx)} ${String(fx.deskKey)}`;
    expect(shown).to.not.include("1a1a1a");
    expect(shown).to.not.include("2b2b2b");
  });

  it("is part of the relayer's configuration: loadConfig reads it", function () {
    expect(loadConfig({}).fx).to.equal(null);
    expect(loadConfig(FULL).fx?.deskMerchantId).to.equal(loadFxConfig(FULL)!.deskMerchantId);
  });

  it("refuses a partial set, a malformed key (without echoing it), rate or bound", function () {
    const bad: [Record<string, string>, RegExp][] = [
      [{ ...FULL, RELAYER_FX_DESK_KEY: "" }, /missing RELAYER_FX_DESK_KEY/],
      [{ ...FULL, RELAYER_FX_QUOTER_KEY: "1a1a1a" }, /RELAYER_FX_QUOTER_KEY is not 32 bytes of hex$/],
      [{ ...FULL, RELAYER_FX_RATES: "USD/EUR=1.087" }, /RELAYER_FX_RATES/],
      [{ ...FULL, RELAYER_FX_RATES: "USD/EUR=0:1" }, /RELAYER_FX_RATES/],
      [{ ...FULL, RELAYER_FX_DESK_MERCHANT_ID: "0" }, /RELAYER_FX_DESK_MERCHANT_ID/],
      [{ ...FULL, RELAYER_FX_MAX_DEVIATION_BPS: "10001" }, /at most 10000/],
      [{ ...FULL, RELAYER_FX_QUOTE_TTL_SECONDS: "-1" }, /RELAYER_FX_QUOTE_TTL_SECONDS/],
      [{ ...FULL, RELAYER_FX_MIRROR_INTERVAL_MS: "3600001" }, /RELAYER_FX_MIRROR_INTERVAL_MS is at most 3600000/],
      [
        { ...FULL, RELAYER_FX_MIRROR_INTERVAL_MS: "5s" },
        /RELAYER_FX_MIRROR_INTERVAL_MS must be a non-negative integer/,
      ],
      // Tuning without a desk is a setting that would silently do nothing.
      [{ RELAYER_FX_QUOTE_TTL_SECONDS: "60" }, /tuning is set but the FX desk is not/],
      [{ RELAYER_FX_MIRROR_INTERVAL_MS: "1000" }, /tuning is set but the FX desk is not/],
    ];
    for (const [env, message] of bad) {
      expect(() => loadFxConfig(env))
        .to.throw(ConfigError, message)
        .with.property("message")
        .that.does.not.include("1a1a1a");
    }
  });
});
