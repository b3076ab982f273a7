import {
  BatchState,
  PaymentState,
  SubmissionState,
  type BatchRecord,
  type Hex,
  type SettlementRecord,
  type SubmissionRecord,
} from "../../domain";
import { Transaction } from "ethers";
import type { BatchRepository, Fence, Page, SettlementRepository, SubmissionRepository } from "../types";
import { big, bigOrNull, dec, decOrNull, decodeCursor, encodeCursor, hex, hexOrNull, placeholders } from "./codec";
import type { Connection } from "./connection";
import { assertLeaseHeld } from "./lease";
import type { CurrencyScope } from "../currencyScope";

type Encoders<R> = { [K in keyof R]?: [string, (v: R[K]) => unknown] };

/** SET clause for a partial record through a field→column map, always stamping updated_at. */
function assignments<R>(map: Encoders<R>, fields: Partial<R>, now: number): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(fields).sort() as (keyof R & string)[]) {
    const value = fields[key];
    if (value === undefined || key === "updatedAt") continue;
    const column = map[key] as [string, (v: unknown) => unknown] | undefined;
    if (!column) throw new Error(`field "${key}" cannot be updated`);
    parts.push(`${column[0]} = ?`);
    values.push(column[1](value));
  }
  parts.push("updated_at = ?");
  values.push((fields as { updatedAt?: number }).updatedAt ?? now);
  return { sql: parts.join(", "), values };
}

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

/** The rows of `table` in any of `states` (of the scope's currency), in key order. */
function listByState<Row, T>(
  conn: Connection,
  scope: CurrencyScope,
  table: "batches" | "settlements",
  states: string[],
  map: (row: Row) => T,
): Promise<T[]> {
  return conn.run(() => {
    if (states.length === 0) return [];
    const inScope = scope.sqlite();
    const rows = conn
      .prepare(`SELECT * FROM ${table} WHERE state IN (${placeholders(states.length)})${inScope.sql} ORDER BY key`)
      .all(...states, ...inScope.values) as Row[];
    return rows.map(map);
  });
}

export class SqliteBatches implements BatchRepository {
  constructor(
    private readonly conn: Connection,
    private readonly scope: CurrencyScope,
  ) {}

