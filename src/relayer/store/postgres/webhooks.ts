import type { WebhookEndpointRecord } from "../../domain";
import { SecretBox } from "../../runtime/secretBox";
import type {
  DisablePolicy,
  DueEndpoint,
  WebhookDisabledReason,
  WebhookEndpointDetails,
  WebhookRepository,
} from "../types";
import { dec } from "../sqlite/codec";
import type { PgConnection, Queryable } from "./connection";

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
  merchantId: BigInt(r.merchant_id),
  url: r.url,
  createdAt: r.created_at,
  disabledAt: r.disabled_at,
  disabledReason: r.disabled_reason as WebhookDisabledReason | null,
  consecutiveFailures: r.consecutive_failures,
  failingSince: r.failing_since,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
});

const INSERT_SQL = `INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at, disabled_at)
  VALUES ($1, $2::numeric, $3, $4, $5, $6)`;

/** Live endpoints out of backoff with a delivery due at $2, after id $1, in id order. */
const DUE_WHERE = `e.id > $1 AND e.disabled_at IS NULL AND e.next_attempt_at <= $2
  AND EXISTS (SELECT 1 FROM outbox o WHERE o.endpoint_id = e.id AND o.delivered_at IS NULL
                AND o.dead_at IS NULL AND o.next_attempt_at <= $2)`;

