/**
 * The relayer logs one JSON object per line (pino). All of it goes to data/relayer.log; the console
 * gets only what needs a person's attention (warnings and errors, one readable line each) so that
 * the start script's own output stays short.
 */

const PINO_LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
/** Console threshold: warn. */
const CONSOLE_LEVEL = PINO_LEVELS.warn;
/**
 * Warnings that are expected on the local network, with what they mean. The relayer's signer is
 * account #0 by default, which is also the deployer, registrar and arbiter: when the demo (or a
 * task) sends as account #0, the relayer finds its next nonce taken and re-signs. Harmless, but
 * alarming without a word of explanation.
 */
const LOCAL_HINTS: [RegExp, string][] = [
  [
    /nonce taken outside the relayer|nonce counter behind the chain/,
    "account #0 also sent a transaction (deployer/operator); the relayer moved to the next nonce",
  ],
];

/** Fields that make a console line useful without dumping the whole object. */
const DETAIL_FIELDS = ["err", "error", "purpose", "nonce", "txHash", "operation", "signal", "step"];

export interface RelayerLogLine {
  level: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** Parses one output line of the relayer; null when it is not a JSON log object. */
export function parseRelayerLine(line: string): RelayerLogLine | null {
  if (!line.startsWith("{")) return null;
  try {
    const fields = JSON.parse(line) as Record<string, unknown>;
    const raw = fields.level;
    const level = typeof raw === "number" ? raw : (PINO_LEVELS[String(raw)] ?? PINO_LEVELS.info);
    return { level, msg: typeof fields.msg === "string" ? fields.msg : "", fields };
  } catch {
    return null;
  }
}

/** The console form of a relayer line, or null when it stays in the log file only. */
export function consoleLine(line: string): string | null {
  const parsed = parseRelayerLine(line);
  // Not JSON: a crash before the logger existed (ts-node, a stack trace). Always show it.
  if (!parsed) return line;
  if (parsed.level < CONSOLE_LEVEL) return null;
  const details = DETAIL_FIELDS.filter((k) => parsed.fields[k] !== undefined)
    .map((k) => `${k}=${typeof parsed.fields[k] === "string" ? parsed.fields[k] : JSON.stringify(parsed.fields[k])}`)
    .join(" ");
  const name = LEVEL_NAMES[parsed.level] ?? String(parsed.level);
  const hint = LOCAL_HINTS.find(([pattern]) => pattern.test(parsed.msg))?.[1];
  return `${name} ${parsed.msg}${details ? ` (${details})` : ""}${hint ? `: ${hint}` : ""}`;
}
