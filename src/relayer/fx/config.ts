/**
 * The FX desk's settings (docs/relayer.md, "FX desk"), from the environment. All optional: with
 * none set the desk is off and its routes answer 503 fx_unavailable. The two keys are Secrets:
 * logs and dumps show "[redacted]".
 */
import { ConfigError, Secret } from "../config";
import type { Rate } from "../../protocol/fx";

export interface FxConfig {
  /** Signs quotes; its address must hold the registry's FX_QUOTER_ROLE. */
  quoterKey: Secret<`0x${string}`>;
  /** The desk's liquidity account: signs the settle legs from its balance in each escrow. */
  deskKey: Secret<`0x${string}`>;
  /** The desk's merchant id: the payer's leg pays it. */
  deskMerchantId: bigint;
  /** Reference rates by "PAY/SETTLE" currency pair, in token units (each token's decimals included). */
  rates: Map<string, Rate>;
  /** How far (basis points) a quote's rate may lie from the reference. */
  maxDeviationBps: bigint;
  /** Seconds a quote stays valid. */
  quoteTtlSeconds: bigint;
}

const KEY = /^(0x)?[0-9a-fA-F]{64}$/;
const PAIR = /^([A-Z][A-Z0-9]{1,11})\/([A-Z][A-Z0-9]{1,11})=([1-9][0-9]*):([1-9][0-9]*)$/;

const key = (name: string, value: string): Secret<`0x${string}`> => {
  // Never echo the value: a malformed key may still be most of a real one.
  if (!KEY.test(value)) throw new ConfigError(`${name} is not 32 bytes of hex`);
  return new Secret((value.startsWith("0x") ? value : `0x${value}`) as `0x${string}`);
};

const uint = (name: string, value: string | undefined, fallback: bigint): bigint => {
  if (value === undefined || value === "") return fallback;
  if (!/^[0-9]+$/.test(value)) throw new ConfigError(`${name} must be a non-negative integer, got "${value}"`);
  return BigInt(value);
};

/**
 * RELAYER_FX_QUOTER_KEY, RELAYER_FX_DESK_KEY, RELAYER_FX_DESK_MERCHANT_ID and RELAYER_FX_RATES
 * ("USD/EUR=1087:1000,EUR/USD=1000:1087": pay units : settle units) turn the desk on together;
 * RELAYER_FX_MAX_DEVIATION_BPS (default 50) and RELAYER_FX_QUOTE_TTL_SECONDS (default 120) tune it.
 * Null when none of the four is set; a partial set is a ConfigError.
 */
export function loadFxConfig(env: NodeJS.ProcessEnv): FxConfig | null {
  const required = [
    "RELAYER_FX_QUOTER_KEY",
    "RELAYER_FX_DESK_KEY",
    "RELAYER_FX_DESK_MERCHANT_ID",
    "RELAYER_FX_RATES",
  ] as const;
  const set = required.filter((name) => (env[name] ?? "") !== "");
  if (set.length === 0) return null;
  if (set.length < required.length) {
    throw new ConfigError(
      `the FX desk needs ${required.join(", ")}; missing ${required.filter((n) => !set.includes(n)).join(", ")}`,
    );
  }
  const rates = new Map<string, Rate>();
  for (const entry of env
    .RELAYER_FX_RATES!.split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = PAIR.exec(entry);
    if (!match) throw new ConfigError(`RELAYER_FX_RATES: "${entry}" is not PAY/SETTLE=payUnits:settleUnits`);
    rates.set(`${match[1]}/${match[2]}`, { pay: BigInt(match[3]), settle: BigInt(match[4]) });
  }
  const deskMerchantId = uint("RELAYER_FX_DESK_MERCHANT_ID", env.RELAYER_FX_DESK_MERCHANT_ID, 0n);
  if (deskMerchantId === 0n) throw new ConfigError("RELAYER_FX_DESK_MERCHANT_ID must be a merchant id (1 or more)");
  const maxDeviationBps = uint("RELAYER_FX_MAX_DEVIATION_BPS", env.RELAYER_FX_MAX_DEVIATION_BPS, 50n);
  if (maxDeviationBps > 10_000n) throw new ConfigError("RELAYER_FX_MAX_DEVIATION_BPS is at most 10000");
  return {
    quoterKey: key("RELAYER_FX_QUOTER_KEY", env.RELAYER_FX_QUOTER_KEY!),
    deskKey: key("RELAYER_FX_DESK_KEY", env.RELAYER_FX_DESK_KEY!),
    deskMerchantId,
    rates,
    maxDeviationBps,
    quoteTtlSeconds: uint("RELAYER_FX_QUOTE_TTL_SECONDS", env.RELAYER_FX_QUOTE_TTL_SECONDS, 120n),
  };
}
