/**
 * Classification of JSON-RPC failures and retry with exponential backoff.
 *
 * Nodes word the same condition differently (geth "nonce too low", Hardhat "Transaction nonce too
 * low. Expected ...", Nethermind "OldNonce", geth "already known", Hardhat "Known transaction:
 * 0x..."), and ethers only coalesces some of them, so the text of the whole error chain is matched.
 */
import { DEFAULTS } from "../config";

export type RpcErrorKind =
  /** Network failure, timeout, 5xx, rate limit: the same request may succeed later. */
  | "transient"
  /** The contract reverted: retrying cannot help. */
  | "revert"
  /** The nonce was already used by a mined transaction (ours or another of the same key). */
  | "nonce_too_low"
  /** The node already has this exact transaction. */
  | "already_known"
  /** A transaction with this nonce is pending with a fee this one does not beat by enough. */
  | "replacement_underpriced"
  /** The node refuses a nonce beyond the next one (a gap). */
  | "nonce_too_high"
  /** The sender's ETH does not cover the transaction's gas: nothing is sent until it is funded. */
  | "insufficient_funds"
  /** Anything else: not retried. */
  | "fatal";

const TRANSIENT_CODES = new Set([
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const TRANSIENT_TEXT =
  /timeout|timed out|socket hang up|econnreset|econnrefused|network error|bad gateway|service unavailable|gateway timeout|too many requests|rate limit|header not found|try again later|temporarily unavailable|\b50[234]\b/i;

/**
 * The sender cannot pay for gas: geth "insufficient funds for gas * price + value", Hardhat
 * "Sender doesn't have enough funds to send tx", Nethermind "InsufficientFunds", Besu "Upfront cost
 * exceeds account balance". ethers cannot coalesce Hardhat's wording and reports it as "could not
 * coalesce error", so the node's own text is matched.
 */
const INSUFFICIENT_FUNDS_TEXT =
  /insufficient funds|insufficientfunds|doesn't have enough funds|does not have enough funds|exceeds account balance|sender balance too low/i;

/** Every message and code along an error's chain (ethers nests the node's error in info/error). */
function describe(error: unknown, depth = 0): { text: string; codes: string[] } {
  if (error === null || error === undefined || depth > 4) return { text: "", codes: [] };
  if (typeof error !== "object") return { text: String(error), codes: [] };
  const e = error as Record<string, unknown>;
  const parts: string[] = [];
  const codes: string[] = [];
  for (const key of ["message", "shortMessage", "reason"]) if (typeof e[key] === "string") parts.push(e[key] as string);
  if (typeof e.code === "string" || typeof e.code === "number") codes.push(String(e.code));
  for (const key of ["error", "info", "cause", "data"]) {
    if (e[key] && typeof e[key] === "object") {
      const inner = describe(e[key], depth + 1);
      parts.push(inner.text);
      codes.push(...inner.codes);
    }
  }
  return { text: parts.join(" | "), codes };
}

export function classifyRpcError(error: unknown): RpcErrorKind {
  const { text, codes } = describe(error);
  if (codes.includes("CALL_EXCEPTION") || /revert/i.test(text)) return "revert";
  if (codes.includes("NONCE_EXPIRED") || /nonce[^|]*too low|oldnonce|nonce has already been used/i.test(text)) {
    return "nonce_too_low";
  }
  if (/already known|known transaction|already imported|alreadyknown|already exists/i.test(text))
    return "already_known";
  if (codes.includes("REPLACEMENT_UNDERPRICED") || /replacement[^|]*underpriced|replacefee/i.test(text)) {
    return "replacement_underpriced";
  }
  if (/nonce[^|]*too high|nonce gap/i.test(text)) return "nonce_too_high";
  if (codes.includes("INSUFFICIENT_FUNDS") || INSUFFICIENT_FUNDS_TEXT.test(text)) return "insufficient_funds";
  if (codes.some((c) => TRANSIENT_CODES.has(c)) || TRANSIENT_TEXT.test(text)) return "transient";
  return "fatal";
}

export const isTransient = (error: unknown): boolean => classifyRpcError(error) === "transient";

/** Thrown when a transient RPC failure outlasted every retry. */
export class ChainUnavailableError extends Error {
  readonly code = "chain_unavailable";

  constructor(
    readonly label: string,
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`${label}: chain unavailable after ${attempts} attempts`);
    this.name = "ChainUnavailableError";
  }
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryOptions extends Partial<RetryPolicy> {
  /** Called before each wait; for logs and metrics. */
  onRetry?: (info: { label: string; attempt: number; delayMs: number; error: unknown }) => void;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delay before retry `attempt` (1-based): exponential, capped, with jitter in its upper half. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/**
 * Runs `work`, retrying transient failures with exponential backoff. Anything not transient
 * (reverts, nonce conditions, ...) is rethrown at once; exhausting the attempts throws
 * {@link ChainUnavailableError}.
 */
export async function withRetry<T>(label: string, work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy: RetryPolicy = {
    attempts: options.attempts ?? DEFAULTS.rpcRetry.attempts,
    baseDelayMs: options.baseDelayMs ?? DEFAULTS.rpcRetry.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULTS.rpcRetry.maxDelayMs,
  };
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (attempt >= policy.attempts) throw new ChainUnavailableError(label, attempt, error);
      const delayMs = backoffDelay(attempt, policy);
      options.onRetry?.({ label, attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/**
 * The signer's ETH does not cover a transaction's gas. Thrown by the submitter for every send until
 * the signer is funded (it reports the condition itself, once: callers need not log it again).
 */
export class SignerUnfundedError extends Error {
  readonly code = "signer_unfunded";
  readonly reported = true;

  constructor(
    readonly signer: string,
    /** When the submitter tries again at the latest (ms since the epoch); sooner once funded. */
    readonly retryAt: number,
  ) {
    super(`signer ${signer} has no ETH for gas; sending is held until it is funded`);
    this.name = "SignerUnfundedError";
  }
}
