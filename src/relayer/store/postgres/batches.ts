import {
  BatchState,
  PaymentState,
  type BatchRecord,
  type Hex,
  type SettlementRecord,
  type SubmissionRecord,
  type SubmissionState,
} from "../../domain";
import { FencedError } from "../errors";
import type { BatchRepository, Fence, Page, SettlementRepository, SubmissionRepository } from "../types";
import { dec, decOrNull, decodeCursor, encodeCursor, hex, hexOrNull } from "../sqlite/codec";
import type { PgConnection } from "./connection";
import { currentHolder } from "./leases";
import type { CurrencyScope } from "../currencyScope";

type Encoders<R> = { [K in keyof R]?: [string, (v: R[K]) => unknown] };

/** SET clause ($2, $3, ...) for a partial record through a field→column map, always stamping updated_at. */
function assignments<R>(map: Encoders<R>, fields: Partial<R>, now: number): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(fields).sort() as (keyof R & string)[]) {
    const value = fields[key];
    if (value === undefined || key === "updatedAt") continue;
    const column = map[key] as [string, (v: unknown) => unknown] | undefined;
    if (!column) throw new Error(`field "${key}" cannot be updated`);
    values.push(column[1](value));
    parts.push(`${column[0]} = $${values.length + 1}`);
  }
  values.push((fields as { updatedAt?: number }).updatedAt ?? now);
  parts.push(`updated_at = $${values.length + 1}`);
  return { sql: parts.join(", "), values };
}

const bigOrNull = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

interface BatchRow {
  key: number;
  currency: string;
  state: string;
  payment_ids: string;
  batch_id: string | null;
  root: string | null;
  tx_hash: string | null;
  block_number: string | null;
  block_hash: string | null;
  gas_used: string | null;
  gas_estimate: string | null;
  created_at: number;
  updated_at: number;
}

const toBatch = (r: BatchRow): BatchRecord => ({
  key: r.key,
  currency: r.currency,
  state: r.state as BatchState,
  paymentIds: JSON.parse(r.payment_ids) as Hex[],
  batchId: bigOrNull(r.batch_id),
  root: r.root as Hex | null,
  txHash: r.tx_hash as Hex | null,
  blockNumber: bigOrNull(r.block_number),
  blockHash: r.block_hash as Hex | null,
  gasUsed: bigOrNull(r.gas_used),
  gasEstimate: bigOrNull(r.gas_estimate),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const BATCH_COLUMNS: Encoders<BatchRecord> = {
  state: ["state", (v) => v],
  batchId: ["batch_id", decOrNull],
  root: ["root", hexOrNull],
  txHash: ["tx_hash", hexOrNull],
  blockNumber: ["block_number", decOrNull],
  blockHash: ["block_hash", hexOrNull],
  gasUsed: ["gas_used", decOrNull],
  gasEstimate: ["gas_estimate", decOrNull],
};

export class PgBatches implements BatchRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly scope: CurrencyScope,
  ) {}

  create(paymentIds: Hex[], gasEstimate: bigint | null = null): Promise<BatchRecord> {
    return this.conn.atomic(async (db) => {
      const now = Date.now();
      const ids = paymentIds.map(hex);
      const currency = this.scope.forNew;
      const { rows } = await db.query<BatchRow>(
        `INSERT INTO batches (currency, state, payment_ids, gas_estimate, created_at, updated_at)
         VALUES ($5, $1, $2, $3::numeric, $4, $4) RETURNING *`,
        [BatchState.Built, JSON.stringify(ids), decOrNull(gasEstimate), now, currency],
      );
      await db.query(
        "UPDATE payments SET state = $1, batch_key = $2, updated_at = $3 WHERE id = ANY($4::text[]) AND currency = $5",
        [PaymentState.Batched, rows[0].key, now, ids, currency],
      );
      return toBatch(rows[0]);
    });
  }

  adopt(b: {
    leaves: Hex[];
    batchId: bigint;
    root: Hex;
    txHash: Hex;
    blockNumber: bigint;
    blockHash: Hex;
  }): Promise<BatchRecord> {
    const currency = this.scope.forNew;
    return this.conn.atomic(async (db) => {
      // Two instances adopting the same batch at once must record it once.
      await db.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
        `adopt:${currency}:${dec(b.batchId)}:${hex(b.txHash)}`,
      ]);
      const known = await db.query<BatchRow>(
        `SELECT * FROM batches WHERE batch_id = $1::numeric AND currency = $4 AND tx_hash = $2 AND state = $3
           ORDER BY key DESC LIMIT 1`,
        [dec(b.batchId), hex(b.txHash), BatchState.Adopted, currency],
      );
      if (known.rows.length) return toBatch(known.rows[0]);
      const now = Date.now();
      const { rows } = await db.query<BatchRow>(
        `INSERT INTO batches (state, payment_ids, batch_id, root, tx_hash, block_number, block_hash, created_at,
           updated_at, currency) VALUES ($1, $2, $3::numeric, $4, $5, $6::numeric, $7, $8, $8, $9) RETURNING *`,
        [
          BatchState.Adopted,
          JSON.stringify(b.leaves.map(hex)),
          dec(b.batchId),
          hex(b.root),
          hex(b.txHash),
          dec(b.blockNumber),
          hex(b.blockHash),
          now,
          currency,
        ],
      );
      return toBatch(rows[0]);
    });
  }

  async get(key: number): Promise<BatchRecord | null> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<BatchRow>(`SELECT * FROM batches WHERE key = $1${scope.sql}`, [
      key,
      ...scope.values,
    ]);
    return rows.length ? toBatch(rows[0]) : null;
  }

  async getByBatchId(batchId: bigint): Promise<BatchRecord | null> {
    // A reorged batch may share the id its replacement later confirms under: prefer the newest.
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<BatchRow>(
      `SELECT * FROM batches WHERE batch_id = $1::numeric${scope.sql} ORDER BY key DESC LIMIT 1`,
      [dec(batchId), ...scope.values],
    );
    return rows.length ? toBatch(rows[0]) : null;
  }

  async listByState(states: BatchState[]): Promise<BatchRecord[]> {
    if (states.length === 0) return [];
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<BatchRow>(
      `SELECT * FROM batches WHERE state = ANY($1::text[])${scope.sql} ORDER BY key`,
      [states, ...scope.values],
    );
    return rows.map(toBatch);
  }

  claimBuilt(lease: string, now: number, limit: number): Promise<BatchRecord[]> {
    const inner = this.scope.pg(5, "b.currency");
    const mine = this.scope.pg(3);
    return this.conn.atomic(async (db) => {
      // Unclaimed, or claimed by a lane whose lease is released or expired (its worker is gone);
      // SKIP LOCKED: two lanes claiming at once never take the same batch.
      await db.query(
        `UPDATE batches SET lane = $1 WHERE key IN (
           SELECT b.key FROM batches b WHERE b.state = $2${inner.sql} AND (b.lane IS NULL OR (b.lane <> $1 AND NOT EXISTS (
             SELECT 1 FROM leases l WHERE l.name = b.lane AND l.holder <> '' AND l.expires_at > $3)))
           ORDER BY b.key LIMIT $4 FOR UPDATE SKIP LOCKED)`,
        [lease, BatchState.Built, now, limit, ...inner.values],
      );
      const { rows } = await db.query<BatchRow>(
        `SELECT * FROM batches WHERE state = $1 AND lane = $2${mine.sql} ORDER BY key`,
        [BatchState.Built, lease, ...mine.values],
      );
      return rows.map(toBatch);
    });
  }

  async update(key: number, fields: Partial<Omit<BatchRecord, "key" | "paymentIds" | "createdAt">>): Promise<void> {
    const { sql, values } = assignments(BATCH_COLUMNS, fields, Date.now());
    const scope = this.scope.pg(values.length + 2);
    await this.conn.query(`UPDATE batches SET ${sql} WHERE key = $1${scope.sql}`, [key, ...values, ...scope.values]);
  }
}

