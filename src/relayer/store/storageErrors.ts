/**
 * A store that cannot write (disk full, I/O errors, database server unreachable) is a condition to
 * wait out, not a bug: the request it failed is answered 503 `storage_unavailable` with Retry-After
 * (nothing was acknowledged, so a retry is safe), readiness fails while it lasts, and a successful
 * write probe ends it. SQLite reports a full disk as SQLITE_FULL ("database or disk is full", also
 * when `max_page_count` is reached) and failed reads or writes of its files as SQLITE_IOERR_* ("disk
 * I/O error"); the writer thread passes on the message only, so both are recognised by code or text.
 * PostgreSQL (node-postgres) reports a lost or refused connection as a socket error (ECONNREFUSED,
 * ECONNRESET, ...), as "Connection terminated ..." when the server closed it, or as a SQLSTATE:
 * class 08 (connection exception), 57P01-57P03 (shutdown, crash, still starting), class 53
 * (disk full, out of memory, too many connections) and 58030 (I/O error).
 */
export class StorageUnavailableError extends Error {
  readonly code = "storage_unavailable";
  /** What clients are told to wait before retrying. */
  readonly retryAfterSeconds = STORAGE_RETRY_AFTER_SECONDS;

  constructor(readonly cause: unknown) {
    super("storage unavailable: the database cannot be written (disk full, I/O error or database unreachable)");
    this.name = "StorageUnavailableError";
  }
}

export const STORAGE_RETRY_AFTER_SECONDS = 5;

const CODES =
  /^(SQLITE_FULL|SQLITE_IOERR|ENOSPC|EIO|EDQUOT|ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|57P0[123]|08[0-9A-Z]{3}|53[0-9A-Z]{3}|58030$)/;
const TEXT =
  /database or disk is full|disk i\/o error|no space left on device|ENOSPC|SQLITE_FULL|SQLITE_IOERR|storage unavailable: the database|Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery)/i;

export function isStorageFailure(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === "string" && CODES.test(code)) || TEXT.test(error.message);
}

/**
 * Whether the store can write: `failing` from a write that failed for want of storage until a
 * write probe succeeds. Listeners hear every change.
 */
export class StorageHealth {
  private failingSince: number | null = null;
  private readonly listeners: ((failing: boolean) => void)[] = [];

  constructor(private readonly probeWrite: () => Promise<void>) {}

  get failing(): boolean {
    return this.failingSince !== null;
  }

  onChange(listener: (failing: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** `error` as thrown to callers: a StorageUnavailableError (and `failing`) when it is one. */
  map(error: unknown): unknown {
    if (!isStorageFailure(error)) return error;
    if (this.failingSince === null) {
      this.failingSince = Date.now();
      for (const listener of this.listeners) listener(true);
    }
    return error instanceof StorageUnavailableError ? error : new StorageUnavailableError(error);
  }

  /** Tries a real write; clears `failing` when it succeeds. Resolves with whether it did. */
  async probe(): Promise<boolean> {
    try {
      await this.probeWrite();
    } catch (error) {
      this.map(error);
      return false;
    }
    if (this.failingSince !== null) {
      this.failingSince = null;
      for (const listener of this.listeners) listener(false);
    }
    return true;
  }
}
