import type { WebhookEndpointRecord } from "../../domain";
import { SecretBox } from "../../runtime/secretBox";
import type {
  DisablePolicy,
  DueEndpoint,
  WebhookDisabledReason,
  WebhookEndpointDetails,
  WebhookRepository,
} from "../types";
import { big, dec } from "./codec";
import type { Connection } from "./connection";

interface EndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  secret: string;
  created_at: number;
  disabled_at: number | null;
  consecutive_failures: number;
  failing_since: number | null;
  next_attempt_at: number;
  last_error: string | null;
  disabled_reason: string | null;
}

/** Longest error text kept per endpoint (it is shown to the merchant). */
const MAX_ERROR_LENGTH = 200;

const toDetails = (r: EndpointRow): WebhookEndpointDetails => ({
  id: r.id,
  merchantId: big(r.merchant_id),
  url: r.url,
  createdAt: r.created_at,
  disabledAt: r.disabled_at,
  disabledReason: r.disabled_reason as WebhookDisabledReason | null,
  consecutiveFailures: r.consecutive_failures,
  failingSince: r.failing_since,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
});

const INSERT_SQL =
  "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?)";

export class SqliteWebhooks implements WebhookRepository {
  constructor(
    private readonly conn: Connection,
    private readonly box: SecretBox,
  ) {}

  /**
   * Encrypts secrets stored in clear (rows written before secrets were encrypted). secure_delete
   * zeroes the replaced cells and the checkpoint moves the rewritten pages out of the WAL, so the
   * file keeps no copy of a clear secret. Returns how many rows it encrypted.
   */
  sealPlaintextSecrets(): number {
    const db = this.conn.db;
    const rows = db.prepare("SELECT id, secret FROM webhook_endpoints WHERE secret NOT LIKE 'enc1:%'").all() as {
      id: string;
      secret: string;
    }[];
    if (rows.length === 0) return 0;
    db.pragma("secure_delete = ON");
    try {
      const update = db.prepare("UPDATE webhook_endpoints SET secret = ? WHERE id = ?");
      db.transaction(() => {
        for (const r of rows) update.run(this.box.seal(r.secret, r.id), r.id);
      }).immediate();
      db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      db.pragma("secure_delete = OFF");
    }
    return rows.length;
  }

  private toRecord(r: EndpointRow): WebhookEndpointRecord {
    return {
      id: r.id,
      merchantId: big(r.merchant_id),
      url: r.url,
      secret: this.box.open(r.secret, r.id),
      createdAt: r.created_at,
      disabledAt: r.disabled_at,
    };
  }

