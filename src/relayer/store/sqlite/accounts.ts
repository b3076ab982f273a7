import type { ApiKeyRecord, Hex, PaymentRequestRecord } from "../../domain";
import type { ApiKeyRepository, PaymentRequestRepository } from "../types";
import { big, dec, hex } from "./codec";
import type { Connection } from "./connection";
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
  merchantId: big(r.merchant_id),
  amount: big(r.amount),
  orderRef: r.order_ref as Hex,
  orderRefText: r.order_ref_text,
  hold: BigInt(r.hold),
  expiresAt: r.expires_at,
  paymentId: r.payment_id as Hex | null,
  createdAt: r.created_at,
});

export class SqliteRequests implements PaymentRequestRepository {
  constructor(
    private readonly conn: Connection,
    private readonly scope: CurrencyScope,
  ) {}

  create(r: PaymentRequestRecord): Promise<void> {
    const currency = this.scope.accept(r.currency);
    return this.conn.run(() => {
      this.conn
        .prepare(
          `INSERT INTO payment_requests (id, currency, merchant_id, amount, order_ref, order_ref_text, expires_at,
             payment_id, created_at, hold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.id,
          currency,
          dec(r.merchantId),
          dec(r.amount),
          hex(r.orderRef),
          r.orderRefText,
          r.expiresAt,
          r.paymentId && hex(r.paymentId),
          r.createdAt,
          Number(r.hold),
        );
    });
  }

  get(id: string): Promise<PaymentRequestRecord | null> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const row = this.conn
        .prepare(`SELECT * FROM payment_requests WHERE id = ?${scope.sql}`)
        .get(id, ...scope.values) as RequestRow | undefined;
      return row ? toRequest(row) : null;
    });
  }

  pruneExpiredBefore(before: number, limit: number): Promise<number> {
    const scope = this.scope.sqlite();
    return this.conn.atomic(
      () =>
        this.conn
          .prepare(
            `DELETE FROM payment_requests WHERE id IN
               (SELECT id FROM payment_requests WHERE expires_at < ? AND payment_id IS NULL${scope.sql} LIMIT ?)`,
          )
          .run(before, ...scope.values, limit).changes,
    );
  }

  markPaid(id: string, paymentId: Hex): Promise<void> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      this.conn
        .prepare(`UPDATE payment_requests SET payment_id = ? WHERE id = ?${scope.sql}`)
        .run(hex(paymentId), id, ...scope.values);
    });
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
  merchantId: big(r.merchant_id),
  secretHash: r.secret_hash as Hex,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Stores only the SHA-256 of each secret (the record type has no field for the secret itself). */
export class SqliteApiKeys implements ApiKeyRepository {
  constructor(private readonly conn: Connection) {}

  create(k: ApiKeyRecord): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare("INSERT INTO api_keys (id, merchant_id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)")
        .run(k.id, dec(k.merchantId), hex(k.secretHash), k.createdAt, k.revokedAt);
    });
  }

  /** Returns revoked keys too: the caller decides (and can say "revoked" rather than "unknown"). */
  findBySecretHash(secretHash: Hex): Promise<ApiKeyRecord | null> {
    return this.conn.run(() => {
      const row = this.conn.prepare("SELECT * FROM api_keys WHERE secret_hash = ?").get(hex(secretHash)) as
        ApiKeyRow | undefined;
      return row ? toApiKey(row) : null;
    });
  }

  listByMerchant(merchantId: bigint): Promise<ApiKeyRecord[]> {
    return this.conn.run(() =>
      (
        this.conn
          .prepare("SELECT * FROM api_keys WHERE merchant_id = ? ORDER BY created_at, id")
          .all(dec(merchantId)) as ApiKeyRow[]
      ).map(toApiKey),
    );
  }

  /** Idempotent: a key revoked earlier keeps its first revocation time. */
  revoke(id: string, at: number): Promise<void> {
    return this.conn.run(() => {
      this.conn.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at, id);
    });
  }
}