interface SubmissionRow {
  id: number;
  purpose: string;
  signer: string;
  epoch: number;
  nonce: number;
  tx_hash: string;
  raw_tx: string;
  max_fee_per_gas: string;
  max_priority_fee_per_gas: string;
  state: string;
  sent_at: number;
  updated_at: number;
}

const toSubmission = (r: SubmissionRow): SubmissionRecord => ({
  id: r.id,
  purpose: r.purpose,
  signer: r.signer as Hex,
  epoch: r.epoch,
  nonce: r.nonce,
  txHash: r.tx_hash as Hex,
  rawTx: r.raw_tx as Hex,
  maxFeePerGas: BigInt(r.max_fee_per_gas),
  maxPriorityFeePerGas: BigInt(r.max_priority_fee_per_gas),
  state: r.state as SubmissionState,
  sentAt: r.sent_at,
  updatedAt: r.updated_at,
});

export class PgSubmissions implements SubmissionRepository {
  constructor(private readonly conn: PgConnection) {}

  /**
   * With a fence, one statement inserts only while the lease row matches the fence's holder and
   * epoch; the row is locked FOR SHARE, so a concurrent takeover (an UPDATE of that row) either
   * commits first (then this sees the new epoch and inserts nothing) or waits for this commit.
   */
  async record(s: Omit<SubmissionRecord, "id" | "updatedAt">, fence?: Fence): Promise<SubmissionRecord> {
    const values = [
      s.purpose,
      hex(s.signer),
      s.epoch,
      s.nonce,
      hex(s.txHash),
      hex(s.rawTx),
      dec(s.maxFeePerGas),
      dec(s.maxPriorityFeePerGas),
      s.state,
      s.sentAt,
    ];
    const columns = `purpose, signer, epoch, nonce, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas,
      state, sent_at, updated_at`;
    const params = "$1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9, $10, $10";
    if (!fence) {
      const rows = await this.conn.rows<SubmissionRow>(
        `INSERT INTO submissions (${columns}) VALUES (${params}) RETURNING *`,
        values,
      );
      return toSubmission(rows[0]);
    }
    const rows = await this.conn.rows<SubmissionRow>(
      `INSERT INTO submissions (${columns}) SELECT ${params}
         WHERE EXISTS (SELECT 1 FROM leases WHERE name = $11 AND holder = $12 AND epoch = $13 FOR SHARE)
       RETURNING *`,
      [...values, fence.lease, fence.holder, fence.epoch],
    );
    if (rows.length === 0) throw new FencedError(fence, await currentHolder(this.conn.db, fence.lease));
    return toSubmission(rows[0]);
  }