  create(e: WebhookEndpointRecord): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare(INSERT_SQL)
        .run(e.id, dec(e.merchantId), e.url, this.box.seal(e.secret, e.id), e.createdAt, e.disabledAt);
    });
  }

  createCapped(e: WebhookEndpointRecord, max: number): Promise<boolean> {
    return this.conn.atomic(() => {
      const { n } = this.conn
        .prepare("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE merchant_id = ?")
        .get(dec(e.merchantId)) as { n: number };
      if (n >= max) return false;
      this.conn
        .prepare(INSERT_SQL)
        .run(e.id, dec(e.merchantId), e.url, this.box.seal(e.secret, e.id), e.createdAt, e.disabledAt);
      return true;
    });
  }

  listByMerchant(merchantId: bigint): Promise<WebhookEndpointRecord[]> {
    return this.conn.run(() => this.listRows(merchantId).map((r) => this.toRecord(r)));
  }

  listDetails(merchantId: bigint): Promise<WebhookEndpointDetails[]> {
    return this.conn.run(() => this.listRows(merchantId).map(toDetails));
  }

  private listRows(merchantId: bigint): EndpointRow[] {
    return this.conn
      .prepare("SELECT * FROM webhook_endpoints WHERE merchant_id = ? ORDER BY created_at, id")
      .all(dec(merchantId)) as EndpointRow[];
  }

  get(id: string): Promise<WebhookEndpointRecord | null> {
    return this.conn.run(() => {
      const row = this.row(id);
      return row ? this.toRecord(row) : null;
    });
  }

  getDetails(id: string): Promise<WebhookEndpointDetails | null> {
    return this.conn.run(() => {
      const row = this.row(id);
      return row ? toDetails(row) : null;
    });
  }

  private row(id: string): EndpointRow | undefined {
    return this.conn.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").get(id) as EndpointRow | undefined;
  }

  disable(id: string, at: number, reason: WebhookDisabledReason = "merchant"): Promise<void> {
    return this.conn.atomic(() => {
      const changed = this.conn
        .prepare(
          "UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL",
        )
        .run(at, reason, id).changes;
      if (changed > 0) this.deadLetterPending(id, at);
    });
  }

  private deadLetterPending(id: string, at: number): void {
    this.conn
      .prepare(
        `UPDATE outbox SET dead_at = ?, last_error = 'endpoint disabled'
           WHERE endpoint_id = ? AND delivered_at IS NULL AND dead_at IS NULL`,
      )
      .run(at, id);
  }

  enable(id: string, at: number, reviveSince: number): Promise<number> {
    return this.conn.atomic(() => {
      const changed = this.conn
        .prepare(
          `UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0,
             failing_since = NULL, next_attempt_at = 0, last_error = NULL
           WHERE id = ? AND disabled_at IS NOT NULL`,
        )
        .run(id).changes;
      if (changed === 0) return 0;
      return this.conn
        .prepare(
          `UPDATE outbox SET dead_at = NULL, last_error = NULL, attempts = 0, next_attempt_at = ?
             WHERE endpoint_id = ? AND dead_at IS NOT NULL AND delivered_at IS NULL
               AND last_error = 'endpoint disabled' AND created_at >= ?`,
        )
        .run(at, id, reviveSince).changes;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.conn.atomic(() => {
      this.conn.prepare("DELETE FROM outbox WHERE endpoint_id = ?").run(id);
      return this.conn.prepare("DELETE FROM webhook_endpoints WHERE id = ?").run(id).changes > 0;
    });
  }

  dueEndpoints(now: number, limit: number, after = ""): Promise<DueEndpoint[]> {
    return this.conn.run(() =>
      (
        this.conn
          .prepare(
            `SELECT e.id, e.merchant_id, e.url, e.secret, e.consecutive_failures FROM webhook_endpoints e
               WHERE e.id > ? AND e.disabled_at IS NULL AND e.next_attempt_at <= ?
                 AND EXISTS (SELECT 1 FROM outbox o WHERE o.endpoint_id = e.id AND o.delivered_at IS NULL
                               AND o.dead_at IS NULL AND o.next_attempt_at <= ?)
               ORDER BY e.id LIMIT ?`,
          )
          .all(after, now, now, limit) as EndpointRow[]
      ).map((r) => ({
        id: r.id,
        merchantId: big(r.merchant_id),
        url: r.url,
        secret: this.box.open(r.secret, r.id),
        consecutiveFailures: r.consecutive_failures,
      })),
    );
  }

  /**
   * One statement selects and claims under BEGIN IMMEDIATE, so two processes on the file never
   * claim the same endpoint; an endpoint already claimed by `holder` is returned and its claim
   * extended (a renewal).
   */
  claimDueEndpoints(now: number, limit: number, holder: string, leaseMs: number, after = ""): Promise<DueEndpoint[]> {
    return this.conn.atomic(() => {
      const rows = this.conn
        .prepare(
          `SELECT e.id, e.merchant_id, e.url, e.secret, e.consecutive_failures FROM webhook_endpoints e
             WHERE e.id > ? AND e.disabled_at IS NULL AND e.next_attempt_at <= ?
               AND (e.claimed_by IS NULL OR e.claimed_by = ? OR e.claimed_until <= ?)
               AND EXISTS (SELECT 1 FROM outbox o WHERE o.endpoint_id = e.id AND o.delivered_at IS NULL
                             AND o.dead_at IS NULL AND o.next_attempt_at <= ?)
             ORDER BY e.id LIMIT ?`,
        )
        .all(after, now, holder, now, now, limit) as EndpointRow[];
      const claim = this.conn.prepare("UPDATE webhook_endpoints SET claimed_by = ?, claimed_until = ? WHERE id = ?");
      for (const r of rows) claim.run(holder, now + leaseMs, r.id);
      return rows.map((r) => ({
        id: r.id,
        merchantId: big(r.merchant_id),
        url: r.url,
        secret: this.box.open(r.secret, r.id),
        consecutiveFailures: r.consecutive_failures,
      }));
    });
  }

  releaseEndpoint(id: string, holder: string): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare("UPDATE webhook_endpoints SET claimed_by = NULL, claimed_until = 0 WHERE id = ? AND claimed_by = ?")
        .run(id, holder);
    });
  }

  recordSuccess(id: string): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare(
          `UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL, next_attempt_at = 0,
             last_error = NULL WHERE id = ? AND consecutive_failures > 0`,
        )
        .run(id);
    });
  }

  recordFailure(
    id: string,
    error: string,
    at: number,
    nextAttemptAt: number,
    policy: DisablePolicy,
  ): Promise<{ consecutiveFailures: number; disabled: boolean }> {
    return this.conn.atomic(() => {
      const row = this.conn
        .prepare(
          `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
             failing_since = COALESCE(failing_since, ?), next_attempt_at = MAX(next_attempt_at, ?), last_error = ?
           WHERE id = ? AND disabled_at IS NULL
           RETURNING consecutive_failures, failing_since`,
        )
        .get(at, nextAttemptAt, error.slice(0, MAX_ERROR_LENGTH), id) as
        { consecutive_failures: number; failing_since: number } | undefined;
      if (!row) return { consecutiveFailures: 0, disabled: false };
      const disabled = row.consecutive_failures >= policy.failures && at - row.failing_since >= policy.spanMs;
      if (disabled) {
        this.conn
          .prepare("UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = 'failing' WHERE id = ?")
          .run(at, id);
        this.deadLetterPending(id, at);
      }
      return { consecutiveFailures: row.consecutive_failures, disabled };
    });
  }
}