  create(paymentIds: Hex[], gasEstimate: bigint | null = null): Promise<BatchRecord> {
    return this.conn.atomic(() => {
      const now = Date.now();
      const ids = paymentIds.map(hex);
      const currency = this.scope.forNew;
      const { lastInsertRowid } = this.conn
        .prepare(
          `INSERT INTO batches (currency, state, payment_ids, gas_estimate, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(currency, BatchState.Built, JSON.stringify(ids), decOrNull(gasEstimate), now, now);
      const key = Number(lastInsertRowid);
      const mark = this.conn.prepare(
        "UPDATE payments SET state = ?, batch_key = ?, updated_at = ? WHERE id = ? AND currency = ?",
      );
      for (const id of ids) mark.run(PaymentState.Batched, key, now, id, currency);
      return toBatch(this.conn.prepare("SELECT * FROM batches WHERE key = ?").get(key) as BatchRow);
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
    return this.conn.atomic(() => {
      const currency = this.scope.forNew;
      const known = this.conn
        .prepare(
          `SELECT * FROM batches WHERE batch_id = ? AND currency = ? AND tx_hash = ? AND state = ?
             ORDER BY key DESC LIMIT 1`,
        )
        .get(dec(b.batchId), currency, hex(b.txHash), BatchState.Adopted) as BatchRow | undefined;
      if (known) return toBatch(known);
      const now = Date.now();
      const { lastInsertRowid } = this.conn
        .prepare(
          `INSERT INTO batches (currency, state, payment_ids, batch_id, root, tx_hash, block_number, block_hash,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          currency,
          BatchState.Adopted,
          JSON.stringify(b.leaves.map(hex)),
          dec(b.batchId),
          hex(b.root),
          hex(b.txHash),
          dec(b.blockNumber),
          hex(b.blockHash),
          now,
          now,
        );
      return toBatch(this.conn.prepare("SELECT * FROM batches WHERE key = ?").get(lastInsertRowid) as BatchRow);
    });
  }

  get(key: number): Promise<BatchRecord | null> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const row = this.conn.prepare(`SELECT * FROM batches WHERE key = ?${scope.sql}`).get(key, ...scope.values) as
        BatchRow | undefined;
      return row ? toBatch(row) : null;
    });
  }

  getByBatchId(batchId: bigint): Promise<BatchRecord | null> {
    return this.conn.run(() => {
      // A reorged batch may share the id its replacement later confirms under: prefer the newest.
      const scope = this.scope.sqlite();
      const row = this.conn
        .prepare(`SELECT * FROM batches WHERE batch_id = ?${scope.sql} ORDER BY key DESC LIMIT 1`)
        .get(dec(batchId), ...scope.values) as BatchRow | undefined;
      return row ? toBatch(row) : null;
    });
  }

  listByState(states: BatchState[]): Promise<BatchRecord[]> {
    return listByState(this.conn, this.scope, "batches", states, toBatch);
  }

  claimBuilt(lease: string, now: number, limit: number): Promise<BatchRecord[]> {
    const scope = this.scope.sqlite("b.currency");
    const mine = this.scope.sqlite();
    return this.conn.atomic(() => {
      // Unclaimed, or claimed by a lane whose lease is released or expired (its worker is gone).
      this.conn
        .prepare(
          `UPDATE batches SET lane = ? WHERE key IN (
             SELECT b.key FROM batches b WHERE b.state = ?${scope.sql} AND (b.lane IS NULL OR (b.lane <> ? AND NOT EXISTS (
               SELECT 1 FROM leases l WHERE l.name = b.lane AND l.holder <> '' AND l.expires_at > ?)))
             ORDER BY b.key LIMIT ?)`,
        )
        .run(lease, BatchState.Built, ...scope.values, lease, now, limit);
      return (
        this.conn
          .prepare(`SELECT * FROM batches WHERE state = ? AND lane = ?${mine.sql} ORDER BY key`)
          .all(BatchState.Built, lease, ...mine.values) as BatchRow[]
      ).map(toBatch);
    });
  }

  update(key: number, fields: Partial<Omit<BatchRecord, "key" | "paymentIds" | "createdAt">>): Promise<void> {
    return this.conn.run(() => {
      const { sql, values } = assignments(BATCH_COLUMNS, fields, Date.now());
      const scope = this.scope.sqlite();
      this.conn.prepare(`UPDATE batches SET ${sql} WHERE key = ?${scope.sql}`).run(...values, key, ...scope.values);
    });
  }
}

interface SubmissionRow {
  id: number;
  purpose: string;
  nonce: number;
  tx_hash: string;
  raw_tx: string;
  max_fee_per_gas: string;
  max_priority_fee_per_gas: string;
  state: string;
  sent_at: number;
  updated_at: number;
  signer: string;
  epoch: number;
}

const toSubmission = (r: SubmissionRow): SubmissionRecord => ({
  id: r.id,
  purpose: r.purpose,
  signer: r.signer as Hex,
  epoch: r.epoch,
  nonce: r.nonce,
  txHash: r.tx_hash as Hex,
  rawTx: r.raw_tx as Hex,
  maxFeePerGas: big(r.max_fee_per_gas),
  maxPriorityFeePerGas: big(r.max_priority_fee_per_gas),
  state: r.state as SubmissionState,
  sentAt: r.sent_at,
  updatedAt: r.updated_at,
});

export class SqliteSubmissions implements SubmissionRepository {
  constructor(private readonly conn: Connection) {}