  async listPending(signer?: Hex): Promise<SubmissionRecord[]> {
    const rows = await this.conn.rows<SubmissionRow>(
      `SELECT * FROM submissions WHERE state = 'pending' AND ($1::text IS NULL OR signer = $1) ORDER BY id`,
      [signer === undefined ? null : hex(signer)],
    );
    return rows.map(toSubmission);
  }

  async listByPurpose(purpose: string): Promise<SubmissionRecord[]> {
    const rows = await this.conn.rows<SubmissionRow>("SELECT * FROM submissions WHERE purpose = $1 ORDER BY id", [
      purpose,
    ]);
    return rows.map(toSubmission);
  }

  async setState(id: number, state: SubmissionState): Promise<void> {
    await this.conn.query("UPDATE submissions SET state = $1, updated_at = $2 WHERE id = $3", [state, Date.now(), id]);
  }

  async maxNonce(signer?: Hex): Promise<number | null> {
    const rows = await this.conn.rows<{ n: number | null }>(
      "SELECT MAX(nonce) AS n FROM submissions WHERE $1::text IS NULL OR signer = $1",
      [signer === undefined ? null : hex(signer)],
    );
    return rows[0].n;
  }
}

interface SettlementRow {
  key: number;
  currency: string;
  merchant_id: string;
  batch_ids: string;
  tx_hash: string | null;
  amount: string | null;
  fee: string | null;
  state: string;
  created_at: number;
  updated_at: number;
}

const toSettlement = (r: SettlementRow): SettlementRecord => ({
  key: r.key,
  currency: r.currency,
  merchantId: BigInt(r.merchant_id),
  batchIds: (JSON.parse(r.batch_ids) as string[]).map((v) => BigInt(v)),
  txHash: r.tx_hash as Hex | null,
  amount: bigOrNull(r.amount),
  fee: bigOrNull(r.fee),
  state: r.state as SettlementRecord["state"],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const SETTLEMENT_COLUMNS: Encoders<SettlementRecord> = {
  batchIds: ["batch_ids", (v) => JSON.stringify(v.map(dec))],
  txHash: ["tx_hash", hexOrNull],
  amount: ["amount", decOrNull],
  fee: ["fee", decOrNull],
  state: ["state", (v) => v],
};

export class PgSettlements implements SettlementRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly scope: CurrencyScope,
  ) {}

  /** A settlement of the view's currency (unscoped: the store's default currency). */
  async create(merchantId: bigint, batchIds: bigint[]): Promise<SettlementRecord> {
    const now = Date.now();
    const rows = await this.conn.rows<SettlementRow>(
      `INSERT INTO settlements (currency, merchant_id, batch_ids, state, created_at, updated_at)
       VALUES ($4, $1::numeric, $2, 'built', $3, $3) RETURNING *`,
      [dec(merchantId), JSON.stringify(batchIds.map(dec)), now, this.scope.forNew],
    );
    return toSettlement(rows[0]);
  }

  async update(
    key: number,
    fields: Partial<Omit<SettlementRecord, "key" | "merchantId" | "createdAt">>,
  ): Promise<void> {
    const { sql, values } = assignments(SETTLEMENT_COLUMNS, fields, Date.now());
    const scope = this.scope.pg(values.length + 2);
    await this.conn.query(`UPDATE settlements SET ${sql} WHERE key = $1${scope.sql}`, [
      key,
      ...values,
      ...scope.values,
    ]);
  }

  /** Newest first, keyset on the settlement key. */
  async listByMerchant(merchantId: bigint, limit: number, cursor?: string): Promise<Page<SettlementRecord>> {
    const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : (decodeCursor(cursor, ["number"])[0] as number);
    const take = Math.max(1, Math.floor(limit));
    const scope = this.scope.pg(4);
    const rows = await this.conn.rows<SettlementRow>(
      `SELECT * FROM settlements WHERE merchant_id = $1::numeric AND key < $2${scope.sql} ORDER BY key DESC LIMIT $3`,
      [dec(merchantId), before, take + 1, ...scope.values],
    );
    const items = rows.slice(0, take).map(toSettlement);
    return { items, nextCursor: rows.length > take ? encodeCursor([items[items.length - 1].key]) : null };
  }

  async listByState(states: SettlementRecord["state"][]): Promise<SettlementRecord[]> {
    if (states.length === 0) return [];
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<SettlementRow>(
      `SELECT * FROM settlements WHERE state = ANY($1::text[])${scope.sql} ORDER BY key`,
      [states, ...scope.values],
    );
    return rows.map(toSettlement);
  }
}
