import type { ApiKeyRecord, Hex, PaymentRequestRecord } from "../../domain";
import type { ApiKeyRepository, PaymentRequestRepository } from "../types";
import { dec, hex } from "../sqlite/codec";
import type { PgConnection } from "./connection";
import type { CurrencyScope } from "../currencyScope";

interface RequestRow {
  id: string;
  currency: string;
  merchant_id: string;
  amount: string;
  order_ref: string;
  order_ref_text: string | null;
  hold: number | string;
  expires_at: number;
  payment_id: string | null;
  created_at: number;
}

const toRequest = (r: RequestRow): PaymentRequestRecord => ({
  id: r.id,
  currency: r.currency,
  merchantId: BigInt(r.merchant_id),
  amount: BigInt(r.amount),
  orderRef: r.order_ref as Hex,
  orderRefText: r.order_ref_text,
  hold: BigInt(r.hold),
  expiresAt: r.expires_at,
  paymentId: r.payment_id as Hex | null,
  createdAt: r.created_at,
});

export class PgRequests implements PaymentRequestRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly scope: CurrencyScope,
  ) {}

  async create(r: PaymentRequestRecord): Promise<void> {
    const currency = this.scope.accept(r.currency);
    await this.conn.query(
      `INSERT INTO payment_requests (id, merchant_id, amount, order_ref, order_ref_text, expires_at, payment_id,
         created_at, hold, currency) VALUES ($1, $2::numeric, $3::numeric, $4, $5, $6, $7, $8, $9, $10)`,
      [
        r.id,
        dec(r.merchantId),
        dec(r.amount),
        hex(r.orderRef),
        r.orderRefText,
        r.expiresAt,
        r.paymentId && hex(r.paymentId),
        r.createdAt,
        dec(r.hold),
        currency,
      ],
    );
  }

  async get(id: string): Promise<PaymentRequestRecord | null> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<RequestRow>(`SELECT * FROM payment_requests WHERE id = $1${scope.sql}`, [
      id,
      ...scope.values,
    ]);
    return rows.length ? toRequest(rows[0]) : null;
  }

  async pruneExpiredBefore(before: number, limit: number): Promise<number> {
    const scope = this.scope.pg(3);
    const result = await this.conn.query(
      `DELETE FROM payment_requests WHERE id IN
         (SELECT id FROM payment_requests WHERE expires_at < $1 AND payment_id IS NULL${scope.sql} LIMIT $2)`,
      [before, limit, ...scope.values],
    );
    return result.rowCount ?? 0;
  }

  async markPaid(id: string, paymentId: Hex): Promise<void> {
    const scope = this.scope.pg(3);
    await this.conn.query(`UPDATE payment_requests SET payment_id = $1 WHERE id = $2${scope.sql}`, [
      hex(paymentId),
      id,
      ...scope.values,
    ]);
  }
}

interface ApiKeyRow {
  id: string;
  merchant_id: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  merchantId: BigInt(r.merchant_id),
  secretHash: r.secret_hash as Hex,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Stores only the SHA-256 of each secret (the record type has no field for the secret itself). */
export class PgApiKeys implements ApiKeyRepository {
  constructor(private readonly conn: PgConnection) {}

  async create(k: ApiKeyRecord): Promise<void> {
    await this.conn.query(
      "INSERT INTO api_keys (id, merchant_id, secret_hash, created_at, revoked_at) VALUES ($1, $2::numeric, $3, $4, $5)",
      [k.id, dec(k.merchantId), hex(k.secretHash), k.createdAt, k.revokedAt],
    );
  }

  /** Returns revoked keys too: the caller decides (and can say "revoked" rather than "unknown"). */
  async findBySecretHash(secretHash: Hex): Promise<ApiKeyRecord | null> {
    const rows = await this.conn.rows<ApiKeyRow>("SELECT * FROM api_keys WHERE secret_hash = $1", [hex(secretHash)]);
    return rows.length ? toApiKey(rows[0]) : null;
  }

  async listByMerchant(merchantId: bigint): Promise<ApiKeyRecord[]> {
    const rows = await this.conn.rows<ApiKeyRow>(
      "SELECT * FROM api_keys WHERE merchant_id = $1::numeric ORDER BY created_at, id",
      [dec(merchantId)],
    );
    return rows.map(toApiKey);
  }

  /** Idempotent: a key revoked earlier keeps its first revocation time. */
  async revoke(id: string, at: number): Promise<void> {
    await this.conn.query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [at, id]);
  }
}