  record(s: Omit<SubmissionRecord, "id" | "updatedAt">, fence?: Fence): Promise<SubmissionRecord> {
    // Checked and inserted in one IMMEDIATE transaction: no other connection can move the lease
    // between the check and the insert.
    return this.conn.atomic(() => {
      if (fence) assertLeaseHeld(this.conn, fence);
      const { lastInsertRowid } = this.conn
        .prepare(
          `INSERT INTO submissions (purpose, signer, epoch, nonce, tx_hash, raw_tx, max_fee_per_gas,
             max_priority_fee_per_gas, state, sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
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
          s.sentAt,
        );
      const row = this.conn.prepare("SELECT * FROM submissions WHERE id = ?").get(lastInsertRowid) as SubmissionRow;
      return toSubmission(row);
    });
  }

  listPending(signer?: Hex): Promise<SubmissionRecord[]> {
    return this.conn.run(() =>
      (signer === undefined
        ? (this.conn
            .prepare("SELECT * FROM submissions WHERE state = ? ORDER BY id")
            .all(SubmissionState.Pending) as SubmissionRow[])
        : (this.conn
            .prepare("SELECT * FROM submissions WHERE state = ? AND signer = ? ORDER BY id")
            .all(SubmissionState.Pending, hex(signer)) as SubmissionRow[])
      ).map(toSubmission),
    );
  }

  listByPurpose(purpose: string): Promise<SubmissionRecord[]> {
    return this.conn.run(() =>
      (
        this.conn.prepare("SELECT * FROM submissions WHERE purpose = ? ORDER BY id").all(purpose) as SubmissionRow[]
      ).map(toSubmission),
    );
  }

  setState(id: number, state: SubmissionState): Promise<void> {
    return this.conn.run(() => {
      this.conn.prepare("UPDATE submissions SET state = ?, updated_at = ? WHERE id = ?").run(state, Date.now(), id);
    });
  }

  maxNonce(signer?: Hex): Promise<number | null> {
    return this.conn.run(
      () =>
        (
          (signer === undefined
            ? this.conn.prepare("SELECT MAX(nonce) AS n FROM submissions").get()
            : this.conn.prepare("SELECT MAX(nonce) AS n FROM submissions WHERE signer = ?").get(hex(signer))) as {
            n: number | null;
          }
        ).n,
    );
  }

  /**
   * Rows recorded before submissions carried their signer (migration 7) get it from their own
   * signed bytes, so a lane finds its pending transactions after the upgrade.
   */
  backfillSigners(): void {
    const rows = this.conn.db.prepare("SELECT id, raw_tx FROM submissions WHERE signer = ''").all() as {
      id: number;
      raw_tx: string;
    }[];
    const update = this.conn.db.prepare("UPDATE submissions SET signer = ? WHERE id = ?");
    this.conn.db.transaction(() => {
      for (const row of rows) update.run(Transaction.from(row.raw_tx).from!.toLowerCase(), row.id);
    })();
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
  merchantId: big(r.merchant_id),
  batchIds: (JSON.parse(r.batch_ids) as string[]).map(big),
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

export class SqliteSettlements implements SettlementRepository {
  constructor(
    private readonly conn: Connection,
    private readonly scope: CurrencyScope,
  ) {}

  /** A settlement of the view's currency (unscoped: the store's default currency). */
  create(merchantId: bigint, batchIds: bigint[]): Promise<SettlementRecord> {
    return this.conn.run(() => {
      const now = Date.now();
      const { lastInsertRowid } = this.conn
        .prepare(
          `INSERT INTO settlements (currency, merchant_id, batch_ids, state, created_at, updated_at)
           VALUES (?, ?, ?, 'built', ?, ?)`,
        )
        .run(this.scope.forNew, dec(merchantId), JSON.stringify(batchIds.map(dec)), now, now);
      return toSettlement(
        this.conn.prepare("SELECT * FROM settlements WHERE key = ?").get(lastInsertRowid) as SettlementRow,
      );
    });
  }

  update(key: number, fields: Partial<Omit<SettlementRecord, "key" | "merchantId" | "createdAt">>): Promise<void> {
    return this.conn.run(() => {
      const { sql, values } = assignments(SETTLEMENT_COLUMNS, fields, Date.now());
      const scope = this.scope.sqlite();
      this.conn.prepare(`UPDATE settlements SET ${sql} WHERE key = ?${scope.sql}`).run(...values, key, ...scope.values);
    });
  }

  /** Newest first, keyset on the settlement key. */
  listByMerchant(merchantId: bigint, limit: number, cursor?: string): Promise<Page<SettlementRecord>> {
    return this.conn.run(() => {
      const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : (decodeCursor(cursor, ["number"])[0] as number);
      const take = Math.max(1, Math.floor(limit));
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(`SELECT * FROM settlements WHERE merchant_id = ? AND key < ?${scope.sql} ORDER BY key DESC LIMIT ?`)
        .all(dec(merchantId), before, ...scope.values, take + 1) as SettlementRow[];
      const items = rows.slice(0, take).map(toSettlement);
      return { items, nextCursor: rows.length > take ? encodeCursor([items[items.length - 1].key]) : null };
    });
  }

  listByState(states: SettlementRecord["state"][]): Promise<SettlementRecord[]> {
    return listByState(this.conn, this.scope, "settlements", states, toSettlement);
  }
}
