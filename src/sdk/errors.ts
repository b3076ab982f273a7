/**
 * Typed errors of the SDK. Every error has a stable machine-readable `code`: branch on it, not on
 * `message` (for humans, may change). Errors the relayer returned keep the relayer's own code
 * (src/protocol/schemas/errors.ts); failures that never got an answer are `network_error`.
 */
import type { ErrorCode } from "../protocol/schemas/errors";

/** Codes the relayer answers with (its `{ error: { code } }`). */
export type RelayerErrorCode = ErrorCode;

/** Codes the SDK itself raises, without or before a relayer answer. */
export type ClientErrorCode =
  /** No response: connection refused or reset, DNS failure, timeout. */
  | "network_error"
  /** A response that is not the relayer's JSON (e.g. a proxy's HTML error page). */
  | "invalid_response"
  /** The call needs an API key (merchant routes) or an admin token and the client has none. */
  | "missing_credentials"
  /** An argument the SDK can tell is wrong before sending it (bad amount, wrong signer, ...). */
  | "invalid_argument"
  /** The signer's address is not the account the message is signed for. */
  | "signer_mismatch"
  /** The payer has no free nonce in its window (every one is used or held by a pending payment). */
  | "no_free_nonce"
  /** The request was aborted by the caller's AbortSignal. */
  | "aborted"
  /** waitForPayment gave up before the payment reached the wanted state. */
  | "timeout";

/** Base class: every error thrown by the SDK is a StablePayError. */
export class StablePayError extends Error {
  override name = "StablePayError";

  constructor(
    readonly code: ClientErrorCode | RelayerErrorCode | (string & {}),
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A relayer call that failed: the relayer's status, code, message and details, or status 0 and
 * code `network_error` when no answer came back (after the retries the request allowed).
 */
export class RelayerApiError extends StablePayError {
  override name = "RelayerApiError";

  constructor(
    /** HTTP status; 0 when there was no response. */
    readonly status: number,
    code: RelayerErrorCode | ClientErrorCode | (string & {}),
    message: string,
    details?: Record<string, unknown>,
    readonly request?: { method: string; path: string; attempts: number },
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }

  /** Seconds the relayer asked to wait before retrying (429), if it said. */
  get retryAfterSeconds(): number | undefined {
    const value = this.details?.retryAfterSeconds;
    return typeof value === "number" ? value : undefined;
  }
}

export const isStablePayError = (error: unknown): error is StablePayError => error instanceof StablePayError;

/** True for a RelayerApiError, optionally with the given code. */
export function isRelayerApiError(error: unknown, code?: string): error is RelayerApiError {
  return error instanceof RelayerApiError && (code === undefined || error.code === code);
}
