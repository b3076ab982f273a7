/**
 * Typed errors of the auditor. Each maps to the CLI's exit code 2 ("could not audit"), which must
 * never be confused with exit code 1 ("audited, and the ledger does not reconcile"): a flaky RPC or
 * a typo must not read as fraud, and a broken ledger must not read as a flaky RPC.
 */
export type AuditErrorKind = "usage" | "connection" | "deployment" | "state-file" | "not-found";

export class AuditError extends Error {
  /** Process exit code for this error: every failure to audit is 2. */
  readonly exitCode = 2;

  constructor(
    readonly kind: AuditErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AuditError";
  }
}

/** Bad command line (unknown flag, missing value, malformed number or id). */
export class UsageError extends AuditError {
  constructor(message: string) {
    super("usage", message);
    this.name = "UsageError";
  }
}

/** The RPC endpoint failed or answered something unusable. */
export class ConnectionError extends AuditError {
  constructor(message: string, cause?: unknown) {
    super("connection", message, { cause });
    this.name = "ConnectionError";
  }
}

/** The deployment record is missing, invalid, or does not match the connected chain. */
export class DeploymentError extends AuditError {
  constructor(message: string, cause?: unknown) {
    super("deployment", message, { cause });
    this.name = "DeploymentError";
  }
}

/** The resumable-scan state file is unreadable or belongs to another chain, deployment or range. */
export class StateFileError extends AuditError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super("state-file", message);
    this.name = "StateFileError";
  }
}

/** `--payment <id>` names a payment that was never escrowed. */
export class PaymentNotFoundError extends AuditError {
  constructor(message: string) {
    super("not-found", message);
    this.name = "PaymentNotFoundError";
  }
}

/** `--credit <id>` names a merchant the registry never registered. */
export class MerchantNotFoundError extends AuditError {
  constructor(message: string) {
    super("not-found", message);
    this.name = "MerchantNotFoundError";
  }
}

export const isAuditError = (error: unknown): error is AuditError => error instanceof AuditError;