/** Webhook endpoints; secrets are sealed with SecretBox before they reach the database. */
export class PgWebhooks implements WebhookRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly box: SecretBox,
  ) {}

  /** Encrypts secrets stored in clear (rows written by hand or by an older tool); returns how many. */
  async sealPlaintextSecrets(): Promise<number> {
    return this.conn.atomic(async (db) => {
      const { rows } = await db.query<{ id: string; secret: string }>(
        "SELECT id, secret FROM webhook_endpoints WHERE secret NOT LIKE 'enc1:%' FOR UPDATE",
      );
      for (const r of rows) {
        await db.query("UPDATE webhook_endpoints SET secret = $1 WHERE id = $2", [this.box.seal(r.secret, r.id), r.id]);
      }
      return rows.length;
    });
  }

  private toRecord(r: EndpointRow): WebhookEndpointRecord {
    return {
      id: r.id,
      merchantId: BigInt(r.merchant_id),
      url: r.url,
      secret: this.box.open(r.secret, r.id),
      createdAt: r.created_at,
      disabledAt: r.disabled_at,
    };
  }

  private insert(db: Queryable, e: WebhookEndpointRecord): Promise<unknown> {
    return db.query(INSERT_SQL, [
      e.id,
      dec(e.merchantId),
      e.url,
      this.box.seal(e.secret, e.id),
      e.createdAt,
      e.disabledAt,
    ]);
  }

  async create(e: WebhookEndpointRecord): Promise<void> {
    await this.conn.atomic((db) => this.insert(db, e));
  }

  createCapped(e: WebhookEndpointRecord, max: number): Promise<boolean> {
    return this.conn.atomic(async (db) => {
      // Per merchant, so two instances creating endpoints at once cannot both pass the count.
      await db.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`webhooks:${dec(e.merchantId)}`]);
      const { rows } = await db.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM webhook_endpoints WHERE merchant_id = $1::numeric",
        [dec(e.merchantId)],
      );
      if (rows[0].n >= max) return false;
      await this.insert(db, e);
      return true;
    });
  }

  async listByMerchant(merchantId: bigint): Promise<WebhookEndpointRecord[]> {
    return (await this.listRows(merchantId)).map((r) => this.toRecord(r));
  }

  async listDetails(merchantId: bigint): Promise<WebhookEndpointDetails[]> {
    return (await this.listRows(merchantId)).map(toDetails);
  }

  private listRows(merchantId: bigint): Promise<EndpointRow[]> {
    return this.conn.rows<EndpointRow>(
      "SELECT * FROM webhook_endpoints WHERE merchant_id = $1::numeric ORDER BY created_at, id",
      [dec(merchantId)],
    );
  }

  async get(id: string): Promise<WebhookEndpointRecord | null> {
    const row = await this.row(id);
    return row ? this.toRecord(row) : null;
  }

  async getDetails(id: string): Promise<WebhookEndpointDetails | null> {
    const row = await this.row(id);
    return row ? toDetails(row) : null;
  }

  private async row(id: string): Promise<EndpointRow | undefined> {
    return (await this.conn.rows<EndpointRow>("SELECT * FROM webhook_endpoints WHERE id = $1", [id]))[0];
  }

  disable(id: string, at: number, reason: WebhookDisabledReason = "merchant"): Promise<void> {
    return this.conn.atomic(async (db) => {
      const changed = await db.query(
        "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2 WHERE id = $3 AND disabled_at IS NULL",
        [at, reason, id],
      );
      if ((changed.rowCount ?? 0) > 0) await deadLetterPending(db, id, at);
    });
  }

  enable(id: string, at: number, reviveSince: number): Promise<number> {
    return this.conn.atomic(async (db) => {
      const changed = await db.query(
        `UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0,
           failing_since = NULL, next_attempt_at = 0, last_error = NULL
         WHERE id = $1 AND disabled_at IS NOT NULL`,
        [id],
      );
      if ((changed.rowCount ?? 0) === 0) return 0;
      const revived = await db.query(
        `UPDATE outbox SET dead_at = NULL, last_error = NULL, attempts = 0, next_attempt_at = $1
           WHERE endpoint_id = $2 AND dead_at IS NOT NULL AND delivered_at IS NULL
             AND last_error = 'endpoint disabled' AND created_at >= $3`,
        [at, id, reviveSince],
      );
      return revived.rowCount ?? 0;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.conn.atomic(async (db) => {
      await db.query("DELETE FROM outbox WHERE endpoint_id = $1", [id]);
      return ((await db.query("DELETE FROM webhook_endpoints WHERE id = $1", [id])).rowCount ?? 0) > 0;
    });
  }

  private toDue(r: EndpointRow): DueEndpoint {
    return {
      id: r.id,
      merchantId: BigInt(r.merchant_id),
      url: r.url,
      secret: this.box.open(r.secret, r.id),
      consecutiveFailures: r.consecutive_failures,
    };
  }

  async dueEndpoints(now: number, limit: number, after = ""): Promise<DueEndpoint[]> {
    const rows = await this.conn.rows<EndpointRow>(
      `SELECT e.id, e.merchant_id, e.url, e.secret, e.consecutive_failures FROM webhook_endpoints e
         WHERE ${DUE_WHERE} ORDER BY e.id LIMIT $3`,
      [after, now, limit],
    );
    return rows.map((r) => this.toDue(r));
  }

  /**
   * One statement: due endpoints not claimed by another live holder are locked FOR UPDATE SKIP
   * LOCKED (an endpoint another worker is claiming right now is skipped, not waited for) and
   * stamped with this holder until now + leaseMs.
   */
  async claimDueEndpoints(
    now: number,
    limit: number,
    holder: string,
    leaseMs: number,
    after = "",
  ): Promise<DueEndpoint[]> {
    const rows = await this.conn.rows<EndpointRow>(
      `WITH picked AS (
         SELECT e.id FROM webhook_endpoints e
          WHERE ${DUE_WHERE}
            AND (e.claimed_by IS NULL OR e.claimed_by = $4 OR e.claimed_until <= $2)
          ORDER BY e.id LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE webhook_endpoints w SET claimed_by = $4, claimed_until = $2::bigint + $5::bigint
         FROM picked WHERE w.id = picked.id
       RETURNING w.id, w.merchant_id, w.url, w.secret, w.consecutive_failures`,
      [after, now, limit, holder, leaseMs],
    );
    return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => this.toDue(r));
  }

  async releaseEndpoint(id: string, holder: string): Promise<void> {
    await this.conn.query(
      "UPDATE webhook_endpoints SET claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2",
      [id, holder],
    );
  }

  async recordSuccess(id: string): Promise<void> {
    await this.conn.query(
      `UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL, next_attempt_at = 0,
         last_error = NULL WHERE id = $1 AND consecutive_failures > 0`,
      [id],
    );
  }

  recordFailure(
    id: string,
    error: string,
    at: number,
    nextAttemptAt: number,
    policy: DisablePolicy,
  ): Promise<{ consecutiveFailures: number; disabled: boolean }> {
    return this.conn.atomic(async (db) => {
      const { rows } = await db.query<{ consecutive_failures: number; failing_since: number }>(
        `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
           failing_since = COALESCE(failing_since, $1), next_attempt_at = GREATEST(next_attempt_at, $2),
           last_error = $3
         WHERE id = $4 AND disabled_at IS NULL
         RETURNING consecutive_failures, failing_since`,
        [at, nextAttemptAt, error.slice(0, MAX_ERROR_LENGTH), id],
      );
      if (rows.length === 0) return { consecutiveFailures: 0, disabled: false };
      const row = rows[0];
      const disabled = row.consecutive_failures >= policy.failures && at - row.failing_since >= policy.spanMs;
      if (disabled) {
        await db.query("UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = 'failing' WHERE id = $2", [
          at,
          id,
        ]);
        await deadLetterPending(db, id, at);
      }
      return { consecutiveFailures: row.consecutive_failures, disabled };
    });
  }
}

async function deadLetterPending(db: Queryable, id: string, at: number): Promise<void> {
  await db.query(
    `UPDATE outbox SET dead_at = $1, last_error = 'endpoint disabled'
       WHERE endpoint_id = $2 AND delivered_at IS NULL AND dead_at IS NULL`,
    [at, id],
  );
}
